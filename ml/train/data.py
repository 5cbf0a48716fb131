"""Reading the marts for training: DuckDB -> Arrow -> pandas/numpy, no CSV round trip.

`load_training_examples` reads `marts.fct_training_examples` (features v1, their ranks within the day, labels
and regime) in time order, keeping the rows whose chosen label (`LABELS`) is known. Two labels can be
trained on: `up` (`label_up_5d`, the close rose over the horizon) and `beats_median` (`label_beats_median_5d`,
the forward return beat the day's universe median: a cross-sectional label, the default; docs/ml.md says why).

The feature columns are an allow-list built from the feature marts themselves, which never hold a label, so a
label column the training mart gains can never be fed to a model as a feature:

- the **stock-level** features: the columns of `marts.fct_features_v1` that dbt ranks within the day (those
  with a `<feature>_xs_rank` column in `marts.fct_feature_ranks`), and those ranks;
- never the **market-level** features (the rest of `fct_features_v1`: VIX, yields, SPY, BTC...), which are
  the same for every ticker on a day. A model fed them learns to time the market and gives every stock of a
  day the same probability; they reach the model only through the market regime (`regime_id`, which
  `marts.fct_market_regimes` computes from SPY and VIX), the key of the meta-learner's regime models.
`export_training_examples` writes the same rows as Parquet partitioned by year, with each row's position in
the frame `load_training_examples` returns, for the Dask workers to read (ml.estimators.engines.dask).
`label_horizon` reads the label's horizon from `marts.dim_labels`, where dbt wrote the one dbt var
(`label_horizon_days`) that defines it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ml.errors import MLError
from ml.estimators.engines import ROW_POSITION
from store import MissingRelationError, database_file, relation_columns, release_memory, require_relation
from store.marts import FEATURE_RANKS, FEATURES_VERSION_PREFIX, LABEL_DEFINITIONS, TRAINING_EXAMPLES, features_version
from store.parquet import PARTITION_COLUMN, export_query

#: The version of the feature mart the models read (`marts.fct_features_v1`), recorded with each model.
FEATURE_VERSION = 1
MART_VERSION = f"{FEATURES_VERSION_PREFIX}{FEATURE_VERSION}"
RANK_SUFFIX = "_xs_rank"
LABEL = "label_up_5d"
FORWARD_RETURN = "fwd_ret_5d"
#: The order of the training examples (a unique key: the same rows always come in the same order).
EXAMPLE_ORDER = "trade_date, ticker"


@dataclass(frozen=True)
class LabelSpec:
    """A label a model can be trained on: its column in the training mart and the column saying from which
    date its value is final (the cutoff a training job compares with)."""

    name: str
    column: str
    known_date_column: str


#: The labels `python -m ml.train --label NAME` accepts, by NAME.
LABELS = {
    "up": LabelSpec("up", "label_up_5d", "label_known_date"),
    "beats_median": LabelSpec("beats_median", "label_beats_median_5d", "label_beats_median_known_date"),
}
DEFAULT_LABEL = "beats_median"
KEY_COLUMNS = ("ticker", "trade_date")
REGIME = "regime_id"
BUILD_HINT = "run `dbt build` first"
REBUILD_HINT = "run `dbt build --full-refresh` (the store was built before the marts had them)"


@dataclass
class TrainingData:
    """Training examples in time order: features, labels, regimes and keys, as separate views of one frame.

    `frame["label_known_date"]` is the chosen label's known date (for `beats_median`, the date the day's
    median is final), the date every split and fold purges on; `market_columns` are the market-level
    features left out of `feature_columns`."""

    frame: pd.DataFrame
    feature_columns: list[str]
    label: LabelSpec = LABELS[DEFAULT_LABEL]
    market_columns: list[str] = field(default_factory=list)
    mart_version: str = MART_VERSION

    @property
    def features(self) -> pd.DataFrame:
        """The feature columns, indexed by `trade_date` (so an estimator can purge by date)."""
        return self.frame[self.feature_columns].set_axis(pd.DatetimeIndex(self.frame["trade_date"]), axis=0)

    @property
    def labels(self) -> np.ndarray:
        return self.frame[self.label.column].to_numpy(dtype=np.int8)

    def fingerprint(self) -> str:
        """A hash of the rows and columns trained on: same data, same fingerprint."""
        digest = hashlib.sha256()
        digest.update(",".join(self.frame.columns).encode())
        hashed = pd.util.hash_pandas_object(self.frame, index=False).to_numpy()
        digest.update(hashed.tobytes())
        return digest.hexdigest()[:16]


def load_training_examples(
    connection: duckdb.DuckDBPyConnection,
    *,
    label: str = DEFAULT_LABEL,
    start: dt.date | None = None,
    end: dt.date | None = None,
    known_before: dt.date | None = None,
) -> TrainingData:
    """Rows of marts.fct_training_examples whose `label` (a key of `LABELS`) is known (optionally trade_date in
    [start, end], and the label known strictly before `known_before`: the rows a model trained as of that day
    could have had), ordered by date, ticker; `label_known_date` becomes that label's known date.

    Raises `store.MissingRelationError` (run `dbt build` first) when the mart is missing, empty or older than
    the cross-sectional label and ranks.
    """
    spec = label_spec(label)
    require_relation(connection, TRAINING_EXAMPLES, BUILD_HINT)
    stock, market = feature_columns(connection)
    where, params = _labelled_rows(connection, spec, stock, start, end, known_before)
    table = connection.sql(
        f"select * exclude (label_known_date), {spec.known_date_column} as label_known_date from {TRAINING_EXAMPLES} "
        f"where {where} order by {EXAMPLE_ORDER}",
        params=params,
    ).to_arrow_table()
    release_memory(connection)
    frame = table.to_pandas()
    if frame.empty:
        raise MissingRelationError(
            database_file(connection),
            f"labelled rows in {TRAINING_EXAMPLES}",
            "ingest more history (a label is known only after its horizon) and run `dbt build`",
        )
    for column in ("trade_date", "label_known_date"):
        frame[column] = pd.to_datetime(frame[column])
    frame[stock] = frame[stock].astype("float64")
    return TrainingData(frame=frame, feature_columns=stock, label=spec, market_columns=market)


def export_training_examples(
    connection: duckdb.DuckDBPyConnection,
    destination: str | Path,
    columns: list[str],
    *,
    label: str = DEFAULT_LABEL,
    start: dt.date | None = None,
    end: dt.date | None = None,
    known_before: dt.date | None = None,
) -> int:
    """Write the rows `load_training_examples` reads with the same arguments to `destination` as Parquet
    partitioned by year (`year=2020/...`), with their `columns` (as float64), the label and `row_position`:
    the row's position in the frame `load_training_examples` returns (0, 1, ... in date, ticker order), which
    is how a Dask worker finds the rows it trains on (ml.estimators.engines.dask). Returns the rows written;
    the previous export stays until the new one is complete (`store.parquet.export_query`).
    """
    spec = label_spec(label)
    where, params = _labelled_rows(connection, spec, columns, start, end, known_before)
    values = ", ".join(f"cast({name} as double) as {name}" for name in columns)
    query = (
        f"select {values}, {spec.column}, row_number() over (order by {EXAMPLE_ORDER}) - 1 as {ROW_POSITION}, "
        f"year(trade_date) as {PARTITION_COLUMN} from {TRAINING_EXAMPLES} where {where}"
    )
    written = export_query(connection, query, params, destination)
    release_memory(connection)  # the sort and the window of the export: the command trains next
    return written


def _labelled_rows(
    connection: duckdb.DuckDBPyConnection,
    spec: LabelSpec,
    columns: list[str],
    start: dt.date | None,
    end: dt.date | None,
    known_before: dt.date | None,
) -> tuple[str, list]:
    """The where clause (and its parameters) of the examples whose label is known, within the dates asked for;
    raises `store.MissingRelationError` when the mart or one of `columns` or the label's columns is missing."""
    require_relation(connection, TRAINING_EXAMPLES, BUILD_HINT)
    present = set(relation_columns(connection, TRAINING_EXAMPLES))
    missing = sorted({spec.column, spec.known_date_column, *columns} - present)
    if missing:
        raise MissingRelationError(
            database_file(connection), f"the columns {', '.join(missing[:3])} in {TRAINING_EXAMPLES}", REBUILD_HINT
        )
    conditions, params = [f"{spec.column} is not null"], []
    if start is not None:
        conditions.append("trade_date >= ?")
        params.append(start)
    if end is not None:
        conditions.append("trade_date <= ?")
        params.append(end)
    if known_before is not None:
        conditions.append(f"{spec.known_date_column} < ?")
        params.append(known_before)
    return " and ".join(conditions), params


