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
    calibrator = ProbabilityCalibrator(window_size=40, method=method).fit(q, y)
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

    unfitted = json_round_trip(ProbabilityCalibrator(method="sigmoid").add_observation(0.4, 1))
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
