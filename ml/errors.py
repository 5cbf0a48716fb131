"""Typed errors of the ml package. Each message says what was wrong and how to fix it.

Errors about bad input also subclass `ValueError`, and `NotFittedError` subclasses scikit-learn's own
`NotFittedError`, so that scikit-learn's tooling (`check_is_fitted`, pipelines, `pytest.raises(ValueError)`)
recognises them as it would its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError


class MLError(Exception):
    """Base class for errors of the ml package that a user can act on."""


def _name(estimator: object) -> str:
    return estimator if isinstance(estimator, str) else type(estimator).__name__


class NotFittedError(MLError, _SklearnNotFittedError):
    """An estimator was used before `fit` (or `from_dict` / `load`) gave it fitted state.

    `estimator` is the estimator itself (its class name is used) or its name.
    """

    def __init__(self, estimator: object, action: str = "use it") -> None:
        name = _name(estimator)
        super().__init__(
            f"This {name} is not fitted yet: call fit(...) on the training window (or restore it with "
            f"{name}.from_dict(...) or {name}.load(path)) before you {action}."
        )


class InvalidInputError(MLError, ValueError):
    """Data handed to an estimator has the wrong type, shape, values or parameters."""


class MissingFeaturesError(MLError, ValueError):
    """A frame lacks feature columns the fitted estimator needs (`estimator`: the estimator or its name)."""

    def __init__(self, estimator: object, missing: Iterable[str], available: Iterable[str]) -> None:
        self.missing = list(missing)
        available = list(available)
        shown = ", ".join(available[:20]) + (f", ... ({len(available)} in all)" if len(available) > 20 else "")
        super().__init__(
            f"{_name(estimator)} was fitted with feature column(s) that this frame lacks: "
            f"{', '.join(self.missing)}. Pass a frame with these columns (found: {shown or 'none'}), "
            "or fit again on the columns you have."
        )


class StateError(MLError, ValueError):
    """A stored state (`to_dict` output read back from a database or a `.json` file) is malformed or from
    another estimator."""


class DeviceUnavailableError(MLError):
    """The requested training device ('gpu' or 'cuda') cannot be used on this machine."""
