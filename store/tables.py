"""The tables Python owns, each declared once, and the functions that create and write them.

dbt owns the schemas it builds (staging, intermediate, marts, seeds); Python owns three:

- `raw` (written by `python -m ingest`): the loaded datasets (`RAW_DATASETS`: prices, sentiment, earnings,
  analyst_actions, insider_trades; each row remembers the run, file and line that last changed it),
  `rejects` (quarantined input rows with the rule they broke), and the run log: `ingest_runs`,
  `ingest_run_datasets`, `ingest_files`, `validation_results`.
- `ml` (written by `python -m ml.train`): `models`, `metrics`, `feature_importance`, `selected_features`,
  `calibrators`, `drift_baselines`, `tuning`, `model_status` (each model's status changes: champion,
  challenger, retired, rejected, with the reason); and by `python -m ml.daily`: `predictions` (each day's scores
  and, once known, their outcomes), `live_calibration` (the live calibrator of each model as of each day),
  `live_performance` (rolling live metrics as of each day), `drift_thresholds` (each model's PSI threshold per
  feature, from its training window), `drift_checks` (per feature and day: PSI, KS D, threshold, verdict) and
  `daily_runs`.
- `analysis` (written by `python -m ml.backtest`): `runs`, `verdicts`, `signal_edge`, `factor_summary`,
  `factor_daily`, `factor_quantiles`, `backtest_daily`, `backtest_tranches`, `backtest_summary`, `reliability`.

Each is one `Table` (columns, types, key, the columns added after its first release, and for the `ml` tables
whether its rows belong to a model or to a daily run's day). From it come its DDL (`create_tables`), its inserts,
which always name their columns (`insert_row`, `insert_rows`, `insert_frame`), the tables a model owns
(`model_tables`, deleted with the model) and those a daily run writes per day (`day_tables`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from store.connection import relation_columns


@dataclass(frozen=True)
class Table:
    """A table Python writes.

    Parameters
    ----------
    schema, name : str
        Where it lives (`schema.name`).
    columns : dict of str to str
        Each column's SQL type, in table order, with `not null` where a value is required.
    key : tuple of str
        The primary key (empty: none).
    added : tuple of str
        Columns added after the table was first released: a store created before gets them (holding NULL in its
        old rows) when it is next opened for writing. They come last in `columns`.
    belongs_to_model : bool
        Its rows are part of a model's record (column `model_id`), deleted with the model (`model_tables`).
    day_column : str or None
        The day a daily run wrote the row for: re-running that day deletes it first (`day_tables`).
    """

    schema: str
    name: str
    columns: dict[str, str]
    key: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    belongs_to_model: bool = False
    day_column: str | None = None

    def __post_init__(self) -> None:
        named = (*self.key, *self.added, self.day_column, "model_id" if self.belongs_to_model else None)
        unknown = [column for column in named if column is not None and column not in self.columns]
        if unknown:
            raise ValueError(f"{self.qualified}: {', '.join(unknown)} not among its columns")
        if self.added and list(self.columns)[-len(self.added) :] != list(self.added):
            raise ValueError(f"{self.qualified}: the added columns must be its last ones, in order")

    @property
    def qualified(self) -> str:
        """`schema.name`."""
        return f"{self.schema}.{self.name}"

    def ddl(self) -> str:
        """`create table if not exists` for the table."""
        parts = [f"{column} {sql_type}" for column, sql_type in self.columns.items()]
        if self.key:
            parts.append(f"primary key ({', '.join(self.key)})")
        return f"create table if not exists {self.qualified} ({', '.join(parts)})"

    def insert_sql(self, columns: Sequence[str]) -> str:
        """`insert into schema.name (columns) values (?, ...)` for the given columns."""
        self.check_columns(columns)
        return f"insert into {self.qualified} ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})"

    def check_columns(self, columns: Iterable[str]) -> None:
        """Raise ValueError naming any of `columns` the table does not have."""
        unknown = [column for column in columns if column not in self.columns]
        if unknown:
            raise ValueError(f"{self.qualified} has no column {', '.join(unknown)}")


def insert_row(connection: duckdb.DuckDBPyConnection, table: Table, row: Mapping[str, Any]) -> None:
    """Insert one row given as {column: value}; columns left out get their default (NULL)."""
    connection.execute(table.insert_sql(list(row)), list(row.values()))


def insert_rows(connection: duckdb.DuckDBPyConnection, table: Table, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert rows given as {column: value}, every row with the same columns (none: nothing is written)."""
    rows = list(rows)
    if not rows:
        return
    columns = list(rows[0])
    if any(list(row) != columns for row in rows):
        raise ValueError(f"rows for {table.qualified} must all have the columns {', '.join(columns)}")
    connection.executemany(table.insert_sql(columns), [list(row.values()) for row in rows])


