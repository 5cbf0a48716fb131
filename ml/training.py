"""The training pipeline behind `python -m ml.train`, and loading a trained model back.

Steps, each fitted on the window named here and nothing later:

1. read `marts.fct_training_examples` (ml.data) and cut it by date into train / validation /
   calibration / test with purging and an embargo (ml.splits);
2. select features on the **train** window (FeatureSelector: all-NULL columns out, one of each highly
   correlated pair out, top-k by random-forest importance);
3. choose LightGBM settings by walk-forward cross-validation inside the **train** window;
4. train the hierarchical meta-learner (global + per-regime LightGBM, stacked) on **train**, with early
   stopping on **validation**;
5. fit the probability calibrator on the **calibration** window;
6. fit drift baselines on the **train** window;
7. evaluate every split (the test window is touched only here) and store everything in the `ml` schema.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ml.calibration import ProbabilityCalibrator, expected_calibration_error
from ml.data import TrainingData, load_training_examples
from ml.drift import DriftDetector
from ml.learner import HierarchicalMetaLearner
from ml.metrics import evaluate
from ml.registry import ModelRecord, load_model_row, save_model
from ml.selection import FeatureSelector
from ml.splits import purged_splits, walk_forward_folds

#: LightGBM settings compared by walk-forward cross-validation on the training window.
CANDIDATE_PARAMS = (
    {"num_leaves": 15, "min_data_in_leaf": 200},
    {"num_leaves": 31, "min_data_in_leaf": 100},
)
LIBRARIES = ("lightgbm", "scikit-learn", "scipy", "numpy", "pandas", "duckdb", "dbt-core")

Reporter = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


@dataclass
class TrainSummary:
    """What a run produced, for the printed summary and for tests."""

    model_id: str
    device_requested: str
    device_used: str
    seconds: float
    metrics: dict[str, dict[str, float | None]]
    ece_before: float | None
    ece_after: float | None
    top_features: list[tuple[str, float]]
    selected_features: list[str]
    dropped_all_null: list[str]
    cv: dict[str, float] = field(default_factory=dict)
    splits: dict[str, dict] = field(default_factory=dict)


@dataclass
class TrainedModel:
    """A model loaded back from the registry: selected features, the meta-learner and the calibrator."""

    model_id: str
    features: list[str]
    learner: HierarchicalMetaLearner
    calibrator: ProbabilityCalibrator

    def predict_proba(self, frame: pd.DataFrame, *, calibrated: bool = True) -> np.ndarray:
        """Probability of a 5-day up move for each row of `frame` (features + regime_id)."""
        raw = self.learner.predict_proba(frame[self.features], frame["regime_id"].to_numpy(dtype=float))[:, 1]
        return self.calibrator.calibrate(raw) if calibrated else raw


def _library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def choose_params(data: TrainingData, rows: np.ndarray, features: list[str], random_state: int) -> tuple[dict, dict]:
    """Pick the LightGBM settings with the best mean walk-forward AUC inside the training window."""
    frame = data.frame.iloc[rows]
    folds = walk_forward_folds(frame["trade_date"], frame["label_known_date"], n_folds=3)
    x = frame[features].to_numpy(dtype=float)
    y = frame["label_up_5d"].to_numpy()
    scores: dict[str, float] = {}
    best, best_score = CANDIDATE_PARAMS[0], -np.inf
    for candidate in CANDIDATE_PARAMS:
        params = {
            "objective": "binary",
            "learning_rate": 0.05,
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "seed": random_state,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 2,
            "verbose": -1,
            **candidate,
        }
        aucs = []
        for train_rows, validation_rows in folds:
            booster = lightgbm.train(params, lightgbm.Dataset(x[train_rows], y[train_rows]), num_boost_round=100)
            predictions = booster.predict(x[validation_rows])
            if len(np.unique(y[validation_rows])) == 2:
                aucs.append(roc_auc_score(y[validation_rows], predictions))
        score = float(np.mean(aucs)) if aucs else float("nan")
        scores["num_leaves={num_leaves},min_data_in_leaf={min_data_in_leaf}".format(**candidate)] = score
        if score > best_score:
            best, best_score = candidate, score
    return dict(best), scores


def train_model(
    db_path: Path,
    *,
    random_state: int = 42,
    device: str = "auto",
    n_features: int = 20,
    correlation_threshold: float = 0.85,
    calibration_method: str = "isotonic",
    report: Reporter = _quiet,
) -> TrainSummary:
    """Run the whole pipeline (module docstring) on the mart in `db_path`; store and summarize the model."""
    started = time.perf_counter()
    report(f"reading marts.fct_training_examples from {db_path}")
    data = load_training_examples(db_path)
    splits = purged_splits(data.frame["trade_date"], data.frame["label_known_date"])
    report(
        f"{len(data.frame):,} examples, {len(data.feature_columns)} features; splits: "
        + ", ".join(f"{name} {len(split):,} rows ({split.first_date:%Y-%m-%d}..)" for name, split in splits.items())
    )
    train, validation = splits["train"].rows, splits["validation"].rows
    calibration, test = splits["calibration"].rows, splits["test"].rows
    frame = data.frame

    report("selecting features on the training window")
    selector = FeatureSelector(
        correlation_threshold=correlation_threshold, n_features=n_features, random_state=random_state
    ).fit(frame.iloc[train][data.feature_columns], frame["label_up_5d"].iloc[train].to_numpy())
    features = list(selector.selected_features_)

    report("choosing LightGBM settings by walk-forward cross-validation on the training window")
    params, cv_scores = choose_params(data, train, features, random_state)

    report(f"training the hierarchical meta-learner (device {device})")
    learner = HierarchicalMetaLearner(random_state=random_state, device=device, lgbm_params=params)

    def part(rows: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        subset = frame.iloc[rows]
        return subset[features], subset["label_up_5d"].to_numpy(), subset["regime_id"].to_numpy(dtype=float)

    x_train, y_train, r_train = part(train)
    x_val, y_val, r_val = part(validation)
    ensemble = learner.train_ensemble(x_train, y_train, r_train, X_val=x_val, y_val=y_val, regime_val=r_val)

    report("calibrating probabilities on the calibration window")
    x_cal, y_cal, r_cal = part(calibration)
    raw_calibration = learner.predict_proba(x_cal, r_cal)[:, 1]
    calibrator = ProbabilityCalibrator(method=calibration_method, window_size=len(calibration)).fit(
        raw_calibration, y_cal
    )

    report("fitting drift baselines on the training window")
    drift = DriftDetector(random_state=random_state).fit(x_train)

    report("evaluating every split")
    metrics: dict[str, dict[str, float | None]] = {}
    for name, rows in (("train", train), ("validation", validation), ("calibration", calibration), ("test", test)):
        x_part, y_part, r_part = part(rows)
        probabilities = calibrator.calibrate(learner.predict_proba(x_part, r_part)[:, 1])
        subset = frame.iloc[rows]
        metrics[name] = evaluate(
            probabilities, y_part, subset["fwd_ret_5d"].to_numpy(), subset["trade_date"].to_numpy()
        )
    x_test, y_test, r_test = part(test)
    raw_test = learner.predict_proba(x_test, r_test)[:, 1]
    ece_before = float(expected_calibration_error(raw_test, y_test, n_bins=10))
    ece_after = metrics["test"]["ece"]
    metrics["test"]["ece_uncalibrated"] = ece_before
    metrics["cv"] = {f"walk_forward_auc[{key}]": value for key, value in cv_scores.items()}

    importance = learner.feature_importance()
    selection = [
        {"feature": name, "selected": True, "rank": rank, "importance": float(selector.importances_.get(name, np.nan))}
        for rank, name in enumerate(features, 1)
    ]
    selection += [
        {"feature": name, "selected": False, "reason": f"correlated above {correlation_threshold} with {kept}"}
        for name, kept in selector.dropped_correlated_.items()
    ]
    selection += [
        {"feature": name, "selected": False, "reason": "all NULL on the training window"}
        for name in selector.dropped_all_null_
    ]
    listed = {row["feature"] for row in selection}
    selection += [
        {
            "feature": name,
            "selected": False,
            "importance": float(selector.importances_.get(name, np.nan)),
            "reason": f"below the top {n_features} by importance",
        }
        for name in data.feature_columns
        if name not in listed
    ]
    seconds = time.perf_counter() - started
    model_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    drift_state = drift.to_dict()
    record = ModelRecord(
        model_id=model_id,
        run_id=model_id,
        mart_version=data.mart_version,
        data_fingerprint=data.fingerprint(),
        random_state=random_state,
        device_requested=device,
        device_used=ensemble["device_used"],
        features=features,
        params={
            "lightgbm": params,
            "selector": {"correlation_threshold": correlation_threshold, "n_features": n_features},
            "calibration_method": calibration_method,
        },
        library_versions=_library_versions(),
        artifacts=learner.to_artifacts(),
        splits={
            name: {"first_date": split.first_date.date(), "last_date": split.last_date.date(), "rows": len(split)}
            for name, split in splits.items()
        },
        training_seconds=seconds,
        metrics=metrics,
        importance={name: float(value) for name, value in importance.items()},
        selection=selection,
        calibrator_method=calibration_method,
        calibrator_state=calibrator.to_dict(),
        ece_before=ece_before,
        ece_after=ece_after,
        drift_baselines=_per_feature(drift_state),
    )
    report("saving the model, metrics and baselines to the ml schema")
    save_model(db_path, record)
    return TrainSummary(
        model_id=model_id,
        device_requested=device,
        device_used=ensemble["device_used"],
        seconds=seconds,
        metrics=metrics,
        ece_before=ece_before,
        ece_after=ece_after,
        top_features=sorted(importance.items(), key=lambda item: -item[1])[:5],
        selected_features=features,
        dropped_all_null=list(selector.dropped_all_null_),
        cv=metrics["cv"],
        splits=record.splits,
    )


def _per_feature(drift_state: dict) -> dict[str, dict]:
    """The drift detector's state as one JSON document per feature (plus its settings under '*')."""
    baselines = drift_state.get("baselines")
    if isinstance(baselines, dict):
        settings = {key: value for key, value in drift_state.items() if key != "baselines"}
        return {"*": settings, **baselines}
    return {"*": drift_state}


def load_trained_model(db_path: Path, model_id: str | None = None) -> TrainedModel:
    """Rebuild a stored model (default: the newest) from its LightGBM text and calibrator state."""
    return trained_model_from_row(load_model_row(db_path, model_id))


def trained_model_from_row(row: dict) -> TrainedModel:
    """The model of a row that `ml.registry.load_model_row` returned."""
    learner = HierarchicalMetaLearner.from_artifacts(row["artifacts"])
    calibrator = ProbabilityCalibrator.from_dict(row["calibrator_state"])
    return TrainedModel(model_id=row["model_id"], features=row["features"], learner=learner, calibrator=calibrator)
