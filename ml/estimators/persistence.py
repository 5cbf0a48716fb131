"""Saving and loading the estimators of `ml` as JSON text files (never pickle).

`JsonPersistenceMixin` gives an estimator `save(path)` and `load(path)` on top of its own `to_dict()` and
`from_dict(state)`, plus the check of the `format` tag every state carries. JSON text is used rather than
pickle or joblib because loading a pickle runs whatever code the file names; a JSON state can only be read as
data, can be diffed and inspected, and survives library upgrades that rename private classes. Floats survive
a JSON round trip bit for bit (Python writes the shortest text that reads back to the same double), so a
loaded estimator gives exactly the outputs of the saved one.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from ml.errors import InvalidInputError, StateError


class JsonPersistenceMixin:
    """`save` / `load` through JSON text for an estimator with `to_dict` and `from_dict`.

    A subclass sets `STATE_FORMAT` (e.g. 'DriftDetector/1') and writes `to_dict()` (state as plain JSON types,
    with `'format': STATE_FORMAT`) and the classmethod `from_dict(state)`, which starts with
    `cls._check_state_format(state)` and builds the object inside `with cls._reading_state():` so that a
    missing key or a wrong type becomes one `StateError`.
    """

    STATE_FORMAT: ClassVar[str]
    # Earlier format tags that `from_dict` still reads (it tells them apart by `state['format']`).
    OLDER_STATE_FORMATS: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - every estimator overrides it
        """The estimator's parameters and state as plain JSON types."""
        raise NotImplementedError

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Self:  # pragma: no cover - every estimator overrides it
        """Rebuild the estimator from `to_dict()` output."""
        raise NotImplementedError

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write `to_dict()` as JSON text to `path` (a `.json` file) and return the path.

        Parent folders are created. The text goes to a temporary file in the same folder that is then renamed
        over `path`, so a crash part way never leaves half a file (and an earlier file at `path` survives).

        Raises
        ------
        InvalidInputError
            `path` does not end in `.json`.
        StateError
            the state holds a number JSON cannot represent (NaN or infinity).
        NotFittedError
            the estimator has no state to save yet (all but the calibrator).
        """
        target = _json_path(path, type(self), "save")
        state = self.to_dict()
        try:
            text = json.dumps(state, allow_nan=False)
        except ValueError as error:
            raise StateError(
                f"{type(self).__name__}.save: the state holds a NaN or infinite number, which JSON cannot store "
                f"({error}); check the data it was fitted on for infinite values."
            ) from error
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read an estimator that `save` wrote to `path` (a `.json` file).

        Raises
        ------
        InvalidInputError
            `path` does not end in `.json`.
        FileNotFoundError
            there is no file at `path`.
        StateError
            the file is not JSON, or not the saved state of this class.
        """
        source = _json_path(path, cls, "load")
        text = source.read_text(encoding="utf-8")
        try:
            state = json.loads(text)
        except json.JSONDecodeError as error:
            raise StateError(
                f"{cls.__name__}.load: {source} is not JSON text ({error}); load a file written by {cls.__name__}.save."
            ) from error
        return cls.from_dict(state)

    @classmethod
    def _check_state_format(cls, state: object) -> dict[str, Any]:
        """Raise `StateError` unless `state` is a dict carrying this class's `format` tag (or one of its
        `OLDER_STATE_FORMATS`); return it."""
        if not isinstance(state, dict) or state.get("format") not in (cls.STATE_FORMAT, *cls.OLDER_STATE_FORMATS):
            found = state.get("format") if isinstance(state, dict) else type(state).__name__
            raise StateError(
                f"{cls.__name__}.from_dict expects the output of {cls.__name__}.to_dict (format "
                f"{cls.STATE_FORMAT!r}), got format {found!r}."
            )
        return state

    @classmethod
    @contextmanager
    def _reading_state(cls, *extra_errors: type[BaseException]) -> Iterator[None]:
        """Turn a missing key, a wrong type or a bad value met while rebuilding from a state into `StateError`."""
        try:
            yield
        except StateError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, *extra_errors) as error:
            raise StateError(
                f"{cls.__name__}.from_dict: the stored state is incomplete or malformed ({error!r}); pass the "
                f"unchanged output of {cls.__name__}.to_dict."
            ) from error


def _json_path(path: object, cls: type, action: str) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise InvalidInputError(f"{cls.__name__}.{action}: path must be a str or pathlib.Path, got {path!r}.")
    target = Path(path)
    if target.suffix.lower() != ".json":
        raise InvalidInputError(
            f"{cls.__name__}.{action}: models are saved as JSON text, never pickle or joblib; use a path that ends "
            f"in .json (got {str(path)!r})."
        )
    return target


def finite_or_none(value: Any) -> float | None:
    """A float for JSON: None for None, NaN or infinity (JSON has no such numbers)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def floats_or_none(values: Any) -> list:
    """A (nested) array of floats as lists for JSON, with None where a value is NaN or infinite."""
    array = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(array), array, None).tolist() if array.size else array.tolist()


def none_to_nan(values: Any) -> np.ndarray:
    """The inverse of `floats_or_none`: a float64 array with NaN where the state holds None."""
    return np.asarray(values, dtype=object).astype(np.float64) if len(values) else np.asarray(values, np.float64)


def json_params(params: dict[str, Any]) -> dict[str, Any]:
    """Constructor parameters as JSON types: numpy scalars become Python numbers, and a `random_state` that
    is a `numpy.random.RandomState` (not JSON) becomes None."""
    out = {key: (value.item() if isinstance(value, np.generic) else value) for key, value in params.items()}
    if "random_state" in out and not (out["random_state"] is None or isinstance(out["random_state"], int)):
        out["random_state"] = None
    return out


__all__ = ["JsonPersistenceMixin", "finite_or_none", "floats_or_none", "json_params", "none_to_nan"]