def insert_frame(connection: duckdb.DuckDBPyConnection, table: Table, frame: pd.DataFrame | pa.Table) -> None:
    """Append the rows of a DataFrame or Arrow table, matched to the table's columns by name (columns it leaves
    out get NULL; an empty frame writes nothing)."""
    if len(frame) == 0:
        return
    columns = list(frame.column_names) if isinstance(frame, pa.Table) else [str(name) for name in frame.columns]
    table.check_columns(columns)
    listed = ", ".join(columns)
    connection.register("_staged_frame", frame)
    try:
        connection.execute(f"insert into {table.qualified} ({listed}) select {listed} from _staged_frame")
    finally:
        connection.unregister("_staged_frame")


@dataclass(frozen=True)
class Dataset:
    """A raw dataset: its key and its value columns (compared to decide whether a reload changed a row)."""

    name: str
    key: tuple[str, ...]
    values: tuple[str, ...]
    column_types: dict[str, str]

    @property
    def columns(self) -> tuple[str, ...]:
        """The key and the values."""
        return self.key + self.values

    @property
    def table(self) -> Table:
        """`raw.<name>`: the key (not null), the values, and where each row came from (`PROVENANCE`)."""
        columns = {name: self.column_types[name] + (" not null" if name in self.key else "") for name in self.columns}
        return Table("raw", self.name, {**columns, **PROVENANCE}, key=self.key)


#: Where a raw row came from: the source, the file and line, and the run that last changed it.
PROVENANCE = {
    "source": "varchar not null",
    "source_file": "varchar",
    "line_number": "bigint",
    "run_id": "varchar not null",
}


# ------------------------------------------------------------------------------------------------ raw

RAW_DATASETS: dict[str, Dataset] = {
    "prices": Dataset(
        name="prices",
        key=("ticker", "trade_date"),
        values=("open", "high", "low", "close", "adj_close", "volume"),
        column_types={
            "ticker": "varchar",
            "trade_date": "date",
            "open": "double",
            "high": "double",
            "low": "double",
            "close": "double",
            "adj_close": "double",
            "volume": "double",
        },
    ),
    "sentiment": Dataset(
        name="sentiment",
        key=("ticker", "trade_date"),
        values=("sentiment_score", "article_count"),
        column_types={
            "ticker": "varchar",
            "trade_date": "date",
            "sentiment_score": "double",
            "article_count": "double",
        },
    ),
    "earnings": Dataset(
        name="earnings",
        key=("ticker", "announce_date"),
        values=("announce_timing", "eps_estimate", "eps_actual", "surprise_pct"),
        column_types={
            "ticker": "varchar",
            "announce_date": "date",
            "announce_timing": "varchar",
            "eps_estimate": "double",
            "eps_actual": "double",
            "surprise_pct": "double",
        },
    ),
    "analyst_actions": Dataset(
        name="analyst_actions",
        key=("ticker", "action_date", "firm"),
        values=("action", "from_grade", "to_grade"),
        column_types={
            "ticker": "varchar",
            "action_date": "date",
            "firm": "varchar",
            "action": "varchar",
            "from_grade": "varchar",
            "to_grade": "varchar",
        },
    ),
    "insider_trades": Dataset(
        name="insider_trades",
        key=("ticker", "transaction_date", "insider", "transaction", "shares"),
        values=("announce_date", "position", "value"),
        column_types={
            "ticker": "varchar",
            "transaction_date": "date",
            "insider": "varchar",
            "transaction": "varchar",
            "shares": "double",
            "announce_date": "date",
            "position": "varchar",
            "value": "double",
        },
    ),
}

