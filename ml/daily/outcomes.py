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

from ml.train.data import FORWARD_RETURN, LabelSpec
from store.marts import LABEL_DEFINITIONS, LABELS


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
    connection.execute(
        f"""
        update ml.predictions as p
        set outcome = l.{label.column}, outcome_return = l.{FORWARD_RETURN},
            label_known_date = l.{label.known_date_column}, resolved_on = ?
        from {LABELS} as l
        where p.model_id = ? and p.resolved_on is null and p.voided_on is null and p.trade_date < ?
            and l.ticker = p.ticker and l.trade_date = p.trade_date
            and l.{label.column} is not null and l.{label.known_date_column} <= ?
        """,
        [day, model_id, day, day],
    )
    rows = connection.execute(
        "select observation_id, raw_probability, outcome, trade_date from ml.predictions "
        "where model_id = ? and resolved_on = ? order by trade_date, ticker",
        [model_id, day],
    ).fetchall()
    return [Resolution(int(i), float(p), int(y), d) for i, p, y, d in rows]


def void_outcomes(connection: duckdb.DuckDBPyConnection, model_id: str, label: LabelSpec, day: dt.date) -> list[int]:
    """Mark `voided_on = day` on every prediction of `model_id` still waiting whose outcome can never be known
    by `day` (module docstring; call after `resolve_outcomes`); return their observation ids."""
    rows = connection.execute(
        f"select max_calendar_days from {LABEL_DEFINITIONS} where label_name = ?", [label.column]
    ).fetchall()
    longest = int(rows[0][0]) + 1
    connection.execute(
        f"""
        update ml.predictions as p
        set voided_on = ?
        where p.model_id = ? and p.resolved_on is null and p.voided_on is null and p.trade_date < ?
            and (
                date_diff('day', p.trade_date, ?) > ?
                or exists (
                    select 1 from {LABELS} as l
                    where l.ticker = p.ticker and l.trade_date = p.trade_date
                        and l.{label.column} is null and l.{label.known_date_column} <= ?
                )
            )
        """,
        [day, model_id, day, day, longest, day],
    )
    rows = connection.execute(
        "select observation_id from ml.predictions where model_id = ? and voided_on = ? order by observation_id",
        [model_id, day],
    ).fetchall()
    return [int(row[0]) for row in rows]


def unresolved_models(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The models with predictions waiting for their outcome."""
    rows = connection.execute(
        "select distinct model_id from ml.predictions where resolved_on is null and voided_on is null order by model_id"
    ).fetchall()
    return [row[0] for row in rows]
