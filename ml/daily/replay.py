"""`python -m ml.daily --replay START END`: the daily routine, day by day, over a past period, as if live.

The replay runs in a copy of the store (`--into`, by default beside it: `<store>.replay-START-END.duckdb`),
so the live log is never touched; the copy's daily tables are created anew, empty. On each trading day D of the feature
mart from START to END it runs exactly `ml.daily.routine.run_day`, which sees only what was known by D: the
features and regime of D, outcomes whose label was known by D, drift over the 30 days up to D. The result is
a paper-trading record in the copy: `ml.predictions` with outcomes, the live calibrator of every day, live
performance, drift checks and the run log.

The copy's status history (`ml.model_status`) starts anew too: the store's champion is the replay's first
champion. A model never scores a day whose label window its training saw: when the champion was calibrated
on outcomes up to START or later, the replay first trains a model as of START in the copy (`train_model(...,
as_of=START)`: only rows whose label was known before START; the champion's training settings), which
becomes the copy's champion. Inside the replay, challengers are trained, judged and promoted by the same
rules as live (`--retrain`, default auto: `ml.daily.retraining`); `--retrain never` replays one model.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ml.daily import storage
from ml.daily.performance import period_performance
from ml.daily.retraining import training_settings
from ml.daily.routine import ModelCache, run_day
from ml.errors import MLError
from ml.train.pipeline import train_model
from ml.train.registry import StatusChange, champion_id, record_status
from store import connect, create_tables, transaction
from store.marts import FEATURES


@dataclass
class ReplaySummary:
    """What a replay did, for the printed summary and for tests."""

    into: Path
    model_id: str
    trained: bool
    first_day: dt.date
    last_day: dt.date
    days: int
    scored: int
    resolved: int
    drift_triggered_days: int
    calibration_refits: int
    performance: dict[str, float | None] | None
    seconds: float
    #: The replay's first champion (`model_id` is its champion at the end).
    first_model_id: str = ""
    #: Challengers trained inside the replay, and how many of them were promoted or rejected.
    retrains: int = 0
    promotions: int = 0
    rejections: int = 0
    training_seconds: float = 0.0


def default_target(source: Path, start: dt.date, end: dt.date) -> Path:
    """`<store>.replay-START-END.duckdb` beside the store."""
    return source.with_name(f"{source.stem}.replay-{start:%Y%m%d}-{end:%Y%m%d}.duckdb")


def copy_store(source: Path, target: Path) -> None:
    """Copy the store to `target` (replacing it). The store is opened read-write first and checkpointed, so the
    file is whole (a writer elsewhere makes this fail with the usual one-line lock error)."""
    connection = connect(source, create=False)
    try:
        connection.execute("checkpoint")
    finally:
        connection.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(source, partial)
    for leftover in (target, target.with_name(target.name + ".wal")):
        leftover.unlink(missing_ok=True)
    os.replace(partial, target)


def replay_days(connection: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> list[dt.date]:
    """The feature mart's trade dates from `start` to `end`."""
    rows = connection.execute(
        f"select distinct trade_date from {FEATURES} where trade_date between ? and ? order by 1", [start, end]
    ).fetchall()
    return [row[0] for row in rows]


def replay(
    connection: duckdb.DuckDBPyConnection,
    start: dt.date,
    end: dt.date,
    *,
    into: Path,
    retrain: str = "auto",
    report: Callable[[str], None] = lambda _message: None,
    progress: Callable[[int, int], None] = lambda _done, _total: None,
) -> ReplaySummary:
    """Replay START..END on `connection`, a read-write connection to the copy at `into` (module docstring)."""
    started = time.perf_counter()
    days = replay_days(connection, start, end)
    if not days:
        raise MLError(f"the feature mart has no trading day from {start} to {end}: nothing to replay.")
    with transaction(connection):
        first = champion_id(connection)
        storage.drop_daily_tables(connection)
        create_tables(connection, "ml")
        if first is not None:
            change = StatusChange("champion", days[0], "replay", "the champion of the store this replay copied")
            record_status(connection, first, change)
    models = ModelCache()  # one cache for the whole replay: each model is read once
    champion = models.get(connection)
    trained = champion.calibration_end >= days[0]
    training_seconds = 0.0
    if trained:
        report(
            f"model {champion.model_id} was calibrated on outcomes up to {champion.calibration_end}: training a model "
            f"as of {days[0]} on the labels known before it"
        )
        reason = f"trained as of {days[0]}: {champion.model_id} was calibrated up to {champion.calibration_end}"
        summary = train_model(
            connection,
            **training_settings(connection, champion.model_id),
            as_of=days[0],
            status=StatusChange("champion", days[0], "replay", reason),
            report=report,
        )
        training_seconds += summary.seconds
    first_model_id = models.get(connection).model_id
    scored = resolved = triggered = retrains = promotions = rejections = 0
    report(f"replaying {len(days)} trading days, {days[0]} to {days[-1]}")
    for done, day in enumerate(days, 1):
        result = run_day(connection, day, mode="replay", retrain=retrain, models=models)
        scored, resolved = scored + result.scored, resolved + result.resolved
        triggered += bool(result.drift is not None and result.drift.triggered)
        if result.decision is not None:
            promotions += result.decision.promoted
            rejections += not result.decision.promoted
            report(f"{day}: {result.decision.summary()}")
        if result.trained_model_id is not None:
            retrains += 1
            report(f"{day}: trained challenger {result.trained_model_id} ({result.retrain_reason})")
            training_seconds += storage.training_seconds(connection, result.trained_model_id)
        progress(done, len(days))
    model = models.get(connection)
    performance = period_performance(connection, model.horizon)
    resolved = 0 if performance is None else int(performance["rows"])  # the calls resolved, not the shadow's
    refits = storage.automatic_fits(connection, model.model_id)
    return ReplaySummary(
        into=into,
        model_id=model.model_id,
        trained=trained,
        first_day=days[0],
        last_day=days[-1],
        days=len(days),
        scored=scored,
        resolved=resolved,
        drift_triggered_days=triggered,
        calibration_refits=int(refits),
        performance=performance,
        seconds=time.perf_counter() - started,
        first_model_id=first_model_id,
        retrains=retrains,
        promotions=promotions,
        rejections=rejections,
        training_seconds=training_seconds,
    )