RAW_INGEST_RUNS = Table(
    "raw",
    "ingest_runs",
    {
        "run_id": "varchar not null",
        "source": "varchar not null",
        "arguments": "varchar",
        "started_at": "timestamp not null",
        "finished_at": "timestamp",
        "status": "varchar not null",
        "rows_read": "bigint",
        "rows_loaded": "bigint",
        "rows_rejected": "bigint",
        "rows_inserted": "bigint",
        "rows_updated": "bigint",
        "rows_unchanged": "bigint",
        "files_read": "bigint",
        "files_failed": "bigint",
        "message": "varchar",
        "pid": "bigint",
        "host": "varchar",
        "process_started": "varchar",
    },
    key=("run_id",),
    added=("pid", "host", "process_started"),
)

RAW_INGEST_RUN_DATASETS = Table(
    "raw",
    "ingest_run_datasets",
    {
        "run_id": "varchar not null",
        "dataset": "varchar not null",
        "rows_read": "bigint not null",
        "rows_loaded": "bigint not null",
        "rows_rejected": "bigint not null",
        "rows_inserted": "bigint not null",
        "rows_updated": "bigint not null",
        "rows_unchanged": "bigint not null",
    },
    key=("run_id", "dataset"),
)

RAW_INGEST_FILES = Table(
    "raw",
    "ingest_files",
    {
        "run_id": "varchar not null",
        "source_file": "varchar not null",
        "status": "varchar not null",
        "rows_read": "bigint not null",
        "message": "varchar",
    },
    key=("run_id", "source_file"),
)

RAW_VALIDATION_RESULTS = Table(
    "raw",
    "validation_results",
    {
        "run_id": "varchar not null",
        "dataset": "varchar not null",
        "rule": "varchar not null",
        "expectation": "varchar not null",
        "column_names": "varchar",
        "success": "boolean not null",
        "element_count": "bigint",
        "unexpected_count": "bigint",
    },
)

RAW_REJECTS = Table(
    "raw",
    "rejects",
    {
        "reject_id": "varchar not null",
        "run_id": "varchar not null",
        "source": "varchar not null",
        "dataset": "varchar not null",
        "source_file": "varchar",
        "line_number": "bigint",
        "ticker": "varchar",
        "record_date": "varchar",
        "rule": "varchar not null",
        "detail": "varchar",
        "record": "varchar",
        "rejected_at": "timestamp not null",
    },
    key=("reject_id",),
)


# ------------------------------------------------------------------------------------------------ ml

ML_MODELS = Table(
    "ml",
    "models",
    {
        "model_id": "varchar not null",
        "run_id": "varchar not null",
        "created_at": "timestamp not null",
        "mart_version": "varchar not null",
        "data_fingerprint": "varchar not null",
        "random_state": "integer",
        "device_requested": "varchar not null",
        "device_used": "varchar not null",
        "features": "varchar not null",
        "params": "varchar not null",
        "library_versions": "varchar not null",
        "artifacts": "varchar not null",
        "splits": "varchar not null",
        "training_seconds": "double",
    },
    key=("model_id",),
    belongs_to_model=True,
)

ML_METRICS = Table(
    "ml",
    "metrics",
    {
        "model_id": "varchar not null",
        "split": "varchar not null",
        "metric": "varchar not null",
        "value": "double",
    },
    key=("model_id", "split", "metric"),
    belongs_to_model=True,
)

ML_FEATURE_IMPORTANCE = Table(
    "ml",
    "feature_importance",
    {
        "model_id": "varchar not null",
        "feature": "varchar not null",
        "importance": "double not null",
        "importance_rank": "integer not null",
    },
    key=("model_id", "feature"),
    belongs_to_model=True,
)

ML_SELECTED_FEATURES = Table(
    "ml",
    "selected_features",
    {
        "model_id": "varchar not null",
        "feature": "varchar not null",
        "selected": "boolean not null",
        "selection_rank": "integer",
        "importance": "double",
        "reason": "varchar",
    },
    key=("model_id", "feature"),
    belongs_to_model=True,
)

