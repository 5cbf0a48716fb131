"""The training pipeline behind `python -m ml.train`.

Steps, each fitted on the window named here and nothing later:

1. read `marts.fct_training_examples` and the label horizon (ml.train.data) and cut the examples by date into
   train / validation / calibration / test with purging and an embargo (ml.train.splits);
2. select features on the **train** window (FeatureSelector: all-NULL columns out, one of each highly
   correlated pair out, top-k by random-forest importance);
3. choose LightGBM settings by walk-forward cross-validation of the shipped learner inside the **train**
   window (ml.train.tuning);
4. train the hierarchical meta-learner (global + per-regime LightGBM, stacked with non-negative weights)
   on **train**, with early stopping on **validation**;
5. fit the probability calibrator on the **calibration** window (by default 'auto': the method is chosen on
   the latest slice of that window, then refitted on all of it);
6. fit drift baselines on the **train** window;
7. evaluate every split (the test window is touched only here) and store everything in the `ml` schema.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ml.errors import MLError
from ml.estimators.calibration import ProbabilityCalibrator
from ml.estimators.drift import DriftDetector
from ml.estimators.engines import DASK, LOCAL
from ml.estimators.learner import HierarchicalMetaLearner
from ml.estimators.selection import FeatureSelector
from ml.metrics import evaluate, expected_calibration_error
from ml.train.data import (
    DEFAULT_LABEL,
    FORWARD_RETURN,
    LABELS,
    REGIME,
    TrainingData,
    export_training_examples,
    label_horizon,
    load_training_examples,
)
from ml.train.registry import ModelRecord, StatusChange, save_model
from ml.train.splits import Split, purged_splits
from ml.train.tuning import CANDIDATE_PARAMS, candidate_name, choose_params
from store.parquet import parquet_directory

LIBRARIES = ("lightgbm", "scikit-learn", "scipy", "numpy", "pandas", "duckdb", "dbt-core")

#: Fewest boosting rounds each model keeps (`HierarchicalMetaLearner.min_boost_round`): enough trees that
#: a model which found little still gives the stocks of a day probabilities of their own (docs/ml.md).
MIN_BOOST_ROUND = 50
#: Time blocks of the out-of-fold predictions the stacker is chosen and fitted on
#: (`HierarchicalMetaLearner.n_folds`; the learner's default is 5). Three blocks give each fold model two
#: thirds of the rows and take 40 % less boosting than five, in every tuning fit too; the stacker has two
#: weights to learn from hundreds of thousands of out-of-fold rows (docs/ml.md, "Speed").
STACKER_FOLDS = 3

Reporter = Callable[[str], None]
#: The folder, under the Parquet directory (`store.parquet.parquet_directory`), of the examples the Dask
#: workers read.
EXAMPLES_FOLDER = "fct_training_examples"


def examples_directory() -> Path:
    """Where the Dask engine writes the training examples by default: `$FEATURE_STORE_PARQUET` (else
    warehouse/parquet) / fct_training_examples, beside the raw datasets `python -m ingest export` writes."""
    return parquet_directory() / EXAMPLES_FOLDER


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
    calibration_method: str = "auto"
    calibration_chosen: str = "identity"
    calibration_selection: dict | None = None
    stacker: dict = field(default_factory=dict)
    label: str = LABELS[DEFAULT_LABEL].column
    engine: str = LOCAL


def _library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def train_model(
    connection: duckdb.DuckDBPyConnection,
    *,
    random_state: int = 42,
    device: str = "auto",
    n_features: int = 20,
    correlation_threshold: float = 0.85,
    calibration_method: str = "auto",
    label: str = DEFAULT_LABEL,
    as_of: dt.date | None = None,
    status: StatusChange | None = None,
    engine: str = LOCAL,
    scheduler: str | None = None,
    examples: str | Path | None = None,
    candidates: Sequence[dict] = CANDIDATE_PARAMS,
    report: Reporter = _quiet,
) -> TrainSummary:
    """Run the whole pipeline (module docstring) on the store `connection` has open (read-write: the model is
    stored at the end, in one transaction); return its summary. `as_of`: train as of that day, on the rows
    whose label was known before it (a model that may score that day and later ones out of sample). `status`:
    the model's status in the registry (default: champion, trained with `python -m ml.train`). `engine`,
    `scheduler`: where the boosters train ('local', or 'dask' on the Dask scheduler at that address; see
    `HierarchicalMetaLearner` and ml.estimators.engines.dask); every other step runs here either way. With 'dask', the
    selected features of the examples are first written as Parquet to `examples` (default
    `examples_directory()`), and the workers read the rows they train on from there. `candidates`: the LightGBM
    settings the walk-forward search compares (`ml.train.tuning.choose_params`); a single one is used as it is,
    without a search."""
    started = time.perf_counter()
    # 1. the examples, their label horizon and the windows
    data, horizon, splits = _read_examples(connection, label, as_of, report)
    frame, target = data.frame, data.label.column
    blocks = {name: splits[name].rows for name in ("train", "validation", "calibration", "test")}
    train = blocks["train"]
    # 2. the features, chosen on the training window
    report("selecting features on the training window")
    selector = FeatureSelector(
        correlation_threshold=correlation_threshold, n_features=n_features, random_state=random_state
    ).fit(frame.iloc[train][data.feature_columns], frame[target].iloc[train].to_numpy())
    features = selector.get_selected_features()
    inputs, labels = frame[[*features, REGIME]], frame[target].to_numpy()
    folder = None
    if engine == DASK:
        folder = _export_examples(connection, examples, features, label, as_of, len(frame), report)
    # 3. the LightGBM settings, by walk-forward cross-validation of the learner that ships
    learner = HierarchicalMetaLearner(
        random_state=random_state,
        device=device,
        label_horizon=horizon,
        min_boost_round=MIN_BOOST_ROUND,
        n_folds=STACKER_FOLDS,
        engine=engine,
        scheduler=scheduler,
        examples=None if folder is None else str(folder),
    )
    report(
        "choosing LightGBM settings by walk-forward cross-validation of the learner on the training window"
        if len(candidates) > 1
        else "using the one LightGBM setting given (no search)"
    )
    search = choose_params(
        learner,
        inputs.iloc[train],
        labels[train],
        frame["trade_date"].iloc[train],
        frame["label_known_date"].iloc[train],
        horizon=horizon,
        candidates=candidates,
    )
    # 4. the meta-learner, stopped early on the validation window
    report(f"training the hierarchical meta-learner (device {device}, engine {engine})")
    learner.set_params(lgbm_params=search.best)
    validation = blocks["validation"]
    ensemble = learner.train_ensemble(
        inputs.iloc[train], labels[train], X_val=inputs.iloc[validation], y_val=labels[validation]
    )
    # The raw probabilities of every split, predicted once: the calibrator is fitted on one, all are evaluated.
    raw = {name: learner.predict(inputs.iloc[rows]) for name, rows in blocks.items()}
    # 5. the calibrator, on the calibration window
    calibrator = _calibrate(raw["calibration"], labels, frame, blocks["calibration"], calibration_method, report)
    # 6. the drift baselines, on the training window
    report("fitting drift baselines on the training window")
    drift = DriftDetector(random_state=random_state).fit(inputs.iloc[train][features])
    # 7. every split evaluated (the test window only here), and everything stored
    report("evaluating every split")
    metrics = _evaluate(calibrator, raw, labels, frame, blocks, horizon)
    ece_before = float(expected_calibration_error(raw["test"], labels[blocks["test"]], n_bins=10))
    ece_after = metrics["test"]["ece"]
    metrics["test"]["ece_uncalibrated"] = ece_before
    metrics["cv"] = {f"walk_forward_auc[{key}]": value for key, value in search.scores.items()}
    stacker = _stacker_evidence(learner)
    metrics.update(_choice_metrics(stacker, calibrator.selection_))
    importance = learner.feature_importance()
    seconds = time.perf_counter() - started
    model_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
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
            "lightgbm": search.best,
            "selector": {"correlation_threshold": correlation_threshold, "n_features": n_features},
            "calibration_method": calibration_method,
            "calibration": {"chosen": calibrator.method_, "selection": calibrator.selection_},
            "stacker": stacker,
            "label": target,
            "label_horizon": horizon,
            "engine": engine,
            "as_of": None if as_of is None else as_of.isoformat(),
            "market_features_via_regime_only": data.market_columns,
        },
        library_versions=_library_versions(),
        artifacts=learner.to_dict(),
        splits={
            name: {"first_date": split.first_date.date(), "last_date": split.last_date.date(), "rows": len(split)}
            for name, split in splits.items()
        },
        training_seconds=seconds,
        metrics=metrics,
        importance={name: float(value) for name, value in importance.items()},
        selection=_selection_rows(selector, data.feature_columns, correlation_threshold, n_features),
        calibrator_method=calibrator.method_,
        calibrator_state=calibrator.to_dict(),
        ece_before=ece_before,
        ece_after=ece_after,
        drift_baselines=_per_feature(drift.to_dict()),
        tuning=search.folds,
        tuning_choice=candidate_name(search.best),
    )
    report("saving the model, metrics and baselines to the ml schema")
    save_model(connection, record, status)
    return _summary(record, list(selector.dropped_all_null_))


def _read_examples(
    connection: duckdb.DuckDBPyConnection, label: str, as_of: dt.date | None, report: Reporter
) -> tuple[TrainingData, int, dict[str, Split]]:
    """Step 1: the training examples (with labels known before `as_of`), the label's horizon, and the windows
    cut by date with purging and an embargo."""
    report("reading marts.fct_training_examples" + (f" (labels known before {as_of})" if as_of else ""))
    data = load_training_examples(connection, label=label, known_before=as_of)
    horizon = label_horizon(connection, data.label.column)
    splits = purged_splits(data.frame["trade_date"], data.frame["label_known_date"], horizon=horizon)
    report(
        f"{len(data.frame):,} examples, {len(data.feature_columns)} stock-level features and ranks (market-level "
        f"ones only through the regime), label {data.label.column} ({horizon} days); splits: "
        + ", ".join(f"{name} {len(split):,} rows ({split.first_date:%Y-%m-%d}..)" for name, split in splits.items())
    )
    return data, horizon, splits


def _export_examples(
    connection: duckdb.DuckDBPyConnection,
    examples: str | Path | None,
    features: list[str],
    label: str,
    as_of: dt.date | None,
    rows: int,
    report: Reporter,
) -> Path:
    """The selected features of the examples written as Parquet for the Dask workers; returns the folder. The
    frame's index is each row's position in the export: the learner tells the workers which to read."""
    folder = Path(examples or examples_directory()).resolve()
    report(f"writing the selected features of the examples as Parquet to {folder} (the Dask workers read them)")
    try:
        written = export_training_examples(connection, folder, features, label=label, known_before=as_of)
    except (OSError, duckdb.IOException) as error:
        raise MLError(
            f"cannot write the training examples to {folder} ({error}); free some space or choose another "
            "folder with --examples"
        ) from error
    if written != rows:
        raise MLError(f"{written:,} examples were written to {folder}, {rows:,} read: train again")
    return folder


def _calibrate(
    raw: np.ndarray, labels: np.ndarray, frame: pd.DataFrame, rows: np.ndarray, method: str, report: Reporter
) -> ProbabilityCalibrator:
    """Step 5: the calibrator fitted on the calibration window's raw probabilities `raw` (its `rows`)."""
    report("calibrating probabilities on the calibration window")
    calibrator = ProbabilityCalibrator(method=method, window_size=len(rows), refit_every=None).fit(
        raw, labels[rows], dates=frame["trade_date"].iloc[rows]
    )
    if calibrator.selection_ is not None:
        report(f"calibration: {method} chose {calibrator.method_} ({calibrator.selection_['reason']})")
    return calibrator


