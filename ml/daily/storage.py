"""The daily loop's reads and writes of the `ml` schema: every statement `ml.daily` runs against a table of it.

The tables (declared in `store.tables`): `ml.predictions` (each day's scores, and later their outcomes),
`ml.live_calibration` (each model's live calibrator as of each day), `ml.live_performance`,
`ml.drift_thresholds`, `ml.drift_checks` and `ml.daily_runs` (the run log); it reads what training stored
(`ml.models`, `ml.metrics`, `ml.drift_baselines`, `ml.model_status`). The modules of `ml.daily` decide what
to write; this one knows where and how. Every function takes the caller's connection and runs inside the
caller's transaction (a day is one transaction: `ml.daily.routine`).
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd
import pyarrow as pa

from ml.train.data import FORWARD_RETURN, LabelSpec
from ml.train.registry import delete_model
from store import insert_frame, insert_row, insert_rows, relation_exists
from store.marts import LABELS
from store.tables import (
    ML_DAILY_RUNS,
    ML_DRIFT_BASELINES,
    ML_DRIFT_CHECKS,
    ML_DRIFT_THRESHOLDS,
    ML_LIVE_CALIBRATION,
    ML_LIVE_PERFORMANCE,
    ML_METRICS,
    ML_MODEL_STATUS,
    ML_MODELS,
    ML_PREDICTIONS,
    day_tables,
)

#: The tables a daily run writes, which a replay starts again from empty (the statuses: the routine's).
DAILY_TABLES = (*day_tables(), ML_MODEL_STATUS)

# ------------------------------------------------------------------------------------------------- the run log


def last_run_day(connection: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The latest day a daily run scored (None before the first)."""
    return connection.execute(f"select max(run_date) from {ML_DAILY_RUNS.qualified}").fetchall()[0][0]


def insert_run(connection: duckdb.DuckDBPyConnection, run: dict) -> None:
    """Log one day's run (`ml.daily_runs`, columns by name)."""
    insert_row(connection, ML_DAILY_RUNS, run)


def forget_day(connection: duckdb.DuckDBPyConnection, day: dt.date) -> None:
    """Undo what an earlier run of `day` wrote: its rows of every day table, the outcomes and voids it recorded,
    the challengers it trained (with everything stored for them) and its status changes."""
    for table in day_tables():
        connection.execute(f"delete from {table.qualified} where {table.day_column} = ?", [day])
    connection.execute(
        f"update {ML_PREDICTIONS.qualified} set outcome = null, outcome_return = null, label_known_date = null, "
        "resolved_on = null where resolved_on = ?",
        [day],
    )
    connection.execute(f"update {ML_PREDICTIONS.qualified} set voided_on = null where voided_on = ?", [day])
    trained = connection.execute(
        f"select model_id from {ML_MODEL_STATUS.qualified} "
        "where effective_date = ? and source = 'daily' and status = 'challenger'",
        [day],
    ).fetchall()
    for (model_id,) in trained:
        delete_model(connection, model_id)
    connection.execute(f"delete from {ML_MODEL_STATUS.qualified} where effective_date = ? and source = 'daily'", [day])


def drop_daily_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Drop every table a daily run writes (`DAILY_TABLES`; a replay starts its copy from none)."""
    for table in DAILY_TABLES:
        connection.execute(f"drop table if exists {table.qualified}")


# ------------------------------------------------------------------------------------------------- predictions


def insert_predictions(
    connection: duckdb.DuckDBPyConnection, model_id: str, day: dt.date, scores: pd.DataFrame
) -> None:
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


def resolve_predictions(
    connection: duckdb.DuckDBPyConnection, model_id: str, label: LabelSpec, day: dt.date
) -> list[tuple]:
    """Write the outcome, forward return, label known date and `resolved_on = day` of every prediction of
    `model_id` still waiting whose label `marts.fct_labels` knows by `day`; return (observation id, raw
    probability, outcome, trade date) of each, by (trade date, ticker)."""
    connection.execute(
        f"""
        update {ML_PREDICTIONS.qualified} as p
        set outcome = l.{label.column}, outcome_return = l.{FORWARD_RETURN},
            label_known_date = l.{label.known_date_column}, resolved_on = ?
        from {LABELS} as l
        where p.model_id = ? and p.resolved_on is null and p.voided_on is null and p.trade_date < ?
            and l.ticker = p.ticker and l.trade_date = p.trade_date
            and l.{label.column} is not null and l.{label.known_date_column} <= ?
        """,
        [day, model_id, day, day],
    )
    return connection.execute(
        f"select observation_id, raw_probability, outcome, trade_date from {ML_PREDICTIONS.qualified} "
        "where model_id = ? and resolved_on = ? order by trade_date, ticker",
        [model_id, day],
    ).fetchall()


def void_predictions(
    connection: duckdb.DuckDBPyConnection, model_id: str, label: LabelSpec, day: dt.date, longest: int
) -> list[int]:
    """Mark `voided_on = day` on every prediction of `model_id` still waiting whose label became known to be
    NULL by `day`, or whose trade date lies more than `longest` calendar days before it; return their
    observation ids."""
    connection.execute(
        f"""
        update {ML_PREDICTIONS.qualified} as p
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
        f"select observation_id from {ML_PREDICTIONS.qualified} where model_id = ? and voided_on = ? "
        "order by observation_id",
        [model_id, day],
    ).fetchall()
    return [int(row[0]) for row in rows]


