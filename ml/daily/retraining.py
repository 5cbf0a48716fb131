"""Retraining: when the daily routine trains a challenger, how a challenger is judged, and who becomes champion.

Modes (`python -m ml.daily --retrain`, default `auto`):

- `auto`: train a challenger when the day's drift verdict triggered (`ml.daily.drift`) or the champion's live
  performance degraded: its AUC over the last 60 resolved trade dates (at least `SHADOW_DAYS` of them) is
  below its own test AUC by more than `DEGRADED_Z` standard errors of the difference,
  (test - live) / sqrt(se_test² + se_live²) > 2, both standard errors clustered by day;
- `always`: train a challenger on every run, whatever the triggers say;
- `never`: train nothing (a challenger already in shadow is still judged).

One challenger at a time: while one is in shadow, no other is trained, in any mode.

**The challenger** is `train_model(..., as_of=D + 1 day)`: only rows whose label was known by D (the run is
after D's close), with the champion's training settings (label, number of features, correlation threshold,
calibration method, seed, device). It is stored with status 'challenger' and, from the next trading day, is
scored every day beside the champion, in shadow: its predictions are logged and resolved and its live
calibrator kept like the champion's, but the day's calls are the champion's.

**The decision**, on the first day both models have `SHADOW_DAYS` trade dates of resolved predictions in
common: both are judged on the same rows, the (ticker, trade date) pairs of the latest `SHADOW_DAYS` of
those dates, days neither model's training saw. The challenger becomes champion if its AUC (of the
calibrated probability, pooled over the window like the live performance) is higher than the champion's;
otherwise it is rejected. The reason stored with the decision gives both AUCs and log losses and the mean
daily AUC difference with its Newey-West standard error across days (`horizon - 1` lags). A challenger that
has not reached the window after `EXPIRY_DAYS` shadow days (its predictions never resolve) is rejected so
another can be trained. The champion it replaces is retired; both stay in the registry (`ml.models`,
`ml.model_status`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ml.daily import storage
from ml.daily.drift import DriftCheck
from ml.factors import newey_west_t
from ml.metrics import evaluate
from ml.train.pipeline import TrainSummary, train_model
from ml.train.registry import StatusChange, record_status

MODES = ("auto", "always", "never")
#: Trade dates of resolved predictions a challenger and the champion are compared on.
SHADOW_DAYS = 20
#: Standard errors by which live AUC must fall short of test AUC for performance to count as degraded.
DEGRADED_Z = 2.0
#: Shadow trade dates after which a challenger still without its window is rejected.
EXPIRY_DAYS = 3 * SHADOW_DAYS


def degraded(test: dict[str, float | None], live: dict[str, float | None] | None) -> str | None:
    """Why the champion's live performance counts as degraded against its test window (None when it does not):
    `test` from `ml.metrics` (split 'test'), `live` from `ml.daily.performance`."""
    if live is None or (live.get("dates") or 0) < SHADOW_DAYS:
        return None
    values = (test.get("auc"), test.get("auc_se"), live.get("auc"), live.get("auc_se"))
    if any(value is None or not math.isfinite(value) for value in values):
        return None
    test_auc, test_se, live_auc, live_se = values
    spread = math.hypot(test_se, live_se)
    if spread == 0 or (test_auc - live_auc) / spread <= DEGRADED_Z:
        return None
    return (
        f"live AUC {live_auc:.3f} (s.e. {live_se:.3f}) over {live['dates']} trade dates is "
        f"{(test_auc - live_auc) / spread:.1f} s.e. below the test AUC {test_auc:.3f} (s.e. {test_se:.3f})"
    )


def retrain_reason(
    mode: str, drift: DriftCheck | None, performance_reason: str | None, shadowing: list[str]
) -> str | None:
    """Why a challenger is trained today under `mode` (None: it is not)."""
    if mode not in MODES:
        raise ValueError(f"unknown retrain mode {mode!r}: use one of {', '.join(MODES)}")
    if mode == "never" or shadowing:
        return None
    if mode == "always":
        return "--retrain always"
    reasons = []
    if drift is not None and drift.triggered:
        reasons.append(f"drift: {drift.drifted_share:.0%} of the features past their threshold")
    if performance_reason is not None:
        reasons.append(f"performance: {performance_reason}")
    return "; ".join(reasons) or None


def training_settings(connection: duckdb.DuckDBPyConnection, model_id: str) -> dict:
    """The `train_model` keywords that retrain `model_id` as it was trained (label, features, seed, device...)."""
    random_state, device, params, features = storage.training_row(connection, model_id)
    params = json.loads(params)
    selector = params.get("selector", {})
    return {
        "random_state": 42 if random_state is None else int(random_state),
        "device": device,
        "n_features": int(selector.get("n_features", len(json.loads(features)))),
        "correlation_threshold": float(selector.get("correlation_threshold", 0.85)),
        "calibration_method": params.get("calibration_method", "auto"),
        "label": params["label"],
    }


def train_challenger(
    connection: duckdb.DuckDBPyConnection,
    champion_id: str,
    day: dt.date,
    reason: str,
    *,
    report=lambda _message: None,
) -> TrainSummary:
    """Train and store a challenger on the labels known by `day`, with the champion's settings (module
    docstring), inside the caller's transaction."""
    status = StatusChange("challenger", day, "daily", f"trained on the labels known by {day}: {reason}")
    return train_model(
        connection,
        **training_settings(connection, champion_id),
        as_of=day + dt.timedelta(days=1),
        status=status,
        report=report,
    )


