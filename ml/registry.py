"""The model registry: everything a training run produces, stored in the warehouse's `ml` schema.

Tables (one transaction per run, so a failed run leaves nothing half written):
- `ml.models`: one row per model: LightGBM model text and stacker (JSON; never pickle), parameters,
  library versions, device requested and used, features, mart version, training-data fingerprint,
  run id, the split dates and timestamps.
- `ml.metrics`: (model_id, split, metric, value): AUC, log loss, Brier, ECE, IC and rank IC.
- `ml.feature_importance`: the global model's gain importance per feature.
- `ml.selected_features`: the selector's decisions (selected with rank, or dropped with the reason).
- `ml.calibrators`: the probability calibrator's state (JSON) and its ECE before / after.
- `ml.drift_baselines`: the drift detector's per-feature baseline from the training window (JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.errors import DatabaseLockedError
from ingest.warehouse import connect, transaction
from ml.errors import MLError

DDL = """
create schema if not exists ml;
create table if not exists ml.models (
    model_id varchar primary key,
    run_id varchar not null,
    created_at timestamp not null,
    mart_version varchar not null,
    data_fingerprint varchar not null,
    random_state integer,
    device_requested varchar not null,
    device_used varchar not null,
    features varchar not null,
    params varchar not null,
    library_versions varchar not null,
    artifacts varchar not null,
    splits varchar not null,
    training_seconds double
);
create table if not exists ml.metrics (
    model_id varchar not null,
    split varchar not null,
    metric varchar not null,
    value double,
    primary key (model_id, split, metric)
);
create table if not exists ml.feature_importance (
    model_id varchar not null,
    feature varchar not null,
    importance double not null,
    importance_rank integer not null,
    primary key (model_id, feature)
);
create table if not exists ml.selected_features (
    model_id varchar not null,
    feature varchar not null,
    selected boolean not null,
    selection_rank integer,
    importance double,
    reason varchar,
    primary key (model_id, feature)
);
create table if not exists ml.calibrators (
    model_id varchar primary key,
    method varchar not null,
    state varchar not null,
    ece_before double,
    ece_after double
);
create table if not exists ml.drift_baselines (
    model_id varchar not null,
    feature varchar not null,
    baseline varchar not null,
    primary key (model_id, feature)
);
"""


@dataclass
class ModelRecord:
    """What is stored for one model (see the module docstring); JSON fields are Python objects here."""

    model_id: str
    run_id: str
    mart_version: str
    data_fingerprint: str
    random_state: int | None
    device_requested: str
    device_used: str
    features: list[str]
    params: dict
    library_versions: dict
    artifacts: dict
    splits: dict
    training_seconds: float
    metrics: dict[str, dict[str, float | None]]
    importance: dict[str, float]
    selection: list[dict]
    calibrator_method: str
    calibrator_state: dict
    ece_before: float | None
    ece_after: float | None
    drift_baselines: dict[str, dict]


def open_warehouse(db_path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Connect to the warehouse; a file held by another process is an `MLError` saying what to do."""
    try:
        return connect(Path(db_path), read_only=read_only)
    except DatabaseLockedError as error:
        raise MLError(str(error)) from None


def create_tables(connection: duckdb.DuckDBPyConnection, ddl: str) -> None:
    """Run `create ... if not exists` statements one by one (inside the caller's transaction)."""
    for statement in (part.strip() for part in ddl.split(";")):
        if statement:
            connection.execute(statement)


def save_model(db_path: Path, record: ModelRecord) -> None:
    """Write one model and everything about it, in one transaction."""
    connection = open_warehouse(db_path)
    try:
        with transaction(connection):
            create_tables(connection, DDL)
            connection.execute(
                "insert into ml.models values (?, ?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    record.model_id,
                    record.run_id,
                    record.mart_version,
                    record.data_fingerprint,
                    record.random_state,
                    record.device_requested,
                    record.device_used,
                    json.dumps(record.features),
                    json.dumps(record.params, sort_keys=True, default=str),
                    json.dumps(record.library_versions, sort_keys=True),
                    json.dumps(record.artifacts),
                    json.dumps(record.splits, sort_keys=True, default=str),
                    record.training_seconds,
                ],
            )
            connection.executemany(
                "insert into ml.metrics values (?, ?, ?, ?)",
                [
                    [record.model_id, split, metric, value]
                    for split, values in record.metrics.items()
                    for metric, value in values.items()
                ],
            )
            ranked = sorted(record.importance.items(), key=lambda item: -item[1])
            connection.executemany(
                "insert into ml.feature_importance values (?, ?, ?, ?)",
                [[record.model_id, feature, float(value), rank] for rank, (feature, value) in enumerate(ranked, 1)],
            )
            connection.executemany(
                "insert into ml.selected_features values (?, ?, ?, ?, ?, ?)",
                [
                    [
                        record.model_id,
                        row["feature"],
                        row["selected"],
                        row.get("rank"),
                        row.get("importance"),
                        row.get("reason"),
                    ]
                    for row in record.selection
                ],
            )
            connection.execute(
                "insert into ml.calibrators values (?, ?, ?, ?, ?)",
                [
                    record.model_id,
                    record.calibrator_method,
                    json.dumps(record.calibrator_state),
                    record.ece_before,
                    record.ece_after,
                ],
            )
            connection.executemany(
                "insert into ml.drift_baselines values (?, ?, ?)",
                [
                    [record.model_id, feature, json.dumps(baseline)]
                    for feature, baseline in record.drift_baselines.items()
                ],
            )
    finally:
        connection.close()


def load_model_row(db_path: Path, model_id: str | None = None) -> dict:
    """The stored row of `model_id` (default: the newest model) with its JSON fields decoded."""
    connection = open_warehouse(db_path, read_only=True)
    try:
        try:
            query = "select * from ml.models " + (
                "where model_id = ?" if model_id else "order by created_at desc limit 1"
            )
            cursor = connection.execute(query, [model_id] if model_id else [])
        except duckdb.CatalogException:
            raise MLError(f"{db_path} holds no trained model: run `python -m ml.train` first.") from None
        row = cursor.fetchone()
        if row is None:
            raise MLError(f"no model {model_id!r} in {db_path}" if model_id else f"no model in {db_path}")
        names = [column[0] for column in cursor.description]
        record = dict(zip(names, row, strict=True))
        calibrator = connection.execute(
            "select method, state from ml.calibrators where model_id = ?", [record["model_id"]]
        ).fetchone()
    finally:
        connection.close()
    for key in ("features", "params", "library_versions", "artifacts", "splits"):
        record[key] = json.loads(record[key])
    record["calibrator_method"], record["calibrator_state"] = calibrator[0], json.loads(calibrator[1])
    return record