def label_spec(label: str) -> LabelSpec:
    """The `LABELS` entry of `label` (a name such as 'beats_median', or its column such as 'label_up_5d')."""
    for spec in LABELS.values():
        if label in (spec.name, spec.column):
            return spec
    raise MLError(f"unknown label {label!r}: choose one of {', '.join(LABELS)}")


def feature_columns(connection: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str]]:
    """(model inputs, market-level features left out), from the feature marts (module docstring): the
    stock-level features of `marts.fct_features_v1` followed by their ranks within the day, and the features
    that have no rank (the same for every ticker on a day)."""
    features = [c for c in relation_columns(connection, features_version(FEATURE_VERSION)) if c not in KEY_COLUMNS]
    ranks = [c for c in relation_columns(connection, FEATURE_RANKS) if c.endswith(RANK_SUFFIX)]
    if not features:
        raise MissingRelationError(database_file(connection), features_version(FEATURE_VERSION), BUILD_HINT)
    if not ranks:
        raise MissingRelationError(database_file(connection), FEATURE_RANKS, REBUILD_HINT)
    ranked = {c.removesuffix(RANK_SUFFIX) for c in ranks}
    stock = [c for c in features if c in ranked]
    market = [c for c in features if c not in ranked]
    return stock + [f"{c}{RANK_SUFFIX}" for c in stock], market


def label_horizon(connection: duckdb.DuckDBPyConnection, label: str = LABEL) -> int:
    """The horizon in trading days of `label`, as dbt built it (`marts.dim_labels`, from the dbt var
    `label_horizon_days`)."""
    require_relation(connection, LABEL_DEFINITIONS, BUILD_HINT)
    rows = connection.execute(f"select horizon_days from {LABEL_DEFINITIONS} where label_name = ?", [label]).fetchall()
    row = rows[0] if rows else None
    if row is None or row[0] is None:
        raise MissingRelationError(database_file(connection), f"the label {label} in {LABEL_DEFINITIONS}", BUILD_HINT)
    return int(row[0])
