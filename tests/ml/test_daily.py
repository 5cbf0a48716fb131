"""`python -m ml.daily` and its parts: the trading calendar, stale-data refusals, scoring a day (equal to the
training mart's rows), idempotent re-runs, outcomes matched only once their label is known, and a live
calibrator per day that reproduces the day's calibrated probabilities."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from helpers import SHARED_DATA, dbt_build, one_line_error, read, read_job, run_job, run_module
from sklearn.metrics import roc_auc_score

import store
from ingest import jobs
from ml.daily import calendar, drift, live_calibration
from ml.daily.drift import check_drift
from ml.daily.freshness import StaleDataError, day_to_score
from ml.daily.live_calibration import live_calibrator
from ml.daily.replay import copy_store, replay
from ml.daily.routine import ModelCache, run_day
from ml.data import REGIME
from ml.errors import MLError
from ml.registry import load_trained_model
from ml.training import train_model
from ml.tuning import CANDIDATE_PARAMS

pytestmark = pytest.mark.slow

SYNTHETIC_END = dt.date(2024, 12, 31)


# ---------------------------------------------------------------------------------------------- calendar


def test_the_calendar_knows_the_exchange_holidays():
    closed_2025 = {
        "2025-01-01",
        "2025-01-09",  # national day of mourning (President Carter)
        "2025-01-20",
        "2025-02-17",
        "2025-04-18",
        "2025-05-26",
        "2025-06-19",
        "2025-07-04",
        "2025-09-01",
        "2025-11-27",
        "2025-12-25",
    }
    assert {day.isoformat() for day in calendar.holidays(2025)} == closed_2025
    # Weekend holidays move to the Friday before or the Monday after; New Year's Day on a Saturday is not moved.
    assert dt.date(2021, 12, 24) in calendar.holidays(2021) and dt.date(2021, 12, 31) not in calendar.holidays(2021)
    assert dt.date(2022, 6, 20) in calendar.holidays(2022) and dt.date(2021, 6, 18) not in calendar.holidays(2021)
    assert dt.date(2026, 7, 3) in calendar.holidays(2026)
    assert calendar.previous_trading_day(dt.date(2025, 11, 28)) == dt.date(2025, 11, 26)
    assert calendar.trading_day_on_or_before(dt.date(2025, 12, 27)) == dt.date(2025, 12, 26)


def test_the_expected_day_changes_when_the_days_prices_are_in():
    new_york = calendar.EXCHANGE_TIME_ZONE
    assert calendar.expected_trading_day(dt.datetime(2025, 12, 2, 17, 59, tzinfo=new_york)) == dt.date(2025, 12, 1)
    assert calendar.expected_trading_day(dt.datetime(2025, 12, 2, 18, 0, tzinfo=new_york)) == dt.date(2025, 12, 2)
    # 23:30 UTC on 2 December is 18:30 in New York; 03:00 UTC on the 3rd is still the evening of the 2nd there.
    assert calendar.expected_trading_day(dt.datetime(2025, 12, 3, 3, 0, tzinfo=dt.UTC)) == dt.date(2025, 12, 2)
    assert calendar.expected_trading_day(dt.datetime(2025, 12, 6, 12, 0)) == dt.date(2025, 12, 5)  # a Saturday
    assert calendar.expected_trading_day(dt.datetime(2025, 12, 25, 20, 0)) == dt.date(2025, 12, 24)


@pytest.mark.skipif(not (SHARED_DATA / "market_2009_2020").is_dir(), reason="../shared/data is not present")
def test_the_calendar_matches_the_days_spy_traded_2009_to_2020():
    traded = set(pd.to_datetime(pd.read_csv(SHARED_DATA / "market_2009_2020" / "SPY.csv")["Date"]).dt.date)
    assert set(calendar.trading_days(min(traded), max(traded))) == traded


# ---------------------------------------------------------------------------------------------- the routine


@pytest.fixture
def daily_store(small_trained_store, tmp_path) -> Path:
    db_path = tmp_path / "store.duckdb"
    shutil.copy(small_trained_store[0], db_path)
    return db_path


def feature_days(db_path: Path, after: dt.date) -> list[dt.date]:
    frame = read(db_path, "select distinct trade_date from marts.fct_features where trade_date > ? order by 1", after)
    return [day.date() for day in pd.to_datetime(frame["trade_date"])]


def calibration_end(summary) -> dt.date:
    return summary.splits["calibration"]["last_date"]


def test_a_day_is_scored_as_the_training_mart_would_and_a_rerun_replaces_it(small_trained_store, daily_store):
    summary = small_trained_store[1]
    day = feature_days(daily_store, calibration_end(summary))[10]
    first = run_job(run_day, daily_store, day)
    stored = read(daily_store, "select * from ml.predictions order by ticker")
    again = run_job(run_day, daily_store, day)

    names = read(daily_store, "select count(*) as n from marts.fct_features where trade_date = ?", day)["n"].item()
    assert first.scored == again.scored == len(stored) == names > 30  # 30 equities and the sector ETFs
    rerun = read(daily_store, "select * from ml.predictions order by ticker")
    pd.testing.assert_frame_equal(rerun.drop(columns="scored_at"), stored.drop(columns="scored_at"))
    assert read(daily_store, "select count(*) as n from ml.daily_runs")["n"].item() == 1
    assert read(daily_store, "select count(*) as n from ml.live_calibration")["n"].item() == 1
    assert sorted(stored["rank_in_day"]) == list(range(1, names + 1))
    by_rank = stored.sort_values("rank_in_day")["calibrated_probability"].to_numpy()
    assert np.all(np.diff(by_rank) <= 0)
    # The client's point-in-time rows give the raw probabilities the model gives the training mart's rows.
    model = run_job(load_trained_model, daily_store, summary.model_id)
    mart = read(daily_store, "select * from marts.fct_training_examples where trade_date = ? order by ticker", day)
    assert len(mart) == names
    expected = model.predict_proba(mart[[*model.features, REGIME]], calibrated=False)
    np.testing.assert_allclose(stored["raw_probability"].to_numpy(), expected, rtol=0, atol=1e-12)
    assert (stored["regime_id"].to_numpy() == mart[REGIME].to_numpy()).all()


def test_outcomes_are_matched_once_their_label_is_known_and_each_days_calibrator_is_kept(
    small_trained_store, daily_store, monkeypatch
):
    # Small live settings, so that the 30-stock store refits its live calibrator within a few weeks.
    monkeypatch.setattr(live_calibration, "LIVE_WINDOW", 300)
    monkeypatch.setattr(live_calibration, "LIVE_MIN_SAMPLES", 60)
    monkeypatch.setattr(live_calibration, "LIVE_REFIT_EVERY", 30)
    summary = small_trained_store[1]
    days = feature_days(daily_store, calibration_end(summary))[:16]
    models = ModelCache()
    results = []
    for day in days:
        results.append(run_job(run_day, daily_store, day, models=models))
        predictions = read(daily_store, "select * from ml.predictions")
        labels = read(
            daily_store,
            "select ticker, trade_date, label_beats_median_5d as label, label_beats_median_known_date as known, "
            "fwd_ret_5d from marts.fct_labels",
        )
        joined = predictions.merge(labels, on=["ticker", "trade_date"], how="left")
        resolved = joined[joined["resolved_on"].notna()]
        waiting = joined[joined["resolved_on"].isna()]
        # Resolved: on or after the day the label was known, with the label and return of the mart.
        assert (pd.to_datetime(resolved["label_known_date"]) <= pd.Timestamp(day)).all()
        assert (resolved["outcome"].astype(int) == resolved["label"].astype(int)).all()
        np.testing.assert_array_equal(resolved["outcome_return"], resolved["fwd_ret_5d"])
        # Waiting: the label was not known by the day.
        not_known = waiting["label"].isna() | (pd.to_datetime(waiting["known"]) > pd.Timestamp(day))
        assert not_known.all()
    assert sum(result.resolved for result in results) > 150
    assert results[0].resolved == 0

    # Each day's stored calibrator (settings and map, window and pending rebuilt from the predictions)
    # calibrates that day's raw probabilities to exactly what was stored.
    refits = 0
    for day in days:
        calibrator = run_job(live_calibrator, daily_store, summary.model_id, day)
        day_rows = read(
            daily_store, "select raw_probability, calibrated_probability from ml.predictions where trade_date = ?", day
        )
        np.testing.assert_array_equal(
            calibrator.calibrate(day_rows["raw_probability"].to_numpy()), day_rows["calibrated_probability"]
        )
        refits = calibrator.n_automatic_fits
    assert refits >= 3
    total = np.cumsum([result.resolved for result in results])
    state = read(daily_store, "select * from ml.live_calibration order by as_of_date")
    assert state["refitted"].sum() >= 3
    assert state["window_rows"].tolist() == np.minimum(total, 300).tolist()
    assert state["resolved_total"].tolist() == total.tolist()
    # Each day's drift check: one row per model feature, the run's share and verdict agree with the rows.
    checks = read(daily_store, "select * from ml.drift_checks")
    assert len(checks) == len(days) * len(summary.selected_features)
    assert (checks["drifted"] == ((checks["psi"] > checks["threshold"]) | checks["psi"].isna())).all()
    assert (checks["threshold"] >= drift.PSI_THRESHOLD).all()
    runs = read(daily_store, "select run_date, drifted_share, drift_triggered from ml.daily_runs order by run_date")
    shares = checks.groupby("as_of_date")["drifted"].mean()
    np.testing.assert_allclose(runs["drifted_share"], shares.to_numpy())
    assert (runs["drift_triggered"] == (runs["drifted_share"] >= drift.TRIGGER_SHARE)).all()
    performance = read(daily_store, "select * from ml.live_performance order by as_of_date")
    assert len(performance) == int((total > 0).sum())  # a day with no outcome known yet has no performance row
    assert performance["rows"].tolist() == total[total > 0].tolist()  # the 60-day window holds them all
    assert performance["auc"].between(0, 1).all() and performance["top_decile_hit_rate"].between(0, 1).all()


def test_a_prediction_whose_label_can_never_be_known_is_void_and_leaves_the_calibrator(
    small_trained_store, daily_store
):
    summary = small_trained_store[1]
    days = feature_days(daily_store, calibration_end(summary))
    first = days[0]
    tickers = read(daily_store, "select ticker from marts.fct_labels where trade_date = ? order by ticker", first)
    gap, gone = tickers["ticker"].iloc[0], tickers["ticker"].iloc[1]
    with duckdb.connect(str(daily_store)) as connection:
        # `gap`: its label is known to be NULL (the gap rule); `gone`: the ticker's next prices never came.
        connection.execute(
            "update marts.fct_labels set label_beats_median_5d = null where ticker = ? and trade_date = ?", [gap, first]
        )
        connection.execute(
            "update marts.fct_labels set fwd_ret_5d = null, label_up_5d = null, label_known_date = null, "
            "label_beats_median_5d = null, label_beats_median_known_date = null where ticker = ? and trade_date = ?",
            [gone, first],
        )
    known = read(
        daily_store,
        "select label_beats_median_known_date as known from marts.fct_labels where ticker = ? and trade_date = ?",
        gap,
        first,
    )["known"].item()
    models = ModelCache()
    for day in days:
        run_job(run_day, daily_store, day, models=models)
        if (day - first).days > 16:
            break
    rows = read(daily_store, "select * from ml.predictions where trade_date = ? order by ticker", first).set_index(
        "ticker"
    )
    assert rows.loc[gap, "voided_on"] == pd.Timestamp(min(d for d in days if d >= pd.Timestamp(known).date()))
    assert rows.loc[gone, "voided_on"] == pd.Timestamp(min(d for d in days if (d - first).days > 15))
    assert rows.loc[[gap, gone], "resolved_on"].isna().all() and rows.loc[[gap, gone], "outcome"].isna().all()
    others = rows.drop(index=[gap, gone])
    assert others["resolved_on"].notna().all() and others["voided_on"].isna().all()
    # Neither waits in the live calibrator any more, and the stored state agrees with the rebuilt one.
    calibrator = run_job(live_calibrator, daily_store, summary.model_id, day)
    assert not {rows.loc[gap, "observation_id"], rows.loc[gone, "observation_id"]} & set(calibrator.pending)
    stored = read(daily_store, "select pending_rows from ml.live_calibration where as_of_date = ?", day)
    assert stored["pending_rows"].item() == len(calibrator.pending)
    waiting = read(
        daily_store, "select count(*) as n from ml.predictions where resolved_on is null and voided_on is null"
    )
    assert waiting["n"].item() == len(calibrator.pending)


def test_a_day_in_the_models_sample_or_before_the_last_run_is_refused(small_trained_store, daily_store):
    summary = small_trained_store[1]
    with pytest.raises(MLError, match="in its sample"):
        run_job(run_day, daily_store, calibration_end(summary))
    days = feature_days(daily_store, calibration_end(summary))
    run_job(run_day, daily_store, days[3])
    with pytest.raises(MLError, match="before the last day scored"):
        run_job(run_day, daily_store, days[2])


# ---------------------------------------------------------------------------------------------- stale data


def test_stale_data_is_refused_with_one_line_and_nothing_is_scored(daily_store, tmp_path):
    last = read(daily_store, "select max(trade_date) as d from marts.fct_features")["d"].item().date()
    connection = store.connect(daily_store, read_only=True)
    try:
        assert day_to_score(connection, latest=True) == last
        later = calendar.trading_day_on_or_before(last + dt.timedelta(days=40))
        with pytest.raises(StaleDataError, match=f"the exchange traded on {later}"):
            day_to_score(connection, later)
    finally:
        connection.close()
    result = run_module("ml.daily", "--db", str(daily_store), "--date", later.isoformat())
    assert "stale data" in one_line_error(result)

    # An ingest run that loaded nothing (every row rejected) makes the latest day untrustworthy.
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Open,High,Low,Close,Adj Close,Volume\nnot-a-date,1,1,1,1,1,1\n")
    ingest = run_module("ingest", "csv", str(bad), "--db", str(daily_store))
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    result = run_module("ml.daily", "--db", str(daily_store), "--date", "latest")
    assert "loaded no rows" in one_line_error(result)
    assert not store_has(daily_store, "ml.predictions")


def store_has(db_path: Path, relation: str) -> bool:
    connection = store.connect(db_path, read_only=True)
    try:
        return store.relation_exists(connection, relation) and bool(
            connection.execute(f"select count(*) from {relation}").fetchall()[0][0]
        )
    finally:
        connection.close()


def test_the_command_scores_the_latest_day_and_prints_its_summary(daily_store, tmp_path):
    report = tmp_path / "reports" / "monitoring.html"
    result = run_module("ml.daily", "--db", str(daily_store), "--date", "latest", "--report", str(report))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"monitoring report: {report}" in result.stdout and "<h2>Retrain events</h2>" in report.read_text()
    assert "tickers with model" in result.stdout and "strongest calls:" in result.stdout
    assert store_has(daily_store, "ml.predictions")
    # The default is --retrain auto: a triggered drift verdict trains a challenger, in the same run.
    triggered = "drift verdict: triggered" in result.stdout
    assert ("retrained: challenger" in result.stdout) == triggered
    assert read(daily_store, "select count(*) as n from ml.models")["n"].item() == 1 + triggered


def test_the_live_log_of_the_test_window_gives_back_the_models_test_auc(small_trained_store, daily_store):
    """Day by day over the model's whole test window (and until the store ends), the predictions resolved by
    the last day are the test split's rows, and their AUC is the test AUC training stored."""
    summary = small_trained_store[1]
    models = ModelCache()
    for day in feature_days(daily_store, calibration_end(summary)):
        run_job(run_day, daily_store, day, models=models)
    resolved = read(
        daily_store,
        "select calibrated_probability as p, outcome as y from ml.predictions "
        "where outcome is not null and trade_date >= ?",
        summary.splits["test"]["first_date"],
    )
    assert len(resolved) == summary.metrics["test"]["rows"]
    assert roc_auc_score(resolved["y"], resolved["p"]) == pytest.approx(summary.metrics["test"]["auc"], abs=1e-12)