ML_CALIBRATORS = Table(
    "ml",
    "calibrators",
    {
        "model_id": "varchar not null",
        "method": "varchar not null",
        "state": "varchar not null",
        "ece_before": "double",
        "ece_after": "double",
    },
    key=("model_id",),
    belongs_to_model=True,
)

ML_TUNING = Table(
    "ml",
    "tuning",
    {
        "model_id": "varchar not null",
        "candidate": "varchar not null",
        "fold": "integer not null",
        "params": "varchar not null",
        "chosen": "boolean not null",
        "train_rows": "bigint not null",
        "validation_rows": "bigint not null",
        "train_first_date": "date",
        "train_last_date": "date",
        "validation_first_date": "date",
        "validation_last_date": "date",
        "auc": "double",
    },
    key=("model_id", "candidate", "fold"),
    belongs_to_model=True,
)

ML_DRIFT_BASELINES = Table(
    "ml",
    "drift_baselines",
    {
        "model_id": "varchar not null",
        "feature": "varchar not null",
        "baseline": "varchar not null",
    },
    key=("model_id", "feature"),
    belongs_to_model=True,
)

ML_MODEL_STATUS = Table(
    "ml",
    "model_status",
    {
        "event": "integer not null",
        "model_id": "varchar not null",
        "status": "varchar not null",
        "effective_date": "date not null",
        "source": "varchar not null",
        "reason": "varchar not null",
        "recorded_at": "timestamp not null",
    },
    key=("event",),
    belongs_to_model=True,
)

ML_PREDICTIONS = Table(
    "ml",
    "predictions",
    {
        "model_id": "varchar not null",
        "trade_date": "date not null",
        "ticker": "varchar not null",
        "regime_id": "integer",
        "raw_probability": "double not null",
        "calibrated_probability": "double not null",
        "rank_in_day": "integer not null",
        "names_in_day": "integer not null",
        "observation_id": "bigint not null",
        "scored_at": "timestamp not null",
        "label_known_date": "date",
        "outcome": "integer",
        "outcome_return": "double",
        "resolved_on": "date",
        "voided_on": "date",
    },
    key=("model_id", "trade_date", "ticker"),
    added=("voided_on",),
    day_column="trade_date",
)

ML_LIVE_CALIBRATION = Table(
    "ml",
    "live_calibration",
    {
        "model_id": "varchar not null",
        "as_of_date": "date not null",
        "method": "varchar not null",
        "window_rows": "bigint not null",
        "pending_rows": "bigint not null",
        "resolved_total": "bigint not null",
        "automatic_fits": "integer not null",
        "refitted": "boolean not null",
        "state": "varchar not null",
    },
    key=("model_id", "as_of_date"),
    day_column="as_of_date",
)

ML_LIVE_PERFORMANCE = Table(
    "ml",
    "live_performance",
    {
        "model_id": "varchar not null",
        "as_of_date": "date not null",
        "window_days": "integer not null",
        "first_trade_date": "date",
        "last_trade_date": "date",
        "rows": "bigint not null",
        "base_rate": "double",
        "auc": "double",
        "auc_se": "double",
        "rank_ic": "double",
        "rank_ic_t": "double",
        "top_decile_hit_rate": "double",
        "top_decile_rows": "bigint",
        "ece": "double",
        "log_loss": "double",
    },
    key=("model_id", "as_of_date"),
    day_column="as_of_date",
)

ML_DRIFT_THRESHOLDS = Table(
    "ml",
    "drift_thresholds",
    {
        "model_id": "varchar not null",
        "feature": "varchar not null",
        "training_blocks": "integer not null",
        "training_max_psi": "double not null",
        "threshold": "double not null",
    },
    key=("model_id", "feature"),
    belongs_to_model=True,
)

ML_DRIFT_CHECKS = Table(
    "ml",
    "drift_checks",
    {
        "model_id": "varchar not null",
        "as_of_date": "date not null",
        "feature": "varchar not null",
        "window_first_date": "date not null",
        "rows": "bigint not null",
        "psi": "double",
        "ks_d": "double",
        "threshold": "double not null",
        "drifted": "boolean not null",
        "triggered": "boolean not null",
    },
    key=("model_id", "as_of_date", "feature"),
    day_column="as_of_date",
)

