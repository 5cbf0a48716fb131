"""Live performance of a model: its resolved predictions of the last `WINDOW_DAYS` trade dates, as of a day.

Per (model, day) in `ml.live_performance`: the rows and dates of the window, the base rate, the AUC of the
calibrated probability (with its standard error clustered by day), the mean daily rank IC against the
realised forward return with its Newey-West t (`ml.metrics`, the same code as training and the edge
analysis), the hit rate of the top decile (the share of outcomes = 1 among each day's highest-ranked tenth)
and the ECE and log loss. Only outcomes resolved by the day count: the window never reaches past what the
run could know.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from ml.daily import storage
from ml.metrics import evaluate

#: Trade dates of resolved predictions the rolling window holds (about three months).
WINDOW_DAYS = 60
#: A day's top decile: the ranks up to ceil(names / 10).
TOP_FRACTION = 0.1
#: The live metrics stored per (model, day) in `ml.live_performance`.
PERFORMANCE_METRICS = (
    "base_rate",
    "auc",
    "auc_se",
    "rank_ic",
    "rank_ic_t",
    "top_decile_hit_rate",
    "top_decile_rows",
    "ece",
    "log_loss",
)


def resolved_metrics(frame: pd.DataFrame, horizon: int) -> dict[str, float | None]:
    """`ml.metrics.evaluate` of resolved predictions (columns of `ml.predictions`), plus the top decile's hit rate
    and rows."""
    metrics = evaluate(
        frame["calibrated_probability"].to_numpy(),
        frame["outcome"].to_numpy(),
        frame["outcome_return"].to_numpy(dtype=float),
        frame["trade_date"].to_numpy(),
        frame["ticker"].to_numpy(),
        horizon,
    )
    top = frame["rank_in_day"].to_numpy() <= np.ceil(frame["names_in_day"].to_numpy() * TOP_FRACTION)
    metrics["top_decile_hit_rate"] = float(frame["outcome"].to_numpy()[top].mean()) if top.any() else None
    metrics["top_decile_rows"] = int(top.sum())
    return metrics


def period_performance(connection: duckdb.DuckDBPyConnection, horizon: int) -> dict[str, float | None] | None:
    """The metrics of every resolved prediction of the day's champion in `ml.predictions` (a replay's whole
    period: the calls it made, not a challenger's in shadow); None when none."""
    frame = storage.resolved_calls(connection)
    return None if frame.empty else resolved_metrics(frame, horizon)


def record_live_performance(
    connection: duckdb.DuckDBPyConnection, model_id: str, day: dt.date, horizon: int
) -> dict[str, float | None] | None:
    """Compute and store the model's live metrics as of `day`; None (nothing stored) before any outcome."""
    frame = storage.resolved_window(connection, model_id, day, WINDOW_DAYS)
    if frame.empty:
        return None
    metrics = resolved_metrics(frame, horizon)
    dates = frame["trade_date"]
    metrics["dates"] = int(dates.nunique())
    storage.insert_live_performance(
        connection,
        {
            "model_id": model_id,
            "as_of_date": day,
            "window_days": int(dates.nunique()),
            "first_trade_date": dates.min(),
            "last_trade_date": dates.max(),
            "rows": len(frame),
            **{name: metrics[name] for name in PERFORMANCE_METRICS},
        },
    )
    return metrics
