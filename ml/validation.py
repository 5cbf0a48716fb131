"""Input checks shared by the estimators of `ml` (selector, meta-learner, calibrator, drift detector).

Every check raises one of the typed errors of `ml.errors` with a message that names the estimator, says what
was wrong and how to fix it. The estimator is passed as the object itself (its class name is used) or, for a
plain function such as `expected_calibration_error`, as a name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted as _sklearn_check_is_fitted

from ml.errors import InvalidInputError, MissingFeaturesError, NotFittedError


def owner_name(estimator: object) -> str:
    """The name messages use for `estimator`: the string itself, or the class name of an object."""
    return estimator if isinstance(estimator, str) else type(estimator).__name__


# ---------------------------------------------------------------------------------------------- fitted state


def check_is_fitted(estimator: object, action: str = "use it") -> None:
    """Raise `ml.errors.NotFittedError` unless `estimator` is fitted.

    Built on `sklearn.utils.validation.check_is_fitted`, which asks the estimator's `__sklearn_is_fitted__`;
    the error raised instead of scikit-learn's says what to do (fit, or restore with `from_dict`/`load`) before
    `action` ("predict", "transform", "save it", ...). It subclasses scikit-learn's `NotFittedError`.
    """
    try:
        _sklearn_check_is_fitted(estimator)
    except _SklearnNotFittedError:
        raise NotFittedError(estimator, action) from None


# ------------------------------------------------------------------------------------------------ parameters


def check_int(estimator: object, name: str, value: Any, *, minimum: int = 1, allow_none: bool = False) -> None:
    """Raise unless `value` is an integer (not a bool) of at least `minimum`, or None where `allow_none`."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        wanted = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
        if allow_none:
            wanted += " or None"
        raise InvalidInputError(f"{owner_name(estimator)}: {name} must be {wanted}, got {value!r}.")


def check_interval(
    estimator: object,
    name: str,
    value: Any,
    low: float,
    high: float = math.inf,
    *,
    low_inclusive: bool = False,
    high_inclusive: bool = True,
) -> None:
    """Raise unless `value` is a real number (not a bool or NaN) in the interval from `low` to `high`."""
    inside = (
        isinstance(value, Real)
        and not isinstance(value, bool)
        and not math.isnan(value)
        and (value >= low if low_inclusive else value > low)
        and (value <= high if high_inclusive else value < high)
    )
    if not inside:
        interval = ("[" if low_inclusive else "(") + f"{low:g}, {high:g}" + ("]" if high_inclusive else ")")
        raise InvalidInputError(f"{owner_name(estimator)}: {name} must be a number in {interval}, got {value!r}.")


def check_choice(estimator: object, name: str, value: Any, choices: Sequence[Any]) -> None:
    """Raise unless `value` is one of `choices`."""
    if value not in choices:
        raise InvalidInputError(
            f"{owner_name(estimator)}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r}."
        )


# ------------------------------------------------------------------------------------------------------ frames


def check_frame(X: object, estimator: object, name: str = "X", *, allow_no_rows: bool = False) -> pd.DataFrame:
    """Raise unless `X` is a pandas DataFrame with rows (unless `allow_no_rows`), columns, and unique string
    column names. Returns `X` unchanged."""
    who = owner_name(estimator)
    if not isinstance(X, pd.DataFrame):
        raise InvalidInputError(
            f"{who} expects {name} as a pandas DataFrame with named feature columns, got {type(X).__name__}. "
            "Wrap arrays with pandas.DataFrame(values, columns=names)."
        )
    if (X.shape[0] == 0 and not allow_no_rows) or X.shape[1] == 0:
        raise InvalidInputError(f"{who}: {name} is empty ({X.shape[0]} rows x {X.shape[1]} columns).")
    not_str = [repr(c) for c in X.columns if not isinstance(c, str)]
    if not_str:
        raise InvalidInputError(
            f"{who}: {name} must have string column names, got {', '.join(not_str[:5])}. "
            "Rename them, e.g. X.columns = X.columns.astype(str)."
        )
    if X.columns.duplicated().any():
        duplicated = sorted(set(X.columns[X.columns.duplicated()]))
        raise InvalidInputError(f"{who}: {name} has duplicated column name(s): {', '.join(duplicated)}.")
    return X


