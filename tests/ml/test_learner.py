"""Tests of the hierarchical meta-learner (ml/learner.py) and device resolution (ml/device.py).

Synthetic data only: features are standard normal, the label depends on `feature_3` everywhere and on
`feature_5` with a sign that depends on the regime (+ in regime 0, - in regime 1), so only regime models can
use `feature_5`. Regimes 0-2 are large; regimes 3-11 have a few hundred rows each and must fall back.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from ml import device as device_module
from ml.device import DeviceChoice, DeviceUnavailableError, resolve_device
from ml.errors import InvalidInputError, MissingFeaturesError, NotFittedError, StateError
from ml.learner import HierarchicalMetaLearner

# One LightGBM thread: on a small shared machine, OpenMP threads that spin-wait for busy cores make a
# two-thread fit many times slower, and these data sets are too small to gain from a second thread.
FAST = {
    "device": "cpu",
    "n_folds": 3,
    "num_boost_round": 120,
    "early_stopping_rounds": 15,
    "lgbm_params": {"num_threads": 1},
}
SMALL_REGIMES = list(range(3, 12))


def make_data(rows: int, seed: int, signal: bool = True) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Features, labels and regime ids; with `signal`, the planted effects described in the module docstring."""
    rng = np.random.default_rng(seed)
    features = pd.DataFrame(rng.normal(size=(rows, 10)), columns=[f"feature_{i}" for i in range(10)])
    weights = np.r_[[0.3] * 3, [0.1 / 9] * 9]
    regimes = rng.choice(12, size=rows, p=weights / weights.sum()).astype(float)
    if signal:
        sign = np.select([regimes == 0, regimes == 1], [1.0, -1.0], 0.0)
        score = 1.2 * features["feature_3"].to_numpy() + 1.5 * sign * features["feature_5"].to_numpy()
    else:
        score = np.zeros(rows)
    labels = (rng.random(rows) < expit(score)).astype(int)
    return features, labels, regimes


@pytest.fixture(scope="module")
def signal_data():
    return make_data(20_000, seed=1), make_data(10_000, seed=2)


@pytest.fixture(scope="module")
def fitted(signal_data):
    (x, y, r), (x_val, y_val, r_val) = signal_data
    learner = HierarchicalMetaLearner(random_state=7, **FAST)
    report = learner.train_ensemble(x, y, r, X_val=x_val, y_val=y_val, regime_val=r_val)
    return learner, report


def test_planted_signal_is_found_and_feature_3_tops_the_importance(fitted):
    learner, report = fitted
    assert report["val_auc"] > 0.7
    assert report["train_auc"] > 0.7 and report["oof_auc"] > 0.7
    importance = learner.feature_importance()
    assert importance.index[0] == "feature_3"
    assert importance.sum() == pytest.approx(1.0)
    by_regime = learner.regime_feature_importance()
    assert set(by_regime) == {0, 1, 2}
    # feature_5 matters only inside regimes 0 and 1 (opposite signs), so their models rank it near the top.
    assert "feature_5" in by_regime[0].index[:2] and "feature_5" in by_regime[1].index[:2]
    assert by_regime[2]["feature_5"] < by_regime[0]["feature_5"]


def test_regime_models_add_what_the_global_model_cannot_see(fitted, signal_data):
    learner, _ = fitted
    _, (x_val, y_val, r_val) = signal_data
    ensemble = roc_auc_score(y_val, learner.predict_proba(x_val, r_val)[:, 1])
    global_only = roc_auc_score(y_val, learner.predict_proba(x_val, np.full(len(x_val), np.nan))[:, 1])
    assert ensemble > global_only + 0.02


def test_predict_proba_is_shaped_like_scikit_learn(fitted, signal_data):
    learner, _ = fitted
    _, (x_val, _, r_val) = signal_data
    probabilities = learner.predict_proba(x_val.iloc[:50], r_val[:50])
    assert probabilities.shape == (50, 2)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert ((probabilities > 0) & (probabilities < 1)).all()


def test_pure_noise_gives_chance_auc():
    x, y, r = make_data(20_000, seed=3, signal=False)
    x_val, y_val, r_val = make_data(10_000, seed=4, signal=False)
    report = HierarchicalMetaLearner(random_state=0, **FAST).train_ensemble(
        x, y, r, X_val=x_val, y_val=y_val, regime_val=r_val
    )
    assert abs(report["val_auc"] - 0.5) < 0.03