ML_DAILY_RUNS = Table(
    "ml",
    "daily_runs",
    {
        "run_date": "date not null",
        "model_id": "varchar not null",
        "mode": "varchar not null",
        "started_at": "timestamp not null",
        "finished_at": "timestamp not null",
        "scored": "bigint not null",
        "resolved": "bigint not null",
        "calibration_method": "varchar not null",
        "drifted_share": "double",
        "drift_triggered": "boolean",
        "seconds": "double not null",
        "retrain_mode": "varchar",
        "retrain_reason": "varchar",
        "trained_model_id": "varchar",
    },
    key=("run_date",),
    added=("retrain_mode", "retrain_reason", "trained_model_id"),
    day_column="run_date",
)


# ------------------------------------------------------------------------------------------------ analysis

ANALYSIS_RUNS = Table(
    "analysis",
    "runs",
    {
        "run_id": "varchar not null",
        "created_at": "timestamp not null",
        "model_id": "varchar not null",
        "model_data_matches": "boolean not null",
        "cost_bps": "double not null",
        "top_fraction": "double not null",
        "quantiles": "integer not null",
        "test_first_date": "date not null",
        "test_last_date": "date not null",
        "settings": "varchar not null",
        "report_path": "varchar",
        "seconds": "double",
    },
    key=("run_id",),
)

ANALYSIS_VERDICTS = Table(
    "analysis",
    "verdicts",
    {
        "run_id": "varchar not null",
        "position": "integer not null",
        "question": "varchar not null",
        "answer": "boolean",
        "detail": "varchar not null",
    },
    key=("run_id", "position"),
)

ANALYSIS_SIGNAL_EDGE = Table(
    "analysis",
    "signal_edge",
    {
        "run_id": "varchar not null",
        "score_name": "varchar not null",
        "threshold": "double",
        "horizon_days": "integer",
        "n_days": "bigint",
        "n_high": "bigint",
        "n_low": "bigint",
        "mean_high": "double",
        "mean_low": "double",
        "edge": "double",
        "standard_error": "double",
        "t_stat": "double",
        "tickers": "bigint",
        "tickers_with_edge": "bigint",
        "tickers_positive": "bigint",
        "share_tickers_positive": "double",
        "tickers_significant_positive": "bigint",
        "tickers_significant_negative": "bigint",
    },
    key=("run_id", "score_name"),
)

ANALYSIS_FACTOR_SUMMARY = Table(
    "analysis",
    "factor_summary",
    {
        "run_id": "varchar not null",
        "factor_set": "varchar not null",
        "factor": "varchar not null",
        "days": "bigint",
        "ic_mean": "double",
        "ic_std": "double",
        "ic_t": "double",
        "icir": "double",
        "rank_ic_mean": "double",
        "rank_ic_std": "double",
        "rank_ic_t": "double",
        "rank_icir": "double",
        "top_minus_bottom": "double",
        "top_minus_bottom_t": "double",
        "top_turnover": "double",
        "top_turnover_horizon": "double",
    },
    key=("run_id", "factor_set", "factor"),
)

ANALYSIS_FACTOR_DAILY = Table(
    "analysis",
    "factor_daily",
    {
        "run_id": "varchar not null",
        "factor_set": "varchar not null",
        "factor": "varchar not null",
        "trade_date": "date not null",
        "names": "bigint",
        "ic": "double",
        "rank_ic": "double",
        "top_minus_bottom": "double",
        "top_turnover": "double",
    },
)

ANALYSIS_FACTOR_QUANTILES = Table(
    "analysis",
    "factor_quantiles",
    {
        "run_id": "varchar not null",
        "factor_set": "varchar not null",
        "factor": "varchar not null",
        "quantile": "integer not null",
        "mean_return": "double",
        "days": "bigint",
    },
)

ANALYSIS_BACKTEST_DAILY = Table(
    "analysis",
    "backtest_daily",
    {
        "run_id": "varchar not null",
        "portfolio": "varchar not null",
        "trade_date": "date not null",
        "gross_return": "double",
        "net_return": "double",
        "turnover": "double",
        "cost": "double",
        "invested": "double",
        "nav_gross": "double",
        "nav_net": "double",
    },
    key=("run_id", "portfolio", "trade_date"),
)