def check_numeric_columns(X: pd.DataFrame, estimator: object, name: str = "X", columns: Iterable[str] | None = None):
    """Raise unless the `columns` of `X` (default: all) are numeric or boolean."""
    selected = X if columns is None else X.loc[:, list(columns)]
    not_numeric = [
        str(column)
        for column, dtype in selected.dtypes.items()
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
    ]
    if not_numeric:
        raise InvalidInputError(
            f"{owner_name(estimator)}: {name} has non-numeric column(s): {', '.join(not_numeric)}. "
            "Pass only the feature columns (drop keys and text columns such as ticker and trade_date) or "
            "encode them as numbers."
        )


def check_feature_frame(X: object, estimator: object, name: str = "X") -> pd.DataFrame:
    """`check_frame` and `check_numeric_columns` on every column: a frame ready to fit on."""
    check_frame(X, estimator, name)
    check_numeric_columns(X, estimator, name)
    return X


def select_features(
    X: object, columns: Sequence[str], estimator: object, name: str = "X", *, allow_no_rows: bool = False
) -> pd.DataFrame:
    """The `columns` of `X`, in that order, after checking that `X` is a frame that has each of them once,
    numeric.

    Extra columns of `X` are ignored, whatever their name or type. Raises `MissingFeaturesError` naming the
    columns `X` lacks.
    """
    who = owner_name(estimator)
    if not isinstance(X, pd.DataFrame):
        raise InvalidInputError(
            f"{who} expects {name} as a pandas DataFrame with named feature columns, got {type(X).__name__}. "
            "Wrap arrays with pandas.DataFrame(values, columns=names)."
        )
    if X.shape[0] == 0 and not allow_no_rows:
        raise InvalidInputError(f"{who}: {name} is empty ({X.shape[0]} rows x {X.shape[1]} columns).")
    present = set(X.columns)
    missing = [column for column in columns if column not in present]
    if missing:
        raise MissingFeaturesError(estimator, missing, [str(column) for column in X.columns])
    duplicated = sorted({str(column) for column in X.columns[X.columns.duplicated()]} & set(columns))
    if duplicated:
        raise InvalidInputError(f"{who}: {name} has duplicated column name(s): {', '.join(duplicated)}.")
    selected = X.loc[:, list(columns)]
    check_numeric_columns(selected, estimator, name)
    return selected


def as_float_matrix(frame: pd.DataFrame) -> np.ndarray:
    """The frame as a float64 matrix, NaN for missing values (pandas NA included)."""
    return frame.to_numpy(dtype=np.float64, na_value=np.nan)


# ------------------------------------------------------------------------------------------------------ labels


def check_labels(y: object, n_rows: int, estimator: object, name: str = "y") -> np.ndarray:
    """One class label per row, none missing; returned as a numpy array (any label values)."""
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.shape[0] != n_rows:
        raise InvalidInputError(
            f"{owner_name(estimator)}: {name} must be one label per row of X ({n_rows}), got shape {labels.shape}."
        )
    missing = pd.isna(labels)
    if missing.any():
        raise InvalidInputError(
            f"{owner_name(estimator)}: {name} has {int(missing.sum())} missing label(s). Drop those rows (labels "
            "not yet known at the end of the window) before fitting."
        )
    return labels


