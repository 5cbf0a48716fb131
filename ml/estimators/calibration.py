"""Probability calibration chosen out of sample (identity, Platt/sigmoid, isotonic), batch or streaming, with a
JSON state. (Its metric, the ECE, and the tie-aware equal-count bins are in `ml.metrics`.)

`ProbabilityCalibrator` is fitted on a calibration window only: predictions and outcomes the model did not
train on, earlier than the rows it will calibrate. With `method='auto'` (the default) it does not trust any
calibrator blindly: the window is cut by date into consecutive blocks, and each candidate (identity, Platt,
isotonic on blocks of at least ~1/50 of the rows) is fitted on all the rows before a block and scored on that
block, block after block (rolling origin); the identity wins unless a candidate lowers the log loss on every
later block and on all of them together by a clear margin, and the winner is refitted on the whole window.
Streaming, it records each prediction when it is made and its outcome when it is known (five trading days
later for the 5-day label), keeps the last `window_size` resolved pairs and refits (and, with 'auto',
re-chooses) on them every `refit_every` resolutions (the window and the pending predictions are a
`ml.estimators.calibration_stream.CalibrationStream`; the calibrator's batch fit is the one way to fit).
Outputs are never exactly 0 or 1: every method's output is clipped to [`OUTPUT_EPS`, 1 - `OUTPUT_EPS`]. It is
saved as JSON text (`save` / `load`, see `ml.estimators.persistence`), never pickled.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from ml.errors import InvalidInputError
from ml.estimators.calibration_stream import CalibrationStream
from ml.estimators.persistence import JsonPersistenceMixin
from ml.metrics import expected_calibration_error, quantile_bins
from ml.validation import (
    check_binary_labels,
    check_choice,
    check_int,
    check_interval,
    check_is_fitted,
    check_probabilities,
    check_probability_outcome_pairs,
)

logger = logging.getLogger(__name__)

METHODS = ("auto", "identity", "sigmoid", "isotonic", "binned_isotonic")
# What 'auto' chooses among, in this order of preference on equal scores.
AUTO_CANDIDATES = ("identity", "sigmoid", "binned_isotonic")
# Version 2 added 'auto', 'identity', 'binned_isotonic', `holdout_fraction`, `selection_margin`, the method in
# use and the evidence of the choice; version 3 replaced `holdout_fraction` (one held-out slice) by `n_folds`
# (rolling origin). Older states still load (with the current defaults of the parameters they lack).
# Version 4 added the date of each streaming observation (optional), which streaming 'auto' fits use as batch
# fits do.
STATE_FORMAT = "ProbabilityCalibrator/4"
OLDER_STATE_FORMATS = ("ProbabilityCalibrator/1", "ProbabilityCalibrator/2", "ProbabilityCalibrator/3")

# Every calibrated output lies in [OUTPUT_EPS, 1 - OUTPUT_EPS]: a probability of exactly 0 or 1 claims
# certainty no 5-day stock move deserves, and makes the log loss of one wrong call infinite.
OUTPUT_EPS = 1e-6
# 'binned_isotonic' fits isotonic regression on the means of equal-count blocks of the sorted probabilities:
# at most this many blocks ...
ISOTONIC_MAX_BLOCKS = 50
# ... of at least this many rows each, so that no step of the fitted map rests on a handful of outcomes (the
# plain isotonic fit puts steps, and outputs of 0 or 1, on runs of a few rows).
ISOTONIC_MIN_BLOCK_ROWS = 20
# Fewest rows a held-out block needs for 'auto' to score candidates on it; a smaller block is skipped.
MIN_HOLDOUT_ROWS = 10

# 'auto' chooses only maps that keep the model's order of the rows strictly (`_order_problem`): ranking is the
# model's job, decided before calibration (as the stacker's weights are bounded at 0); calibration may only
# rescale. Seen on the synthetic default store: a Platt slope of -4.3 won on the held-out slice by 2 standard
# errors and turned the model upside down (training-window AUC 0.455); once that was excluded, a binned
# isotonic map pooled into one flat step and gave every stock of a day the same probability.
#
# 'auto' asks a candidate to help on every held-out block (rolling origin), not on one slice: seen on the shared
# real data, Platt (slope 3.4) beat the identity on the calibration window's latest 30 % by 2.6 standard
# errors, but with the window in four blocks it lost on the second, and on the test window it raised the ECE
# from 0.0022 to 0.0073. A map that helps in one period and hurts in another is not one to trust for the
# months a model is used.

# Probabilities of exactly 0 or 1 have an infinite logit; the sigmoid method clips them this far inside.
_LOGIT_EPS = 1e-6
# Inverse L2 strength of the Platt fit: weak enough to leave realistic fits alone, strong enough to keep the
# slope finite on a small window whose outcomes a threshold separates perfectly.
_PLATT_C = 1e3


class ProbabilityCalibrator(JsonPersistenceMixin, BaseEstimator):
    """Map a model's predicted probabilities of the positive class to calibrated ones.

    Fit it on a calibration window only: out-of-sample predictions with known outcomes, from before the rows
    it will calibrate (never the model's training rows, never the test window).

    Methods: 'identity' (probabilities unchanged), 'sigmoid' (Platt), 'isotonic' (scikit-learn's isotonic
    regression on every row), 'binned_isotonic' (isotonic regression on the means of equal-count blocks of at
    least `ISOTONIC_MIN_BLOCK_ROWS` rows, at most `ISOTONIC_MAX_BLOCKS` blocks, tied probabilities in one block;
    linear between block means), and 'auto', which chooses among identity, sigmoid and binned_isotonic out of
    sample each time it fits:

    1. the rows (in time order, oldest first) are cut into `n_folds + 1` consecutive blocks of about equal
       length: equal numbers of dates when `dates` are given (no date is in two blocks), else of rows;
    2. fold k (k = 1..n_folds) fits each candidate on all the rows before block k and scores it on block k by
       log loss (rolling origin); a fold whose fit part has fewer than `min_samples` rows or one class, or
       whose block has fewer than `MIN_HOLDOUT_ROWS` rows or (with dates) one date, is skipped;
    3. a candidate replaces the identity only if its log loss is lower than the identity's on every fold, and
       on all held-out rows together by more than `selection_margin` standard errors of the row-by-row
       difference (clustered by date when `dates` are given: rows of one day share the market's move and are
       not independent); among those, the lowest pooled log loss wins (ECE and Brier are recorded too); a
       candidate that would not keep the model's order strictly (a Platt slope that is not positive; an
       isotonic map with a flat step) in any fold is never chosen (it is recorded with 'excluded'), nor kept
       when its refit on all the rows has that problem;
    4. the chosen method is refitted on all the rows.

    With too few rows to choose (every fold skipped) 'auto' keeps the identity.
    `method_` is the method in use and `selection_` the evidence.

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
      `add_observation(..., date=d)` records the prediction's date (an ISO date); when every pair in the window
      has one, a fit on the window sorts it by date (stably) and uses the dates as `fit(..., dates=)` does.

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
    method : {'auto', 'identity', 'sigmoid', 'isotonic', 'binned_isotonic'}, default='auto'
        'auto': chosen out of sample, see above.
        'identity': no change (but clipped to [OUTPUT_EPS, 1 - OUTPUT_EPS], as every method's output is).
        'sigmoid': Platt scaling, `sklearn.linear_model.LogisticRegression` on the logit of the probability,
        so calibrated = expit(coef_ * logit(p) + intercept_).
        'isotonic': `sklearn.isotonic.IsotonicRegression` on every row (monotone, non-parametric; overfits
        small windows).
        'binned_isotonic': `IsotonicRegression` on block means, see above.
    refit_every : int or None, default=10
        Resolved observations between automatic refits on the window, once it holds `min_samples`; None: never
        refit automatically.
    n_folds : int >= 1, default=3
        ('auto') Held-out blocks the candidates are scored on, each after fitting on all the rows before it;
        the window is cut into `n_folds + 1` blocks.
    selection_margin : float >= 0, default=2.0
        ('auto') Standard errors by which a candidate's pooled held-out log loss must beat the identity's.

    Attributes
    ----------
    is_passthrough_ : bool
        True when the fit had too little data and `calibrate` returns its input.
    passthrough_reason_ : str or None
        Why, when `is_passthrough_`.
    n_samples_fit_ : int
        Number of observations the last fit saw.
    method_ : str
        The method in use: `method`, or for 'auto' the one chosen ('identity' when passing through).
    selection_ : dict or None
        ('auto') The evidence: {'chosen', 'reason', 'margin', 'folds': [{'fit_rows', 'holdout_rows',
        'holdout_first_date' (ISO date or None), and 'improvement' ({name: identity's log loss minus this
        one's on the block}) or 'skipped' (why)}], 'candidates': {name: {'log_loss', 'ece', 'brier',
        'improvement', 'standard_error' (of that improvement), all over the held-out rows of every fold
        scored}}} (no 'candidates' when there were too few rows to choose). None for the other methods.
    X_thresholds_, y_thresholds_ : numpy.ndarray
        ('isotonic', 'binned_isotonic') The fitted points: `calibrate` interpolates linearly between them and
        is flat outside.
    coef_, intercept_ : float
        ('sigmoid') Slope and intercept on the logit scale.

    Streaming state (read-only properties): `raw_scores`, `outcomes`, `observations` (the window), `pending`,
    `n_automatic_fits`. `save(path)` / `load(path)` (and `to_dict` / `from_dict`) keep it all, so a reloaded
    calibrator continues exactly where the saved one was.
    """

    STATE_FORMAT = STATE_FORMAT
    OLDER_STATE_FORMATS = OLDER_STATE_FORMATS

    def __init__(
        self,
        window_size: int = 100,
        min_samples: int = 30,
        method: str = "auto",
        refit_every: int | None = 10,
        n_folds: int = 3,
        selection_margin: float = 2.0,
    ) -> None:
        self.window_size = window_size
        self.min_samples = min_samples
        self.method = method
        self.refit_every = refit_every
        self.n_folds = n_folds
        self.selection_margin = selection_margin

    # ----------------------------------------------------------------------------------------- streaming

    def add_observation(
        self, raw_prob: float, actual_outcome: int | bool | None = None, *, observation_id=None, date=None
    ) -> int:
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
        date : date or ISO date string, optional
            The date the prediction was made for. Kept with a pending prediction (its resolution keeps it unless
            it gives one) and with a resolved pair; see `fit`.

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
        day = _iso_date(date)
        stream = self._stream()
        if actual_outcome is None:
            if observation_id is not None:
                raise InvalidInputError(
                    "ProbabilityCalibrator.add_observation: observation_id= names a pending observation to resolve, "
                    "so it needs actual_outcome=0 or 1; leave observation_id out to record a new prediction."
                )
            return stream.record(probability, day)
        outcome = int(check_binary_labels([actual_outcome], 1, self, "actual_outcome")[0])
        identifier = stream.resolve(probability, outcome, day, observation_id)
        if stream.refit_due(self.min_samples, self.refit_every):
            self.fit()
            stream.refitted()
        return identifier

    def discard_pending(self, observation_id: int) -> None:
        """Drop the pending prediction `observation_id` whose outcome will never be known (its label is void):
        it leaves the pending predictions without entering the window.

        Raises
        ------
        InvalidInputError
            No pending observation has that id.
        """
        self._stream().discard(observation_id)

    @property
    def observations(self) -> list[tuple[float, int]]:
        """The window of resolved (probability, outcome) pairs, oldest first (a copy)."""
        return [(probability, outcome) for probability, outcome, _ in self._stream().window]

    @property
    def observation_dates(self) -> list[str | None]:
        """The date of each pair of the window (ISO, None where not given), aligned with `observations`."""
        return [day for _, _, day in self._stream().window]

    @property
    def raw_scores(self) -> list[float]:
        """The resolved raw probabilities in the window, oldest first (a copy)."""
        return [probability for probability, _, _ in self._stream().window]

    @property
    def outcomes(self) -> list[int]:
        """The outcomes of the window, aligned with `raw_scores` (a copy)."""
        return [outcome for _, outcome, _ in self._stream().window]

    @property
    def pending(self) -> dict[int, float]:
        """{id: raw probability} of the predictions whose outcome is not known yet, oldest first (a copy)."""
        return dict(self._stream().pending)

    @property
    def n_automatic_fits(self) -> int:
        """How many times streaming has refitted the calibrator by itself."""
        return self._stream().automatic_fits

    def _stream(self) -> CalibrationStream:
        # Created on first use rather than in __init__, which only stores parameters (scikit-learn contract);
        # the window is rebuilt when window_size changed through set_params, keeping the most recent pairs.
        stream = getattr(self, "_streaming", None)
        if stream is None:
            stream = self._streaming = CalibrationStream(self.window_size)
        else:
            stream.resize(self.window_size)
        return stream

    # --------------------------------------------------------------------------------------------- fit

    def fit(self, probabilities=None, outcomes=None, *, dates=None) -> ProbabilityCalibrator:
        """Fit on the calibration window (with 'auto': choose the method on it, then fit that method on it all).

        Parameters
        ----------
        probabilities : array-like of float in [0, 1], optional
            Out-of-sample predicted probabilities of the positive class, **oldest first** ('auto' scores each
            candidate on later rows than it was fitted on).
        outcomes : array-like of 0/1 (or bool), optional
            Realised outcomes, aligned with `probabilities`.
            Give both for a batch fit (the streaming window is then not used, nor changed); give neither to
            fit on the streaming window (the resolved observations added with `add_observation`, in the order
            they were resolved; sorted by date when every pair has one).
        dates : array-like of dates, optional
            (batch fit only) The date of each row, non-decreasing. 'auto' then cuts its blocks at date
            boundaries and clusters the standard error of its comparison by date. Other methods ignore it.
            A fit on the window uses the observations' own dates when every pair has one.

        Returns
        -------
        self : ProbabilityCalibrator

        Raises
        ------
        InvalidInputError
            Probabilities outside [0, 1], outcomes not 0/1, lengths that differ, or dates not in order.
        """
        self._check_params()
        if (probabilities is None) != (outcomes is None):
            raise InvalidInputError(
                "ProbabilityCalibrator.fit: give both probabilities and outcomes (batch fit), or neither "
                "(fit on the observations added with add_observation)."
            )
        if probabilities is None:
            if dates is not None:
                raise InvalidInputError(
                    "ProbabilityCalibrator.fit: dates= goes with a batch fit (probabilities and outcomes); the "
                    "streaming window is in the order its outcomes were resolved."
                )
            triples = list(self._stream().window)
            if triples and all(day is not None for _, _, day in triples):
                triples.sort(key=lambda triple: triple[2])  # stable: the resolution order within a date
                dates = [day for _, _, day in triples]
            p = np.array([triple[0] for triple in triples], dtype=np.float64)
            y = np.array([triple[1] for triple in triples], dtype=np.int64)
        else:
            p, y = check_probability_outcome_pairs(probabilities, outcomes, self)
        day = None if dates is None else _check_dates(dates, p.size)

        for name in ("X_thresholds_", "y_thresholds_", "coef_", "intercept_", "selection_"):
            self.__dict__.pop(name, None)
        self.n_samples_fit_ = int(p.size)
        self.selection_ = None
        reason = None
        if p.size < self.min_samples:
            reason = f"{p.size} observation(s), fewer than min_samples={self.min_samples}"
        elif np.unique(y).size < 2:
            reason = f"all {p.size} outcomes are {int(y[0])}"
        self.is_passthrough_ = reason is not None
        self.passthrough_reason_ = reason
        if reason is not None:
            logger.warning("ProbabilityCalibrator: %s; passing probabilities through uncalibrated.", reason)
            self.method_ = "identity" if self.method == "auto" else self.method
            if self.method == "auto":
                self.selection_ = {"chosen": "identity", "reason": reason, "folds": []}
            return self

        if self.method == "auto":
            self.selection_ = self._choose(p, y, day)
            self.method_ = self.selection_["chosen"]
        else:
            self.method_ = self.method
        fitted = _fit_map(self.method_, p, y)
        problem = _order_problem(self.method_, fitted) if self.method == "auto" else None
        if problem is not None:
            # Chosen on the earlier part, but its refit on the whole window would reorder or tie the rows.
            self.selection_["reason"] += f"; refitted on the whole window, {self.method_} was {problem}: identity kept"
            self.selection_["chosen"] = self.method_ = "identity"
            fitted = {}
        for name, value in fitted.items():
            setattr(self, name, value)
        return self

    def _choose(self, p: np.ndarray, y: np.ndarray, day: np.ndarray | None) -> dict[str, Any]:
        """Score every candidate fold by fold (rolling origin), return the evidence and the choice.

        No purge gap separates a fold's fit part from its block, although the labels of the fit part's last
        days (5-day returns) overlap the block's first days. The candidates are monotone maps of the model's
        probability with at most two parameters or blocks of >= 1/50 of the rows: they cannot learn particular
        days, only the fit part's overall level and slope. What the overlap can leak is the level of the few
        days on both sides of a cut, which would favour a non-identity candidate a little; asking for a gain on
        every block and a pooled margin of two date-clustered standard errors guards against that, and purges
        would spend several of the few dates a calibration window has. Time order is what matters: each block
        is later than what was fitted, as the test window will be, so a drifting base rate shows up in it.
        """
        evidence: dict[str, Any] = {"chosen": "identity", "reason": "", "margin": float(self.selection_margin)}
        folds: list[dict[str, Any]] = []
        mapped: dict[str, list[np.ndarray]] = {name: [] for name in AUTO_CANDIDATES}
        excluded: dict[str, str] = {}
        held_rows: list[np.ndarray] = []
        blocks = _blocks(p.size, day, self.n_folds + 1)
        for start, stop in blocks[1:]:
            fold: dict[str, Any] = {
                "fit_rows": int(start),
                "holdout_rows": int(stop - start),
                "holdout_first_date": None if day is None else str(np.datetime_as_string(day[start], unit="D")),
            }
            folds.append(fold)
            fit_p, fit_y, held = p[:start], y[:start], np.arange(start, stop)
            dates_held = 0 if day is None else np.unique(day[held]).size
            if fit_p.size < self.min_samples or np.unique(fit_y).size < 2:
                fold["skipped"] = (
                    f"the fit part has {fit_p.size} rows"
                    + (" of one class" if fit_p.size and np.unique(fit_y).size < 2 else "")
                    + f" (min_samples={self.min_samples})"
                )
                continue
            if held.size < MIN_HOLDOUT_ROWS or (day is not None and dates_held < 2):
                fold["skipped"] = (
                    f"the block has {held.size} rows"
                    + ("" if day is None else f" on {dates_held} date(s)")
                    + f"; at least {MIN_HOLDOUT_ROWS} rows on 2 dates needed"
                )
                continue
            held_rows.append(held)
            fold["improvement"] = {}
            for name in AUTO_CANDIDATES:
                fitted = _fit_map(name, fit_p, fit_y)
                problem = _order_problem(name, fitted)
                if problem is not None:
                    excluded.setdefault(name, f"{problem} (fit on the {start} rows before block {len(folds)})")
                mapped[name].append(_apply_map(name, fitted, p[held]))
            identity_loss = _row_log_loss(mapped["identity"][-1], y[held])
            for name in AUTO_CANDIDATES[1:]:
                gain = identity_loss - _row_log_loss(mapped[name][-1], y[held])
                fold["improvement"][name] = float(gain.mean())
        evidence["folds"] = folds
        if not held_rows:
            evidence["reason"] = (
                "too few rows to choose: "
                + "; ".join(f"fold {index}: {fold['skipped']}" for index, fold in enumerate(folds, 1))
                + ("" if folds else f"{p.size} rows in one block")
                + "; identity kept"
            )
            return evidence

        rows = np.concatenate(held_rows)
        held_y, held_day = y[rows], None if day is None else day[rows]
        losses = {name: _row_log_loss(np.concatenate(mapped[name]), held_y) for name in AUTO_CANDIDATES}
        candidates: dict[str, dict[str, Any]] = {}
        for name in AUTO_CANDIDATES:
            scored = np.concatenate(mapped[name])
            difference = losses["identity"] - losses[name]
            candidates[name] = {
                "log_loss": float(losses[name].mean()),
                "ece": expected_calibration_error(scored, held_y),
                "brier": float(np.mean((scored - held_y) ** 2)),
                "improvement": float(difference.mean()),
                "standard_error": _standard_error(difference, held_day),
            }
            if name in excluded:
                candidates[name]["excluded"] = excluded[name]  # scored and recorded, but never chosen
        evidence["candidates"] = candidates
        scored_folds = [fold for fold in folds if "improvement" in fold]
        winners = [
            name
            for name in AUTO_CANDIDATES[1:]
            if name not in excluded
            and candidates[name]["improvement"] > self.selection_margin * candidates[name]["standard_error"]
            and all(fold["improvement"][name] > 0 for fold in scored_folds)
        ]
        if not winners:
            evidence["reason"] = (
                f"no candidate beat the identity's held-out log loss on each of the {len(scored_folds)} fold(s) "
                f"and by more than {self.selection_margin:g} standard errors over all of them"
            )
            return evidence
        chosen = min(winners, key=lambda name: candidates[name]["log_loss"])
        evidence["chosen"] = chosen
        evidence["reason"] = (
            f"{chosen} beat the identity's held-out log loss on each of the {len(scored_folds)} fold(s), by "
            f"{candidates[chosen]['improvement']:.5f} over all of them (standard error "
            f"{candidates[chosen]['standard_error']:.5f}, margin {self.selection_margin:g})"
        )
        return evidence

    # --------------------------------------------------------------------------------------- calibrate

    def calibrate(self, probabilities) -> float | np.ndarray:
        """Calibrated probabilities: a float for a single number, else a new float array of the input's length."""
        check_is_fitted(self, "calibrate")
        scalar = np.ndim(probabilities) == 0
        p = check_probabilities(probabilities, self)
        # Evaluated from the stored parameters (rather than the scikit-learn objects used to fit them) so that a
        # calibrator restored with from_dict runs exactly the same arithmetic and gives identical outputs.
        method = "identity" if self.is_passthrough_ else self.method_
        calibrated = _apply_map(method, self._fitted_map(), p)
        return float(calibrated[0]) if scalar else calibrated

    def _fitted_map(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in ("X_thresholds_", "y_thresholds_", "coef_", "intercept_")
            if hasattr(self, name)
        }

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
                "n_folds": int(self.n_folds),
                "selection_margin": float(self.selection_margin),
            },
            **stream.to_state(),
            "fitted": self.__sklearn_is_fitted__(),
        }
        if state["fitted"]:
            state["n_samples_fit"] = self.n_samples_fit_
            state["is_passthrough"] = bool(self.is_passthrough_)
            state["passthrough_reason"] = self.passthrough_reason_
            state["method_used"] = self.method_
            state["selection"] = self.selection_
            if not self.is_passthrough_ and self.method_ in ("isotonic", "binned_isotonic"):
                state["X_thresholds"] = self.X_thresholds_.tolist()
                state["y_thresholds"] = self.y_thresholds_.tolist()
            elif not self.is_passthrough_ and self.method_ == "sigmoid":
                state["coef"] = self.coef_
                state["intercept"] = self.intercept_
        return state

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ProbabilityCalibrator:
        """Rebuild a calibrator from `to_dict` output; it calibrates, and streams, exactly as the one stored.

        A state stored before streaming kept pending predictions (no 'refit_every' parameter) is restored with
        `refit_every=None`, as that calibrator never refitted by itself. A version 1 state ('isotonic' or
        'sigmoid', no choice recorded) gets `method_` = its method, `selection_` None and the current defaults
        of `n_folds` and `selection_margin`; its outputs are now clipped to [OUTPUT_EPS, 1 - OUTPUT_EPS] like
        every calibrator's. A version 2 state's `holdout_fraction` gives way to the default `n_folds` (it
        matters only when 'auto' chooses again); its fitted map and evidence are kept as they were.

        Raises
        ------
        StateError
            `state` is not a ProbabilityCalibrator state, or is incomplete.
        """
        cls._check_state_format(state)
        with cls._reading_state():
            params = dict(state["params"])
            params.setdefault("refit_every", None)
            params.pop("holdout_fraction", None)  # version 2
            calibrator = cls(**params)
            calibrator._check_params()
            calibrator._streaming = CalibrationStream.from_state(state, calibrator.window_size)
            if state["fitted"]:
                calibrator.n_samples_fit_ = int(state["n_samples_fit"])
                calibrator.is_passthrough_ = bool(state["is_passthrough"])
                calibrator.passthrough_reason_ = state["passthrough_reason"]
                default_used = "identity" if calibrator.method == "auto" else calibrator.method
                calibrator.method_ = state.get("method_used", default_used)
                if calibrator.method_ not in METHODS[1:]:
                    raise ValueError(f"unknown method in use {calibrator.method_!r}")
                selection = state.get("selection")
                calibrator.selection_ = None if selection is None else dict(selection)
                if not calibrator.is_passthrough_ and calibrator.method_ in ("isotonic", "binned_isotonic"):
                    calibrator.X_thresholds_ = np.asarray(state["X_thresholds"], dtype=np.float64)
                    calibrator.y_thresholds_ = np.asarray(state["y_thresholds"], dtype=np.float64)
                elif not calibrator.is_passthrough_ and calibrator.method_ == "sigmoid":
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
        check_int(self, "n_folds", self.n_folds)
        # A finite margin: an infinite one would only ever keep the identity ('identity' says that plainly).
        check_interval(
            self, "selection_margin", self.selection_margin, 0.0, math.inf, low_inclusive=True, high_inclusive=False
        )


def _isotonic_blocks(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean probability, mean outcome and row count of equal-count blocks of at least ISOTONIC_MIN_BLOCK_ROWS
    rows (ties in one block; a block left smaller by ties is merged into its smaller neighbour)."""
    n_blocks = max(1, min(ISOTONIC_MAX_BLOCKS, p.size // ISOTONIC_MIN_BLOCK_ROWS))
    ids = quantile_bins(p, n_blocks)
    counts = np.bincount(ids).astype(np.float64)
    sums_p = np.bincount(ids, weights=p)
    sums_y = np.bincount(ids, weights=y.astype(np.float64))
    blocks = [[c, sp, sy] for c, sp, sy in zip(counts, sums_p, sums_y, strict=True)]
    while len(blocks) > 1:
        smallest = min(range(len(blocks)), key=lambda index: blocks[index][0])
        if blocks[smallest][0] >= ISOTONIC_MIN_BLOCK_ROWS:
            break
        if smallest == 0:
            neighbour = 1
        elif smallest == len(blocks) - 1:
            neighbour = smallest - 1
        else:
            neighbour = min(smallest - 1, smallest + 1, key=lambda index: blocks[index][0])
        low, high = sorted((smallest, neighbour))
        blocks[low] = [a + b for a, b in zip(blocks[low], blocks[high], strict=True)]
        del blocks[high]
    merged = np.asarray(blocks)
    return merged[:, 1] / merged[:, 0], merged[:, 2] / merged[:, 0], merged[:, 0]


def _fit_map(method: str, p: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """The fitted attributes of one concrete method on (p, y)."""
    if method == "identity":
        return {}
    if method == "sigmoid":
        platt = LogisticRegression(C=_PLATT_C)
        platt.fit(_logit(p).reshape(-1, 1), y)
        return {"coef_": float(platt.coef_[0, 0]), "intercept_": float(platt.intercept_[0])}
    if method == "isotonic":
        isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(p, y)
    else:
        x_means, y_means, counts = _isotonic_blocks(p, y)
        isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        isotonic.fit(x_means, y_means, sample_weight=counts)
    return {
        "X_thresholds_": np.asarray(isotonic.X_thresholds_, dtype=np.float64),
        "y_thresholds_": np.asarray(isotonic.y_thresholds_, dtype=np.float64),
    }


def _order_problem(method: str, fitted: dict[str, Any]) -> str | None:
    """Why a fitted map would not keep the model's order strictly (None when it does): a Platt slope that is
    not positive inverts or flattens it; an isotonic map with a flat step ties rows the model ranks apart."""
    if method == "sigmoid" and not fitted["coef_"] > 0:
        return "excluded: its slope on logit(p) is not positive, so it would invert or flatten the model's order"
    if method in ("isotonic", "binned_isotonic") and not (np.diff(fitted["y_thresholds_"]) > 0).all():
        return "excluded: it has flat steps, so it would give rows the model ranks apart the same probability"
    return None


def _apply_map(method: str, fitted: dict[str, Any], p: np.ndarray) -> np.ndarray:
    """Calibrated probabilities of one concrete method, clipped to [OUTPUT_EPS, 1 - OUTPUT_EPS]."""
    if method == "identity":
        calibrated = p.copy()
    elif method == "sigmoid":
        calibrated = expit(fitted["coef_"] * _logit(p) + fitted["intercept_"])
    else:
        # IsotonicRegression.predict with out_of_bounds='clip': linear between thresholds, flat outside.
        calibrated = np.interp(p, fitted["X_thresholds_"], fitted["y_thresholds_"])
    return np.clip(calibrated, OUTPUT_EPS, 1.0 - OUTPUT_EPS)


def _row_log_loss(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def _standard_error(difference: np.ndarray, day: np.ndarray | None) -> float:
    """Standard error of the mean of `difference`: over rows, or clustered by date when dates are given."""
    rows = difference.size
    if day is None:
        return float(difference.std(ddof=1) / np.sqrt(rows)) if rows > 1 else 0.0
    _, ids = np.unique(day, return_inverse=True)
    residual = np.bincount(ids.reshape(-1), weights=difference - difference.mean())
    return float(np.sqrt((residual**2).sum()) / rows)


def _blocks(rows: int, day: np.ndarray | None, count: int) -> list[tuple[int, int]]:
    """(start, stop) of up to `count` consecutive, non-empty blocks of the rows: equal numbers of dates when
    `day` is given (a date never split), else equal numbers of rows."""
    if day is None:
        parts = np.array_split(np.arange(rows), count)
        return [(int(part[0]), int(part[-1]) + 1) for part in parts if part.size]
    dates = np.unique(day)
    starts = [int(np.searchsorted(day, part[0], side="left")) for part in np.array_split(dates, count) if part.size]
    return list(zip(starts, [*starts[1:], rows], strict=True))


def _check_dates(dates: Any, rows: int) -> np.ndarray:
    try:
        day = np.asarray(pd.to_datetime(np.asarray(dates).reshape(-1)), dtype="datetime64[ns]")
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"ProbabilityCalibrator.fit: dates must be dates ({error}).") from error
    if day.size != rows:
        raise InvalidInputError(f"ProbabilityCalibrator.fit: got {day.size} dates for {rows} probabilities.")
    if np.isnat(day).any() or np.any(day[1:] < day[:-1]):
        raise InvalidInputError(
            "ProbabilityCalibrator.fit: dates must be present and non-decreasing (the rows oldest first); sort the "
            "calibration rows by date."
        )
    return day


def _iso_date(date: Any) -> str | None:
    """`date` (a date, timestamp or ISO string) as 'YYYY-MM-DD', or None."""
    if date is None:
        return None
    try:
        return pd.Timestamp(date).date().isoformat()
    except (TypeError, ValueError) as error:
        raise InvalidInputError(
            f"ProbabilityCalibrator.add_observation: date must be a date or an ISO date string, got {date!r}."
        ) from error


def _logit(p: np.ndarray) -> np.ndarray:
    return logit(np.clip(p, _LOGIT_EPS, 1.0 - _LOGIT_EPS))