@dataclass(frozen=True)
class Comparison:
    """A challenger against the champion on the same resolved rows."""

    first_date: dt.date
    last_date: dt.date
    dates: int
    rows: int
    champion: dict[str, float | None]
    challenger: dict[str, float | None]
    daily_difference: float
    daily_difference_se: float | None

    @property
    def challenger_wins(self) -> bool:
        """The promotion rule: a higher AUC than the champion's on the same rows."""
        champion, challenger = self.champion.get("auc"), self.challenger.get("auc")
        return champion is not None and challenger is not None and challenger > champion

    def reason(self) -> str:
        """The decision's reason, with its evidence."""

        def shown(metrics: dict, name: str) -> str:
            value = metrics.get(name)
            return "-" if value is None else f"{value:.4f}"

        se = "-" if self.daily_difference_se is None else f"{self.daily_difference_se:.4f}"
        return (
            f"{self.rows:,} shared predictions of {self.dates} trade dates {self.first_date}..{self.last_date}: "
            f"AUC {shown(self.challenger, 'auc')} vs the champion's {shown(self.champion, 'auc')}, log loss "
            f"{shown(self.challenger, 'log_loss')} vs {shown(self.champion, 'log_loss')}; mean daily AUC "
            f"difference {self.daily_difference:+.4f} (Newey-West s.e. {se})"
        )


def compare(frame: pd.DataFrame, horizon: int) -> Comparison | None:
    """The comparison on the rows of `ml.daily.storage.shared_window`; None until they span `SHADOW_DAYS`
    trade dates."""
    dates = frame["trade_date"]
    if dates.nunique() < SHADOW_DAYS:
        return None
    outcome, returns = frame["outcome"].to_numpy(), frame["outcome_return"].to_numpy(dtype=float)
    tickers, days = frame["ticker"].to_numpy(), dates.to_numpy()

    def metrics(column: str) -> dict[str, float | None]:
        return evaluate(frame[column].to_numpy(), outcome, returns, days, tickers, horizon)

    differences = []
    for _date, rows in frame.groupby("trade_date"):
        if rows["outcome"].nunique() == 2:
            differences.append(
                roc_auc_score(rows["outcome"], rows["challenger_probability"])
                - roc_auc_score(rows["outcome"], rows["champion_probability"])
            )
    values = np.asarray(differences, dtype=float)
    return Comparison(
        first_date=pd.Timestamp(dates.min()).date(),
        last_date=pd.Timestamp(dates.max()).date(),
        dates=int(dates.nunique()),
        rows=len(frame),
        champion=metrics("champion_probability"),
        challenger=metrics("challenger_probability"),
        daily_difference=float(values.mean()) if len(values) else 0.0,
        daily_difference_se=_newey_west_se(values, horizon),
    )


def _newey_west_se(values: np.ndarray, horizon: int) -> float | None:
    """The standard error of the mean daily difference, Newey-West with `horizon - 1` lags: consecutive days
    share most of their overlapping labels' window."""
    t = newey_west_t(values, horizon - 1) if len(values) > 1 else None
    if t is None or not np.isfinite(t) or t == 0:
        return None
    return float(abs(values.mean() / t))


@dataclass(frozen=True)
class Decision:
    """What happened to a challenger on a day."""

    challenger_id: str
    promoted: bool
    reason: str

    def summary(self) -> str:
        """The decision in one line."""
        verdict = "promoted to champion" if self.promoted else "rejected"
        return f"challenger {self.challenger_id} {verdict}: {self.reason}"


def judge(
    connection: duckdb.DuckDBPyConnection, champion_id: str, challenger_id: str, day: dt.date, horizon: int
) -> Decision | None:
    """Promote or reject the challenger when its window is complete, or when it expired; None while it waits."""
    comparison = compare(storage.shared_window(connection, champion_id, challenger_id, day, SHADOW_DAYS), horizon)
    if comparison is None:
        shadow_dates = storage.scored_dates(connection, challenger_id, day)
        if shadow_dates < EXPIRY_DAYS:
            return None
        decision = Decision(
            challenger_id,
            False,
            f"expired: {shadow_dates} shadow trade dates without {SHADOW_DAYS} resolved in common with the champion",
        )
    elif comparison.challenger_wins:
        decision = Decision(challenger_id, True, f"beat champion {champion_id}: {comparison.reason()}")
    else:
        decision = Decision(challenger_id, False, f"did not beat champion {champion_id}: {comparison.reason()}")
    status = "champion" if decision.promoted else "rejected"
    record_status(connection, challenger_id, StatusChange(status, day, "daily", decision.reason))
    return decision
