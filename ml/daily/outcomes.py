"""Matching logged predictions to what happened: a prediction gets its outcome on the first daily run whose
day is on or after the date its label became known, never earlier.

The outcome is the model's own label (`params.label` of `ml.models`, e.g. `label_beats_median_5d`) and the
forward return of `marts.fct_labels`; a label is read only where its known date (`label_known_date`, or
`label_beats_median_known_date` for the cross-sectional label) is on or before the run's day, so a run on
day D, on the full store or on one that ends at D, resolves exactly the same predictions.

A prediction whose outcome can never be known is **void** (`voided_on`, the run day that found it), and
leaves the pending predictions of its live calibrator without an outcome: its label became known to be
NULL by the day (the gap rule: its 5-day window spans a gap in the ticker's prices), or more than
`max_calendar_days` + 1 calendar days (`marts.dim_labels`, 14 + 1) passed since its trade date without its
label: whenever the ticker's next prices arrive, if ever (a delisted ticker), the window spans too long a
gap and the label is NULL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from ml.daily import storage
from ml.train.data import LabelSpec
from store.marts import LABEL_DEFINITIONS


@dataclass(frozen=True)
class Resolution:
    """A prediction resolved on the run's day, in the order the live calibrator receives them."""

    observation_id: int
    raw_probability: float
    outcome: int
    trade_date: dt.date


def resolve_outcomes(
    connection: duckdb.DuckDBPyConnection, model_id: str, label: LabelSpec, day: dt.date
) -> list[Resolution]:
    """Write the outcome, forward return, label known date and `resolved_on = day` of every unresolved
    prediction of `model_id` whose label is known by `day`; return them by (trade date, ticker)."""
    rows = storage.resolve_predictions(connection, model_id, label, day)
    return [Resolution(int(i), float(p), int(y), d) for i, p, y, d in rows]


def void_outcomes(connection: duckdb.DuckDBPyConnection, model_id: str, label: LabelSpec, day: dt.date) -> list[int]:
    """Mark `voided_on = day` on every prediction of `model_id` still waiting whose outcome can never be known
    by `day` (module docstring; call after `resolve_outcomes`); return their observation ids."""
    rows = connection.execute(
        f"select max_calendar_days from {LABEL_DEFINITIONS} where label_name = ?", [label.column]
    ).fetchall()
    return storage.void_predictions(connection, model_id, label, day, longest=int(rows[0][0]) + 1)
