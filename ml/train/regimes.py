"""The market regime of each row, as the store computes it: `compute_market_regime(frame)`.

The regime (0-11: trend state x 4 + volatility state, both from T-1 market data) is computed once, in SQL,
by dbt (`marts.fct_market_regimes`, one row per trade date). This module only looks it up by date, so
Python never holds a second implementation of the rule.
"""

from __future__ import annotations

import os

import duckdb
import pandas as pd

from store import connect, database_path, require_relation
from store.marts import MARKET_REGIMES


def compute_market_regime(
    frame: pd.DataFrame,
    *,
    connection: duckdb.DuckDBPyConnection | None = None,
    db_path: str | os.PathLike[str] | None = None,
    date_column: str = "trade_date",
) -> pd.Series:
    """The 0-11 market regime of each row of `frame`, looked up by its trade date in `marts.fct_market_regimes`.

    Parameters
    ----------
    frame
        rows with a `date_column` (e.g. training examples read from the store).
    connection
        an open connection to the store; without one, the store at `db_path` (default: --db's
        rules: $FEATURE_STORE_DB or warehouse/feature_store.duckdb) is opened read-only for the lookup.
    date_column
        the column holding each row's trade date.

    Returns
    -------
    A nullable integer Series aligned with `frame` (same index), named `regime_id`: `<NA>` where the
    store has no regime for the date (the first days of history, before the market series warm up).

    Raises
    ------
    KeyError
        `frame` has no `date_column`.
    store.MissingRelationError
        the store has no `marts.fct_market_regimes` (run `dbt build`).
    """
    if date_column not in frame.columns:
        raise KeyError(
            f"compute_market_regime needs a {date_column!r} column; the frame has {list(frame.columns)[:10]}"
        )
    if connection is None:
        with connect(database_path(db_path), read_only=True) as owned:
            return compute_market_regime(frame, connection=owned, date_column=date_column)
    require_relation(connection, MARKET_REGIMES, "run `dbt build` first")
    regimes = connection.execute(f"select trade_date, regime_id from {MARKET_REGIMES}").df()
    by_date = pd.Series(regimes["regime_id"].to_numpy(), index=pd.to_datetime(regimes["trade_date"]))
    dates = pd.to_datetime(frame[date_column])
    values = by_date.reindex(dates.to_numpy()).to_numpy()
    return pd.Series(pd.array(values, dtype="Int64"), index=frame.index, name="regime_id")
