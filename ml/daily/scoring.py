"""Scoring one trading day with a trained model, through the store's client (`store.retrieval.FeatureStore`).

Every ticker with a row in the feature mart on the day is scored: the model's features as of that day's close
(the mart version it was trained on) and the day's market regime, read by `get_historical_features` with the
day as a date, so exactly the rows a point-in-time client gets. The raw probability is the meta-learner's;
the calibrated one is the live calibrator's (`ml.daily.live_calibration`); `rank_in_day` orders the day's
names by calibrated probability, highest first (1 = the strongest call), ties broken by raw probability and
then ticker so that a rank is never shared.
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ml.errors import MLError
from ml.estimators.calibration import ProbabilityCalibrator
from ml.train.data import REGIME
from ml.train.registry import TrainedModel
from store.marts import FEATURES_VERSION_PREFIX
from store.retrieval import FeatureStore


def mart_version_number(mart_version: str) -> int | None:
    """The N of a model's `fct_features_vN` (None when it names no version)."""
    match = re.fullmatch(rf"{FEATURES_VERSION_PREFIX}(\d+)", mart_version)
    return int(match.group(1)) if match else None


def score_day(
    connection: duckdb.DuckDBPyConnection,
    model: TrainedModel,
    mart_version: str,
    day: dt.date,
    calibrator: ProbabilityCalibrator,
) -> pd.DataFrame:
    """(ticker, regime_id, raw_probability, calibrated_probability, rank_in_day, names_in_day) of every
    ticker of the mart on `day`, by ticker."""
    store = FeatureStore(connection=connection, version=mart_version_number(mart_version))
    tickers = connection.execute(
        f"select ticker from {store.features_relation} where trade_date = ? order by ticker", [day]
    ).fetchall()
    if not tickers:
        raise MLError(f"the feature mart has no row on {day}: nothing to score (run `dbt build` after the ingest).")
    entities = pa.table({"ticker": [row[0] for row in tickers], "day": pa.array([day] * len(tickers), pa.date32())})
    # ttl 0: each ticker's features of the day itself (it has a row that day), and the store reads only the
    # day's rows rather than every ticker's history (0.06 s against 0.25 s on the real store).
    rows = store.get_historical_features(
        entities, [*model.features, REGIME], timestamp_column="day", output="pandas", ttl=dt.timedelta(0)
    )
    inputs = rows[[*model.features, REGIME]].astype({name: "float64" for name in model.features})
    raw = model.learner.predict(inputs)
    calibrated = calibrator.calibrate(raw)
    order = np.lexsort((np.arange(len(rows)), -raw, -calibrated))  # the rows are by ticker: the last tie-break
    rank = np.empty(len(rows), dtype=np.int64)
    rank[order] = np.arange(1, len(rows) + 1)
    return pd.DataFrame(
        {
            "ticker": rows["ticker"].to_numpy(),
            "regime_id": rows[REGIME].astype("Int64").to_numpy(dtype=object, na_value=None),
            "raw_probability": raw,
            "calibrated_probability": calibrated,
            "rank_in_day": rank,
            "names_in_day": len(rows),
        }
    )
