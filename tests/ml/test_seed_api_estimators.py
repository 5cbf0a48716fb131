"""The user's plan (../shared/spec/SEED_API.md) for the four estimators, on a panel with known answers.

The snippets are copied with the same names, calls and relative `models/...json` paths, on a small synthetic
panel built here (X with 25 numeric columns indexed by (trade_date, ticker), y, regime ids 0-11) whose answers
are known: a near-copy column the selector must drop, a planted signal the learner must find, a shift the drift
detector must flag. The regime ids are built locally here; `tests/ml/test_seed_api.py` runs the whole plan as
written on a real store, `compute_market_regime(train_df)` included. Each saved file is then loaded back and
must give identical outputs.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from ml.estimators.calibration import ProbabilityCalibrator
from ml.estimators.drift import DriftDetector
from ml.estimators.learner import HierarchicalMetaLearner
from ml.estimators.selection import FeatureSelector

pytestmark = pytest.mark.slow

N_DATES, N_TICKERS, N_COLUMNS = 300, 20, 25


def make_store_frames(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """X (25 numeric columns, some near-duplicates, indexed by trade_date and ticker, in date order), y (up in
    5 days, 0/1) and one regime id (0-11) per row: the same for every ticker on a date, like a T-1 market state,
    with regime 0 on half the dates so that it gets its own model."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2023-01-02", periods=N_DATES)
    index = pd.MultiIndex.from_product(
        [dates, [f"TICK{i:02d}" for i in range(N_TICKERS)]], names=["trade_date", "ticker"]
    )
    values = rng.normal(size=(len(index), N_COLUMNS))
    values[:, 1] = values[:, 0] + 0.1 * rng.normal(size=len(index))  # a near-copy the selector should drop
    X = pd.DataFrame(values, index=index, columns=[f"feature_{i:02d}" for i in range(N_COLUMNS)])
    per_date = rng.choice(12, size=N_DATES, p=np.r_[0.5, np.full(11, 0.5 / 11)])
    regime_ids = np.repeat(per_date, N_TICKERS).astype(int)
    sign = np.where(regime_ids == 0, 1.0, -0.5)
    score = 0.8 * values[:, 0] + 0.6 * sign * values[:, 2] + 0.4 * values[:, 3]
    y = (rng.random(len(index)) < expit(score)).astype(int)
    return X, y, regime_ids


