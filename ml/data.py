"""Reading the feature mart for training: DuckDB -> Arrow -> pandas/numpy, no CSV round trip.

`load_training_examples` reads `marts.fct_training_examples` (features v1 + labels + regime, only rows
whose label is known) in time order. The label columns and the bookkeeping columns are kept apart from
the feature columns, so a label can never be fed to a model as a feature by accident.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ml.errors import MLError
from ml.registry import open_warehouse

MART_RELATION = "marts.fct_training_examples"
MART_VERSION = "fct_features_v1"
LABEL_COLUMNS = ("fwd_ret_5d", "label_up_5d", "label_known_date")
KEY_COLUMNS = ("ticker", "trade_date")
REGIME_COLUMNS = ("trend_state", "vol_state", "regime_id")


@dataclass
class TrainingData:
    """Training examples in time order: features, labels, regimes and keys, as separate views of one frame."""

    frame: pd.DataFrame
    feature_columns: list[str]
    mart_version: str = MART_VERSION

    @property
    def features(self) -> pd.DataFrame:
        return self.frame[self.feature_columns]

    @property
    def labels(self) -> np.ndarray:
        return self.frame["label_up_5d"].to_numpy(dtype=np.int8)

    @property
    def regimes(self) -> np.ndarray:
        return self.frame["regime_id"].to_numpy(dtype=float)

    def fingerprint(self) -> str:
        """A hash of the rows and columns trained on: same data, same fingerprint."""
        digest = hashlib.sha256()
        digest.update(",".join(self.frame.columns).encode())
        hashed = pd.util.hash_pandas_object(self.frame, index=False).to_numpy()
        digest.update(hashed.tobytes())
        return digest.hexdigest()[:16]


def load_training_examples(db_path: Path, *, start: dt.date | None = None, end: dt.date | None = None) -> TrainingData:
    """Rows of marts.fct_training_examples (optionally trade_date in [start, end]) ordered by date, ticker.

    Raises `MLError` with what to do when the database or the mart is missing, or the file is locked.
    """
    if not Path(db_path).exists():
        raise MLError(f"{db_path} does not exist: run `python -m ingest synthetic` and `dbt build` first.")
    connection = open_warehouse(db_path, read_only=True)
    try:
        try:
            connection.execute(f"select 1 from {MART_RELATION} limit 1").fetchall()
        except duckdb.CatalogException:
            raise MLError(f"{db_path} has no {MART_RELATION}: run `dbt build` first.") from None
        conditions, params = [], []
        if start is not None:
            conditions.append("trade_date >= ?")
            params.append(start)
        if end is not None:
            conditions.append("trade_date <= ?")
            params.append(end)
        where = f"where {' and '.join(conditions)}" if conditions else ""
        table = connection.sql(
            f"select * from {MART_RELATION} {where} order by trade_date, ticker", params=params
        ).to_arrow_table()
    finally:
        connection.close()
    frame = table.to_pandas()
    if frame.empty:
        raise MLError(f"{MART_RELATION} in {db_path} has no rows with a known label: ingest more history.")
    for column in ("trade_date", "label_known_date"):
        frame[column] = pd.to_datetime(frame[column])
    excluded = set(LABEL_COLUMNS) | set(KEY_COLUMNS) | set(REGIME_COLUMNS)
    feature_columns = [c for c in frame.columns if c not in excluded]
    frame[feature_columns] = frame[feature_columns].astype("float64")
    return TrainingData(frame=frame, feature_columns=feature_columns)
