"""Reading the marts for training: DuckDB -> Arrow -> pandas/numpy, no CSV round trip.

`load_training_examples` reads `marts.fct_training_examples` (features v1, labels and regime, only rows whose
label is known) in time order. The feature columns are an allow-list: the columns of the feature marts
themselves (`marts.fct_features_v1`, and `marts.fct_feature_ranks` once a build has it), which never hold a
label, so a label column the training mart gains (a new label) can never be fed to a model as a feature.
`label_horizon` reads the label's horizon from `marts.dim_labels`, where dbt wrote the one dbt var
(`label_horizon_days`) that defines it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from store import MissingRelationError, database_file, release_memory, require_relation

MART_RELATION = "marts.fct_training_examples"
LABELS_RELATION = "marts.dim_labels"
MART_VERSION = "fct_features_v1"
LABEL = "label_up_5d"
FORWARD_RETURN = "fwd_ret_5d"
LABEL_COLUMNS = (FORWARD_RETURN, LABEL, "label_known_date")
KEY_COLUMNS = ("ticker", "trade_date")
REGIME_COLUMNS = ("trend_state", "vol_state", "regime_id")
REGIME = "regime_id"
#: The marts whose columns (other than the keys) are the features: labels never enter them.
FEATURE_RELATIONS = ("marts.fct_features_v1", "marts.fct_feature_ranks")
BUILD_HINT = "run `dbt build` first"


@dataclass
class TrainingData:
    """Training examples in time order: features, labels, regimes and keys, as separate views of one frame."""

    frame: pd.DataFrame
    feature_columns: list[str]
    mart_version: str = MART_VERSION

    @property
    def features(self) -> pd.DataFrame:
        """The feature columns, indexed by `trade_date` (so an estimator can purge by date)."""
        return self.frame[self.feature_columns].set_axis(pd.DatetimeIndex(self.frame["trade_date"]), axis=0)

    @property
    def labels(self) -> np.ndarray:
        return self.frame[LABEL].to_numpy(dtype=np.int8)

    def fingerprint(self) -> str:
        """A hash of the rows and columns trained on: same data, same fingerprint."""
        digest = hashlib.sha256()
        digest.update(",".join(self.frame.columns).encode())
        hashed = pd.util.hash_pandas_object(self.frame, index=False).to_numpy()
        digest.update(hashed.tobytes())
        return digest.hexdigest()[:16]


def load_training_examples(
    connection: duckdb.DuckDBPyConnection, *, start: dt.date | None = None, end: dt.date | None = None
) -> TrainingData:
    """Rows of marts.fct_training_examples (optionally trade_date in [start, end]) ordered by date, ticker.

    Raises `store.MissingRelationError` (run `dbt build` first) when the mart is missing or empty.
    """
    require_relation(connection, MART_RELATION, BUILD_HINT)
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
    release_memory(connection)
    frame = table.to_pandas()
    if frame.empty:
        raise MissingRelationError(
            database_file(connection),
            f"labelled rows in {MART_RELATION}",
            "ingest more history (a label is known only after its horizon) and run `dbt build`",
        )
    for column in ("trade_date", "label_known_date"):
        frame[column] = pd.to_datetime(frame[column])
    allowed = set(feature_mart_columns(connection)) - set(LABEL_COLUMNS) - set(KEY_COLUMNS) - set(REGIME_COLUMNS)
    feature_columns = [c for c in frame.columns if c in allowed]
    frame[feature_columns] = frame[feature_columns].astype("float64")
    return TrainingData(frame=frame, feature_columns=feature_columns)


def feature_mart_columns(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The columns of the feature marts (`FEATURE_RELATIONS`, those that exist), keys included."""
    names = [relation.split(".") for relation in FEATURE_RELATIONS]
    rows = connection.execute(
        "select column_name from information_schema.columns where table_catalog = current_database() and ("
        + " or ".join("(table_schema = ? and table_name = ?)" for _ in names)
        + ") order by table_name, ordinal_position",
        [part for pair in names for part in pair],
    ).fetchall()
    return [row[0] for row in rows]


def label_horizon(connection: duckdb.DuckDBPyConnection, label: str = LABEL) -> int:
    """The horizon in trading days of `label`, as dbt built it (`marts.dim_labels`, from the dbt var
    `label_horizon_days`)."""
    require_relation(connection, LABELS_RELATION, BUILD_HINT)
    rows = connection.execute(f"select horizon_days from {LABELS_RELATION} where label_name = ?", [label]).fetchall()
    row = rows[0] if rows else None
    if row is None or row[0] is None:
        raise MissingRelationError(database_file(connection), f"the label {label} in {LABELS_RELATION}", BUILD_HINT)
    return int(row[0])
