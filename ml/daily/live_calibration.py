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

from ml.estimators.calibration import ProbabilityCalibrator
from store import insert_row
from store.tables import ML_LIVE_CALIBRATION

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


def previous_state(connection: duckdb.DuckDBPyConnection, model_id: str, before: dt.date) -> dt.date | None:
    """The latest day before `before` for which the model's live calibrator is stored."""
    rows = connection.execute(
        "select max(as_of_date) from ml.live_calibration where model_id = ? and as_of_date < ?", [model_id, before]
    ).fetchall()
    return rows[0][0]


def live_calibrator(
    connection: duckdb.DuckDBPyConnection, model_id: str, as_of: dt.date
) -> ProbabilityCalibrator | None:
    """The model's live calibrator at the end of `as_of` (module docstring); None when none is stored then."""
    rows = connection.execute(
        "select state from ml.live_calibration where model_id = ? and as_of_date = ?", [model_id, as_of]
    ).fetchall()
    if not rows:
        return None
    state = json.loads(rows[0][0])
    window = state["params"]["window_size"]
    observations = connection.execute(
        "select raw_probability, outcome, strftime(trade_date, '%Y-%m-%d') from ml.predictions "
        "where model_id = ? and resolved_on <= ? "
        "order by resolved_on desc, trade_date desc, ticker desc limit ?",
        [model_id, as_of, window],
    ).fetchall()
    pending = connection.execute(
        "select observation_id, raw_probability, strftime(trade_date, '%Y-%m-%d') from ml.predictions "
        "where model_id = ? and trade_date <= ? and (resolved_on is null or resolved_on > ?) "
        "and (voided_on is null or voided_on > ?) order by observation_id",
        [model_id, as_of, as_of, as_of],
    ).fetchall()
    state["observations"] = [list(row) for row in reversed(observations)]
    state["pending"] = [list(row) for row in pending]
    return ProbabilityCalibrator.from_dict(state)


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
    insert_row(
        connection,
        ML_LIVE_CALIBRATION,
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