def check_binary_labels(
    y: object, n_rows: int | None, estimator: object, name: str = "y", dtype: type = np.int64
) -> np.ndarray:
    """0/1 (or boolean) labels, one per row (`n_rows`, when given); returned as a 1-d array of `dtype`."""
    who = owner_name(estimator)
    raw = np.asarray(y)
    if raw.ndim > 1 and raw.size != max(raw.shape):
        raise InvalidInputError(
            f"{who}: {name} must be one-dimensional (one 0/1 label per row), got shape {raw.shape}."
        )
    raw = raw.reshape(-1)
    if n_rows is not None and raw.size != n_rows:
        raise InvalidInputError(f"{who}: {name} has {raw.size} values for {n_rows} rows; pass one label per row.")
    try:
        values = raw.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"{who}: {name} must hold 0/1 or booleans ({error}).") from error
    bad = ~((values == 0.0) | (values == 1.0))
    if bad.any():
        examples = sorted({v for v in values[bad].tolist() if not math.isnan(v)})[:3]
        raise InvalidInputError(
            f"{who}: {name} must hold only 0/1 or booleans; found other values (e.g. {examples or ['NaN']}). "
            "Drop rows whose outcome is not known yet."
        )
    return values.astype(dtype)


# ------------------------------------------------------------------------------------------------ probabilities


def check_probabilities(probabilities: object, estimator: object, name: str = "probabilities") -> np.ndarray:
    """Finite numbers in [0, 1], one-dimensional (a scalar becomes one value); returned as a float64 array."""
    who = owner_name(estimator)
    try:
        p = np.asarray(probabilities, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"{who}: {name} must be numbers in [0, 1] ({error}).") from error
    if p.ndim > 1:
        raise InvalidInputError(
            f"{who}: {name} must be one-dimensional (the positive class), got shape {p.shape}. "
            "Pass predict_proba(X)[:, 1]."
        )
    good = np.isfinite(p) & (p >= 0.0) & (p <= 1.0)
    if not good.all():
        bad = p[~good]
        raise InvalidInputError(
            f"{who}: {name} must be finite numbers in [0, 1]; {bad.size} are not (e.g. {bad[:3].tolist()})."
        )
    return p.reshape(-1)


def check_probability_outcome_pairs(
    probabilities: object, outcomes: object, estimator: object
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities in [0, 1] and aligned 0/1 outcomes: (float64 array, int64 array) of the same length."""
    p = check_probabilities(probabilities, estimator)
    raw = np.asarray(outcomes).reshape(-1)
    if raw.size != p.size:
        raise InvalidInputError(
            f"{owner_name(estimator)}: got {p.size} probabilities but {raw.size} outcomes; pass one outcome per "
            "probability."
        )
    return p, check_binary_labels(raw, p.size, estimator, name="outcomes")


# ------------------------------------------------------------------------------------------------------ regimes


def check_regime_ids(regime_ids: object, n_rows: int, estimator: object, name: str = "regime_ids") -> np.ndarray:
    """Regime ids as float64: integers, or NaN where a row has no regime. Non-numbers count as no regime."""
    who = owner_name(estimator)
    if isinstance(regime_ids, str | bytes) or np.ndim(regime_ids) == 0:
        raise InvalidInputError(
            f"{who}: {name} must hold one regime id per row (a list, array or Series), got {regime_ids!r}."
        )
    regimes = pd.to_numeric(pd.Series(np.asarray(regime_ids, dtype=object).ravel()), errors="coerce")
    regimes = regimes.to_numpy(dtype=np.float64, na_value=np.nan)
    if len(regimes) != n_rows:
        raise InvalidInputError(f"{who}: {name} has {len(regimes)} values for {n_rows} rows; pass one per row.")
    known = regimes[~np.isnan(regimes)]
    if not np.array_equal(known, np.round(known)):
        raise InvalidInputError(f"{who}: {name} must be integer regime ids (or NaN for none).")
    return regimes


__all__ = [
    "as_float_matrix",
    "check_binary_labels",
    "check_choice",
    "check_feature_frame",
    "check_frame",
    "check_int",
    "check_interval",
    "check_is_fitted",
    "check_labels",
    "check_numeric_columns",
    "check_probabilities",
    "check_probability_outcome_pairs",
    "check_regime_ids",
    "owner_name",
    "select_features",
]