# ---------------------------------------------------------------------------------------------- drift


@pytest.fixture(scope="module")
def calm_market(tmp_path_factory):
    """The default universe (155 tickers, 5 years) held in the calm-bull regime (no regime change; seed 7, not the
    seed the thresholds were chosen on), with a model trained on it."""
    folder = tmp_path_factory.mktemp("calm_market")
    db_path = folder / "store.duckdb"
    run_job(jobs.ingest_synthetic, db_path, seed=7, regime="calm_bull")
    result = dbt_build(db_path, folder)
    assert result.returncode == 0, result.stdout[-3000:]
    # The drift check reads the model's selected features, training window and drift baselines, which come
    # before the LightGBM settings are chosen: one setting and no search gives it the same model inputs.
    summary = run_job(train_model, db_path, random_state=7, device="cpu", candidates=[CANDIDATE_PARAMS[1]])
    return db_path, summary


def drift_over(db_path: Path, model_store: Path, summary, days: list[dt.date]) -> pd.Series:
    """The share of the model's features drifted on each day (indexed by day); the model's baselines and
    thresholds are read from `model_store`."""
    splits = summary.splits["train"]
    thresholds = read_job(
        drift.training_thresholds,
        model_store,
        summary.model_id,
        summary.selected_features,
        splits["first_date"],
        splits["last_date"],
    )

    def check(connection, day):
        return check_drift(connection, summary.model_id, summary.selected_features, 1, day, thresholds)

    return pd.Series({day: read_job(check, db_path, day).drifted_share for day in days})


