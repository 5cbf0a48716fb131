"""The live calibrator of a model: its streaming `ProbabilityCalibrator`, kept as of every day a daily run ran.

A model starts live with the calibrator it was trained with (fitted on its calibration window) and the live
settings below. Each day, the outcomes that became known resolve its pending predictions in the order
(trade date, ticker); every `LIVE_REFIT_EVERY` resolutions, once `LIVE_MIN_SAMPLES` are in its window of the
last `LIVE_WINDOW` outcomes, it refits by itself ('auto': identity unless a map clearly beats it, blocks cut
and errors clustered by the predictions' dates); then the day is scored with it and its predictions added
as pending.

What is stored per (model, day) in `ml.live_calibration` is the calibrator's state **without** its window
and pending predictions (the fitted map, the settings, the counters: a few kilobytes), because those are
the model's rows of `ml.predictions` as of that day: the window is the last `LIVE_WINDOW` predictions
resolved on or before it, in the order they were resolved, and the pending ones were scored by then and
neither resolved nor void. `live_calibrator(connection, model_id, as_of)` puts the two together into
exactly the calibrator the run had at the end of that day, which calibrates the day's raw probabilities to
the stored ones.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb

from ml.daily import storage
from ml.estimators.calibration import ProbabilityCalibrator

#: Outcomes the live window keeps (about 53 days of a 379-stock universe, 129 of a 155-stock one).
LIVE_WINDOW = 20_000
#: Outcomes in the window before the first live refit; also the fewest rows a fold of 'auto' fits on.
LIVE_MIN_SAMPLES = 2_000
#: Outcomes between live refits.
LIVE_REFIT_EVERY = 1_000


def start_live(stored_state: dict) -> ProbabilityCalibrator:
    """The live calibrator of a model that has none yet: its training calibrator with the live settings."""
    calibrator = ProbabilityCalibrator.from_dict(stored_state)
    calibrator.set_params(window_size=LIVE_WINDOW, min_samples=LIVE_MIN_SAMPLES, refit_every=LIVE_REFIT_EVERY)
    return calibrator


def live_calibrator(
    connection: duckdb.DuckDBPyConnection, model_id: str, as_of: dt.date
) -> ProbabilityCalibrator | None:
    """The model's live calibrator at the end of `as_of` (module docstring); None when none is stored then."""
    state = storage.calibrator_state(connection, model_id, as_of)
    return None if state is None else ProbabilityCalibrator.from_dict(state)


def calibrator_before(
    connection: duckdb.DuckDBPyConnection, model_id: str, day: dt.date, training_state: dict
) -> ProbabilityCalibrator:
    """The model's live calibrator at the end of the last day before `day` it was stored for, or, before the
    first, its training calibrator (`training_state`) with the live settings."""
    previous = storage.previous_calibration_day(connection, model_id, day)
    calibrator = None if previous is None else live_calibrator(connection, model_id, previous)
    return start_live(training_state) if calibrator is None else calibrator


def save_live_calibrator(
    connection: duckdb.DuckDBPyConnection,
    model_id: str,
    as_of: dt.date,
    calibrator: ProbabilityCalibrator,
    *,
    refitted: bool,
) -> None:
    """Store the calibrator as of the end of `as_of`, without its window and pending predictions (module
    docstring); the caller has written the day's predictions and resolutions in the same transaction."""
    state = calibrator.to_dict()
    window_rows, pending_rows = len(state.pop("observations")), len(state.pop("pending"))
    state["observations"], state["pending"] = [], []
    storage.insert_live_calibration(
        connection,
        {
            "model_id": model_id,
            "as_of_date": as_of,
            "method": calibrator.method_,
            "window_rows": window_rows,
            "pending_rows": pending_rows,
            "resolved_total": state["n_resolved"],
            "automatic_fits": state["automatic_fits"],
            "refitted": refitted,
            "state": json.dumps(state, allow_nan=False),
        },
    )