ANALYSIS_BACKTEST_TRANCHES = Table(
    "analysis",
    "backtest_tranches",
    {
        "run_id": "varchar not null",
        "portfolio": "varchar not null",
        "signal_date": "date not null",
        "names": "bigint",
        "tranche_return": "double",
    },
)

ANALYSIS_BACKTEST_SUMMARY = Table(
    "analysis",
    "backtest_summary",
    {
        "run_id": "varchar not null",
        "portfolio": "varchar not null",
        "days": "double",
        "cumulative_return": "double",
        "annual_return": "double",
        "annual_volatility": "double",
        "sharpe": "double",
        "max_drawdown": "double",
        "positive_days": "double",
        "hit_rate": "double",
        "beat_benchmark_rate": "double",
        "mean_turnover": "double",
    },
    key=("run_id", "portfolio"),
)

ANALYSIS_RELIABILITY = Table(
    "analysis",
    "reliability",
    {
        "run_id": "varchar not null",
        "probability": "varchar not null",
        "bin": "integer not null",
        "rows": "bigint",
        "mean_predicted": "double",
        "observed_rate": "double",
        "lower": "double",
        "upper": "double",
    },
)


#: Every table Python writes, by schema, in the order they are created.
TABLES: dict[str, tuple[Table, ...]] = {
    "raw": (
        *(dataset.table for dataset in RAW_DATASETS.values()),
        RAW_INGEST_RUNS,
        RAW_INGEST_RUN_DATASETS,
        RAW_INGEST_FILES,
        RAW_VALIDATION_RESULTS,
        RAW_REJECTS,
    ),
    "ml": (
        ML_MODELS,
        ML_METRICS,
        ML_FEATURE_IMPORTANCE,
        ML_SELECTED_FEATURES,
        ML_CALIBRATORS,
        ML_TUNING,
        ML_DRIFT_BASELINES,
        ML_MODEL_STATUS,
        ML_PREDICTIONS,
        ML_LIVE_CALIBRATION,
        ML_LIVE_PERFORMANCE,
        ML_DRIFT_THRESHOLDS,
        ML_DRIFT_CHECKS,
        ML_DAILY_RUNS,
    ),
    "analysis": (
        ANALYSIS_RUNS,
        ANALYSIS_VERDICTS,
        ANALYSIS_SIGNAL_EDGE,
        ANALYSIS_FACTOR_SUMMARY,
        ANALYSIS_FACTOR_DAILY,
        ANALYSIS_FACTOR_QUANTILES,
        ANALYSIS_BACKTEST_DAILY,
        ANALYSIS_BACKTEST_TRANCHES,
        ANALYSIS_BACKTEST_SUMMARY,
        ANALYSIS_RELIABILITY,
    ),
}


def model_tables() -> tuple[Table, ...]:
    """The tables whose rows make up a model's record (`ml.models` included): deleted with the model."""
    return tuple(table for table in TABLES["ml"] if table.belongs_to_model)


def day_tables() -> tuple[Table, ...]:
    """The tables a daily run writes for its day (`day_column`): re-running the day deletes its rows first."""
    return tuple(table for table in TABLES["ml"] if table.day_column)


def create_tables(connection: duckdb.DuckDBPyConnection, schema: str) -> None:
    """Create `schema` ('raw', 'ml' or 'analysis') and its tables if they do not exist, and add the columns a
    store created before lacks (`Table.added`).

    Runs inside the caller's transaction, if any; statements run one by one (DuckDB would auto-commit a
    multi-statement string).
    """
    if schema not in TABLES:
        raise ValueError(f"unknown schema {schema!r}: use one of {', '.join(TABLES)}")
    connection.execute(f"create schema if not exists {schema}")
    for table in TABLES[schema]:
        connection.execute(table.ddl())
        if not table.added:
            continue
        # Only the missing ones: an ALTER, even a no-op one, would change the catalog under a concurrent writer.
        present = set(relation_columns(connection, table.qualified))
        for column in table.added:
            if column not in present:
                sql_type = table.columns[column].removesuffix(" not null")
                connection.execute(f"alter table {table.qualified} add column {column} {sql_type}")
