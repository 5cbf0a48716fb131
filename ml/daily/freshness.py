"""Whether the store holds the prices and features of the trading day a daily run is asked to score.

`day_to_score` decides the day and refuses stale data with `StaleDataError` (one sentence saying what to run):

- the day is the last exchange trading day on or before the date asked for (`ml.daily.calendar`; by default
  the day the clock expects, `expected_trading_day`), or with `latest=True` (`--date latest`) the latest day
  of the feature mart, for data with no clock such as the built-in synthetic market, which ends on a fixed
  date;
- the store's latest universe prices must reach the day, and when it is the store's latest day (a live run)
  the most recent finished ingest run must have succeeded and loaded rows: a run that failed, was
  interrupted or read nothing means the day's data may be missing or incomplete;

In every case the feature mart must hold the day (else: run `dbt build`).
"""

from __future__ import annotations

import datetime as dt

import duckdb

from ml.daily.calendar import expected_trading_day, trading_day_on_or_before
from ml.errors import MLError
from store import relation_exists
from store.marts import FEATURES

PRICES = "raw.prices"
RUNS = "raw.ingest_runs"


class StaleDataError(MLError):
    """The store does not hold the day a daily run should score; nothing was scored."""


def _scalar(connection: duckdb.DuckDBPyConnection, query: str, params: list | None = None):
    return connection.execute(query, params or []).fetchall()[0][0]


def latest_feature_date(connection: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The latest trade date of the feature mart (None when it is missing or empty)."""
    if not relation_exists(connection, FEATURES):
        return None
    return _scalar(connection, f"select max(trade_date) from {FEATURES}")


def latest_price_date(connection: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The latest trade date of the raw prices of the universe (the tickers of the feature mart's latest day;
    the cross-asset series, some of which trade at weekends, are left out)."""
    if not relation_exists(connection, PRICES):
        return None
    if not relation_exists(connection, FEATURES):
        return _scalar(connection, f"select max(trade_date) from {PRICES}")
    return _scalar(
        connection,
        f"select max(trade_date) from {PRICES} where ticker in "
        f"(select ticker from {FEATURES} where trade_date = (select max(trade_date) from {FEATURES}))",
    )


def _last_ingest_problem(connection: duckdb.DuckDBPyConnection) -> str | None:
    """Why the most recent finished ingest run cannot be trusted to have brought today's data, or None."""
    if not relation_exists(connection, RUNS):
        return None
    rows = connection.execute(
        f"select run_id, source, status, rows_loaded, message from {RUNS} where status <> 'running' "
        "order by started_at desc limit 1"
    ).fetchall()
    if not rows:
        return None
    run_id, source, status, rows_loaded, message = rows[0]
    if status != "success":
        detail = f": {message.splitlines()[0]}" if message else ""
        return f"the last ingest run ({source}, {run_id}) {status}{detail}"
    if not rows_loaded:
        return f"the last ingest run ({source}, {run_id}) loaded no rows"
    return None


def day_to_score(
    connection: duckdb.DuckDBPyConnection, date: dt.date | None = None, *, latest: bool = False
) -> dt.date:
    """The trading day to score (module docstring); raises `StaleDataError` when the store does not hold it."""
    features_end = latest_feature_date(connection)
    if features_end is None:
        raise StaleDataError("the store has no feature mart: run `dbt build` (after an ingest), then this again.")
    if latest:
        day = features_end
    elif date is not None:
        day = trading_day_on_or_before(date)
    else:
        day = expected_trading_day()
    prices_end = latest_price_date(connection)
    if prices_end is None or prices_end < day:
        raise StaleDataError(
            f"stale data: the exchange traded on {day} but the store's latest prices are of {prices_end}; run the "
            "day's ingest and `dbt build`, then this again (or score the last day held with --date latest)."
        )
    if day == prices_end:
        problem = _last_ingest_problem(connection)
        if problem is not None:
            raise StaleDataError(
                f"stale data: {problem}, so the prices of {day} may be incomplete; fix the ingest and run it again, "
                "then `dbt build` and this."
            )
    if features_end < day:
        raise StaleDataError(
            f"the prices of {day} are loaded but the features end on {features_end}: run `dbt build`, then this again."
        )
    return day
