"""One day of the daily routine, in one transaction: resolve outcomes, update the live calibrators, judge a
challenger, score the day with the champion (and the challenger, in shadow), check drift, record live
performance, and retrain when the rules say so.

`run_day(connection, day, retrain=...)`, for a trading day the store holds (`ml.daily.freshness.day_to_score`
chose it):

1. forget whatever an earlier run of the same day wrote (its predictions, the outcomes it resolved, its
   calibrator, performance and drift rows, its status changes and the challenger it trained): re-running a day
   replaces it, never duplicates it; a day before the last day run is refused, as it would leave the later days
   built on another history;
2. for every model with predictions waiting for their outcome, the champion and the challenger: resolve the
   outcomes known by the day (`ml.daily.outcomes`) and feed them to the model's live calibrator, as of the
   previous day (`ml.daily.live_calibration`);
3. judge the challenger in shadow, if any, against the champion on their shared resolved window
   (`ml.daily.retraining`): promoted, it is the champion from this day on;
4. score every ticker of the day with the champion (`ml.daily.scoring`), calibrated by its live calibrator,
   and add the predictions to that calibrator as pending; the same for the challenger in shadow;
5. check the champion's features for drift over the last 30 trade dates against its training baselines
   (`ml.daily.drift`);
6. store each live calibrator as of the day and each model's live performance (`ml.daily.performance`), and
   the drift check (`ml.drift_checks`);
7. under `--retrain auto`, when drift triggered or the champion's live performance fell below its test
   window, and no challenger is in shadow, train a challenger on the labels known by the day
   (`ml.daily.retraining`; `always`: whatever the triggers; `never`: not);
8. store the run (`ml.daily_runs`).

The champion is `ml.train.registry.champion_id`: the model `python -m ml.train` trained last, or the challenger the
routine promoted since. A model scores only days after its calibration window: a day whose label window its
training (model or calibrator) saw would be scored in sample.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from ml.daily import storage
from ml.daily.drift import DriftCheck, check_drift, training_thresholds
from ml.daily.live_calibration import calibrator_before, save_live_calibrator
from ml.daily.outcomes import resolve_outcomes, void_outcomes
from ml.daily.performance import record_live_performance
from ml.daily.retraining import Decision, degraded, judge, retrain_reason, train_challenger
from ml.daily.scoring import mart_version_number, score_day
from ml.errors import MLError
from ml.estimators.calibration import ProbabilityCalibrator
from ml.train.data import label_spec
from ml.train.registry import TrainedModel, champion_id, load_model_row, models_with_status, trained_model_from_row
from store import create_tables, transaction


@dataclass
class DayResult:
    """What one day's run did, for the printed summary and for tests."""

    day: dt.date
    model_id: str
    scored: int
    resolved: int
    calibration_method: str
    refitted: bool
    performance: dict[str, float | None] | None
    seconds: float
    drift: DriftCheck | None = None
    top: list[tuple[str, float]] = field(default_factory=list)
    #: The challenger judged today, and the one trained today (with why).
    decision: Decision | None = None
    trained_model_id: str | None = None
    retrain_reason: str | None = None
    #: The challenger scored in shadow today.
    shadow_model_id: str | None = None


@dataclass
class _Model:
    """What the routine needs of a stored model."""

    model_id: str
    label: str
    horizon: int
    mart_version: str
    calibration_end: dt.date
    train_first: dt.date
    train_last: dt.date
    calibrator_state: dict
    test_metrics: dict[str, float | None]
    trained: TrainedModel | None = None
    drift_thresholds: pd.DataFrame | None = None


def _date(value) -> dt.date:
    return dt.date.fromisoformat(str(value)[:10])


def _model(row: dict, test_metrics: dict[str, float | None]) -> _Model:
    params, splits = row["params"], row["splits"]
    return _Model(
        model_id=row["model_id"],
        label=params["label"],
        horizon=int(params["label_horizon"]),
        mart_version=row["mart_version"],
        calibration_end=_date(splits["calibration"]["last_date"]),
        train_first=_date(splits["train"]["first_date"]),
        train_last=_date(splits["train"]["last_date"]),
        calibrator_state=row["calibrator_state"],
        test_metrics=test_metrics,
    )


