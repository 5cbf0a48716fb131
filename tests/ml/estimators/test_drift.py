"""DriftDetector: baselines from the training window, KS and PSI drift checks, the retrain trigger, JSON state."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from ml.errors import InvalidInputError, MissingFeaturesError, NotFittedError, StateError
from ml.estimators.drift import DriftDetector

FEATURES = [f"f{i}" for i in range(10)]
SHIFTED = FEATURES[:5]


def make_frame(n_rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Ten features of different shapes (normal, skewed, discrete); `shift` (in standard deviations) moves
    the mean of the first five."""
    rng = np.random.default_rng(seed)
    columns = {}
    for i, name in enumerate(FEATURES):
        kind = i % 3
        if kind == 0:
            values = rng.standard_normal(n_rows)
        elif kind == 1:
            values = rng.lognormal(0.0, 0.5, n_rows)
        else:
            values = rng.poisson(4.0, n_rows).astype(float)
        if name in SHIFTED:
            values = values + shift * values.std()
        values[rng.random(n_rows) < 0.05] = np.nan
        columns[name] = values
    return pd.DataFrame(columns)


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return make_frame(8000, seed=1)


@pytest.fixture(scope="module")
def detector(train: pd.DataFrame) -> DriftDetector:
    # Under no drift each feature fails a KS test at level ks_threshold by chance, so with ten features the
    # default 5% would flag two or more (and retrain) about 9% of the time, whatever the seed. At 0.1% that is
    # below 0.01%; a 0.75-standard-deviation shift still gives p-values far below it.
    return DriftDetector(random_state=0, ks_threshold=0.001).fit(train)


def test_baseline_describes_the_training_window(train: pd.DataFrame, detector: DriftDetector) -> None:
    baseline = detector.baselines_["f0"]
    values = train["f0"].dropna()

    assert list(detector.feature_names_in_) == FEATURES
    assert baseline["n_rows"] == len(train)
    assert baseline["n_missing"] == int(train["f0"].isna().sum())
    assert baseline["mean"] == pytest.approx(values.mean())
    assert baseline["std"] == pytest.approx(values.std())
    assert list(baseline["quantiles"]) == ["q01", "q05", "q25", "q50", "q75", "q95", "q99"]
    assert baseline["quantiles"]["q50"] == pytest.approx(values.median())
    assert len(baseline["ks_sample"]) == 2000
    assert set(baseline["ks_sample"]) <= set(values)
    # Quantile bins of a continuous feature hold a tenth of the training rows each.
    assert len(baseline["psi_edges"]) == 9
    np.testing.assert_allclose(baseline["psi_expected"], 0.1, atol=0.002)
    # A discrete feature merges bins at repeated values, and the fractions still sum to one.
    discrete = detector.baselines_["f2"]
    assert len(discrete["psi_edges"]) < 9
    assert sum(discrete["psi_expected"]) == pytest.approx(1.0)


@pytest.mark.parametrize("method", ["ks", "psi"])
def test_no_drift_on_the_same_distribution(detector: DriftDetector, method: str) -> None:
    result = detector.check_retrain_trigger(make_frame(3000, seed=2), method=method)

    assert result["should_retrain"] is False
    assert result["drift_percentage"] < detector.drift_percentage_trigger
    assert result["n_features_tested"] == 10
    assert set(result["details"]) == set(FEATURES)
    if method == "psi":
        assert max(d["psi"] for d in result["details"].values()) < 0.05


@pytest.mark.parametrize("method", ["ks", "psi"])
def test_detects_exactly_the_shifted_features(detector: DriftDetector, method: str) -> None:
    result = detector.check_retrain_trigger(make_frame(3000, seed=3, shift=0.75), method=method)

    assert result["drifted_features"] == SHIFTED
    assert result["drift_percentage"] == pytest.approx(0.5)
    assert result["should_retrain"] is True
    assert result["method"] == method
    for name in FEATURES:
        detail = result["details"][name]
        assert detail["drifted"] is (name in SHIFTED)
        if method == "ks":
            assert (detail["p_value"] < detector.ks_threshold) is (name in SHIFTED)
        else:
            assert detail["statistic"] == detail["psi"]
            assert (detail["psi"] > detector.psi_threshold) is (name in SHIFTED)