def test_without_validation_data_the_training_tail_stops_early_on_noise():
    x, y, r = make_data(8_000, seed=5, signal=False)
    learner = HierarchicalMetaLearner(random_state=0, **FAST)
    report = learner.train_ensemble(x, y, r)
    assert report["val_auc"] is None
    # Noise has nothing to learn: the tail slice stops the global model long before the round limit.
    assert report["best_iterations"]["global"] < FAST["num_boost_round"] // 2
    assert learner.booster_.num_trees() == report["best_iterations"]["global"]


def test_small_regimes_fall_back_to_the_global_model(fitted, signal_data):
    learner, report = fitted
    assert report["regimes_trained"] == [0, 1, 2]
    assert report["regimes_fallback"] == SMALL_REGIMES
    assert sorted(learner.regime_boosters_) == [0, 1, 2]
    _, (x_val, _, _) = signal_data
    rows = x_val.iloc[:200]
    small = learner.predict_proba(rows, np.full(200, 7.0))
    global_only = learner.predict_proba(rows, np.full(200, np.nan))
    assert np.array_equal(small, global_only)


def test_unseen_regime_at_predict_time_uses_the_global_model(fitted, signal_data):
    learner, _ = fitted
    _, (x_val, _, _) = signal_data
    rows = x_val.iloc[:200]
    unseen = learner.predict_proba(rows, np.full(200, 99))
    assert np.array_equal(unseen, learner.predict_proba(rows, np.full(200, np.nan)))
    assert not np.allclose(unseen, learner.predict_proba(rows, np.zeros(200)))


def test_artifacts_round_trip_through_json_gives_identical_predictions(fitted, signal_data):
    learner, _ = fitted
    _, (x_val, _, r_val) = signal_data
    artifacts = json.loads(json.dumps(learner.to_artifacts()))
    assert set(artifacts["regime_models"]) == {"0", "1", "2"}
    assert artifacts["device_used"] == "cpu"
    assert artifacts["feature_names"] == list(x_val.columns)
    restored = HierarchicalMetaLearner.from_artifacts(artifacts)
    mixed = r_val.copy()
    mixed[:100] = np.nan  # unseen regimes take the same path after restoring
    assert np.array_equal(restored.predict_proba(x_val, mixed), learner.predict_proba(x_val, mixed))
    assert restored.feature_importance().equals(learner.feature_importance())
    assert restored.best_iterations_ == learner.best_iterations_
    assert restored.get_params() == learner.get_params()
    assert np.array_equal(
        HierarchicalMetaLearner.from_dict(learner.to_dict()).predict_proba(x_val, mixed),
        restored.predict_proba(x_val, mixed),
    )


def test_from_artifacts_rejects_something_else():
    with pytest.raises(StateError, match="to_artifacts"):
        HierarchicalMetaLearner.from_artifacts({"global_model": "tree"})


def test_same_random_state_gives_identical_predictions_and_another_does_not(fitted, signal_data):
    learner, _ = fitted
    (x, y, r), (x_val, y_val, r_val) = signal_data
    again = HierarchicalMetaLearner(random_state=7, **FAST).fit(x, y, r, X_val=x_val, y_val=y_val, regime_val=r_val)
    assert np.array_equal(again.predict_proba(x_val, r_val), learner.predict_proba(x_val, r_val))
    other = HierarchicalMetaLearner(random_state=8, **FAST).fit(x, y, r, X_val=x_val, y_val=y_val, regime_val=r_val)
    assert not np.array_equal(other.predict_proba(x_val, r_val), learner.predict_proba(x_val, r_val))


def test_unfitted_learner_raises_a_clear_error(signal_data):
    _, (x_val, _, r_val) = signal_data
    learner = HierarchicalMetaLearner()
    with pytest.raises(NotFittedError, match="not fitted yet.*before you predict"):
        learner.predict_proba(x_val, r_val)
    with pytest.raises(NotFittedError):
        learner.feature_importance()
    with pytest.raises(NotFittedError):
        learner.to_artifacts()


