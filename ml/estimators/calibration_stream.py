"""The streaming side of `ProbabilityCalibrator`: predictions recorded when they are made, their outcomes when
they are known, and the window of resolved pairs the calibrator refits on.

`CalibrationStream` holds the window of the last `window_size` resolved (probability, outcome, date or None)
triples, the pending predictions (with their dates), the id counter and the refit counters; it says when an
automatic refit is due (`refit_due`), and the calibrator, whose batch fit is the one way to fit, refits on
the window then. The daily loop (`ml.daily.live_calibration`) keeps one per model and day; the plan's own
calls (`add_observation`, `fit()`, `calibrate`) reach it through `ProbabilityCalibrator`.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from ml.errors import InvalidInputError


class CalibrationStream:
    """Pending predictions and the window of resolved ones, for one streaming calibrator.

    Parameters
    ----------
    window_size
        the resolved pairs the window keeps (the most recent ones).
    """

    def __init__(self, window_size: int) -> None:
        self.window: deque[tuple[float, int, str | None]] = deque(maxlen=window_size)
        #: {id: raw probability} of the predictions waiting for their outcome, in the order they were made.
        self.pending: dict[int, float] = {}
        self.pending_dates: dict[int, str] = {}
        self.next_id = 0
        self.n_resolved = 0
        self.automatic_fits = 0
        #: Resolutions since the last automatic fit; None until the first one.
        self.since_refit: int | None = None

    def resize(self, window_size: int) -> None:
        """Keep the most recent `window_size` pairs from now on (a calibrator's `window_size` changed)."""
        if self.window.maxlen != window_size:
            self.window = deque(self.window, maxlen=window_size)

    def record(self, probability: float, day: str | None) -> int:
        """A new prediction, pending until its outcome is known; returns its id."""
        identifier = self.next_id
        self.next_id += 1
        self.pending[identifier] = probability
        if day is not None:
            self.pending_dates[identifier] = day
        return identifier

    def resolve(self, probability: float, outcome: int, day: str | None, observation_id: Any = None) -> int:
        """The outcome of the pending prediction `observation_id` (or else of the oldest one with exactly this
        probability; with none, a new observation resolved at once) into the window; returns its id. The pair
        keeps the prediction's date unless `day` gives one."""
        if observation_id is not None:
            identifier = self.pending_id(observation_id, probability)
        else:
            # Pending ids are in insertion order, so the first match is the oldest prediction.
            identifier = next((key for key, value in self.pending.items() if value == probability), None)
            if identifier is None:
                identifier = self.next_id
                self.next_id += 1
        self.pending.pop(identifier, None)
        recorded = self.pending_dates.pop(identifier, None)
        self.window.append((probability, outcome, day if day is not None else recorded))
        self.n_resolved += 1
        return identifier

    def discard(self, observation_id: Any) -> None:
        """Drop a pending prediction whose outcome will never be known (it does not enter the window)."""
        identifier = self.pending_id(observation_id, None)
        self.pending.pop(identifier)
        self.pending_dates.pop(identifier, None)

    def pending_id(self, observation_id: Any, probability: float | None) -> int:
        """`observation_id` as the id of a pending prediction recorded with `probability` (when given).

        Raises
        ------
        InvalidInputError
            Not an int, no pending prediction has it, or it was recorded with another probability.
        """
        if isinstance(observation_id, bool) or not isinstance(observation_id, int | np.integer):
            raise InvalidInputError(
                f"ProbabilityCalibrator.add_observation: observation_id must be an id add_observation returned (an "
                f"int), got {observation_id!r}."
            )
        identifier = int(observation_id)
        if identifier not in self.pending:
            shown = ", ".join(map(str, list(self.pending)[:10])) or "none"
            raise InvalidInputError(
                f"ProbabilityCalibrator.add_observation: no pending observation has id {identifier} (pending ids: "
                f"{shown}); it was never recorded, or its outcome was already added."
            )
        if probability is not None and self.pending[identifier] != probability:
            raise InvalidInputError(
                f"ProbabilityCalibrator.add_observation: observation {identifier} was recorded with raw_prob "
                f"{self.pending[identifier]!r}, got {probability!r}; pass the probability it was recorded with."
            )
        return identifier

    def refit_due(self, min_samples: int, refit_every: int | None) -> bool:
        """Whether the calibrator should refit on the window after the resolution just added: first when the
        window holds `min_samples` pairs, then every `refit_every` resolutions (None: never)."""
        if refit_every is None:
            return False
        if self.since_refit is None:
            return len(self.window) >= min_samples
        self.since_refit += 1
        return self.since_refit >= refit_every

    def refitted(self) -> None:
        """Count an automatic refit, done when `refit_due` said so."""
        self.automatic_fits += 1
        self.since_refit = 0

    # ------------------------------------------------------------------------------------------------- state

    def to_state(self) -> dict[str, Any]:
        """The stream's part of a calibrator's JSON state (`ProbabilityCalibrator.to_dict`)."""
        return {
            "observations": [[p, y] if day is None else [p, y, day] for p, y, day in self.window],
            "pending": [
                [identifier, p]
                if identifier not in self.pending_dates
                else [identifier, p, self.pending_dates[identifier]]
                for identifier, p in self.pending.items()
            ],
            "next_id": self.next_id,
            "n_resolved": self.n_resolved,
            "automatic_fits": self.automatic_fits,
            "since_refit": self.since_refit,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], window_size: int) -> CalibrationStream:
        """The stream of a stored calibrator state (older states lack the counters: they are derived)."""
        stream = cls(window_size)
        for p, y, *day in state["observations"]:
            stream.window.append((float(p), int(y), day[0] if day else None))
        pending = state.get("pending", [])
        stream.pending = {int(entry[0]): float(entry[1]) for entry in pending}
        stream.pending_dates = {int(entry[0]): entry[2] for entry in pending if len(entry) > 2}
        stream.next_id = int(state.get("next_id", max(stream.pending, default=-1) + 1))
        stream.n_resolved = int(state.get("n_resolved", len(stream.window)))
        stream.automatic_fits = int(state.get("automatic_fits", 0))
        since_refit = state.get("since_refit")
        stream.since_refit = None if since_refit is None else int(since_refit)
        return stream
