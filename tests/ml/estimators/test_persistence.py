"""ml.estimators.persistence: JSON text files for every estimator (never pickle), written atomically, format-checked."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from ml.errors import InvalidInputError, NotFittedError, StateError
from ml.estimators.calibration import ProbabilityCalibrator
from ml.estimators.drift import DriftDetector
from ml.estimators.learner import HierarchicalMetaLearner
from ml.estimators.persistence import JsonPersistenceMixin, finite_or_none, floats_or_none, json_params, none_to_nan
from ml.estimators.selection import FeatureSelector

ESTIMATORS = [FeatureSelector, HierarchicalMetaLearner, ProbabilityCalibrator, DriftDetector]


@pytest.fixture
def detector() -> DriftDetector:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(500, 3)), columns=["a", "b", "c"])
    return DriftDetector(random_state=0, sample_size=100).fit(frame)


def leftovers(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_save_writes_to_dict_as_json_text_in_new_folders(detector: DriftDetector, tmp_path) -> None:
    path = detector.save(str(tmp_path / "models" / "nested" / "drift.json"))

    assert path == tmp_path / "models" / "nested" / "drift.json"
    assert path.read_text(encoding="utf-8") == json.dumps(detector.to_dict(), allow_nan=False)
    assert leftovers(path.parent) == ["drift.json"]  # no temporary file left behind
    assert DriftDetector.load(path).baselines_ == detector.baselines_
    # Saving again replaces the file.
    detector.baselines_["a"]["n_rows"] = 7
    assert DriftDetector.load(detector.save(path)).baselines_["a"]["n_rows"] == 7


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("name", ["model.pkl", "model.joblib", "model", "model.json.bak"])
def test_a_path_that_is_not_json_is_one_clear_error(cls, name: str, tmp_path) -> None:
    with pytest.raises(InvalidInputError) as caught:
        cls.load(tmp_path / name)
    message = str(caught.value)
    assert message.startswith(f"{cls.__name__}.load: models are saved as JSON text, never pickle")
    assert "use a path that ends in .json" in message and name in message


def test_saving_to_a_pickle_path_writes_nothing(detector: DriftDetector, tmp_path) -> None:
    with pytest.raises(InvalidInputError, match=r"DriftDetector.save: .*never pickle.*\.json"):
        detector.save(tmp_path / "drift_detector_baseline.pkl")
    assert leftovers(tmp_path) == []


def test_a_crash_while_writing_leaves_the_earlier_file_whole(detector: DriftDetector, tmp_path, monkeypatch) -> None:
    path = detector.save(tmp_path / "drift.json")
    before = path.read_text()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    detector.baselines_["a"]["n_rows"] = 1
    with pytest.raises(OSError, match="disk full"):
        detector.save(path)

    assert path.read_text() == before
    assert leftovers(tmp_path) == ["drift.json"]


def test_non_finite_numbers_never_reach_json(detector: DriftDetector, tmp_path) -> None:
    detector.baselines_["b"]["mean"] = float("nan")

    with pytest.raises(StateError, match="NaN or infinite"):
        detector.save(tmp_path / "drift.json")
    assert leftovers(tmp_path) == []


def test_unfitted_estimators_have_nothing_to_save(tmp_path) -> None:
    for cls in (FeatureSelector, HierarchicalMetaLearner, DriftDetector):
        with pytest.raises(NotFittedError, match="save it"):
            cls().save(tmp_path / "model.json")
    assert leftovers(tmp_path) == []
    # A calibrator streams before it is fitted: its pending predictions are worth keeping.
    calibrator = ProbabilityCalibrator()
    calibrator.add_observation(0.4)
    assert ProbabilityCalibrator.load(calibrator.save(tmp_path / "calibrator.json")).pending == {0: 0.4}


def test_load_rejects_other_files(detector: DriftDetector, tmp_path) -> None:
    (tmp_path / "broken.json").write_text('{"format": "DriftDetector/1", ')
    with pytest.raises(StateError, match="is not JSON text"):
        DriftDetector.load(tmp_path / "broken.json")
    path = detector.save(tmp_path / "drift.json")
    with pytest.raises(StateError, match=r"ProbabilityCalibrator.to_dict \(format 'ProbabilityCalibrator/4'\), got "):
        ProbabilityCalibrator.load(path)
    with pytest.raises(FileNotFoundError):
        DriftDetector.load(tmp_path / "missing.json")


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_every_estimator_checks_the_format_tag(cls) -> None:
    assert issubclass(cls, JsonPersistenceMixin)
    for state in ({"format": "something/1"}, {}, ["format"], None):
        with pytest.raises(StateError, match=f"{cls.__name__}.from_dict expects the output of {cls.__name__}.to_dict"):
            cls.from_dict(state)


def test_json_helpers() -> None:
    assert finite_or_none(float("nan")) is None and finite_or_none(np.inf) is None
    assert finite_or_none(np.float32(0.5)) == 0.5 and finite_or_none(None) is None
    values = np.array([[0.1, np.nan], [-np.inf, 2.0]])
    stored = floats_or_none(values)
    assert stored == [[0.1, None], [None, 2.0]]
    restored = none_to_nan(json.loads(json.dumps(stored)))
    assert np.array_equal(restored, np.array([[0.1, np.nan], [np.nan, 2.0]]), equal_nan=True)
    params = json_params({"random_state": np.random.RandomState(0), "n": np.int64(3), "x": 0.5})
    assert params == {"random_state": None, "n": 3, "x": 0.5} and type(params["n"]) is int