class ModelCache:
    """Stored models by id, read once (a replay runs many days with the same ones)."""

    def __init__(self) -> None:
        self._models: dict[str, _Model] = {}

    def get(self, connection: duckdb.DuckDBPyConnection, model_id: str | None = None) -> _Model:
        """The model `model_id` (None: the champion), with its trained learner for the champion."""
        if model_id is None:
            model_id = champion_id(connection)
            if model_id is None:
                load_model_row(connection)  # raises the one-sentence "train a model first"
        if model_id not in self._models:
            row = load_model_row(connection, model_id)
            model = _model(row, storage.model_test_metrics(connection, model_id))
            model.trained = trained_model_from_row(row)
            self._models[model_id] = model
        return self._models[model_id]


@dataclass
class _Live:
    """Each model's live calibrator during the day, whether it refitted itself today, and the outcomes resolved."""

    calibrators: dict[str, ProbabilityCalibrator] = field(default_factory=dict)
    refitted: dict[str, bool] = field(default_factory=dict)
    resolved: int = 0


def run_day(
    connection: duckdb.DuckDBPyConnection,
    day: dt.date,
    *,
    mode: str = "daily",
    retrain: str = "never",
    models: ModelCache | None = None,
    report: Callable[[str], None] = lambda _message: None,
) -> DayResult:
    """Run the routine for `day` (module docstring) on a read-write connection; return what it did. `retrain`:
    'auto', 'always' or 'never' (`ml.daily.retraining`; the command's default is 'auto')."""
    started, started_at = time.perf_counter(), dt.datetime.now()
    models = models or ModelCache()
    with transaction(connection):
        champion = _start_day(connection, day, models)
        shadow = [models.get(connection, model_id) for model_id in models_with_status(connection, "challenger")]
        live = _resolve_outcomes(connection, day, models, [champion, *shadow])
        champion, shadow, decision = _judge_challengers(connection, day, champion, shadow, report)
        report(f"{day}: {live.resolved:,} outcome(s) resolved; scoring with model {champion.model_id}")
        scores = _score(connection, champion, day, live.calibrators[champion.model_id])
        for model in shadow:
            _score(connection, model, day, live.calibrators[model.model_id])
        drift = _check_drift(connection, champion, day)
        performance = _store_live_state(connection, day, models, live, champion.model_id)
        reason = retrain_reason(
            retrain, drift, degraded(champion.test_metrics, performance), [model.model_id for model in shadow]
        )
        trained_id = None
        if reason is not None:
            report(f"{day}: training a challenger on the labels known by {day} ({reason})")
            trained_id = train_challenger(connection, champion.model_id, day, reason, report=report).model_id
        seconds = time.perf_counter() - started
        method = live.calibrators[champion.model_id].method_
        storage.insert_run(
            connection,
            {
                "run_date": day,
                "model_id": champion.model_id,
                "mode": mode,
                "started_at": started_at,
                "finished_at": dt.datetime.now(),
                "scored": len(scores),
                "resolved": live.resolved,
                "calibration_method": method,
                "drifted_share": drift.drifted_share,
                "drift_triggered": drift.triggered,
                "seconds": seconds,
                "retrain_mode": retrain,
                "retrain_reason": reason,
                "trained_model_id": trained_id,
            },
        )
    best = scores.nsmallest(5, "rank_in_day")
    return DayResult(
        day=day,
        model_id=champion.model_id,
        scored=len(scores),
        resolved=live.resolved,
        calibration_method=method,
        refitted=live.refitted[champion.model_id],
        performance=performance,
        seconds=seconds,
        drift=drift,
        top=list(zip(best["ticker"], best["calibrated_probability"], strict=True)),
        decision=decision,
        trained_model_id=trained_id,
        retrain_reason=reason,
        shadow_model_id=shadow[0].model_id if shadow else None,
    )


def _start_day(connection: duckdb.DuckDBPyConnection, day: dt.date, models: ModelCache) -> _Model:
    """Step 1: refuse a day before the last one run, forget an earlier run of `day`; return the champion,
    refusing a day in its sample."""
    create_tables(connection, "ml")
    last = storage.last_run_day(connection)
    if last is not None and day < last:
        raise MLError(
            f"{day} is before the last day scored ({last}): re-running it would leave the days after it built "
            "on another history; run the daily routine from a later day."
        )
    storage.forget_day(connection, day)
    champion = models.get(connection)
    if day <= champion.calibration_end:
        raise MLError(
            f"model {champion.model_id} was calibrated on outcomes up to {champion.calibration_end}, so {day} is "
            "in its sample: score a later day, or train a model on data before it."
        )
    return champion