def test_the_plans_estimator_snippets_run_as_written_and_reload_identically(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    X, y, regimes_from_the_store = make_store_frames()

    # Feature selection: correlation filter, random-forest importance, top 20
    selector = FeatureSelector(correlation_threshold=0.85, n_features=20, random_state=42)
    selector.fit(X, y)
    X_selected = selector.transform(X)
    selected_features = selector.get_selected_features()  # list of column names, best first
    selector.save("models/feature_selector_fitted.json")

    # Meta-learner: global + one per regime (0-11)
    meta = HierarchicalMetaLearner(random_state=42)
    # regime_ids = compute_market_regime(train_df) needs the warehouse; the locally built ids stand in for it.
    regime_ids = regimes_from_the_store  # one regime id per row of train_df (T-1 market state)
    metrics = meta.train_ensemble(X_selected, y, regime_ids=regime_ids)
    print(f"Train AUC: {metrics['train_auc']:.4f}")
    print(f"Val AUC: {metrics['val_auc']:.4f}")  # a number even when no validation set is passed
    meta.save("models/meta_learner_trained.json")
    probabilities = meta.predict(X_selected, regime_ids=regime_ids)  # probability of "up in 5 days", 0-1

    # Calibration, streaming: record the prediction now, the outcome when it is known. The plan's calls run
    # once per trading day on one ticker's predictions.
    calibrator = ProbabilityCalibrator(window_size=100, min_samples=30)
    one_ticker = np.arange(0, len(y), N_TICKERS)
    calibrated = []
    for day, row in enumerate(one_ticker):
        raw_prob = float(probabilities[row])
        calibrator.add_observation(raw_prob, actual_outcome=None)  # outcome not known yet
        if day < 5:
            continue
        # ... five trading days later ...
        raw_prob, trade_won = float(probabilities[one_ticker[day - 5]]), bool(y[one_ticker[day - 5]])
        calibrator.add_observation(raw_prob, actual_outcome=trade_won)  # the outcome of that same prediction
        if len(calibrator.raw_scores) >= 30:  # resolved observations so far
            calibrator.fit()
            calibrated_prob = calibrator.calibrate(raw_prob)
            calibrated.append(calibrated_prob)
    calibrator.save("models/calibrator_state.json")

    # Drift: baseline on the training window, daily check on the last 30 days
    recent_rows = 30 * N_TICKERS
    X_train = X_selected.iloc[:-recent_rows]
    X_recent_30d = X_selected.iloc[-recent_rows:].copy()
    shifted = selected_features[::2]
    X_recent_30d[shifted] += 1.0  # half the selected features move by one standard deviation
    detector = DriftDetector(ks_threshold=0.05, drift_percentage_trigger=0.20)
    detector.fit(X_train)
    detector.save("models/drift_detector_baseline.json")
    result = detector.check_retrain_trigger(X_recent_30d, method="ks")
    result["should_retrain"], result["drift_percentage"], result["drifted_features"]

    # What the comments promise.
    assert len(selected_features) == 20 == X_selected.shape[1]
    assert list(X_selected.columns) == selected_features
    assert not {"feature_00", "feature_01"} <= set(selected_features)  # one of the near-copies is dropped
    assert selected_features[0] in {"feature_00", "feature_01"}
    assert isinstance(metrics["val_auc"], float) and 0.6 < metrics["val_auc"] <= 1.0
    assert metrics["rows_held_out"] == 45 * N_TICKERS and metrics["rows_purged"] == 5 * N_TICKERS
    assert 0 in metrics["regimes_trained"]
    assert "Train AUC: 0." in capsys.readouterr().out
    assert probabilities.shape == (len(X),) and ((probabilities > 0) & (probabilities < 1)).all()
    assert len(calibrator.raw_scores) == 100 and len(calibrator.pending) == 5
    assert len(calibrated) == N_DATES - 5 - 29 and all(isinstance(p, float) and 0 <= p <= 1 for p in calibrated)
    assert result["should_retrain"] is True
    assert set(result["drifted_features"]) >= set(shifted) and result["drift_percentage"] >= 0.5

    # Loading each back gives exactly the outputs of the one that was saved.
    for name in (
        "feature_selector_fitted",
        "meta_learner_trained",
        "calibrator_state",
        "drift_detector_baseline",
    ):
        json.loads((tmp_path / "models" / f"{name}.json").read_text())  # JSON text, no pickle
    loaded_selector = FeatureSelector.load("models/feature_selector_fitted.json")
    pd.testing.assert_frame_equal(loaded_selector.transform(X), X_selected)
    assert loaded_selector.get_selected_features() == selected_features
    loaded_meta = HierarchicalMetaLearner.load("models/meta_learner_trained.json")
    assert np.array_equal(loaded_meta.predict(X_selected, regime_ids=regime_ids), probabilities)
    loaded_calibrator = ProbabilityCalibrator.load("models/calibrator_state.json")
    assert loaded_calibrator.calibrate(raw_prob) == calibrated_prob
    grid = np.linspace(0.0, 1.0, 101)
    np.testing.assert_array_equal(loaded_calibrator.calibrate(grid), calibrator.calibrate(grid))
    assert (loaded_calibrator.raw_scores, loaded_calibrator.pending) == (calibrator.raw_scores, calibrator.pending)
    loaded_detector = DriftDetector.load("models/drift_detector_baseline.json")
    assert loaded_detector.check_retrain_trigger(X_recent_30d, method="ks") == result


def test_the_plan_imports_the_estimators_from_the_ml_package():
    from ml import DriftDetector as PackageDriftDetector
    from ml import FeatureSelector as PackageFeatureSelector
    from ml import HierarchicalMetaLearner as PackageMetaLearner
    from ml import ProbabilityCalibrator as PackageCalibrator

    assert (PackageFeatureSelector, PackageMetaLearner, PackageCalibrator, PackageDriftDetector) == (
        FeatureSelector,
        HierarchicalMetaLearner,
        ProbabilityCalibrator,
        DriftDetector,
    )