def _evaluate(
    calibrator: ProbabilityCalibrator,
    raw: dict[str, np.ndarray],
    labels: np.ndarray,
    frame: pd.DataFrame,
    blocks: dict[str, np.ndarray],
    horizon: int,
) -> dict[str, dict[str, float | None]]:
    """Step 7: the metrics of every split's calibrated probabilities (`ml.metrics.evaluate`)."""
    return {
        name: evaluate(
            calibrator.calibrate(raw[name]),
            labels[rows],
            frame[FORWARD_RETURN].to_numpy()[rows],
            frame["trade_date"].to_numpy()[rows],
            frame["ticker"].to_numpy()[rows],
            horizon,
        )
        for name, rows in blocks.items()
    }


def _stacker_evidence(learner: HierarchicalMetaLearner) -> dict:
    """The stacker's choice, weights and out-of-fold scores, as stored in the model's params."""
    return {
        "choice": learner.stacker_choice_,
        "coef": [float(value) for value in learner.stacker_.coef_.ravel()],
        "intercept": float(learner.stacker_.intercept_[0]),
        **learner.stacker_scores_,
    }


def _choice_metrics(stacker: dict, calibration: dict | None) -> dict[str, dict[str, float]]:
    """The evidence of the two choices made out of sample (the stacker's, the calibrator's), as numbers in
    `ml.metrics` (the choices, as words, are in the stored params and states)."""
    metrics = {
        "stacker": {
            "weight_global": stacker["coef"][0],
            "weight_regime": stacker["coef"][1],
            "intercept": stacker["intercept"],
            "blend_chosen": float(stacker["choice"] == "blend"),
            **{f"oof_log_loss[{name}]": value for name, value in stacker["log_loss"].items()},
        }
    }
    if calibration is not None and "candidates" in calibration:
        metrics["calibration_choice"] = {
            f"{score}[{name}]": values[score]
            for name, values in calibration["candidates"].items()
            for score in ("log_loss", "ece", "brier")
        }
    return metrics


