"""The model registry: everything a training run produces, stored in the store's `ml` schema, and loading a
trained model back.

Tables (declared in `store.tables`; one transaction per run, so a failed run leaves nothing half written):
- `ml.models`: one row per model: the meta-learner's state (`artifacts`: LightGBM model text and the stacker,
  JSON; never pickle), parameters, library versions, device requested and used, features, mart version,
  training-data fingerprint, run id, the split dates and timestamps.
- `ml.metrics`: (model_id, split, metric, value): AUC, log loss, Brier, ECE, IC and rank IC.
- `ml.feature_importance`: the global model's gain importance per feature.
- `ml.selected_features`: the selector's decisions (selected with rank, or dropped with the reason).
- `ml.calibrators`: the calibration method in use (for 'auto', the one it chose), the calibrator's state
  (JSON, with the evidence of the choice) and the test ECE before / after.
- `ml.drift_baselines`: the drift detector's per-feature baseline from the training window (JSON).
- `ml.tuning`: the hyperparameter search, one row per (candidate, walk-forward fold): its LightGBM settings,
  the fold's rows and dates, its AUC, and whether it was chosen.

- `ml.model_status`: each model's status changes, in order (`event`): 'champion' (the model the daily routine
  scores with), 'challenger' (trained by the routine, scored beside the champion until it is judged),
  'retired' (a champion replaced) and 'rejected' (a challenger that lost), with the day it took effect, who
  decided (`source`: 'ml.train', 'daily' for the routine, 'replay' for a replay's first model) and the reason.
  A model's status is its latest change.

**The champion** (`champion_id`) is the model whose latest change made it champion, the latest such; a model
`python -m ml.train` trains becomes champion (the one before is retired). A store from before statuses
were kept has none: its champion is the newest model without a status.

`load_trained_model(connection, model_id)` rebuilds a stored model (`TrainedModel`; default: the champion):
its predictions are identical to the original's.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from ml.errors import MLError
from ml.estimators.calibration import ProbabilityCalibrator
from ml.estimators.learner import HierarchicalMetaLearner
from ml.train.data import REGIME
from store import create_tables, database_file, insert_row, insert_rows, relation_exists, transaction
from store.tables import (
    ML_CALIBRATORS,
    ML_DRIFT_BASELINES,
    ML_FEATURE_IMPORTANCE,
    ML_METRICS,
    ML_MODEL_STATUS,
    ML_MODELS,
    ML_SELECTED_FEATURES,
    ML_TUNING,
    model_tables,
)


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
    #: The hyperparameter search (`ml.train.tuning.SearchResult.folds`) and the chosen candidate's name.
    tuning: list[dict] = field(default_factory=list)
    tuning_choice: str | None = None


#: A model's statuses (module docstring).
STATUSES = ("champion", "challenger", "retired", "rejected")
#: Who changed a status: `python -m ml.train` (or `train_model` called directly), the daily routine, a replay.
SOURCES = ("ml.train", "daily", "replay")


@dataclass(frozen=True)
class StatusChange:
    """A status a model takes (`ml.model_status`)."""

    status: str
    effective_date: dt.date
    source: str
    reason: str

    def __post_init__(self) -> None:
        if self.status not in STATUSES or self.source not in SOURCES:
            raise ValueError(f"unknown status {self.status!r} or source {self.source!r}")


def trained_by_ml_train() -> StatusChange:
    """The status of a model `python -m ml.train` trains: champion from today."""
    return StatusChange("champion", dt.date.today(), "ml.train", "trained with python -m ml.train")


def record_status(connection: duckdb.DuckDBPyConnection, model_id: str, change: StatusChange) -> None:
    """Append a status change; a new champion retires the one before it (same day, same source). Call inside
    the writer's transaction, after `create_tables(connection, "ml")`."""
    if change.status == "champion":
        previous = champion_id(connection)
        if previous is not None and previous != model_id:
            reason = f"replaced by {model_id}"  # the new champion's own change holds the evidence
            _append_status(connection, previous, StatusChange("retired", change.effective_date, change.source, reason))
    _append_status(connection, model_id, change)