def test_the_ks_statistic_is_the_same_however_its_p_value_is_computed(detector: DriftDetector) -> None:
    recent = make_frame(3000, seed=3, shift=0.75)
    exact = detector.check_retrain_trigger(recent)["details"]
    asymptotic = detector.check_retrain_trigger(recent, ks_p_value="asymp")["details"]
    for name in FEATURES:
        assert asymptotic[name]["statistic"] == pytest.approx(exact[name]["statistic"], rel=1e-12)
        assert asymptotic[name]["n_recent"] == exact[name]["n_recent"]
        # Two computations of the p-value: they differ, and agree on which side of the threshold it is.
        assert (asymptotic[name]["p_value"] < detector.ks_threshold) is (exact[name]["p_value"] < detector.ks_threshold)
    assert any(asymptotic[name]["p_value"] != exact[name]["p_value"] for name in FEATURES)
    with pytest.raises(InvalidInputError, match="ks_p_value"):
        detector.check_retrain_trigger(recent, ks_p_value="fast")


def test_trigger_threshold_decides_retraining(train: pd.DataFrame) -> None:
    # One shifted feature in ten: 10% drifted, below a 20% trigger and at a 10% one.
    recent = make_frame(3000, seed=4)
    recent["f3"] = recent["f3"] + 1.0

    lenient = DriftDetector(random_state=0, ks_threshold=0.001).fit(train).check_retrain_trigger(recent)
    strict = (
        DriftDetector(random_state=0, ks_threshold=0.001, drift_percentage_trigger=0.10)
        .fit(train)
        .check_retrain_trigger(recent)
    )

    assert lenient["drifted_features"] == strict["drifted_features"] == ["f3"]
    assert lenient["should_retrain"] is False
    assert strict["should_retrain"] is True


def test_all_nan_features_are_skipped_and_reported(
    train: pd.DataFrame, detector: DriftDetector, caplog: pytest.LogCaptureFixture
) -> None:
    recent = make_frame(3000, seed=5, shift=0.75)
    recent["f0"] = np.nan  # shifted in the other columns, but nothing to test here

    with caplog.at_level(logging.WARNING, logger="ml.estimators.drift"):
        result = detector.check_retrain_trigger(recent)

    assert result["skipped_features"] == {"f0": "all values are NULL/NaN in X_recent"}
    assert "f0" not in result["details"]
    assert result["n_features_tested"] == 9
    assert result["drifted_features"] == SHIFTED[1:]
    assert result["drift_percentage"] == pytest.approx(4 / 9)
    assert any("f0" in record.getMessage() for record in caplog.records)

    # A feature with no value in the training window is skipped the same way.
    empty_train = train.assign(f9=np.nan)
    result = clone(detector).fit(empty_train).check_retrain_trigger(make_frame(3000, seed=2))
    assert result["skipped_features"] == {"f9": "no value in the training window"}


def test_missing_feature_raises_a_clear_error(detector: DriftDetector) -> None:
    recent = make_frame(100, seed=6).drop(columns=["f4", "f7"])

    with pytest.raises(MissingFeaturesError, match="f4, f7") as caught:
        detector.check_retrain_trigger(recent)
    assert caught.value.missing == ["f4", "f7"]


def test_extra_columns_in_the_recent_window_are_ignored(detector: DriftDetector) -> None:
    recent = make_frame(3000, seed=2).assign(ticker="AAA", trade_date=pd.Timestamp("2024-01-02"))

    result = detector.check_retrain_trigger(recent)

    assert set(result["details"]) == set(FEATURES)


@pytest.mark.parametrize("method", ["ks", "psi"])
def test_json_round_trip_gives_identical_results(detector: DriftDetector, method: str) -> None:
    recent = make_frame(5000, seed=7, shift=0.3)
    text = json.dumps(detector.to_dict(), allow_nan=False)

    restored = DriftDetector.from_dict(json.loads(text))

    assert restored.get_params() == detector.get_params()
    assert restored.baselines_ == detector.baselines_
    assert restored.check_retrain_trigger(recent, method=method) == detector.check_retrain_trigger(
        recent, method=method
    )


