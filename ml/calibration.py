"""Probability calibration (isotonic or Platt/sigmoid) with a JSON-serializable state, and the ECE metric.

`ProbabilityCalibrator` is fitted on a calibration window only: predictions and outcomes the model did not
train on, earlier than the rows it will calibrate.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from typing import Any

import numpy as np
from scipy.special import expit, logit
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from ml.errors import InvalidInputError, NotFittedError, StateError

logger = logging.getLogger(__name__)

METHODS = ("isotonic", "sigmoid")
STATE_FORMAT = "ProbabilityCalibrator/1"

# Probabilities of exactly 0 or 1 have an infinite logit; the sigmoid method clips them this far inside.
_LOGIT_EPS = 1e-6
# Inverse L2 strength of the Platt fit: weak enough to leave realistic fits alone, strong enough to keep the
# slope finite on a small window whose outcomes a threshold separates perfectly.
_PLATT_C = 1e3


class ProbabilityCalibrator(BaseEstimator):
    """Map a model's predicted probabilities of the positive class to calibrated ones.

    Fit it on a calibration window only: out-of-sample predictions with known outcomes, from before the rows
    it will calibrate (never the model's training rows, never the test window).

    Two ways to fit:

    - batch: `fit(probabilities, outcomes)` fits on exactly the arrays given;
    - streaming: `add_observation(probability, outcome)` appends to a buffer holding the last `window_size`
      observations, and `fit()` without arguments fits on that buffer.

    With fewer than `min_samples` observations, or outcomes of a single class, there is nothing to learn
    from: the fitted calibrator passes probabilities through unchanged, sets `is_passthrough_` and logs a
    warning saying why.

    Parameters
    ----------
    window_size : int, default=100
        Number of most recent observations the streaming buffer keeps.
    min_samples : int, default=30
        Fewest observations to fit on; below it the calibrator passes probabilities through.
    method : {'isotonic', 'sigmoid'}, default='isotonic'
        'isotonic': `sklearn.isotonic.IsotonicRegression` (monotone, non-parametric; needs more data).
        'sigmoid': Platt scaling, `sklearn.linear_model.LogisticRegression` on the logit of the probability,
        so calibrated = expit(coef_ * logit(p) + intercept_).

    Attributes
    ----------
    is_passthrough_ : bool
        True when the fit had too little data and `calibrate` returns its input.
    passthrough_reason_ : str or None
        Why, when `is_passthrough_`.
    n_samples_fit_ : int
        Number of observations the last fit saw.
    X_thresholds_, y_thresholds_ : numpy.ndarray
        ('isotonic') The fitted step points: `calibrate` interpolates linearly between them and clips outside.
    coef_, intercept_ : float
        ('sigmoid') Slope and intercept on the logit scale.
    """

    def __init__(self, window_size: int = 100, min_samples: int = 30, method: str = "isotonic") -> None:
        self.window_size = window_size
        self.min_samples = min_samples
        self.method = method

    # ----------------------------------------------------------------------------------------- streaming

    def add_observation(self, probability: float, outcome: int | bool) -> ProbabilityCalibrator:
        """Append one (predicted probability, realised 0/1 outcome) pair to the streaming buffer.

        Only the last `window_size` pairs are kept. Does not refit: call `fit()` when you want to.
        Returns self, so calls can be chained.
        """
        self._check_params()
        p, y = _check_pairs([probability], [outcome])
        buffer = self._buffer()
        buffer.append((float(p[0]), int(y[0])))
        return self

    @property
    def observations(self) -> list[tuple[float, int]]:
        """The streaming buffer, oldest first, as (probability, outcome) pairs (a copy)."""
        return list(self._buffer())

    def _buffer(self) -> deque:
        # Created on first use rather than in __init__, which only stores parameters (scikit-learn contract);
        # rebuilt when window_size changed through set_params, keeping the most recent observations.
        buffer = getattr(self, "_observations", None)
        if buffer is None or buffer.maxlen != self.window_size:
            buffer = deque(buffer or (), maxlen=self.window_size)
            self._observations = buffer
        return buffer

    # --------------------------------------------------------------------------------------------- fit

    def fit(self, probabilities=None, outcomes=None) -> ProbabilityCalibrator:
        """Fit on the calibration window.

        Parameters
        ----------
        probabilities : array-like of float in [0, 1], optional
            Out-of-sample predicted probabilities of the positive class.
        outcomes : array-like of 0/1 (or bool), optional
            Realised outcomes, aligned with `probabilities`.
            Give both for a batch fit (the streaming buffer is then not used, nor changed); give neither to
            fit on the streaming buffer.

        Returns
        -------
        self : ProbabilityCalibrator
        """
        self._check_params()
        if (probabilities is None) != (outcomes is None):
            raise InvalidInputError(
                "ProbabilityCalibrator.fit: give both probabilities and outcomes (batch fit), or neither "
                "(fit on the observations added with add_observation)."
            )
        if probabilities is None:
            pairs = list(self._buffer())
            p = np.array([pair[0] for pair in pairs], dtype=np.float64)
            y = np.array([pair[1] for pair in pairs], dtype=np.int64)
        else:
            p, y = _check_pairs(probabilities, outcomes)

        for name in ("X_thresholds_", "y_thresholds_", "coef_", "intercept_"):
            self.__dict__.pop(name, None)
        self.n_samples_fit_ = int(p.size)
        reason = None
        if p.size < self.min_samples:
            reason = f"{p.size} observation(s), fewer than min_samples={self.min_samples}"
        elif np.unique(y).size < 2:
            reason = f"all {p.size} outcomes are {int(y[0])}"
        self.is_passthrough_ = reason is not None
        self.passthrough_reason_ = reason
        if reason is not None:
            logger.warning("ProbabilityCalibrator: %s; passing probabilities through uncalibrated.", reason)
            return self

        if self.method == "isotonic":
            isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
            isotonic.fit(p, y)
            self.X_thresholds_ = np.asarray(isotonic.X_thresholds_, dtype=np.float64)
            self.y_thresholds_ = np.asarray(isotonic.y_thresholds_, dtype=np.float64)
        else:
            platt = LogisticRegression(C=_PLATT_C)
            platt.fit(_logit(p).reshape(-1, 1), y)
            self.coef_ = float(platt.coef_[0, 0])
            self.intercept_ = float(platt.intercept_[0])
        return self

    # --------------------------------------------------------------------------------------- calibrate

    def calibrate(self, probabilities) -> np.ndarray:
        """Return calibrated probabilities (a new float array of the same shape as `probabilities`)."""
        self._check_fitted("calibrate")
        p = _check_probabilities(probabilities)
        if self.is_passthrough_:
            return p.copy()
        # Evaluated from the stored parameters (rather than the scikit-learn objects used to fit them) so that a
        # calibrator restored with from_dict runs exactly the same arithmetic and gives identical outputs.
        if self.method == "isotonic":
            # IsotonicRegression.predict with out_of_bounds='clip': linear between thresholds, flat outside.
            return np.interp(p, self.X_thresholds_, self.y_thresholds_)
        return expit(self.coef_ * _logit(p) + self.intercept_)

    def ece_report(self, probabilities, outcomes, n_bins: int = 10) -> dict[str, float]:
        """Expected calibration error of `probabilities` before and after calibration, on held-out rows.

        Returns a dict with `ece_before`, `ece_after`, `n_samples` and `n_bins`. Use rows the calibrator was
        not fitted on, or the `ece_after` is optimistic.
        """
        self._check_fitted("ask for an ECE report")
        p, y = _check_pairs(probabilities, outcomes)
        return {
            "ece_before": expected_calibration_error(p, y, n_bins=n_bins),
            "ece_after": expected_calibration_error(self.calibrate(p), y, n_bins=n_bins),
            "n_samples": int(p.size),
            "n_bins": int(n_bins),
        }

    # ----------------------------------------------------------------------------------------- storage

    def to_dict(self) -> dict[str, Any]:
        """Parameters, fitted state and streaming buffer as plain JSON types (for a database column).

        `json.dumps(calibrator.to_dict(), allow_nan=False)` works; `from_dict` reverses it exactly (floats
        survive a JSON round trip bit for bit).
        """
        state: dict[str, Any] = {
            "format": STATE_FORMAT,
            "params": {
                "window_size": int(self.window_size),
                "min_samples": int(self.min_samples),
                "method": self.method,
            },
            "observations": [[p, y] for p, y in self._buffer()],
            "fitted": self.__sklearn_is_fitted__(),
        }
        if state["fitted"]:
            state["n_samples_fit"] = self.n_samples_fit_
            state["is_passthrough"] = bool(self.is_passthrough_)
            state["passthrough_reason"] = self.passthrough_reason_
            if not self.is_passthrough_ and self.method == "isotonic":
                state["X_thresholds"] = self.X_thresholds_.tolist()
                state["y_thresholds"] = self.y_thresholds_.tolist()
            elif not self.is_passthrough_:
                state["coef"] = self.coef_
                state["intercept"] = self.intercept_
        return state

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ProbabilityCalibrator:
        """Rebuild a calibrator from `to_dict` output; it calibrates exactly as the one that was stored."""
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            found = state.get("format") if isinstance(state, dict) else type(state).__name__
            raise StateError(
                f"ProbabilityCalibrator.from_dict expects the output of ProbabilityCalibrator.to_dict "
                f"(format {STATE_FORMAT!r}), got format {found!r}."
            )
        try:
            calibrator = cls(**state["params"])
            calibrator._check_params()
            buffer = calibrator._buffer()
            for p, y in state["observations"]:
                buffer.append((float(p), int(y)))
            if state["fitted"]:
                calibrator.n_samples_fit_ = int(state["n_samples_fit"])
                calibrator.is_passthrough_ = bool(state["is_passthrough"])
                calibrator.passthrough_reason_ = state["passthrough_reason"]
                if not calibrator.is_passthrough_ and calibrator.method == "isotonic":
                    calibrator.X_thresholds_ = np.asarray(state["X_thresholds"], dtype=np.float64)
                    calibrator.y_thresholds_ = np.asarray(state["y_thresholds"], dtype=np.float64)
                elif not calibrator.is_passthrough_:
                    calibrator.coef_ = float(state["coef"])
                    calibrator.intercept_ = float(state["intercept"])
        except (KeyError, TypeError, ValueError) as error:
            raise StateError(
                f"ProbabilityCalibrator.from_dict: the stored state is incomplete or malformed ({error!r})."
            ) from error
        return calibrator

    # ----------------------------------------------------------------------------------------- helpers

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "is_passthrough_")

    def _check_fitted(self, action: str) -> None:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(self, action)

    def _check_params(self) -> None:
        if self.method not in METHODS:
            raise InvalidInputError(
                f"ProbabilityCalibrator: method must be one of {', '.join(METHODS)}, got {self.method!r}."
            )
        for name in ("window_size", "min_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise InvalidInputError(f"ProbabilityCalibrator: {name} must be a positive integer, got {value!r}.")


def expected_calibration_error(probabilities, outcomes, n_bins: int = 10) -> float:
    """Expected calibration error with `n_bins` equal-width bins on [0, 1].

    ECE = sum over non-empty bins of (rows in bin / all rows) * |mean outcome - mean probability| in the bin.
    A probability of exactly 1.0 falls in the last bin.

    Parameters
    ----------
    probabilities : array-like of float in [0, 1]
    outcomes : array-like of 0/1 (or bool), aligned with `probabilities`
    n_bins : int, default=10

    Returns
    -------
    float in [0, 1] (0 for a perfectly calibrated predictor, in the limit of many rows).
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise InvalidInputError(f"expected_calibration_error: n_bins must be a positive integer, got {n_bins!r}.")
    p, y = _check_pairs(probabilities, outcomes)
    if p.size == 0:
        raise InvalidInputError("expected_calibration_error: no observations; pass at least one.")
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    confidence = np.bincount(bins, weights=p, minlength=n_bins)
    accuracy = np.bincount(bins, weights=y, minlength=n_bins)
    # Sums of |accuracy - confidence| per bin, divided by all rows, is the count-weighted mean of the bin gaps.
    return float(np.abs(accuracy - confidence).sum() / p.size)


def _logit(p: np.ndarray) -> np.ndarray:
    return logit(np.clip(p, _LOGIT_EPS, 1.0 - _LOGIT_EPS))


def _check_probabilities(probabilities) -> np.ndarray:
    try:
        p = np.asarray(probabilities, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"Probabilities must be numbers in [0, 1] ({error}).") from error
    if p.ndim > 1:
        raise InvalidInputError(
            f"Probabilities must be one-dimensional (the positive class), got shape {p.shape}. "
            "Pass predict_proba(X)[:, 1]."
        )
    if not np.all(np.isfinite(p)) or np.any((p < 0.0) | (p > 1.0)):
        bad = p[~(np.isfinite(p) & (p >= 0.0) & (p <= 1.0))]
        raise InvalidInputError(
            f"Probabilities must be finite numbers in [0, 1]; {bad.size} are not (e.g. {bad[:3].tolist()})."
        )
    return p.reshape(-1)


def _check_pairs(probabilities, outcomes) -> tuple[np.ndarray, np.ndarray]:
    p = _check_probabilities(probabilities)
    raw = np.asarray(outcomes).reshape(-1)
    if raw.size != p.size:
        raise InvalidInputError(
            f"Got {p.size} probabilities but {raw.size} outcomes; pass one outcome per probability."
        )
    try:
        y = raw.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"Outcomes must be 0/1 or booleans ({error}).") from error
    if not np.all((y == 0.0) | (y == 1.0)):
        bad = sorted({v for v in y[(y != 0.0) & (y != 1.0)].tolist() if not math.isnan(v)})[:3]
        raise InvalidInputError(
            f"Outcomes must be 0/1 or booleans; found other values (e.g. {bad or ['NaN']}). "
            "Drop rows whose outcome is not known yet."
        )
    return p, y.astype(np.int64)
