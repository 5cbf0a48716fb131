"""ProbabilityCalibrator (isotonic, sigmoid; batch and streaming; JSON state) and expected_calibration_error."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from scipy.special import expit, logit
from sklearn.isotonic import IsotonicRegression

from ml.calibration import ProbabilityCalibrator, expected_calibration_error
from ml.errors import InvalidInputError, NotFittedError, StateError


def miscalibrated(n_rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Predictions q that are under-confident: the true probability is sigmoid(2 * logit(q))."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.02, 0.98, n_rows)
    outcomes = (rng.random(n_rows) < expit(2.0 * logit(q))).astype(int)
    return q, outcomes


def json_round_trip(calibrator: ProbabilityCalibrator) -> ProbabilityCalibrator:
    return ProbabilityCalibrator.from_dict(json.loads(json.dumps(calibrator.to_dict(), allow_nan=False)))


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibration_reduces_ece_on_held_out_rows(method: str) -> None:
    q_fit, y_fit = miscalibrated(5000, seed=1)
    q_test, y_test = miscalibrated(20000, seed=2)

    calibrator = ProbabilityCalibrator(method=method).fit(q_fit, y_fit)
    report = calibrator.ece_report(q_test, y_test)

    assert not calibrator.is_passthrough_
    assert report["ece_before"] > 0.08
    assert report["ece_after"] < 0.03
    assert report["ece_after"] < report["ece_before"] / 3
    assert report["n_samples"] == 20000


def test_sigmoid_recovers_the_distortion() -> None:
    q, y = miscalibrated(20000, seed=3)

    calibrator = ProbabilityCalibrator(method="sigmoid").fit(q, y)

    assert calibrator.coef_ == pytest.approx(2.0, abs=0.15)
    assert calibrator.intercept_ == pytest.approx(0.0, abs=0.1)
    calibrated = calibrator.calibrate(np.array([0.25, 0.5, 0.75]))
    np.testing.assert_allclose(calibrated, expit(2.0 * logit([0.25, 0.5, 0.75])), atol=0.03)


def test_isotonic_matches_scikit_learn_and_is_monotone() -> None:
    q, y = miscalibrated(3000, seed=4)
    grid = np.linspace(0.0, 1.0, 2001)

    calibrator = ProbabilityCalibrator(method="isotonic").fit(q, y)
    reference = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(q, y)

    np.testing.assert_allclose(calibrator.calibrate(grid), reference.predict(grid), rtol=0, atol=1e-12)
    assert np.all(np.diff(calibrator.calibrate(grid)) >= 0)


def test_passes_through_below_min_samples_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    q, y = miscalibrated(29, seed=5)
    y[:2] = [0, 1]

    with caplog.at_level(logging.WARNING, logger="ml.calibration"):
        calibrator = ProbabilityCalibrator(min_samples=30).fit(q, y)

    assert calibrator.is_passthrough_
    np.testing.assert_array_equal(calibrator.calibrate(q), q)
    assert any("min_samples=30" in record.getMessage() for record in caplog.records)
    # One more observation and it calibrates.
    q30, y30 = miscalibrated(30, seed=5)
    assert not ProbabilityCalibrator(min_samples=30).fit(q30, y30).is_passthrough_


def test_passes_through_when_outcomes_have_one_class() -> None:
    q = np.linspace(0.1, 0.9, 50)

    calibrator = ProbabilityCalibrator(method="sigmoid").fit(q, np.ones(50))

    assert calibrator.is_passthrough_
    assert "all 50 outcomes are 1" in calibrator.passthrough_reason_
    np.testing.assert_array_equal(calibrator.calibrate(q), q)


def test_streaming_window_keeps_only_the_last_observations() -> None:
    q, y = miscalibrated(80, seed=6)
    calibrator = ProbabilityCalibrator(window_size=50, min_samples=20)

    for probability, outcome in zip(q, y, strict=True):
        calibrator.add_observation(probability, outcome)
    calibrator.fit()

    assert calibrator.observations == [(float(p), int(o)) for p, o in zip(q[-50:], y[-50:], strict=True)]
    assert calibrator.n_samples_fit_ == 50
    batch = ProbabilityCalibrator(min_samples=20).fit(q[-50:], y[-50:])
    grid = np.linspace(0.0, 1.0, 101)
    np.testing.assert_array_equal(calibrator.calibrate(grid), batch.calibrate(grid))


def test_batch_fit_ignores_and_keeps_the_streaming_buffer() -> None:
    calibrator = ProbabilityCalibrator(min_samples=5)
    for probability, outcome in [(0.2, 0), (0.4, 1), (0.6, 0)]:
        calibrator.add_observation(probability, outcome)
    q, y = miscalibrated(500, seed=7)

    calibrator.fit(q, y)

    assert calibrator.n_samples_fit_ == 500
    assert calibrator.observations == [(0.2, 0), (0.4, 1), (0.6, 0)]
    # The buffer alone (3 rows) is below min_samples.
    assert calibrator.fit().is_passthrough_


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_json_round_trip_gives_identical_outputs(method: str) -> None:
    q, y = miscalibrated(2000, seed=8)
    # refit_every=None: a batch fit with a streaming window beside it (no automatic refit replaces the fit).
    calibrator = ProbabilityCalibrator(window_size=40, method=method, refit_every=None).fit(q, y)
    for probability, outcome in zip(q[:45], y[:45], strict=True):
        calibrator.add_observation(probability, outcome)
    grid = np.concatenate([np.linspace(0.0, 1.0, 1001), q])

    restored = json_round_trip(calibrator)

    np.testing.assert_array_equal(restored.calibrate(grid), calibrator.calibrate(grid))
    assert restored.get_params() == calibrator.get_params()
    assert restored.observations == calibrator.observations
    assert len(restored.observations) == 40
    if method == "isotonic":
        np.testing.assert_array_equal(restored.X_thresholds_, calibrator.X_thresholds_)
        np.testing.assert_array_equal(restored.y_thresholds_, calibrator.y_thresholds_)
    else:
        assert (restored.coef_, restored.intercept_) == (calibrator.coef_, calibrator.intercept_)


def test_round_trip_of_passthrough_and_unfitted_calibrators() -> None:
    passthrough = json_round_trip(ProbabilityCalibrator().fit([0.3, 0.7], [0, 1]))
    assert passthrough.is_passthrough_
    np.testing.assert_array_equal(passthrough.calibrate([0.3, 0.9]), [0.3, 0.9])

    streaming = ProbabilityCalibrator(method="sigmoid")
    streaming.add_observation(0.4, 1)
    unfitted = json_round_trip(streaming)
    assert unfitted.observations == [(0.4, 1)]
    with pytest.raises(NotFittedError):
        unfitted.calibrate([0.5])


def test_from_dict_rejects_other_state() -> None:
    with pytest.raises(StateError, match="to_dict"):
        ProbabilityCalibrator.from_dict({"format": "DriftDetector/1"})
    state = ProbabilityCalibrator(method="sigmoid").fit(*miscalibrated(100, seed=9)).to_dict()
    del state["coef"]
    with pytest.raises(StateError, match="coef"):
        ProbabilityCalibrator.from_dict(state)


def test_unfitted_and_invalid_use_raise_clear_errors() -> None:
    with pytest.raises(NotFittedError, match="fit"):
        ProbabilityCalibrator().calibrate([0.5])
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        ProbabilityCalibrator().fit([0.5, 1.5], [0, 1])
    with pytest.raises(InvalidInputError, match="0/1"):
        ProbabilityCalibrator().fit([0.5, 0.5], [0, 2])
    with pytest.raises(InvalidInputError, match="both"):
        ProbabilityCalibrator().fit([0.5, 0.5])
    with pytest.raises(InvalidInputError, match="method"):
        ProbabilityCalibrator(method="beta").fit([0.5], [1])


def test_ece_by_hand() -> None:
    # One row per bin: |0 - .1| + |1 - .2| + |1 - .85| + |1 - .95|, over 4 rows.
    assert expected_calibration_error([0.1, 0.2, 0.85, 0.95], [0, 1, 1, 1]) == pytest.approx(1.1 / 4)
    # Two rows in one bin: |mean outcome .5 - mean confidence .125|.
    assert expected_calibration_error([0.1, 0.15], [0, 1]) == pytest.approx(0.375)
    # 1.0 belongs to the last bin, not an eleventh.
    assert expected_calibration_error([1.0, 0.95], [1, 1]) == pytest.approx(0.025)
    assert expected_calibration_error([0.3, 0.7], [0, 1], n_bins=1) == pytest.approx(0.0)


def test_ece_small_when_calibrated_and_large_when_not() -> None:
    rng = np.random.default_rng(10)
    p = rng.uniform(0.0, 1.0, 100_000)
    outcomes = (rng.random(p.size) < p).astype(int)

    assert expected_calibration_error(p, outcomes) < 0.02
    # Outcomes at a 50% rate, predicted at 90%: ECE about 0.4.
    overconfident = np.full(10_000, 0.9)
    coin = (rng.random(10_000) < 0.5).astype(int)
    assert expected_calibration_error(overconfident, coin) > 0.35
    # The under-confident predictions of the other tests are measurably off.
    assert expected_calibration_error(*miscalibrated(100_000, seed=11)) > 0.08


# ------------------------------------------------------------------------------------------- streaming


def test_a_prediction_is_pending_until_its_outcome_resolves_it() -> None:
    calibrator = ProbabilityCalibrator()

    first = calibrator.add_observation(0.6)
    second = calibrator.add_observation(0.6, actual_outcome=None)
    third = calibrator.add_observation(0.3)

    assert (first, second, third) == (0, 1, 2)
    assert calibrator.pending == {0: 0.6, 1: 0.6, 2: 0.3}
    assert calibrator.raw_scores == [] and calibrator.observations == []
    # Without an id, the outcome resolves the oldest pending prediction with exactly that probability.
    assert calibrator.add_observation(0.6, actual_outcome=True) == 0
    assert calibrator.pending == {1: 0.6, 2: 0.3}
    # With an id, that one.
    assert calibrator.add_observation(0.3, actual_outcome=0, observation_id=third) == 2
    assert calibrator.pending == {1: 0.6}
    # Nothing pending at that probability: a new observation, resolved at once.
    assert calibrator.add_observation(0.9, actual_outcome=1) == 3
    assert calibrator.pending == {1: 0.6}
    assert calibrator.observations == [(0.6, 1), (0.3, 0), (0.9, 1)]
    assert calibrator.raw_scores == [0.6, 0.3, 0.9]
    assert calibrator.outcomes == [1, 0, 1]
    assert calibrator.add_observation(0.5) == 4  # ids are never reused


def test_streaming_mistakes_are_clear_errors() -> None:
    calibrator = ProbabilityCalibrator()
    pending = calibrator.add_observation(0.4)

    with pytest.raises(InvalidInputError, match="no pending observation has id 7 \\(pending ids: 0\\)"):
        calibrator.add_observation(0.4, actual_outcome=1, observation_id=7)
    with pytest.raises(InvalidInputError, match="recorded with raw_prob 0.4, got 0.5"):
        calibrator.add_observation(0.5, actual_outcome=1, observation_id=pending)
    with pytest.raises(InvalidInputError, match="needs actual_outcome"):
        calibrator.add_observation(0.4, observation_id=pending)
    with pytest.raises(InvalidInputError, match="one probability"):
        calibrator.add_observation([0.4, 0.5])
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        calibrator.add_observation(1.2)
    with pytest.raises(InvalidInputError, match="0/1"):
        calibrator.add_observation(0.4, actual_outcome=2)
    assert calibrator.pending == {0: 0.4} and calibrator.observations == []
    calibrator.add_observation(0.4, actual_outcome=1, observation_id=pending)
    with pytest.raises(InvalidInputError, match="already added"):
        calibrator.add_observation(0.4, actual_outcome=1, observation_id=pending)


def test_streaming_refits_at_min_samples_and_then_every_refit_every() -> None:
    q, y = miscalibrated(200, seed=12)
    calibrator = ProbabilityCalibrator(window_size=100, min_samples=30, refit_every=10)
    refitted_at = []
    samples_at_refit = []

    for resolved, (probability, outcome) in enumerate(zip(q, y, strict=True), start=1):
        identifier = calibrator.add_observation(probability)  # pending predictions never trigger a refit
        before = calibrator.n_automatic_fits
        calibrator.add_observation(probability, actual_outcome=outcome, observation_id=identifier)
        if calibrator.n_automatic_fits > before:
            refitted_at.append(resolved)
            samples_at_refit.append(calibrator.n_samples_fit_)
        if resolved < 30:
            assert not calibrator.__sklearn_is_fitted__()

    assert refitted_at == list(range(30, 201, 10))
    assert samples_at_refit == [30, 40, 50, 60, 70, 80, 90] + [100] * 11
    # The automatic fit is fit() on the window.
    manual = ProbabilityCalibrator(min_samples=30).fit(q[-100:], y[-100:])
    grid = np.linspace(0.0, 1.0, 201)
    np.testing.assert_array_equal(calibrator.calibrate(grid), manual.calibrate(grid))


def test_refit_every_none_leaves_fitting_to_the_caller() -> None:
    q, y = miscalibrated(100, seed=13)
    calibrator = ProbabilityCalibrator(min_samples=30, refit_every=None)
    for probability, outcome in zip(q, y, strict=True):
        calibrator.add_observation(probability, actual_outcome=outcome)

    assert not calibrator.__sklearn_is_fitted__() and calibrator.n_automatic_fits == 0
    assert len(calibrator.raw_scores) == 100
    assert calibrator.fit().n_samples_fit_ == 100


def test_calibrate_returns_a_float_for_a_number_and_an_array_for_an_array() -> None:
    calibrator = ProbabilityCalibrator(method="sigmoid").fit(*miscalibrated(500, seed=14))

    single = calibrator.calibrate(0.3)
    assert type(single) is float
    assert single == calibrator.calibrate([0.3])[0]
    assert type(calibrator.calibrate(np.float32(0.3))) is float
    assert calibrator.calibrate(np.array([0.3, 0.7])).shape == (2,)
    passthrough = ProbabilityCalibrator().fit([0.3], [1])
    assert passthrough.calibrate(0.3) == 0.3 and type(passthrough.calibrate(0.3)) is float


def test_a_reloaded_calibrator_continues_exactly_where_the_saved_one_was(tmp_path) -> None:
    q, y = miscalibrated(160, seed=15)
    calibrator = ProbabilityCalibrator(window_size=50, min_samples=20, refit_every=7)
    # Predictions are recorded five steps before their outcomes arrive, as with the 5-day label.
    for step in range(85):
        calibrator.add_observation(q[step])
        if step >= 5:
            calibrator.add_observation(q[step - 5], actual_outcome=y[step - 5])
    assert len(calibrator.pending) == 5 and calibrator.n_automatic_fits > 0

    loaded = ProbabilityCalibrator.load(calibrator.save(tmp_path / "models" / "calibrator_state.json"))

    assert loaded.pending == calibrator.pending
    assert loaded.observations == calibrator.observations
    assert loaded.n_automatic_fits == calibrator.n_automatic_fits
    grid = np.linspace(0.0, 1.0, 101)
    for step in range(85, 160):
        ids = [
            (model.add_observation(q[step]), model.add_observation(q[step - 5], actual_outcome=y[step - 5]))
            for model in (calibrator, loaded)
        ]
        assert ids[0] == ids[1]
        assert loaded.n_automatic_fits == calibrator.n_automatic_fits
        np.testing.assert_array_equal(loaded.calibrate(grid), calibrator.calibrate(grid))
    assert loaded.to_dict() == calibrator.to_dict()


def test_a_state_stored_before_streaming_ids_loads_without_automatic_refits() -> None:
    calibrator = ProbabilityCalibrator(min_samples=5).fit(*miscalibrated(200, seed=16))
    state = calibrator.to_dict()
    del state["params"]["refit_every"]
    for key in ("pending", "next_id", "n_resolved", "automatic_fits", "since_refit"):
        del state[key]

    restored = ProbabilityCalibrator.from_dict(state)

    assert restored.refit_every is None and restored.pending == {}
    for probability in np.linspace(0.1, 0.9, 10):
        restored.add_observation(float(probability), actual_outcome=1)
    grid = np.linspace(0.0, 1.0, 101)
    np.testing.assert_array_equal(restored.calibrate(grid), calibrator.calibrate(grid))
    assert restored.add_observation(0.5) == 10


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_save_and_load_give_identical_outputs(method: str, tmp_path) -> None:
    q, y = miscalibrated(300, seed=17)
    calibrator = ProbabilityCalibrator(method=method)
    for probability, outcome in zip(q, y, strict=True):
        calibrator.add_observation(probability, actual_outcome=outcome)
    calibrator.add_observation(0.25)

    path = calibrator.save(tmp_path / "calibrator_state.json")
    loaded = ProbabilityCalibrator.load(path)

    grid = np.concatenate([np.linspace(0.0, 1.0, 1001), q])
    np.testing.assert_array_equal(loaded.calibrate(grid), calibrator.calibrate(grid))
    assert loaded.get_params() == calibrator.get_params()
    assert (loaded.raw_scores, loaded.outcomes, loaded.pending) == (
        calibrator.raw_scores,
        calibrator.outcomes,
        calibrator.pending,
    )
    with pytest.raises(InvalidInputError, match="never pickle"):
        calibrator.save(tmp_path / "calibrator_state.pkl")