def _append_status(connection: duckdb.DuckDBPyConnection, model_id: str, change: StatusChange) -> None:
    event = connection.execute(f"select coalesce(max(event), 0) + 1 from {ML_MODEL_STATUS.qualified}").fetchall()
    insert_row(
        connection,
        ML_MODEL_STATUS,
        {
            "event": event[0][0],
            "model_id": model_id,
            "status": change.status,
            "effective_date": change.effective_date,
            "source": change.source,
            "reason": change.reason,
            "recorded_at": dt.datetime.now(),
        },
    )


def _latest_changes(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(model_id, status) of every model with a status: its latest change, in the order of those changes."""
    if not relation_exists(connection, "ml.model_status"):
        return []
    return connection.execute(
        "select model_id, arg_max(status, event) from ml.model_status group by model_id order by max(event)"
    ).fetchall()


def current_statuses(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each model's status: its latest change (models without one are left out)."""
    return dict(sorted(_latest_changes(connection)))


def champion_id(connection: duckdb.DuckDBPyConnection) -> str | None:
    """The champion (module docstring); None when the store holds no model."""
    if not relation_exists(connection, "ml.models"):
        return None
    latest = _latest_changes(connection)
    champions = [model_id for model_id, status in latest if status == "champion"]
    if champions:
        return champions[-1]
    with_status = [model_id for model_id, _status in latest]
    rows = connection.execute(
        "select model_id from ml.models where not list_contains(?, model_id) order by created_at desc limit 1",
        [with_status],
    ).fetchall()
    return rows[0][0] if rows else None


def models_with_status(connection: duckdb.DuckDBPyConnection, status: str) -> list[str]:
    """The models whose status is `status`, oldest change first."""
    return [model_id for model_id, latest in _latest_changes(connection) if latest == status]


def delete_model(connection: duckdb.DuckDBPyConnection, model_id: str) -> None:
    """Delete a model and its rows in the registry's tables (a model the daily routine trained on a day it
    runs again). Call inside the writer's transaction."""
    for table in model_tables():
        if relation_exists(connection, table.qualified):
            connection.execute(f"delete from {table.qualified} where model_id = ?", [model_id])


def save_model(connection: duckdb.DuckDBPyConnection, record: ModelRecord, status: StatusChange | None = None) -> None:
    """Write one model and everything about it, and its status (default: champion, trained with
    `python -m ml.train`), in one transaction."""
    with transaction(connection):
        create_tables(connection, "ml")
        insert_row(
            connection,
            ML_MODELS,
            {
                "model_id": record.model_id,
                "run_id": record.run_id,
                "created_at": dt.datetime.now(),
                "mart_version": record.mart_version,
                "data_fingerprint": record.data_fingerprint,
                "random_state": record.random_state,
                "device_requested": record.device_requested,
                "device_used": record.device_used,
                "features": json.dumps(record.features),
                "params": json.dumps(record.params, sort_keys=True, default=str),
                "library_versions": json.dumps(record.library_versions, sort_keys=True),
                "artifacts": json.dumps(record.artifacts),
                "splits": json.dumps(record.splits, sort_keys=True, default=str),
                "training_seconds": record.training_seconds,
            },
        )
        insert_rows(
            connection,
            ML_METRICS,
            (
                {"model_id": record.model_id, "split": split, "metric": metric, "value": value}
                for split, values in record.metrics.items()
                for metric, value in values.items()
            ),
        )
        insert_rows(
            connection,
            ML_TUNING,
            (
                {
                    "model_id": record.model_id,
                    "candidate": row["candidate"],
                    "fold": row["fold"],
                    "params": json.dumps(row["params"], sort_keys=True),
                    "chosen": row["candidate"] == record.tuning_choice,
                    "train_rows": row["train_rows"],
                    "validation_rows": row["validation_rows"],
                    "train_first_date": row["train_first_date"],
                    "train_last_date": row["train_last_date"],
                    "validation_first_date": row["validation_first_date"],
                    "validation_last_date": row["validation_last_date"],
                    "auc": row["auc"],
                }
                for row in record.tuning
            ),
        )
        ranked = sorted(record.importance.items(), key=lambda item: -item[1])
        insert_rows(
            connection,
            ML_FEATURE_IMPORTANCE,
            (
                {"model_id": record.model_id, "feature": feature, "importance": float(value), "importance_rank": rank}
                for rank, (feature, value) in enumerate(ranked, 1)
            ),
        )
        insert_rows(
            connection,
            ML_SELECTED_FEATURES,
            (
                {
                    "model_id": record.model_id,
                    "feature": row["feature"],
                    "selected": row["selected"],
                    "selection_rank": row.get("rank"),
                    "importance": row.get("importance"),
                    "reason": row.get("reason"),
                }
                for row in record.selection
            ),
        )
        insert_row(
            connection,
            ML_CALIBRATORS,
            {
                "model_id": record.model_id,
                "method": record.calibrator_method,
                "state": json.dumps(record.calibrator_state),
                "ece_before": record.ece_before,
                "ece_after": record.ece_after,
            },
        )
        insert_rows(
            connection,
            ML_DRIFT_BASELINES,
            (
                {"model_id": record.model_id, "feature": feature, "baseline": json.dumps(baseline)}
                for feature, baseline in record.drift_baselines.items()
            ),
        )
        record_status(connection, record.model_id, status or trained_by_ml_train())


def load_model_row(connection: duckdb.DuckDBPyConnection, model_id: str | None = None) -> dict:
    """The stored row of `model_id` (default: the champion) with its JSON fields decoded, and its calibrator's
    method and state."""
    if not relation_exists(connection, "ml.models"):
        raise MLError(f"{database_file(connection)} holds no trained model: run `python -m ml.train` first.")
    wanted = model_id or champion_id(connection)
    cursor = connection.execute("select * from ml.models where model_id = ?", [wanted])
    rows = cursor.fetchall()
    row = rows[0] if rows else None
    if row is None:
        where = database_file(connection)
        raise MLError(
            f"no model {model_id!r} in {where}: list them with `select model_id from ml.models`."
            if model_id
            else f"{where} holds no trained model: run `python -m ml.train` first."
        )
    names = [column[0] for column in cursor.description]
    record = dict(zip(names, row, strict=True))
    calibrator = connection.execute(
        "select method, state from ml.calibrators where model_id = ?", [record["model_id"]]
    ).fetchall()[0]
    for key in ("features", "params", "library_versions", "artifacts", "splits"):
        record[key] = json.loads(record[key])
    record["calibrator_method"], record["calibrator_state"] = calibrator[0], json.loads(calibrator[1])
    return record


@dataclass
class TrainedModel:
    """A model loaded back from the registry: selected features, the meta-learner and the calibrator."""

    model_id: str
    features: list[str]
    learner: HierarchicalMetaLearner
    calibrator: ProbabilityCalibrator

    def predict_proba(self, frame: pd.DataFrame, *, calibrated: bool = True) -> np.ndarray:
        """Probability of the label (up in the label's horizon) for each row of `frame` (features + regime_id)."""
        raw = self.learner.predict(frame[[*self.features, REGIME]])
        return self.calibrator.calibrate(raw) if calibrated else raw


def load_trained_model(connection: duckdb.DuckDBPyConnection, model_id: str | None = None) -> TrainedModel:
    """Rebuild a stored model (default: the champion) from its LightGBM text and calibrator state."""
    return trained_model_from_row(load_model_row(connection, model_id))


def trained_model_from_row(row: dict) -> TrainedModel:
    """The model of a row that `load_model_row` returned."""
    learner = HierarchicalMetaLearner.from_dict(row["artifacts"])
    calibrator = ProbabilityCalibrator.from_dict(row["calibrator_state"])
    return TrainedModel(model_id=row["model_id"], features=row["features"], learner=learner, calibrator=calibrator)