def test_round_trip_keeps_an_empty_feature(train: pd.DataFrame) -> None:
    fitted = DriftDetector(random_state=0).fit(train.assign(f9=np.nan))

    state = json.loads(json.dumps(fitted.to_dict(), allow_nan=False))
    restored = DriftDetector.from_dict(state)

    assert restored.baselines_["f9"]["mean"] is None
    assert state["baselines"]["f9"]["n_missing"] == len(train)


def test_is_deterministic_for_a_random_state(train: pd.DataFrame) -> None:
    recent = make_frame(5000, seed=8, shift=0.05)

    first = DriftDetector(random_state=3).fit(train)
    second = DriftDetector(random_state=3).fit(train)
    other = DriftDetector(random_state=4).fit(train)

    assert first.baselines_ == second.baselines_
    assert first.check_retrain_trigger(recent) == second.check_retrain_trigger(recent)
    assert first.baselines_["f0"]["ks_sample"] != other.baselines_["f0"]["ks_sample"]


def test_unfitted_and_invalid_use_raise_clear_errors(train: pd.DataFrame, detector: DriftDetector) -> None:
    with pytest.raises(NotFittedError, match="fit"):
        DriftDetector().check_retrain_trigger(train)
    with pytest.raises(NotFittedError):
        DriftDetector().to_dict()
    with pytest.raises(InvalidInputError, match="method"):
        detector.check_retrain_trigger(train, method="chi2")
    with pytest.raises(InvalidInputError, match="DataFrame"):
        DriftDetector().fit(train.to_numpy())
    with pytest.raises(StateError, match="to_dict"):
        DriftDetector.from_dict({"format": "ProbabilityCalibrator/1"})


def test_save_and_load_give_identical_results(detector: DriftDetector, tmp_path) -> None:
    recent = make_frame(5000, seed=9, shift=0.3)

    path = detector.save(tmp_path / "models" / "drift_detector_baseline.json")
    loaded = DriftDetector.load(path)

    assert json.loads(path.read_text())["format"] == "DriftDetector/1"
    assert loaded.get_params() == detector.get_params()
    assert list(loaded.feature_names_in_) == list(detector.feature_names_in_)
    for method in ("ks", "psi"):
        assert loaded.check_retrain_trigger(recent, method=method) == detector.check_retrain_trigger(
            recent, method=method
        )
    with pytest.raises(InvalidInputError, match="never pickle"):
        detector.save(tmp_path / "drift_detector_baseline.pkl")
    with pytest.raises(StateError, match="malformed"):
        DriftDetector.from_dict({**detector.to_dict(), "baselines": {"f0": {"mean": 0.0}}})


def test_parameters_are_checked_when_fitting(train: pd.DataFrame) -> None:
    with pytest.raises(InvalidInputError, match=r"DriftDetector: ks_threshold must be a number in \(0, 1\]"):
        DriftDetector(ks_threshold=0.0).fit(train)
    with pytest.raises(InvalidInputError, match="sample_size must be an integer of at least 2"):
        DriftDetector(sample_size=1).fit(train)
    with pytest.raises(InvalidInputError, match="non-numeric"):
        DriftDetector().fit(train.assign(ticker="AAA"))


def test_without_a_random_state_checks_are_still_repeatable_and_survive_save(train: pd.DataFrame, tmp_path) -> None:
    # 5,000 recent rows: more than sample_size, so the check draws a sample of them. The seed drawn by fit
    # makes it the same sample every time, for this detector and for one loaded from its file.
    detector = DriftDetector(sample_size=500).fit(train)
    recent = make_frame(5_000, seed=3, shift=0.05)
    first = detector.check_retrain_trigger(recent, method="ks")
    assert detector.check_retrain_trigger(recent, method="ks") == first
    loaded = DriftDetector.load(detector.save(tmp_path / "drift.json"))
    assert loaded.seed_ == detector.seed_
    assert loaded.check_retrain_trigger(recent, method="ks") == first
