"""CalibrationStream (ml/estimators/calibration_stream.py): pending predictions, resolutions into the window,
void ones discarded, when a refit is due, and its state round trip."""

from __future__ import annotations

import pytest

from ml.errors import InvalidInputError
from ml.estimators.calibration_stream import CalibrationStream


def test_a_prediction_waits_until_its_outcome_and_keeps_its_date():
    stream = CalibrationStream(window_size=3)
    first = stream.record(0.4, "2025-01-02")
    second = stream.record(0.7, None)
    assert (first, second) == (0, 1) and stream.pending == {0: 0.4, 1: 0.7}
    assert stream.resolve(0.4, 1, None, observation_id=first) == first
    assert list(stream.window) == [(0.4, 1, "2025-01-02")] and stream.pending == {1: 0.7}
    # Without an id, the oldest pending prediction with exactly that probability; with none, a new one.
    assert stream.resolve(0.7, 0, "2025-01-03") == second
    assert stream.resolve(0.2, 0, None) == 2 and stream.next_id == 3
    assert stream.n_resolved == 3 and stream.pending == {}


def test_the_window_keeps_the_latest_pairs_and_a_void_prediction_never_enters_it():
    stream = CalibrationStream(window_size=2)
    ids = [stream.record(p, None) for p in (0.1, 0.2, 0.3, 0.4)]
    stream.discard(ids[1])
    for identifier, p in ((ids[0], 0.1), (ids[2], 0.3), (ids[3], 0.4)):
        stream.resolve(p, 1, None, observation_id=identifier)
    assert [p for p, _, _ in stream.window] == [0.3, 0.4]
    stream.resize(3)
    assert stream.window.maxlen == 3 and [p for p, _, _ in stream.window] == [0.3, 0.4]
    with pytest.raises(InvalidInputError, match="no pending observation has id 1"):
        stream.discard(ids[1])


def test_a_wrong_id_or_probability_is_refused():
    stream = CalibrationStream(window_size=5)
    identifier = stream.record(0.5, None)
    with pytest.raises(InvalidInputError, match="must be an id"):
        stream.resolve(0.5, 1, None, observation_id="0")
    with pytest.raises(InvalidInputError, match="recorded with raw_prob 0.5"):
        stream.resolve(0.6, 1, None, observation_id=identifier)
    assert stream.pending == {identifier: 0.5} and stream.n_resolved == 0


def test_a_refit_is_due_at_min_samples_then_every_refit_every_resolutions():
    stream = CalibrationStream(window_size=10)
    due = []
    for _ in range(9):
        stream.resolve(0.5, 1, None)
        if stream.refit_due(min_samples=3, refit_every=2):
            stream.refitted()
            due.append(stream.n_resolved)
    assert due == [3, 5, 7, 9] and stream.automatic_fits == 4
    assert not CalibrationStream(5).refit_due(min_samples=0, refit_every=None)


def test_the_state_round_trip_gives_the_same_stream():
    stream = CalibrationStream(window_size=4)
    stream.resolve(0.3, 0, "2025-01-02")
    stream.record(0.6, "2025-01-03")
    stream.record(0.8, None)
    stream.refitted()
    state = stream.to_state()
    again = CalibrationStream.from_state(state, window_size=4)
    assert again.to_state() == state
    assert list(again.window) == list(stream.window) and again.pending_dates == {1: "2025-01-03"}
