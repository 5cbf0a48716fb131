"""The user's plan, run as written (../shared/spec/SEED_API.md), on data read from a real store.

Every snippet is copied with its names, calls, comments and relative `models/...json` paths; only the lines
that make `X`, `y`, `train_df`, `X_train`, `X_recent_30d`, `raw_prob` and `trade_won` ("coming from the
store") are ours. The store is the shared small synthetic market (`synthetic_store`: 30 equities, 3 years, no
planted signal); `FEATURE_STORE_DB` points at it, as a user's shell would. Then each file is loaded back with
`Class.load(path)` and must give exactly the outputs of the object that was saved.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import read, read_job

from ml.train.data import load_training_examples

pytestmark = pytest.mark.slow


def test_the_plan_runs_as_written_on_the_store(synthetic_store, tmp_path, monkeypatch, capsys):
    db_path = synthetic_store  # only read: what the plan writes goes to models/ in its own folder
    monkeypatch.setenv("FEATURE_STORE_DB", str(db_path))
    monkeypatch.chdir(tmp_path)

    # From the store: two years of labelled examples, features indexed by trade date, in time order.
    # The plan's label is "up in 5 days" (label_up_5d), not the default cross-sectional one.
    data = read_job(
        load_training_examples, db_path, label="up", start=pd.Timestamp("2023-01-01"), end=pd.Timestamp("2024-12-31")
    )
    train_df = data.frame
    X, y = data.features, data.labels
    last_dates = read(db_path, "select distinct trade_date from marts.fct_features order by trade_date desc limit 30")
    recent = read(  # the features of the last 30 days with their ranks within the day, as the model reads them
        db_path,
        "select * from marts.fct_features join marts.fct_feature_ranks using (ticker, trade_date) "
        "where trade_date >= ?",
        last_dates["trade_date"].min(),
    )

    # The plan's two import lines, as written (kept apart, hence the noqa for the import sorter).
    from ml import FeatureSelector, HierarchicalMetaLearner, ProbabilityCalibrator, DriftDetector  # noqa: I001
    from ml import compute_market_regime

    # Feature selection: correlation filter, random-forest importance, top 20
    selector = FeatureSelector(correlation_threshold=0.85, n_features=20, random_state=42)
    selector.fit(X, y)
    X_selected = selector.transform(X)
    selected_features = selector.get_selected_features()  # list of column names, best first
    selector.save("models/feature_selector_fitted.json")

    # Meta-learner: global + one per regime (0-11)
    meta = HierarchicalMetaLearner(random_state=42)
    regime_ids = compute_market_regime(train_df)  # one regime id per row of train_df (T-1 market state)
    metrics = meta.train_ensemble(X_selected, y, regime_ids=regime_ids)
    print(f"Train AUC: {metrics['train_auc']:.4f}")
    print(f"Val AUC: {metrics['val_auc']:.4f}")  # a number even when no validation set is passed
    meta.save("models/meta_learner_trained.json")
    probabilities = meta.predict(X_selected, regime_ids=regime_ids)  # probability of "up in 5 days", 0-1

    # Calibration, streaming: record the prediction now, the outcome when it is known
    calibrator = ProbabilityCalibrator(window_size=100, min_samples=30)
    one_ticker = np.flatnonzero(train_df["ticker"].to_numpy() == train_df["ticker"].iloc[0])
    calibrated = []
    for day, row in enumerate(one_ticker):
        raw_prob = float(probabilities[row])
        calibrator.add_observation(raw_prob, actual_outcome=None)  # outcome not known yet
        if day < 5:
            continue
        # ... five trading days later ...
        raw_prob, trade_won = float(probabilities[one_ticker[day - 5]]), int(y[one_ticker[day - 5]])
        calibrator.add_observation(raw_prob, actual_outcome=trade_won)  # the outcome of that same prediction
        if len(calibrator.raw_scores) >= 30:  # resolved observations so far
            calibrator.fit()
            calibrated_prob = calibrator.calibrate(raw_prob)
            calibrated.append(calibrated_prob)
    calibrator.save("models/calibrator_state.json")

    # Drift: baseline on the training window, daily check on the last 30 days
    X_train = X_selected
    X_recent_30d = recent[selected_features]
    detector = DriftDetector(ks_threshold=0.05, drift_percentage_trigger=0.20)
    detector.fit(X_train)
    detector.save("models/drift_detector_baseline.json")
    result = detector.check_retrain_trigger(X_recent_30d, method="ks")
    result["should_retrain"], result["drift_percentage"], result["drifted_features"]

    # What the comments promise.
    assert len(selected_features) == 20 and list(X_selected.columns) == selected_features
    store_regimes = train_df["regime_id"]  # the same regimes, as fct_training_examples joined them
    known = store_regimes.notna().to_numpy()
    assert known.mean() > 0.99 and regime_ids.between(0, 11).all()
    assert np.array_equal(regime_ids.to_numpy()[known].astype(int), store_regimes.to_numpy()[known].astype(int))
    assert isinstance(metrics["val_auc"], float) and 0.0 < metrics["val_auc"] < 1.0
    assert metrics["rows_held_out"] > 0 and metrics["rows_purged"] > 0
    assert "Train AUC: 0." in capsys.readouterr().out
    assert probabilities.shape == (len(train_df),) and ((probabilities > 0) & (probabilities < 1)).all()
    assert len(calibrator.raw_scores) == 100 and len(calibrator.pending) == 5
    assert calibrated and all(isinstance(p, float) and 0.0 <= p <= 1.0 for p in calibrated)
    assert set(result) >= {"should_retrain", "drift_percentage", "drifted_features"}
    assert set(result["drifted_features"]) <= set(selected_features)

    # Loading each back gives exactly the outputs of the one that was saved.
    for name in ("feature_selector_fitted", "meta_learner_trained", "calibrator_state", "drift_detector_baseline"):
        json.loads((tmp_path / "models" / f"{name}.json").read_text())  # JSON text, never pickle
    loaded_selector = FeatureSelector.load("models/feature_selector_fitted.json")
    pd.testing.assert_frame_equal(loaded_selector.transform(X), X_selected)
    assert loaded_selector.get_selected_features() == selected_features
    loaded_meta = HierarchicalMetaLearner.load("models/meta_learner_trained.json")
    assert np.array_equal(loaded_meta.predict(X_selected, regime_ids=regime_ids), probabilities)
    loaded_calibrator = ProbabilityCalibrator.load("models/calibrator_state.json")
    grid = np.linspace(0.0, 1.0, 101)
    assert np.array_equal(loaded_calibrator.calibrate(grid), calibrator.calibrate(grid))
    assert loaded_calibrator.calibrate(raw_prob) == calibrated_prob
    loaded_detector = DriftDetector.load("models/drift_detector_baseline.json")
    assert loaded_detector.check_retrain_trigger(X_recent_30d, method="ks") == result


def test_compute_market_regime_is_the_stores_regime_of_each_date(synthetic_store):
    from ml import compute_market_regime

    db_path = synthetic_store
    regimes = read(db_path, "select trade_date, regime_id from marts.fct_market_regimes order by trade_date")
    frame = pd.DataFrame(
        {"trade_date": list(regimes["trade_date"]) + [pd.Timestamp("1990-01-02")]}, index=range(5, 5 + len(regimes) + 1)
    )
    looked_up = compute_market_regime(frame, db_path=db_path)
    assert list(looked_up.index) == list(frame.index) and looked_up.name == "regime_id"
    assert looked_up.iloc[:-1].astype("float").equals(regimes["regime_id"].astype("float").set_axis(frame.index[:-1]))
    assert looked_up.isna().iloc[-1]  # a date the store does not know has no regime
    with pytest.raises(KeyError, match="needs a 'trade_date' column"):
        compute_market_regime(pd.DataFrame({"date": []}), db_path=db_path)
