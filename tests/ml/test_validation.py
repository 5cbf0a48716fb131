"""ml.validation: the input checks every estimator shares, and their messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn.exceptions

from ml.errors import InvalidInputError, MissingFeaturesError, NotFittedError
from ml.estimators.calibration import ProbabilityCalibrator
from ml.estimators.selection import FeatureSelector
from ml.validation import (
    check_binary_labels,
    check_frame,
    check_int,
    check_interval,
    check_is_fitted,
    check_probabilities,
    check_regime_ids,
    select_features,
)


def test_check_is_fitted_raises_the_projects_error_saying_what_to_do() -> None:
    selector = FeatureSelector()
    with pytest.raises(NotFittedError) as caught:
        check_is_fitted(selector, "transform")
    assert isinstance(caught.value, sklearn.exceptions.NotFittedError)
    assert str(caught.value) == (
        "This FeatureSelector is not fitted yet: call fit(...) on the training window (or restore it with "
        "FeatureSelector.from_dict(...) or FeatureSelector.load(path)) before you transform."
    )
    fitted = ProbabilityCalibrator().fit([0.2, 0.8], [0, 1])
    check_is_fitted(fitted, "calibrate")  # no error


def test_parameter_checks_name_the_estimator_and_the_parameter() -> None:
    selector = FeatureSelector()
    with pytest.raises(InvalidInputError, match=r"^FeatureSelector: n_features must be a positive integer, got True\."):
        check_int(selector, "n_features", True)
    with pytest.raises(InvalidInputError, match="an integer of at least 2 or None, got 1.5"):
        check_int(selector, "x", 1.5, minimum=2, allow_none=True)
    check_int(selector, "x", None, allow_none=True)
    check_int(selector, "x", np.int64(3))
    with pytest.raises(InvalidInputError, match=r"threshold must be a number in \(0, 1\], got nan"):
        check_interval(selector, "threshold", float("nan"), 0.0, 1.0)
    with pytest.raises(InvalidInputError, match=r"in \[0, 1\)"):
        check_interval("f", "fraction", 1.0, 0.0, 1.0, low_inclusive=True, high_inclusive=False)
    check_interval("f", "fraction", 0.0, 0.0, 1.0, low_inclusive=True)


def test_frame_checks() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4], "ticker": ["x", "y"], 7: [0, 1]})
    with pytest.raises(InvalidInputError, match="DriftDetector expects X as a pandas DataFrame"):
        check_frame(frame.to_numpy(), "DriftDetector")
    with pytest.raises(InvalidInputError, match="string column names, got 7"):
        check_frame(frame, "DriftDetector")
    with pytest.raises(InvalidInputError, match="empty"):
        check_frame(frame.iloc[:0, :2], "DriftDetector")
    check_frame(frame.iloc[:0, :2], "DriftDetector", allow_no_rows=True)
    # select_features ignores the extra columns, whatever their names and types.
    assert list(select_features(frame, ["b", "a"], "DriftDetector").columns) == ["b", "a"]
    with pytest.raises(InvalidInputError, match="non-numeric column.*ticker"):
        select_features(frame, ["a", "ticker"], "DriftDetector")
    with pytest.raises(MissingFeaturesError, match="^DriftDetector was fitted with .* lacks: c") as caught:
        select_features(frame, ["a", "c"], "DriftDetector")
    assert caught.value.missing == ["c"]
    duplicated = pd.concat([frame[["a"]], frame[["a"]]], axis=1)
    with pytest.raises(InvalidInputError, match="duplicated column name"):
        select_features(duplicated, ["a"], "DriftDetector")


def test_label_probability_and_regime_checks() -> None:
    assert check_binary_labels([True, False, 1], 3, "f").tolist() == [1, 0, 1]
    with pytest.raises(
        InvalidInputError, match=r"f: y must hold only 0/1 or booleans; found other values \(e.g. \[2.0\]\)"
    ):
        check_binary_labels([0, 2], 2, "f")
    with pytest.raises(InvalidInputError, match="NaN"):
        check_binary_labels([0, np.nan], 2, "f")
    with pytest.raises(InvalidInputError, match="3 values for 2 rows"):
        check_binary_labels([0, 1, 1], 2, "f")
    assert check_probabilities(0.25, "f").tolist() == [0.25]
    with pytest.raises(InvalidInputError, match=r"finite numbers in \[0, 1\]; 2 are not"):
        check_probabilities([0.5, np.inf, -0.1], "f")
    regimes = check_regime_ids(pd.Series([0, None, 11], dtype="Int64"), 3, "f")
    assert np.array_equal(regimes, [0.0, np.nan, 11.0], equal_nan=True)
    with pytest.raises(InvalidInputError, match="one regime id per row"):
        check_regime_ids(3, 1, "f")
    with pytest.raises(InvalidInputError, match="integer regime ids"):
        check_regime_ids([0.5], 1, "f")