def _resolve_outcomes(
    connection: duckdb.DuckDBPyConnection, day: dt.date, models: ModelCache, scoring: list[_Model]
) -> _Live:
    """Step 2: for every model with predictions waiting and every model scoring today, resolve the outcomes
    known by `day` into its live calibrator as of the previous day (and drop the void ones from it)."""
    live = _Live()
    waiting = [*storage.models_waiting(connection), *(model.model_id for model in scoring)]
    for model_id in dict.fromkeys(waiting):
        model = models.get(connection, model_id)
        calibrator = calibrator_before(connection, model_id, day, model.calibrator_state)
        fits = calibrator.n_automatic_fits
        label = label_spec(model.label)
        for outcome in resolve_outcomes(connection, model_id, label, day):
            calibrator.add_observation(outcome.raw_probability, outcome.outcome, observation_id=outcome.observation_id)
            live.resolved += 1
        for observation_id in void_outcomes(connection, model_id, label, day):
            calibrator.discard_pending(observation_id)
        live.calibrators[model_id], live.refitted[model_id] = calibrator, calibrator.n_automatic_fits > fits
    return live


def _judge_challengers(
    connection: duckdb.DuckDBPyConnection,
    day: dt.date,
    champion: _Model,
    shadow: list[_Model],
    report: Callable[[str], None],
) -> tuple[_Model, list[_Model], Decision | None]:
    """Step 3: judge each challenger in shadow against the champion; return the day's champion (a promoted
    challenger), the challengers still in shadow and the decision taken."""
    decision = None
    for challenger in shadow:
        decision = judge(connection, champion.model_id, challenger.model_id, day, champion.horizon)
        if decision is not None:
            report(f"{day}: {decision.summary()}")
            if decision.promoted:
                champion = challenger
    shadow = [model for model in shadow if decision is None or model.model_id != decision.challenger_id]
    return champion, shadow, decision


def _score(
    connection: duckdb.DuckDBPyConnection, model: _Model, day: dt.date, calibrator: ProbabilityCalibrator
) -> pd.DataFrame:
    """Step 4: score the day with `model`, add the scores to its live calibrator as pending and log them."""
    scores = score_day(connection, model.trained, model.mart_version, day, calibrator)
    scores["observation_id"] = [
        calibrator.add_observation(float(p), date=day) for p in scores["raw_probability"].to_numpy()
    ]
    storage.insert_predictions(connection, model.model_id, day, scores)
    return scores


def _check_drift(connection: duckdb.DuckDBPyConnection, champion: _Model, day: dt.date) -> DriftCheck:
    """Step 5: the champion's features over the recent window against its training thresholds (stored once),
    and the check stored."""
    if champion.drift_thresholds is None:
        champion.drift_thresholds = training_thresholds(
            connection, champion.model_id, champion.trained.features, champion.train_first, champion.train_last
        )
        storage.insert_thresholds(connection, champion.model_id, champion.drift_thresholds)
    drift = check_drift(
        connection,
        champion.model_id,
        champion.trained.features,
        mart_version_number(champion.mart_version),
        day,
        champion.drift_thresholds,
    )
    storage.insert_drift_check(
        connection, champion.model_id, drift.day, drift.window_first, drift.features, drift.triggered
    )
    return drift


def _store_live_state(
    connection: duckdb.DuckDBPyConnection, day: dt.date, models: ModelCache, live: _Live, champion_id: str
) -> dict[str, float | None] | None:
    """Step 6: each live calibrator as of the day and each model's live performance; return the champion's."""
    performance = None
    for model_id, calibrator in live.calibrators.items():
        save_live_calibrator(connection, model_id, day, calibrator, refitted=live.refitted[model_id])
        metrics = record_live_performance(connection, model_id, day, models.get(connection, model_id).horizon)
        if model_id == champion_id:
            performance = metrics
    return performance
