"""Feature drift of the last `WINDOW_DAYS` trade dates against a model's training baselines, as of a day.

The baselines are the ones training stored (`ml.drift_baselines`: the `DriftDetector` fitted on the model's
training window, per selected feature). Each day the model's features over the universe's rows of the last
`WINDOW_DAYS` trade dates up to the day (read through the store's client, like scoring) are compared with
them, feature by feature, by two effect sizes that do not grow with the number of rows:

- the **population stability index** (PSI) over the baseline's ten quantile bins: the verdict. A feature has
  drifted when its PSI exceeds its threshold: the larger of `PSI_THRESHOLD` and the largest PSI of any
  `WINDOW_DAYS`-date block of the model's own training window against the same baseline. A window drifts
  only when it is further from the baseline than every month the model was trained on was: a 60-day beta or
  the distance to the 200-day average moves slowly, so thirty days of it never look like years of it, and
  a fixed threshold would flag it every day on an unchanged market. The thresholds come from the training
  window only and are stored per model (`ml.drift_thresholds`) the first time the model is checked;
- the **Kolmogorov-Smirnov statistic D** (the largest gap between the two distribution functions, on the
  baseline's 2,000-value sample and as many recent values): recorded, not used for the verdict.

A feature that had values in the training window and has none in the recent one (its source stopped) has
drifted (PSI and D NULL); one with no value in the training window is not tested (`DriftCheck.skipped`).

A p-value is not used: thirty days of a universe are thousands of rows, autocorrelated in time (a 60-day
volatility barely moves in 30 days) and across stocks (a day's market move), so a KS test rejects on
differences no model notices, on most days (issue 12 measured 95 % of features flagged on the synthetic
store).

The drift verdict of a day is `triggered` when the share of drifted features reaches `TRIGGER_SHARE`.
The thresholds were chosen on the synthetic market without regime change and checked with a planted regime
shift (docs/daily.md, "Drift"): over a year the unchanged market triggers on few days, the shifted one
within days of the shift.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import pandas as pd
import pyarrow as pa

from ml.daily import storage
from ml.errors import MLError
from ml.estimators.drift import DriftDetector
from store.marts import TRAINING_EXAMPLES
from store.retrieval import FeatureStore

#: Trade dates in the recent window.
WINDOW_DAYS = 30
#: A feature has drifted when its PSI over the window exceeds this (the usual scale: below 0.1 stable, 0.1-0.2
#: moderate, above 0.2 a significant shift; `DriftDetector`'s default).
PSI_THRESHOLD = 0.2
#: The day's verdict is 'triggered' when at least this share of the model's features has drifted (the plan's
#: `drift_percentage_trigger`).
TRIGGER_SHARE = 0.2


@dataclass
class DriftCheck:
    """One day's drift check: per feature (`psi`, `ks_d`, `drifted`) and the verdict."""

    day: dt.date
    window_first: dt.date
    rows: int
    features: pd.DataFrame
    drifted_share: float
    triggered: bool
    #: Features not tested, with why (no value in the training window or in the recent one).
    skipped: dict[str, str] = field(default_factory=dict)


@contextmanager
def _detector_quiet() -> Iterator[None]:
    """`DriftDetector` logs a warning for every feature it skips; the check reports them in `skipped`."""
    detector_logger = logging.getLogger("ml.estimators.drift")
    level = detector_logger.level
    detector_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        detector_logger.setLevel(level)


def drift_detector(connection: duckdb.DuckDBPyConnection, model_id: str) -> DriftDetector:
    """The model's fitted `DriftDetector`, rebuilt from `ml.drift_baselines` (its settings are under '*')."""
    baselines = storage.drift_baselines(connection, model_id)
    settings = baselines.pop("*", None)
    if settings is None or not baselines:
        raise MLError(f"model {model_id} has no drift baselines in ml.drift_baselines: train it again.")
    return DriftDetector.from_dict({**settings, "baselines": baselines})


def recent_rows(
    connection: duckdb.DuckDBPyConnection, features: list[str], version: int | None, day: dt.date
) -> pd.DataFrame:
    """The features of every (ticker, trade date) of the last `WINDOW_DAYS` trade dates of the mart up to `day`."""
    store = FeatureStore(connection=connection, version=version)
    keys = connection.sql(
        f"""
        with window_dates as (
            select distinct trade_date from {store.features_relation} where trade_date <= ?
            order by trade_date desc limit ?
        )
        select ticker, trade_date from {store.features_relation}
        where trade_date in (select trade_date from window_dates)
        order by trade_date, ticker
        """,
        params=[day, WINDOW_DAYS],
    ).to_arrow_table()
    entities = pa.table({"ticker": keys.column("ticker"), "day": keys.column("trade_date")})
    # ttl 0: every key is a row of the mart, so its own features; the store then reads only the window's rows.
    return store.get_historical_features(
        entities, features, timestamp_column="day", output="pandas", ttl=dt.timedelta(0)
    )