def _selection_rows(
    selector: FeatureSelector, candidates: list[str], correlation_threshold: float, n_features: int
) -> list[dict]:
    """One row per candidate feature for `ml.selected_features`: selected (with its rank and importance), or
    why not."""
    features = selector.get_selected_features()
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
    selection += [
        {"feature": name, "selected": False, "reason": "constant on the training window"}
        for name in selector.dropped_constant_
    ]
    listed = {row["feature"] for row in selection}
    selection += [
        {
            "feature": name,
            "selected": False,
            "importance": float(selector.importances_.get(name, np.nan)),
            "reason": f"below the top {n_features} by importance",
        }
        for name in candidates
        if name not in listed
    ]
    return selection


def _summary(record: ModelRecord, dropped_all_null: list[str]) -> TrainSummary:
    """What the run produced, from the record it stored."""
    importance = record.importance
    return TrainSummary(
        model_id=record.model_id,
        device_requested=record.device_requested,
        device_used=record.device_used,
        seconds=record.training_seconds,
        metrics=record.metrics,
        ece_before=record.ece_before,
        ece_after=record.ece_after,
        top_features=sorted(importance.items(), key=lambda item: -item[1])[:5],
        selected_features=record.features,
        dropped_all_null=dropped_all_null,
        cv=record.metrics["cv"],
        splits=record.splits,
        calibration_method=record.params["calibration_method"],
        calibration_chosen=record.calibrator_method,
        calibration_selection=record.params["calibration"]["selection"],
        stacker=record.params["stacker"],
        label=record.params["label"],
        engine=record.params["engine"],
    )


def _per_feature(drift_state: dict) -> dict[str, dict]:
    """The drift detector's state as one JSON document per feature (plus its settings under '*')."""
    baselines = drift_state.get("baselines")
    if isinstance(baselines, dict):
        settings = {key: value for key, value in drift_state.items() if key != "baselines"}
        return {"*": settings, **baselines}
    return {"*": drift_state}