def models_waiting(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The models with predictions waiting for their outcome."""
    rows = connection.execute(
        f"select distinct model_id from {ML_PREDICTIONS.qualified} "
        "where resolved_on is null and voided_on is null order by model_id"
    ).fetchall()
    return [row[0] for row in rows]


def resolved_window(connection: duckdb.DuckDBPyConnection, model_id: str, day: dt.date, dates: int) -> pd.DataFrame:
    """The model's predictions resolved by `day`, of the latest `dates` trade dates that have any (the live
    performance's window), by (trade date, ticker)."""
    return connection.execute(
        f"""
        with window_dates as (
            select distinct trade_date from {ML_PREDICTIONS.qualified}
            where model_id = ? and resolved_on <= ?
            order by trade_date desc limit ?
        )
        select trade_date, ticker, calibrated_probability, outcome, outcome_return, rank_in_day, names_in_day
        from {ML_PREDICTIONS.qualified}
        where model_id = ? and resolved_on <= ? and trade_date in (select trade_date from window_dates)
        order by trade_date, ticker
        """,
        [model_id, day, dates, model_id, day],
    ).df()


def resolved_calls(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every resolved prediction of each logged day's champion (the calls the runs made, not a challenger's in
    shadow), by (trade date, ticker)."""
    return connection.execute(
        "select p.trade_date, p.ticker, p.calibrated_probability, p.outcome, p.outcome_return, p.rank_in_day, "
        f"p.names_in_day from {ML_PREDICTIONS.qualified} as p "
        f"join {ML_DAILY_RUNS.qualified} as r on p.trade_date = r.run_date and p.model_id = r.model_id "
        "where p.resolved_on is not null order by p.trade_date, p.ticker"
    ).df()


def shared_window(
    connection: duckdb.DuckDBPyConnection, champion_id: str, challenger_id: str, day: dt.date, dates: int
) -> pd.DataFrame:
    """The (ticker, trade date) rows both models scored and resolved by `day`, of the latest `dates` trade dates
    they share: each model's calibrated probability, the outcome and the forward return."""
    return connection.execute(
        f"""
        with pairs as (
            select a.trade_date, a.ticker, a.calibrated_probability as champion_probability,
                b.calibrated_probability as challenger_probability, a.outcome, a.outcome_return
            from {ML_PREDICTIONS.qualified} as a
            join {ML_PREDICTIONS.qualified} as b on a.trade_date = b.trade_date and a.ticker = b.ticker
            where a.model_id = ? and b.model_id = ? and a.resolved_on <= ? and b.resolved_on <= ?
        ),
        window_dates as (select distinct trade_date from pairs order by trade_date desc limit ?)
        select * from pairs where trade_date in (select trade_date from window_dates) order by trade_date, ticker
        """,
        [champion_id, challenger_id, day, day, dates],
    ).df()


def scored_dates(connection: duckdb.DuckDBPyConnection, model_id: str, day: dt.date) -> int:
    """The number of trade dates up to `day` the model scored."""
    return connection.execute(
        f"select count(distinct trade_date) from {ML_PREDICTIONS.qualified} where model_id = ? and trade_date <= ?",
        [model_id, day],
    ).fetchall()[0][0]


# ------------------------------------------------------------------------------------------ the live calibrator


def previous_calibration_day(connection: duckdb.DuckDBPyConnection, model_id: str, before: dt.date) -> dt.date | None:
    """The latest day before `before` for which the model's live calibrator is stored."""
    return connection.execute(
        f"select max(as_of_date) from {ML_LIVE_CALIBRATION.qualified} where model_id = ? and as_of_date < ?",
        [model_id, before],
    ).fetchall()[0][0]


def calibrator_state(connection: duckdb.DuckDBPyConnection, model_id: str, as_of: dt.date) -> dict | None:
    """The model's live calibrator as stored for `as_of` with its window and pending predictions, which are its
    rows of `ml.predictions` as of that day (`ml.daily.live_calibration`): the last `window_size` resolved by
    then in the order they were resolved, and those scored by then and neither resolved nor void. None when
    no calibrator is stored for the day."""
    rows = connection.execute(
        f"select state from {ML_LIVE_CALIBRATION.qualified} where model_id = ? and as_of_date = ?", [model_id, as_of]
    ).fetchall()
    if not rows:
        return None
    state = json.loads(rows[0][0])
    observations = connection.execute(
        f"select raw_probability, outcome, strftime(trade_date, '%Y-%m-%d') from {ML_PREDICTIONS.qualified} "
        "where model_id = ? and resolved_on <= ? "
        "order by resolved_on desc, trade_date desc, ticker desc limit ?",
        [model_id, as_of, state["params"]["window_size"]],
    ).fetchall()
    pending = connection.execute(
        f"select observation_id, raw_probability, strftime(trade_date, '%Y-%m-%d') from {ML_PREDICTIONS.qualified} "
        "where model_id = ? and trade_date <= ? and (resolved_on is null or resolved_on > ?) "
        "and (voided_on is null or voided_on > ?) order by observation_id",
        [model_id, as_of, as_of, as_of],
    ).fetchall()
    state["observations"] = [list(row) for row in reversed(observations)]
    state["pending"] = [list(row) for row in pending]
    return state


def insert_live_calibration(connection: duckdb.DuckDBPyConnection, row: dict) -> None:
    """Store a live calibrator as of a day (`ml.live_calibration`, columns by name)."""
    insert_row(connection, ML_LIVE_CALIBRATION, row)


def automatic_fits(connection: duckdb.DuckDBPyConnection, model_id: str) -> int:
    """How many times the model's live calibrator refitted itself, as of its latest stored day."""
    return connection.execute(
        f"select coalesce(max(automatic_fits), 0) from {ML_LIVE_CALIBRATION.qualified} where model_id = ?",
        [model_id],
    ).fetchall()[0][0]


# ------------------------------------------------------------------------------------------ live performance


def insert_live_performance(connection: duckdb.DuckDBPyConnection, row: dict) -> None:
    """Store a model's live metrics as of a day (`ml.live_performance`, columns by name)."""
    insert_row(connection, ML_LIVE_PERFORMANCE, row)


# ----------------------------------------------------------------------------------------------------- drift


def drift_baselines(connection: duckdb.DuckDBPyConnection, model_id: str) -> dict[str, dict]:
    """The model's drift baselines as training stored them (`ml.drift_baselines`: feature -> state; '*' holds
    the detector's settings)."""
    rows = connection.execute(
        f"select feature, baseline from {ML_DRIFT_BASELINES.qualified} where model_id = ?", [model_id]
    ).fetchall()
    return {feature: json.loads(baseline) for feature, baseline in rows}


def stored_thresholds(connection: duckdb.DuckDBPyConnection, model_id: str) -> pd.DataFrame:
    """The model's stored drift thresholds (`feature`, `training_blocks`, `training_max_psi`, `threshold`),
    empty when none are."""
    if not relation_exists(connection, ML_DRIFT_THRESHOLDS.qualified):
        return pd.DataFrame(columns=["feature", "training_blocks", "training_max_psi", "threshold"])
    return connection.execute(
        "select feature, training_blocks, training_max_psi, threshold "
        f"from {ML_DRIFT_THRESHOLDS.qualified} where model_id = ? order by feature",
        [model_id],
    ).df()


def insert_thresholds(connection: duckdb.DuckDBPyConnection, model_id: str, thresholds: pd.DataFrame) -> None:
    """Store the model's thresholds of the features it has none for (stored ones stay as they are)."""
    stored = connection.execute(
        f"select feature from {ML_DRIFT_THRESHOLDS.qualified} where model_id = ?", [model_id]
    ).fetchall()
    known = {row[0] for row in stored}
    insert_rows(
        connection,
        ML_DRIFT_THRESHOLDS,
        (
            {
                "model_id": model_id,
                "feature": row.feature,
                "training_blocks": int(row.training_blocks),
                "training_max_psi": float(row.training_max_psi),
                "threshold": float(row.threshold),
            }
            for row in thresholds.itertuples()
            if row.feature not in known
        ),
    )


def insert_drift_check(
    connection: duckdb.DuckDBPyConnection,
    model_id: str,
    day: dt.date,
    window_first: dt.date,
    features: pd.DataFrame,
    triggered: bool,
) -> None:
    """Store a drift check: one `ml.drift_checks` row per feature of `features` (`feature`, `rows`, `psi`,
    `ks_d`, `threshold`, `drifted`)."""
    insert_rows(
        connection,
        ML_DRIFT_CHECKS,
        (
            {
                "model_id": model_id,
                "as_of_date": day,
                "feature": row.feature,
                "window_first_date": window_first,
                "rows": int(row.rows),
                "psi": None if pd.isna(row.psi) else float(row.psi),
                "ks_d": None if pd.isna(row.ks_d) else float(row.ks_d),
                "threshold": float(row.threshold),
                "drifted": bool(row.drifted),
                "triggered": triggered,
            }
            for row in features.itertuples()
        ),
    )


# ---------------------------------------------------------------------------------------- what training stored


def model_test_metrics(connection: duckdb.DuckDBPyConnection, model_id: str) -> dict[str, float | None]:
    """The model's metrics on its test window (`ml.metrics`), by name."""
    rows = connection.execute(
        f"select metric, value from {ML_METRICS.qualified} where model_id = ? and split = 'test'", [model_id]
    ).fetchall()
    return dict(rows)


def training_row(connection: duckdb.DuckDBPyConnection, model_id: str) -> tuple:
    """(random state, device requested, params JSON, features JSON) of the model as training stored them."""
    return connection.execute(
        f"select random_state, device_requested, params, features from {ML_MODELS.qualified} where model_id = ?",
        [model_id],
    ).fetchall()[0]


def training_seconds(connection: duckdb.DuckDBPyConnection, model_id: str) -> float:
    """The seconds training the model took."""
    return connection.execute(
        f"select training_seconds from {ML_MODELS.qualified} where model_id = ?", [model_id]
    ).fetchall()[0][0]


# ------------------------------------------------------------------------------------- the monitoring report


def monitoring_frames(connection: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame] | None:
    """What the monitoring report draws, as frames: `runs` (the run log), `performance` (each day's champion's
    live metrics), `resolved` (its resolved predictions), `drift` (its drift checks), `events` (the status
    changes) and `models` (each champion's days and test AUC). None when no daily run is logged."""
    if not relation_exists(connection, ML_DAILY_RUNS.qualified):
        return None
    runs = connection.execute(f"select * from {ML_DAILY_RUNS.qualified} order by run_date").df()
    if runs.empty:
        return None
    joined = f"join {ML_DAILY_RUNS.qualified} as r"
    performance = connection.execute(
        f"select p.* from {ML_LIVE_PERFORMANCE.qualified} as p "
        f"{joined} on p.as_of_date = r.run_date and p.model_id = r.model_id order by p.as_of_date"
    ).df()
    resolved = connection.execute(
        "select p.model_id, p.trade_date, p.raw_probability, p.calibrated_probability, p.outcome "
        f"from {ML_PREDICTIONS.qualified} as p {joined} on p.trade_date = r.run_date and p.model_id = r.model_id "
        "where p.resolved_on is not null"
    ).df()
    drift = connection.execute(
        f"select c.as_of_date, c.feature, c.psi, c.threshold, c.drifted from {ML_DRIFT_CHECKS.qualified} as c "
        f"{joined} on c.as_of_date = r.run_date and c.model_id = r.model_id order by c.as_of_date"
    ).df()
    event_columns = ["event", "effective_date", "model_id", "status", "source", "reason"]
    events = (
        connection.execute(f"select {', '.join(event_columns)} from {ML_MODEL_STATUS.qualified} order by event").df()
        if relation_exists(connection, ML_MODEL_STATUS.qualified)
        else pd.DataFrame(columns=event_columns)
    )
    models = connection.execute(
        f"""
        select r.model_id, count(*) as days, min(r.run_date) as first_day, max(r.run_date) as last_day,
            any_value(m.metric_auc) as test_auc
        from {ML_DAILY_RUNS.qualified} as r
        left join (
            select model_id, value as metric_auc from {ML_METRICS.qualified} where split = 'test' and metric = 'auc'
        ) as m using (model_id)
        group by r.model_id order by first_day
        """
    ).df()
    return {
        "runs": runs,
        "performance": performance,
        "resolved": resolved,
        "drift": drift,
        "events": events,
        "models": models,
    }