def training_thresholds(
    connection: duckdb.DuckDBPyConnection,
    model_id: str,
    features: list[str],
    train_first: dt.date,
    train_last: dt.date,
) -> pd.DataFrame:
    """Per feature (`feature`, `training_blocks`, `training_max_psi`, `threshold`): the stored thresholds of the
    model, else computed from its training window (the rows of the training mart from `train_first` to
    `train_last`, cut into consecutive blocks of `WINDOW_DAYS` dates; a last, shorter block is left out)."""
    stored = storage.stored_thresholds(connection, model_id)
    if not stored.empty:
        return stored
    columns = ", ".join(f'"{name}"' for name in features)
    rows = connection.sql(
        f"select trade_date, {columns} from {TRAINING_EXAMPLES} where trade_date between ? and ? order by trade_date",
        params=[train_first, train_last],
    ).df()
    detector = drift_detector(connection, model_id)
    dates = rows["trade_date"].unique()
    maxima = dict.fromkeys(features, 0.0)
    blocks = len(dates) // WINDOW_DAYS
    for block in range(blocks):
        first, last = dates[block * WINDOW_DAYS], dates[(block + 1) * WINDOW_DAYS - 1]
        part = rows[(rows["trade_date"] >= first) & (rows["trade_date"] <= last)]
        with _detector_quiet():
            details = detector.check_retrain_trigger(part[features].astype("float64"), method="psi")["details"]
        for feature, values in details.items():
            maxima[feature] = max(maxima[feature], values["psi"])
    return pd.DataFrame(
        {
            "feature": features,
            "training_blocks": blocks,
            "training_max_psi": [maxima[name] for name in features],
            "threshold": [max(PSI_THRESHOLD, maxima[name]) for name in features],
        }
    )


def check_drift(
    connection: duckdb.DuckDBPyConnection,
    model_id: str,
    features: list[str],
    version: int | None,
    day: dt.date,
    thresholds: pd.DataFrame,
) -> DriftCheck:
    """Compare the recent window with the model's baselines, feature by feature against `thresholds`
    (`training_thresholds`; module docstring)."""
    detector = drift_detector(connection, model_id)
    recent = recent_rows(connection, features, version, day)
    if recent.empty:
        raise MLError(f"the feature mart has no row on or before {day}: nothing to check for drift.")
    inputs = recent[features].astype("float64")
    with _detector_quiet():
        checked = detector.check_retrain_trigger(inputs, method="psi")
        # Only the KS statistic is stored, not the p-value: its exact computation is skipped.
        ks = detector.check_retrain_trigger(inputs, method="ks", ks_p_value="asymp")["details"]
    psi = checked["details"]
    limits = dict(zip(thresholds["feature"], thresholds["threshold"], strict=True))
    rows = [
        {
            "feature": feature,
            "psi": details["psi"],
            "ks_d": ks[feature]["statistic"],
            "rows": details["n_recent"],
            "threshold": limits[feature],
            "drifted": bool(details["psi"] > limits[feature]),
        }
        for feature, details in psi.items()
    ]
    # A feature the model was trained with that has no value at all in the window has drifted as far as it can.
    vanished = {
        feature for feature in checked["skipped_features"] if feature in limits and recent[feature].isna().all()
    }
    vanished -= set(psi)
    rows += [
        {"feature": name, "psi": None, "ks_d": None, "rows": 0, "threshold": limits[name], "drifted": True}
        for name in sorted(vanished)
    ]
    frame = pd.DataFrame(rows, columns=["feature", "psi", "ks_d", "rows", "threshold", "drifted"])
    share = float(frame["drifted"].mean()) if len(frame) else 0.0
    return DriftCheck(
        day=day,
        window_first=pd.Timestamp(recent["day"].min()).date(),
        rows=len(recent),
        features=frame,
        drifted_share=share,
        triggered=bool(len(frame) and share >= TRIGGER_SHARE),
        skipped={name: why for name, why in checked["skipped_features"].items() if name not in vanished},
    )
