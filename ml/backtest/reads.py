"""The SQL reads of the edge analysis: the signal-edge marts dbt built, daily returns, and the metrics
`python -m ml.train` stored for a model. All on the connection the command opened."""

from __future__ import annotations

import duckdb
import pandas as pd

from store import require_relation
from store.marts import FEATURES, SIGNAL_EDGE, SIGNAL_EDGE_BY_TICKER


def read_signal_edge(connection: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pooled signal edge of each volume-flow score, and the same per ticker."""
    for relation in (SIGNAL_EDGE, SIGNAL_EDGE_BY_TICKER):
        require_relation(connection, relation, "run `dbt build` first")
    pooled = connection.execute(f"select * from {SIGNAL_EDGE} order by score_name").df()
    by_ticker = connection.execute(f"select * from {SIGNAL_EDGE_BY_TICKER} order by score_name, ticker").df()
    return pooled, by_ticker


def read_daily_returns(connection: duckdb.DuckDBPyConnection, first_date: pd.Timestamp) -> pd.DataFrame:
    """Every ticker's daily return (`ret_1d`) from `first_date` on: trade_date (datetime), ticker, ret_1d."""
    require_relation(connection, FEATURES, "run `dbt build` first")
    returns = connection.execute(
        f"select trade_date, ticker, ret_1d from {FEATURES} where ret_1d is not null and trade_date >= ?",
        [first_date.date()],
    ).df()
    returns["trade_date"] = pd.to_datetime(returns["trade_date"])
    return returns


def read_model_metrics(connection: duckdb.DuckDBPyConnection, model_id: str) -> dict[str, float | None]:
    """The model's stored AUC and rank IC per split, keyed `<split>_<metric>` (e.g. `test_auc`)."""
    rows = connection.execute(
        "select split, metric, value from ml.metrics where model_id = ? and metric in ('auc', 'rank_ic')",
        [model_id],
    ).fetchall()
    return {f"{split}_{metric}": value for split, metric, value in rows}
