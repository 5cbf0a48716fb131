"""ProbabilityCalibrator (isotonic, sigmoid; batch and streaming; JSON state) and expected_calibration_error."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit
from sklearn.isotonic import IsotonicRegression

from ml.errors import InvalidInputError, NotFittedError, StateError
from ml.estimators.calibration import (
    ISOTONIC_MAX_BLOCKS,
    ISOTONIC_MIN_BLOCK_ROWS,
    OUTPUT_EPS,
    ProbabilityCalibrator,
    _isotonic_blocks,
)
from ml.metrics import expected_calibration_error


def miscalibrated(n_rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Predictions q that are under-confident: the true probability is sigmoid(2 * logit(q))."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.02, 0.98, n_rows)
    outcomes = (rng.random(n_rows) < expit(2.0 * logit(q))).astype(int)
    return q, outcomes


def json_round_trip(calibrator: ProbabilityCalibrator) -> ProbabilityCalibrator:
    return ProbabilityCalibrator.from_dict(json.loads(json.dumps(calibrator.to_dict(), allow_nan=False)))


@pytest.mark.parametrize("method", ["isotonic", "sigmoid", "binned_isotonic", "auto"])
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

    # scikit-learn's step function, clipped away from 0 and 1 as every calibrator output is.
    expected = np.clip(reference.predict(grid), OUTPUT_EPS, 1 - OUTPUT_EPS)
    assert reference.predict(grid).min() == 0.0  # so the clipping is exercised
    np.testing.assert_allclose(calibrator.calibrate(grid), expected, rtol=0, atol=1e-12)
    assert np.all(np.diff(calibrator.calibrate(grid)) >= 0)


def test_passes_through_below_min_samples_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    q, y = miscalibrated(29, seed=5)
    y[:2] = [0, 1]

    with caplog.at_level(logging.WARNING, logger="ml.estimators.calibration"):
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


@pytest.mark.parametrize("method", ["isotonic", "sigmoid", "binned_isotonic", "auto"])
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
    assert restored.method_ == calibrator.method_ != "identity"
    assert restored.selection_ == calibrator.selection_
    if calibrator.method_ in ("isotonic", "binned_isotonic"):
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


@pytest.mark.parametrize("method", ["isotonic", "sigmoid", "auto"])
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


# ----------------------------------------------------------------------------- 'auto': chosen out of sample


def calibrated_rows(n_rows: int, seed: int, power: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True probabilities p, outcomes drawn from them, and the predictions p ** power (power 1: calibrated)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, n_rows)
    outcomes = (rng.random(n_rows) < p).astype(int)
    return p**power, outcomes, p


@pytest.mark.parametrize("seed", range(8))
def test_auto_keeps_the_identity_when_the_probabilities_are_already_calibrated(seed: int) -> None:
    q, y, _ = calibrated_rows(4000, seed)
    dates = np.repeat(pd.bdate_range("2024-01-02", periods=100).to_numpy(), 40)

    calibrator = ProbabilityCalibrator(refit_every=None).fit(q, y, dates=dates)

    assert calibrator.method_ == "identity" and not calibrator.is_passthrough_
    np.testing.assert_array_equal(calibrator.calibrate(q), q)
    evidence = calibrator.selection_
    assert evidence["chosen"] == "identity" and "no candidate" in evidence["reason"]
    assert set(evidence["candidates"]) == {"identity", "sigmoid", "binned_isotonic"}
    # Rolling origin over four blocks of 25 dates: each block is scored after a fit on all the rows before it.
    days = pd.bdate_range("2024-01-02", periods=100)
    assert [(fold["fit_rows"], fold["holdout_rows"]) for fold in evidence["folds"]] == [
        (1000, 1000),
        (2000, 1000),
        (3000, 1000),
    ]
    assert [fold["holdout_first_date"] for fold in evidence["folds"]] == [str(days[i].date()) for i in (25, 50, 75)]


def drifting_rows(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A calibration window of 100 dates whose model is under-confident on the first half and over-confident
    on the second (predictions q = p ** power, with power 3 for dates 0-49 and 1/3 after): a map fitted on the
    early days helps on the second block and hurts on the later ones."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, 4000)
    y = (rng.random(4000) < p).astype(int)
    power = np.where(np.arange(4000) < 2000, 3.0, 1.0 / 3.0)
    dates = np.repeat(pd.bdate_range("2024-01-02", periods=100).to_numpy(), 40)
    return p**power, y, dates


@pytest.mark.parametrize("seed", range(3))
def test_auto_keeps_the_identity_when_a_map_helps_on_one_block_and_hurts_on_another(seed: int) -> None:
    q, y, dates = drifting_rows(seed)

    calibrator = ProbabilityCalibrator(refit_every=None).fit(q, y, dates=dates)

    gains = [fold["improvement"]["sigmoid"] for fold in calibrator.selection_["folds"]]
    assert gains[0] > 0 and min(gains) < 0  # it helped on the first block scored, and hurt on a later one
    assert calibrator.method_ == "identity" and "on each of the 3 fold(s)" in calibrator.selection_["reason"]


@pytest.mark.parametrize("seed", range(4))
def test_auto_replaces_the_identity_when_the_probabilities_are_off_and_improves_held_out_ece(seed: int) -> None:
    q, y, _ = calibrated_rows(4000, seed, power=3.0)
    q_test, y_test, _ = calibrated_rows(20_000, seed + 100, power=3.0)

    calibrator = ProbabilityCalibrator(refit_every=None).fit(q, y)

    assert calibrator.method_ in ("sigmoid", "binned_isotonic")
    chosen = calibrator.selection_["candidates"][calibrator.method_]
    identity = calibrator.selection_["candidates"]["identity"]
    assert chosen["log_loss"] < identity["log_loss"] and chosen["ece"] < identity["ece"]
    assert chosen["improvement"] > 2 * chosen["standard_error"]
    report = calibrator.ece_report(q_test, y_test)
    assert report["ece_after"] < report["ece_before"] / 3


@pytest.mark.parametrize("seed", range(4))
def test_auto_never_chooses_a_map_that_inverts_the_models_order(seed: int) -> None:
    """Predictions that run against the outcomes on the calibration window: Platt would fit a negative slope
    and win on log loss, turning the model upside down, and isotonic regression would flatten them. 'auto'
    records both as excluded and keeps the identity: a higher raw probability never gets a lower calibrated
    one."""
    q, y, p = calibrated_rows(4000, seed)
    inverted = 1.0 - q  # the model ranks the rows in the opposite order of their true probability
    calibrator = ProbabilityCalibrator(refit_every=None).fit(inverted, y)
    sigmoid = calibrator.selection_["candidates"]["sigmoid"]
    assert "excluded" in sigmoid and sigmoid["improvement"] > 2 * sigmoid["standard_error"]
    # Isotonic regression of outcomes that fall as p rises pools into flat steps: excluded too.
    assert "excluded" in calibrator.selection_["candidates"]["binned_isotonic"]
    assert calibrator.method_ == "identity"
    order = np.argsort(inverted)
    assert (np.diff(calibrator.calibrate(inverted)[order]) >= 0).all()
    explicit = ProbabilityCalibrator(method="sigmoid", refit_every=None).fit(inverted, y)
    assert explicit.coef_ < 0  # asked for by name, Platt is fitted as asked


def test_auto_with_too_few_rows_to_choose_keeps_the_identity() -> None:
    # 36 rows in four blocks of 9: even the last fold fits on 27 rows, fewer than min_samples.
    q, y, _ = calibrated_rows(36, 1, power=3.0)
    calibrator = ProbabilityCalibrator(min_samples=30, refit_every=None).fit(q, y)
    assert calibrator.method_ == "identity" and "too few rows" in calibrator.selection_["reason"]
    assert [fold["fit_rows"] for fold in calibrator.selection_["folds"]] == [9, 18, 27]
    # A held-out slice within one date cannot say how much the days differ.
    q, y, _ = calibrated_rows(400, 2, power=3.0)
    dates = np.repeat(pd.bdate_range("2024-01-02", periods=2).to_numpy(), [300, 100])
    one_day = ProbabilityCalibrator(refit_every=None).fit(q, y, dates=dates)
    assert one_day.method_ == "identity" and "on 1 date(s)" in one_day.selection_["reason"]


@pytest.mark.parametrize("method", ["auto", "identity", "sigmoid", "isotonic", "binned_isotonic"])
def test_no_output_is_exactly_0_or_1(method: str) -> None:
    # The plan's 100-observation window, with runs of one outcome at both ends of the probabilities: plain
    # isotonic regression gives 0 and 1 there.
    rng = np.random.default_rng(3)
    q = np.sort(rng.uniform(0.0, 1.0, 100))
    y = (rng.random(100) < q**0.3).astype(int)
    y[:15], y[-15:] = 0, 1
    grid = np.r_[0.0, 1.0, np.linspace(0.0, 1.0, 501)]

    calibrated = ProbabilityCalibrator(method=method, refit_every=None).fit(q, y).calibrate(grid)

    assert calibrated.min() >= OUTPUT_EPS and calibrated.max() <= 1 - OUTPUT_EPS
    assert ((calibrated > 0) & (calibrated < 1)).all()


def test_binned_isotonic_steps_rest_on_at_least_the_minimum_block_of_rows() -> None:
    q, y, _ = calibrated_rows(3000, 5, power=2.0)
    q[:900] = 0.2  # a mass of ties

    x_means, y_means, counts = _isotonic_blocks(q, y)

    assert len(counts) <= ISOTONIC_MAX_BLOCKS and counts.min() >= ISOTONIC_MIN_BLOCK_ROWS
    assert counts.sum() == len(q) and np.all(np.diff(x_means) > 0)
    assert counts[np.argmin(np.abs(x_means - 0.2))] >= 900  # the ties share one block
    calibrator = ProbabilityCalibrator(method="binned_isotonic", refit_every=None).fit(q, y)
    assert np.all(np.diff(calibrator.calibrate(np.linspace(0, 1, 201))) >= 0)
    # Its lowest and highest outputs are hit rates of whole blocks, far from 0 and 1, where plain isotonic
    # regression reaches 0 on the few lowest rows.
    plain = ProbabilityCalibrator(method="isotonic", refit_every=None).fit(q, y)
    assert plain.y_thresholds_.min() == 0.0
    assert calibrator.y_thresholds_.min() > 0.01 and calibrator.y_thresholds_.max() < 0.99


def test_auto_re_chooses_on_each_streaming_refit() -> None:
    calibrator = ProbabilityCalibrator(window_size=400, min_samples=100, refit_every=100)
    q, y, _ = calibrated_rows(400, 7)
    for probability, outcome in zip(q, y, strict=True):
        calibrator.add_observation(float(probability), outcome)
    assert calibrator.method_ == "identity" and calibrator.n_automatic_fits == 4
    # The model's probabilities go badly off: once the window holds mostly such pairs, a refit replaces the identity.
    q, y, _ = calibrated_rows(400, 8, power=4.0)
    for probability, outcome in zip(q, y, strict=True):
        calibrator.add_observation(float(probability), outcome)
    assert calibrator.method_ in ("sigmoid", "binned_isotonic")
    last_fold = calibrator.selection_["folds"][-1]
    assert last_fold["fit_rows"] + last_fold["holdout_rows"] == 400
    restored = json_round_trip(calibrator)
    assert restored.method_ == calibrator.method_ and restored.selection_ == calibrator.selection_


def test_dates_must_be_in_order_and_one_per_row() -> None:
    q, y, _ = calibrated_rows(100, 9)
    dates = pd.bdate_range("2024-01-02", periods=100).to_numpy()
    with pytest.raises(InvalidInputError, match="non-decreasing"):
        ProbabilityCalibrator().fit(q, y, dates=dates[::-1])
    with pytest.raises(InvalidInputError, match="99 dates for 100"):
        ProbabilityCalibrator().fit(q, y, dates=dates[:99])
    with pytest.raises(InvalidInputError, match="batch fit"):
        ProbabilityCalibrator().fit(dates=dates)
    with pytest.raises(InvalidInputError, match="n_folds"):
        ProbabilityCalibrator(n_folds=0).fit(q, y)


def test_a_version_1_state_loads_with_its_method_and_clipped_outputs() -> None:
    q, y = miscalibrated(300, seed=18)
    state = ProbabilityCalibrator(method="isotonic", refit_every=None).fit(q, y).to_dict()
    state["format"] = "ProbabilityCalibrator/1"
    for key in ("method_used", "selection"):
        del state[key]
    for key in ("n_folds", "selection_margin"):
        del state["params"][key]
    state["y_thresholds"][0], state["y_thresholds"][-1] = 0.0, 1.0

    restored = ProbabilityCalibrator.from_dict(state)

    assert restored.method_ == "isotonic" and restored.selection_ is None
    assert (restored.n_folds, restored.selection_margin) == (3, 2.0)
    assert restored.calibrate(0.0) == OUTPUT_EPS and restored.calibrate(1.0) == 1 - OUTPUT_EPS


def test_a_version_2_state_loads_with_its_map_and_the_default_folds() -> None:
    q, y = miscalibrated(300, seed=19)
    calibrator = ProbabilityCalibrator(method="sigmoid", refit_every=None).fit(q, y)
    state = calibrator.to_dict()
    state["format"] = "ProbabilityCalibrator/2"
    del state["params"]["n_folds"]
    state["params"]["holdout_fraction"] = 0.3

    restored = ProbabilityCalibrator.from_dict(state)

    assert restored.n_folds == 3 and restored.method_ == "sigmoid"
    np.testing.assert_array_equal(restored.calibrate(q), calibrator.calibrate(q))


def test_dated_streaming_observations_fit_as_a_batch_fit_with_those_dates() -> None:
    q, y = miscalibrated(1200, seed=21)
    days = np.repeat(pd.bdate_range("2024-01-02", periods=40).strftime("%Y-%m-%d").to_numpy(), 30)
    streaming = ProbabilityCalibrator(window_size=1200, min_samples=200, refit_every=None)
    # Predictions are recorded by day; outcomes arrive in another order within the window (the fit sorts by date).
    ids = [streaming.add_observation(float(p), date=day) for p, day in zip(q, days, strict=True)]
    order = np.random.default_rng(3).permutation(q.size)
    for position in order:
        streaming.add_observation(float(q[position]), int(y[position]), observation_id=ids[position])
    streaming.fit()
    by_date = np.argsort(np.asarray(streaming.observation_dates), kind="stable")
    window = np.asarray(streaming.observations)[by_date]
    batch = ProbabilityCalibrator(min_samples=200).fit(window[:, 0], window[:, 1].astype(int), dates=days)
    assert streaming.selection_ == batch.selection_
    assert streaming.selection_["folds"][0]["holdout_first_date"] is not None  # blocks were cut by date
    probe = np.linspace(0.01, 0.99, 99)
    np.testing.assert_array_equal(streaming.calibrate(probe), batch.calibrate(probe))
    restored = json_round_trip(streaming)
    assert restored.observation_dates == streaming.observation_dates
    restored_pending = ProbabilityCalibrator(refit_every=None)
    restored_pending.add_observation(0.4, date="2024-03-01")
    assert json_round_trip(restored_pending).to_dict()["pending"] == [[0, 0.4, "2024-03-01"]]
