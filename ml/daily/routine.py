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
import pyarrow as pa

from ml.daily.drift import DriftCheck, check_drift, record_drift, record_thresholds, training_thresholds
from ml.daily.live_calibration import live_calibrator, previous_state, save_live_calibrator, start_live
from ml.daily.outcomes import resolve_outcomes, unresolved_models, void_outcomes
from ml.daily.performance import record_live_performance
from ml.daily.retraining import Decision, degraded, judge, retrain_reason, train_challenger
from ml.daily.scoring import mart_version_number, score_day
from ml.errors import MLError
from ml.estimators.calibration import ProbabilityCalibrator
from ml.train.data import label_spec
from ml.train.registry import (
    TrainedModel,
    champion_id,
    delete_model,
    load_model_row,
    models_with_status,
    trained_model_from_row,
)
from store import create_tables, insert_frame, insert_row, transaction
from store.tables import ML_DAILY_RUNS, ML_PREDICTIONS, day_tables


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
            test = connection.execute(
                "select metric, value from ml.metrics where model_id = ? and split = 'test'", [model_id]
            ).fetchall()
            model = _model(row, dict(test))
            model.trained = trained_model_from_row(row)
            self._models[model_id] = model
        return self._models[model_id]


def last_run_day(connection: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The latest day a daily run scored (None before the first)."""
    return connection.execute(f"select max(run_date) from {ML_DAILY_RUNS.qualified}").fetchall()[0][0]


def _forget_day(connection: duckdb.DuckDBPyConnection, day: dt.date) -> None:
    """Undo what an earlier run of `day` wrote (step 1 of the module docstring)."""
    for table in day_tables():
        connection.execute(f"delete from {table.qualified} where {table.day_column} = ?", [day])
    connection.execute(
        "update ml.predictions set outcome = null, outcome_return = null, label_known_date = null, "
        "resolved_on = null where resolved_on = ?",
        [day],
    )
    connection.execute("update ml.predictions set voided_on = null where voided_on = ?", [day])
    trained = connection.execute(
        "select model_id from ml.model_status where effective_date = ? and source = 'daily' and status = 'challenger'",
        [day],
    ).fetchall()
    for (model_id,) in trained:
        delete_model(connection, model_id)
    connection.execute("delete from ml.model_status where effective_date = ? and source = 'daily'", [day])


def _calibrator_before(connection: duckdb.DuckDBPyConnection, model: _Model, day: dt.date) -> ProbabilityCalibrator:
    """The model's live calibrator at the end of the last day before `day` it was stored for, or its training
    calibrator with the live settings."""
    previous = previous_state(connection, model.model_id, day)
    calibrator = None if previous is None else live_calibrator(connection, model.model_id, previous)
    return start_live(model.calibrator_state) if calibrator is None else calibrator


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
        create_tables(connection, "ml")
        last = last_run_day(connection)
        if last is not None and day < last:
            raise MLError(
                f"{day} is before the last day scored ({last}): re-running it would leave the days after it built "
                "on another history; run the daily routine from a later day."
            )
        _forget_day(connection, day)
        champion = models.get(connection)
        if day <= champion.calibration_end:
            raise MLError(
                f"model {champion.model_id} was calibrated on outcomes up to {champion.calibration_end}, so {day} is "
                "in its sample: score a later day, or train a model on data before it."
            )
        shadow = [models.get(connection, model_id) for model_id in models_with_status(connection, "challenger")]

        calibrators: dict[str, ProbabilityCalibrator] = {}
        refitted: dict[str, bool] = {}
        resolved = 0
        waiting = [*unresolved_models(connection), champion.model_id, *(model.model_id for model in shadow)]
        for model_id in dict.fromkeys(waiting):
            model = models.get(connection, model_id)
            calibrator = _calibrator_before(connection, model, day)
            fits = calibrator.n_automatic_fits
            label = label_spec(model.label)
            for outcome in resolve_outcomes(connection, model_id, label, day):
                calibrator.add_observation(
                    outcome.raw_probability, outcome.outcome, observation_id=outcome.observation_id
                )
                resolved += 1
            for observation_id in void_outcomes(connection, model_id, label, day):
                calibrator.discard_pending(observation_id)
            calibrators[model_id], refitted[model_id] = calibrator, calibrator.n_automatic_fits > fits

        decision = None
        for challenger in shadow:
            decision = judge(connection, champion.model_id, challenger.model_id, day, champion.horizon)
            if decision is not None:
                report(f"{day}: {decision.summary()}")
                if decision.promoted:
                    champion = challenger
        shadow = [model for model in shadow if decision is None or model.model_id != decision.challenger_id]
        report(f"{day}: {resolved:,} outcome(s) resolved; scoring with model {champion.model_id}")

        calibrator = calibrators[champion.model_id]
        scores = _score(connection, champion, day, calibrator)
        for model in shadow:
            _score(connection, model, day, calibrators[model.model_id])

        if champion.drift_thresholds is None:
            champion.drift_thresholds = training_thresholds(
                connection, champion.model_id, champion.trained.features, champion.train_first, champion.train_last
            )
            record_thresholds(connection, champion.model_id, champion.drift_thresholds)
        drift = check_drift(
            connection,
            champion.model_id,
            champion.trained.features,
            mart_version_number(champion.mart_version),
            day,
            champion.drift_thresholds,
        )
        record_drift(connection, champion.model_id, drift)

        performance = None
        for model_id, live in calibrators.items():
            save_live_calibrator(connection, model_id, day, live, refitted=refitted[model_id])
            metrics = record_live_performance(connection, model_id, day, models.get(connection, model_id).horizon)
            if model_id == champion.model_id:
                performance = metrics

        reason = retrain_reason(
            retrain, drift, degraded(champion.test_metrics, performance), [model.model_id for model in shadow]
        )
        trained_id = None
        if reason is not None:
            report(f"{day}: training a challenger on the labels known by {day} ({reason})")
            trained_id = train_challenger(connection, champion.model_id, day, reason, report=report).model_id
        seconds = time.perf_counter() - started
        method = calibrator.method_
        insert_row(
            connection,
            ML_DAILY_RUNS,
            {
                "run_date": day,
                "model_id": champion.model_id,
                "mode": mode,
                "started_at": started_at,
                "finished_at": dt.datetime.now(),
                "scored": len(scores),
                "resolved": resolved,
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
        resolved=resolved,
        calibration_method=method,
        refitted=refitted[champion.model_id],
        performance=performance,
        seconds=seconds,
        drift=drift,
        top=list(zip(best["ticker"], best["calibrated_probability"], strict=True)),
        decision=decision,
        trained_model_id=trained_id,
        retrain_reason=reason,
        shadow_model_id=shadow[0].model_id if shadow else None,
    )


def _score(
    connection: duckdb.DuckDBPyConnection, model: _Model, day: dt.date, calibrator: ProbabilityCalibrator
) -> pd.DataFrame:
    """Score the day with `model`, add the scores to its live calibrator as pending and log them."""
    scores = score_day(connection, model.trained, model.mart_version, day, calibrator)
    scores["observation_id"] = [
        calibrator.add_observation(float(p), date=day) for p in scores["raw_probability"].to_numpy()
    ]
    _insert_predictions(connection, model.model_id, day, scores)
    return scores


def _insert_predictions(connection: duckdb.DuckDBPyConnection, model_id: str, day: dt.date, scores) -> None:
    """Append the day's scores to `ml.predictions` (outcome columns NULL until resolved)."""
    rows = len(scores)
    table = pa.table(
        {
            "model_id": pa.array([model_id] * rows, pa.string()),
            "trade_date": pa.array([day] * rows, pa.date32()),
            "ticker": pa.array(scores["ticker"].tolist(), pa.string()),
            "regime_id": pa.array(list(scores["regime_id"]), pa.int32()),
            "raw_probability": pa.array(scores["raw_probability"].to_numpy(), pa.float64()),
            "calibrated_probability": pa.array(scores["calibrated_probability"].to_numpy(), pa.float64()),
            "rank_in_day": pa.array(scores["rank_in_day"].to_numpy(), pa.int32()),
            "names_in_day": pa.array(scores["names_in_day"].to_numpy(), pa.int32()),
            "observation_id": pa.array(scores["observation_id"].to_numpy(), pa.int64()),
            "scored_at": pa.array([dt.datetime.now()] * rows, pa.timestamp("us")),
        }
    )
    insert_frame(connection, ML_PREDICTIONS, table)