def test_drift_stays_quiet_on_an_unchanged_market_and_triggers_within_days_of_a_regime_shift(calm_market, tmp_path):
    db_path, summary = calm_market
    end = dt.date(2025, 12, 31)
    year = feature_days(db_path, end - dt.timedelta(days=365))
    quiet = drift_over(db_path, db_path, summary, year[::5])  # every fifth day of the last year
    # "Most days" quiet; measured: none of the 53 days (the largest share drifted 0.15).
    assert (quiet >= drift.TRIGGER_SHARE).mean() <= 0.1, quiet.to_string()

    # The same market shifted to the crisis regime from 2 June 2025 on, ingested over it and rebuilt.
    shift_on = dt.date(2025, 6, 2)
    shifted = tmp_path / "shifted.duckdb"
    shutil.copy(db_path, shifted)
    run_job(jobs.ingest_synthetic, shifted, seed=7, regime="calm_bull", shift_on=shift_on)
    result = dbt_build(shifted, tmp_path, "--full-refresh")
    assert result.returncode == 0, result.stdout[-3000:]
    # Within the window's length: once the 30-day window is all crisis, the check must have triggered (measured:
    # on the 16th trading day after the shift with this seed, the 13th with seed 42; docs/daily.md).
    after = [day for day in year if day >= shift_on][: drift.WINDOW_DAYS]
    loud = drift_over(shifted, shifted, summary, after)
    assert (loud >= drift.TRIGGER_SHARE).any(), loud.to_string()
    assert loud.iloc[0] < drift.TRIGGER_SHARE  # not on the shift's first day: the window is still calm