def test_bad_inputs_are_rejected_with_messages(fitted, signal_data):
    learner, _ = fitted
    (x, y, r), (x_val, y_val, _) = signal_data
    with pytest.raises(InvalidInputError, match="lgbm_params may not set seed"):
        HierarchicalMetaLearner(**{**FAST, "lgbm_params": {"seed": 1}}).fit(x, y, r)
    with pytest.raises(InvalidInputError, match="together"):
        HierarchicalMetaLearner(**FAST).fit(x, y, r, X_val=x_val, y_val=y_val)
    with pytest.raises(InvalidInputError, match="integer regime ids"):
        HierarchicalMetaLearner(**FAST).fit(x, y, r + 0.5)
    with pytest.raises(MissingFeaturesError, match="feature_3"):
        learner.predict_proba(x_val.drop(columns="feature_3"), np.zeros(len(x_val)))
    with pytest.raises(InvalidInputError, match="DataFrame"):
        learner.predict_proba(x_val.to_numpy(), np.zeros(len(x_val)))


# ---------------------------------------------------------------------- devices


def test_cpu_is_always_available_and_recorded(fitted):
    choice = resolve_device("cpu")
    assert (choice.requested, choice.used) == ("cpu", "cpu")
    assert choice.lightgbm_params() == {"device_type": "cpu"}
    assert fitted[1]["device_used"] == "cpu"


@pytest.mark.parametrize("requested", ["gpu", "cuda"])
def test_accelerated_learner_either_works_or_fails_in_one_sentence(requested):
    # This depends on the machine: the pip wheel has the OpenCL learner but needs an OpenCL platform, and
    # the CUDA learner only exists in CUDA builds. Both outcomes are checked for what they promise.
    try:
        choice = resolve_device(requested)
    except DeviceUnavailableError as error:
        message = str(error)
        assert "\n" not in message and ". " not in message  # one sentence
        assert "is not available on this machine" in message
        assert message.endswith("use --device cpu or auto.")
    else:
        assert (choice.requested, choice.used) == (requested, requested)


def test_auto_records_what_ran_and_why_the_others_were_skipped():
    choice = resolve_device("auto")
    available = {}
    for candidate in ("cuda", "gpu"):
        try:
            resolve_device(candidate)
            available[candidate] = True
        except DeviceUnavailableError:
            available[candidate] = False
    expected = "cuda" if available["cuda"] else "gpu" if available["gpu"] else "cpu"
    assert choice.requested == "auto" and choice.used == expected
    tried_before = {"cuda": [], "gpu": ["cuda"], "cpu": ["cuda", "gpu"]}[expected]
    assert [device for device, _ in choice.skipped] == tried_before
    for device, why in choice.skipped:
        assert f"{device} skipped: {why}" in choice.reason


def test_auto_falls_back_to_cpu_when_no_accelerated_learner_works(monkeypatch):
    def unavailable(device_type: str) -> str | None:
        return None if device_type == "cpu" else f"no {device_type} here"

    monkeypatch.setattr(device_module, "probe_device", unavailable)
    choice = resolve_device("auto")
    assert choice == DeviceChoice(
        "auto",
        "cpu",
        "auto: fell back to the CPU (cuda skipped: no cuda here; gpu skipped: no gpu here)",
        (("cuda", "no cuda here"), ("gpu", "no gpu here")),
    )
    with pytest.raises(DeviceUnavailableError) as raised:
        resolve_device("gpu")
    assert str(raised.value) == (
        "LightGBM's GPU (OpenCL) learner is not available on this machine: no gpu here "
        "(it needs an OpenCL platform with a device); use --device cpu or auto."
    )


def test_auto_takes_the_first_working_accelerated_learner(monkeypatch):
    monkeypatch.setattr(device_module, "probe_device", lambda device_type: "no" if device_type == "cuda" else None)
    choice = resolve_device("auto")
    assert choice.used == "gpu"
    assert choice.skipped == (("cuda", "no"),)
    assert choice.lightgbm_params() == {"device_type": "gpu", "gpu_use_dp": True}


def test_probing_keeps_lightgbm_fatal_lines_off_stderr(capfd):
    problems = [device_module.probe_device(device) for device in ("cuda", "gpu")]
    assert all(problem is None or "\n" not in problem for problem in problems)
    assert "[LightGBM] [Fatal]" not in capfd.readouterr().err


def test_unknown_device_is_rejected():
    with pytest.raises(InvalidInputError, match="device must be one of"):
        resolve_device("tpu")
