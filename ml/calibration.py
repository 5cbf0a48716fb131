"""Probability calibration (isotonic or Platt/sigmoid), batch or streaming, with a JSON state, and the ECE metric.

`ProbabilityCalibrator` is fitted on a calibration window only: predictions and outcomes the model did not
train on, earlier than the rows it will calibrate. Streaming, it records each prediction when it is made and
its outcome when it is known (five trading days later for the 5-day label), keeps the last `window_size`
resolved pairs and refits on them every `refit_every` resolutions. It is saved as JSON text (`save` / `load`,
see `ml.persistence`), never pickled.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit, logit
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from ml.errors import InvalidInputError
from ml.persistence import JsonPersistenceMixin
from ml.validation import (
    check_binary_labels,
    check_choice,
    check_int,
    check_is_fitted,
    check_probabilities,
    check_probability_outcome_pairs,
)

logger = logging.getLogger(__name__)

METHODS = ("isotonic", "sigmoid")
STATE_FORMAT = "ProbabilityCalibrator/1"

# Probabilities of exactly 0 or 1 have an infinite logit; the sigmoid method clips them this far inside.
_LOGIT_EPS = 1e-6
# Inverse L2 strength of the Platt fit: weak enough to leave realistic fits alone, strong enough to keep the
# slope finite on a small window whose outcomes a threshold separates perfectly.
_PLATT_C = 1e3


@dataclass
class _Stream:
    """What streaming has recorded: the window of resolved pairs, the pending predictions and the counters."""

    window: deque
    pending: dict[int, float] = field(default_factory=dict)
    next_id: int = 0
    n_resolved: int = 0
    automatic_fits: int = 0
    # Resolutions since the last automatic fit; None until the first one.
    since_refit: int | None = None


class ProbabilityCalibrator(JsonPersistenceMixin, BaseEstimator):
    """Map a model's predicted probabilities of the positive class to calibrated ones.

    Fit it on a calibration window only: out-of-sample predictions with known outcomes, from before the rows
    it will calibrate (never the model's training rows, never the test window).

    Two ways to fit:

    - batch: `fit(probabilities, outcomes)` fits on exactly the arrays given (the streaming window is neither
      used nor changed);
    - streaming: `add_observation(raw_prob)` records a prediction whose outcome is not known yet and returns its
      id; `add_observation(raw_prob, actual_outcome=won)` later resolves it (by `observation_id=`, or else the
      oldest pending prediction with exactly that probability; with none pending, it is a new observation
      resolved at once). Resolved pairs go into a window holding the last `window_size` of them, and the
      calibrator refits on that window by itself: first when the window holds `min_samples` pairs, then after
      every `refit_every` further resolutions. `fit()` without arguments fits on the window at any time.
      An automatic refit replaces whatever was fitted before, a batch fit included; `refit_every=None` turns
      automatic refits off.

    With fewer than `min_samples` observations, or outcomes of a single class, there is nothing to learn
    from: the fitted calibrator passes probabilities through unchanged, sets `is_passthrough_` and logs a
    warning saying why.

    Parameters
    ----------
    window_size : int, default=100
        Number of most recent resolved observations the streaming window keeps.
    min_samples : int, default=30
        Fewest observations to fit on; below it the calibrator passes probabilities through. Also the window
        length at which streaming fits for the first time.
    method : {'isotonic', 'sigmoid'}, default='isotonic'
        'isotonic': `sklearn.isotonic.IsotonicRegression` (monotone, non-parametric; needs more data).
        'sigmoid': Platt scaling, `sklearn.linear_model.LogisticRegression` on the logit of the probability,
        so calibrated = expit(coef_ * logit(p) + intercept_).
    refit_every : int or None, default=10
        Resolved observations between automatic refits on the window, once it holds `min_samples`; None: never
        refit automatically.

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

    Streaming state (read-only properties): `raw_scores`, `outcomes`, `observations` (the window), `pending`,
    `n_automatic_fits`. `save(path)` / `load(path)` (and `to_dict` / `from_dict`) keep it all, so a reloaded
    calibrator continues exactly where the saved one was.
    """

    STATE_FORMAT = STATE_FORMAT

    def __init__(
        self, window_size: int = 100, min_samples: int = 30, method: str = "isotonic", refit_every: int | None = 10
    ) -> None:
        self.window_size = window_size
        self.min_samples = min_samples
        self.method = method
        self.refit_every = refit_every

    # ----------------------------------------------------------------------------------------- streaming

    def add_observation(self, raw_prob: float, actual_outcome: int | bool | None = None, *, observation_id=None) -> int:
        """Record a prediction, or the outcome of one, and return the observation's id.

        Parameters
        ----------
        raw_prob : float in [0, 1]
            The model's predicted probability of the positive class (uncalibrated).
        actual_outcome : 0/1, bool or None, default=None
            None: the outcome is not known yet; the prediction is kept as pending. 0/1: the outcome. It resolves
            the pending observation `observation_id` when given, else the oldest pending observation with exactly
            this `raw_prob`; with none pending, it is a new observation, resolved at once.
        observation_id : int, optional
            The id an earlier call returned, to resolve that observation.

        Returns
        -------
        int : the observation's id (the pending one's, when resolving it).

        Resolved (probability, outcome) pairs enter the window of the last `window_size`; each resolution may
        trigger an automatic refit (see the class docstring).

        Raises
        ------
        InvalidInputError
            `raw_prob` is not one probability, the outcome not 0/1, `observation_id` unknown (or given without
            an outcome), or `raw_prob` differs from the probability recorded under `observation_id`.
        """
        self._check_params()
        if np.ndim(raw_prob) != 0:
            raise InvalidInputError(
                "ProbabilityCalibrator.add_observation: raw_prob must be one probability (a number in [0, 1]), got "
                f"shape {np.shape(raw_prob)}; call it once per prediction, or use fit(probabilities, outcomes)."
            )
        probability = float(check_probabilities(raw_prob, self, "raw_prob")[0])
        stream = self._stream()
        if actual_outcome is None:
            if observation_id is not None:
                raise InvalidInputError(
                    "ProbabilityCalibrator.add_observation: observation_id= names a pending observation to resolve, "
                    "so it needs actual_outcome=0 or 1; leave observation_id out to record a new prediction."
                )
            identifier = stream.next_id
            stream.next_id += 1
            stream.pending[identifier] = probability
            return identifier

        outcome = int(check_binary_labels([actual_outcome], 1, self, "actual_outcome")[0])
        if observation_id is not None:
            identifier = self._pending_id(stream, observation_id, probability)
        else:
            # Pending ids are in insertion order, so the first match is the oldest prediction.
            identifier = next((key for key, value in stream.pending.items() if value == probability), None)
            if identifier is None:
                identifier = stream.next_id
                stream.next_id += 1
        stream.pending.pop(identifier, None)
        stream.window.append((probability, outcome))
        stream.n_resolved += 1
        self._refit_if_due(stream)
        return identifier

    def _pending_id(self, stream: _Stream, observation_id: Any, probability: float) -> int:
        if isinstance(observation_id, bool) or not isinstance(observation_id, int | np.integer):
            raise InvalidInputError(
                f"ProbabilityCalibrator.add_observation: observation_id must be an id add_observation returned (an "
                f"int), got {observation_id!r}."
            )
        identifier = int(observation_id)
        if identifier not in stream.pending:
            shown = ", ".join(map(str, list(stream.pending)[:10])) or "none"
            raise InvalidInputError(
                f"ProbabilityCalibrator.add_observation: no pending observation has id {identifier} (pending ids: "
                f"{shown}); it was never recorded, or its outcome was already added."
            )
        if stream.pending[identifier] != probability:
            raise InvalidInputError(
                f"ProbabilityCalibrator.add_observation: observation {identifier} was recorded with raw_prob "
                f"{stream.pending[identifier]!r}, got {probability!r}; pass the probability it was recorded with."
            )
        return identifier

    def _refit_if_due(self, stream: _Stream) -> None:
        if self.refit_every is None:
            return
        if stream.since_refit is None:
            due = len(stream.window) >= self.min_samples
        else:
            stream.since_refit += 1
            due = stream.since_refit >= self.refit_every
        if due:
            self.fit()
            stream.automatic_fits += 1
            stream.since_refit = 0

    @property
    def observations(self) -> list[tuple[float, int]]:
        """The window of resolved (probability, outcome) pairs, oldest first (a copy)."""
        return list(self._stream().window)

    @property
    def raw_scores(self) -> list[float]:
        """The resolved raw probabilities in the window, oldest first (a copy)."""
        return [probability for probability, _ in self._stream().window]

    @property
    def outcomes(self) -> list[int]:
        """The outcomes of the window, aligned with `raw_scores` (a copy)."""
        return [outcome for _, outcome in self._stream().window]

    @property
    def pending(self) -> dict[int, float]:
        """{id: raw probability} of the predictions whose outcome is not known yet, oldest first (a copy)."""
        return dict(self._stream().pending)

    @property
    def n_automatic_fits(self) -> int:
        """How many times streaming has refitted the calibrator by itself."""
        return self._stream().automatic_fits

    def _stream(self) -> _Stream:
        # Created on first use rather than in __init__, which only stores parameters (scikit-learn contract);
        # the window is rebuilt when window_size changed through set_params, keeping the most recent pairs.
        stream = getattr(self, "_streaming", None)
        if stream is None:
            stream = self._streaming = _Stream(window=deque(maxlen=self.window_size))
        elif stream.window.maxlen != self.window_size:
            stream.window = deque(stream.window, maxlen=self.window_size)
        return stream

    # --------------------------------------------------------------------------------------------- fit

    def fit(self, probabilities=None, outcomes=None) -> ProbabilityCalibrator:
        """Fit on the calibration window.

        Parameters
        ----------
        probabilities : array-like of float in [0, 1], optional
            Out-of-sample predicted probabilities of the positive class.
        outcomes : array-like of 0/1 (or bool), optional
            Realised outcomes, aligned with `probabilities`.
            Give both for a batch fit (the streaming window is then not used, nor changed); give neither to
            fit on the streaming window (the resolved observations added with `add_observation`).

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
            pairs = list(self._stream().window)
            p = np.array([pair[0] for pair in pairs], dtype=np.float64)
            y = np.array([pair[1] for pair in pairs], dtype=np.int64)
        else:
            p, y = check_probability_outcome_pairs(probabilities, outcomes, self)

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

    def calibrate(self, probabilities) -> float | np.ndarray:
        """Calibrated probabilities: a float for a single number, else a new float array of the input's length."""
        check_is_fitted(self, "calibrate")
        scalar = np.ndim(probabilities) == 0
        p = check_probabilities(probabilities, self)
        if self.is_passthrough_:
            calibrated = p.copy()
        # Evaluated from the stored parameters (rather than the scikit-learn objects used to fit them) so that a
        # calibrator restored with from_dict runs exactly the same arithmetic and gives identical outputs.
        elif self.method == "isotonic":
            # IsotonicRegression.predict with out_of_bounds='clip': linear between thresholds, flat outside.
            calibrated = np.interp(p, self.X_thresholds_, self.y_thresholds_)
        else:
            calibrated = expit(self.coef_ * _logit(p) + self.intercept_)
        return float(calibrated[0]) if scalar else calibrated

    def ece_report(self, probabilities, outcomes, n_bins: int = 10) -> dict[str, float]:
        """Expected calibration error of `probabilities` before and after calibration, on held-out rows.

        Returns a dict with `ece_before`, `ece_after`, `n_samples` and `n_bins`. Use rows the calibrator was
        not fitted on, or the `ece_after` is optimistic.
        """
        check_is_fitted(self, "ask for an ECE report")
        p, y = check_probability_outcome_pairs(probabilities, outcomes, self)
        return {
            "ece_before": expected_calibration_error(p, y, n_bins=n_bins),
            "ece_after": expected_calibration_error(self.calibrate(p), y, n_bins=n_bins),
            "n_samples": int(p.size),
            "n_bins": int(n_bins),
        }

    # ----------------------------------------------------------------------------------------- storage

    def to_dict(self) -> dict[str, Any]:
        """Parameters, fitted state and streaming state as plain JSON types (for `save` or a database column).

        Keeps the window, the pending predictions, the id counter and the refit counters, so that `from_dict`
        (or `load`) gives a calibrator that calibrates, and goes on streaming, exactly as this one.
        """
        self._check_params()
        stream = self._stream()
        state: dict[str, Any] = {
            "format": self.STATE_FORMAT,
            "params": {
                "window_size": int(self.window_size),
                "min_samples": int(self.min_samples),
                "method": self.method,
                "refit_every": None if self.refit_every is None else int(self.refit_every),
            },
            "observations": [[p, y] for p, y in stream.window],
            "pending": [[identifier, p] for identifier, p in stream.pending.items()],
            "next_id": stream.next_id,
            "n_resolved": stream.n_resolved,
            "automatic_fits": stream.automatic_fits,
            "since_refit": stream.since_refit,
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
        """Rebuild a calibrator from `to_dict` output; it calibrates, and streams, exactly as the one stored.

        A state stored before streaming kept pending predictions (no 'refit_every' parameter) is restored with
        `refit_every=None`, as that calibrator never refitted by itself.

        Raises:
            StateError: `state` is not a ProbabilityCalibrator state, or is incomplete.
        """
        cls._check_state_format(state)
        with cls._reading_state():
            params = dict(state["params"])
            params.setdefault("refit_every", None)
            calibrator = cls(**params)
            calibrator._check_params()
            stream = calibrator._stream()
            for p, y in state["observations"]:
                stream.window.append((float(p), int(y)))
            stream.pending = {int(identifier): float(p) for identifier, p in state.get("pending", [])}
            stream.next_id = int(state.get("next_id", max(stream.pending, default=-1) + 1))
            stream.n_resolved = int(state.get("n_resolved", len(stream.window)))
            stream.automatic_fits = int(state.get("automatic_fits", 0))
            since_refit = state.get("since_refit")
            stream.since_refit = None if since_refit is None else int(since_refit)
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
        return calibrator

    # ----------------------------------------------------------------------------------------- helpers

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "is_passthrough_")

    def _check_params(self) -> None:
        check_choice(self, "method", self.method, METHODS)
        check_int(self, "window_size", self.window_size)
        check_int(self, "min_samples", self.min_samples)
        check_int(self, "refit_every", self.refit_every, allow_none=True)


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
    check_int("expected_calibration_error", "n_bins", n_bins)
    p, y = check_probability_outcome_pairs(probabilities, outcomes, "expected_calibration_error")
    if p.size == 0:
        raise InvalidInputError("expected_calibration_error: no observations; pass at least one.")
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    confidence = np.bincount(bins, weights=p, minlength=n_bins)
    accuracy = np.bincount(bins, weights=y, minlength=n_bins)
    # Sums of |accuracy - confidence| per bin, divided by all rows, is the count-weighted mean of the bin gaps.
    return float(np.abs(accuracy - confidence).sum() / p.size)


def _logit(p: np.ndarray) -> np.ndarray:
    return logit(np.clip(p, _LOGIT_EPS, 1.0 - _LOGIT_EPS))