# ---------------------------------------------------------------------------------------------- replay


def test_a_replay_on_the_full_store_equals_the_routine_on_a_store_that_ends_each_day(small_trained_store, tmp_path):
    """Replaying START..D in a copy of the full store writes exactly what running the routine day by day on a
    store truncated at D (every raw row after D deleted, rebuilt from raw) writes: the replay sees nothing
    after the day it runs."""
    full, summary = small_trained_store
    days = feature_days(full, calibration_end(summary))[:12]
    last = days[-1]

    copy = tmp_path / "replay.duckdb"
    copy_store(full, copy)
    replayed = run_job(replay, copy, days[0], last, into=copy, retrain="never")
    assert (replayed.days, replayed.trained) == (len(days), False)
    assert replayed.resolved > 0

    truncated = tmp_path / "truncated.duckdb"
    shutil.copy(full, truncated)
    with duckdb.connect(str(truncated)) as connection:
        for table, column in (
            ("prices", "trade_date"),
            ("sentiment", "trade_date"),
            ("earnings", "announce_date"),
            ("analyst_actions", "action_date"),
            ("insider_trades", "announce_date"),
        ):
            connection.execute(f"delete from raw.{table} where {column} > ?", [last])
    result = dbt_build(truncated, tmp_path, "--full-refresh")
    assert result.returncode == 0, result.stdout[-3000:]
    models = ModelCache()
    for day in days:
        run_job(run_day, truncated, day, models=models)

    for table, order, ignored in (
        ("ml.predictions", "trade_date, ticker", ["scored_at"]),
        ("ml.live_calibration", "as_of_date", []),
        ("ml.live_performance", "as_of_date", []),
        ("ml.drift_checks", "as_of_date, feature", []),
        ("ml.daily_runs", "run_date", ["mode", "started_at", "finished_at", "seconds"]),
    ):
        expected = read(truncated, f"select * from {table} order by {order}").drop(columns=ignored)
        got = read(copy, f"select * from {table} order by {order}").drop(columns=ignored)
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=table)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--date", "2025-01-02", "--replay", "2025-01-02", "2025-02-03"], "not both"),
        (["--into", "x.duckdb"], "--into goes with --replay"),
        (["--replay", "2025-02-03", "2025-01-02"], "is before"),
        (["--date", "yesterday"], "not a date"),
        (["--retrain", "sometimes"], "invalid choice"),
    ],
)
def test_arguments_that_do_not_fit_together_are_usage_errors(tmp_path, arguments, message):
    result = run_module("ml.daily", "--db", str(tmp_path / "none.duckdb"), *arguments)
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_feature_whose_source_stopped_counts_as_drifted(small_trained_store, daily_store):
    summary = small_trained_store[1]
    day = feature_days(daily_store, calibration_end(summary))[-1]
    plain = [name for name in summary.selected_features if not name.endswith("_xs_rank")]
    splits = summary.splits["train"]
    with duckdb.connect(str(daily_store)) as connection:
        thresholds = drift.training_thresholds(
            connection, summary.model_id, summary.selected_features, splits["first_date"], splits["last_date"]
        )
        before = check_drift(connection, summary.model_id, summary.selected_features, 1, day, thresholds)
        connection.execute(
            f"update marts.fct_features_v1 set {plain[0]} = null where trade_date > ?", [day - dt.timedelta(days=60)]
        )
        after = check_drift(connection, summary.model_id, summary.selected_features, 1, day, thresholds)
    row = after.features.set_index("feature").loc[plain[0]]
    assert row["drifted"] and pd.isna(row["psi"]) and row["rows"] == 0
    assert len(after.features) == len(before.features) and plain[0] not in after.skipped
    assert after.drifted_share == pytest.approx(
        before.features["drifted"].sum() / len(before.features)
        + (0 if before.features.set_index("feature").loc[plain[0], "drifted"] else 1 / len(before.features))
    )
