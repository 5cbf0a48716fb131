"""Retraining in the daily routine: the triggers, the champion/challenger promotion rule, the registry's
statuses, and a challenger trained, scored in shadow and judged by the routine on a real store."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
from helpers import read, read_job, run_job
from sklearn.metrics import roc_auc_score

from ml.daily import retraining
from ml.daily.drift import DriftCheck
from ml.daily.monitoring import read_log, reliability, write_report
from ml.daily.retraining import SHADOW_DAYS, compare, degraded, retrain_reason
from ml.daily.routine import ModelCache, run_day
from ml.errors import MLError
from ml.train.data import load_training_examples
from ml.train.registry import StatusChange, champion_id, current_statuses, models_with_status, record_status
from store import create_tables

# ------------------------------------------------------------------------------------------- the rules


def shared_rows(dates: int, tickers: int = 40, *, challenger_skill: float, seed: int = 0) -> pd.DataFrame:
    """A shared window: outcomes at random, the champion's probabilities noise, the challenger's tilted towards
    the outcome by `challenger_skill` (negative: away from it)."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2025-03-03", periods=dates).date
    frame = pd.DataFrame(
        {
            "trade_date": np.repeat(days, tickers),
            "ticker": np.tile([f"T{i:02d}" for i in range(tickers)], dates),
            "outcome": rng.integers(0, 2, dates * tickers),
        }
    )
    frame["outcome_return"] = np.where(frame["outcome"] == 1, 0.01, -0.01) + rng.normal(0, 0.02, len(frame))
    frame["champion_probability"] = 0.5 + rng.normal(0, 0.05, len(frame))
    frame["challenger_probability"] = (
        0.5 + challenger_skill * (frame["outcome"] - 0.5) + rng.normal(0, 0.05, len(frame))
    ).clip(0.01, 0.99)
    return frame


def test_a_challenger_is_promoted_only_when_it_beats_the_champion_on_the_shared_window():
    better = compare(shared_rows(SHADOW_DAYS, challenger_skill=0.05), horizon=5)
    assert better is not None and better.challenger_wins
    assert better.challenger["auc"] > better.champion["auc"] and better.daily_difference > 0
    assert better.dates == SHADOW_DAYS and better.rows == SHADOW_DAYS * 40
    assert f"{better.challenger['auc']:.4f}" in better.reason()

    worse = compare(shared_rows(SHADOW_DAYS, challenger_skill=-0.05), horizon=5)
    assert worse is not None and not worse.challenger_wins and worse.daily_difference < 0

    # A tie keeps the champion: the challenger must be better, not as good.
    tie = shared_rows(SHADOW_DAYS, challenger_skill=0.0)
    tie["challenger_probability"] = tie["champion_probability"]
    tied = compare(tie, horizon=5)
    assert tied is not None and tied.challenger["auc"] == tied.champion["auc"] and not tied.challenger_wins

    # Until both models have SHADOW_DAYS resolved trade dates in common, nothing is decided.
    assert compare(shared_rows(SHADOW_DAYS - 1, challenger_skill=0.05), horizon=5) is None


def live(auc: float, se: float, dates: int = 60) -> dict:
    return {"auc": auc, "auc_se": se, "dates": dates}


def test_live_performance_counts_as_degraded_only_when_significantly_below_the_test_window():
    test = {"auc": 0.60, "auc_se": 0.01}
    assert degraded(test, live(0.55, 0.01)) is not None  # 3.5 s.e. below
    assert "3.5 s.e. below" in degraded(test, live(0.55, 0.01))
    assert degraded(test, live(0.58, 0.01)) is None  # 1.4 s.e.: noise
    assert degraded(test, live(0.65, 0.01)) is None  # better than its test window
    assert degraded(test, live(0.50, 0.01, dates=SHADOW_DAYS - 1)) is None  # too few resolved dates yet
    assert degraded(test, None) is None
    assert degraded({"auc": None, "auc_se": None}, live(0.4, 0.01)) is None


def drift_check(triggered: bool) -> DriftCheck:
    return DriftCheck(
        day=dt.date(2025, 3, 3),
        window_first=dt.date(2025, 1, 21),
        rows=1000,
        features=pd.DataFrame({"feature": ["a"], "drifted": [triggered]}),
        drifted_share=1.0 if triggered else 0.0,
        triggered=triggered,
    )


def test_the_retrain_modes_and_one_challenger_at_a_time():
    calm, drifted = drift_check(False), drift_check(True)
    assert retrain_reason("auto", calm, None, []) is None
    assert retrain_reason("auto", drifted, None, []).startswith("drift: 100%")
    assert retrain_reason("auto", calm, "live AUC 0.5", []) == "performance: live AUC 0.5"
    assert retrain_reason("auto", drifted, "live AUC 0.5", ["x"]) is None  # a challenger is in shadow
    assert retrain_reason("always", calm, None, []) == "--retrain always"
    assert retrain_reason("always", calm, None, ["x"]) is None
    assert retrain_reason("never", drifted, "live AUC 0.5", []) is None
    with pytest.raises(ValueError, match="unknown retrain mode"):
        retrain_reason("sometimes", calm, None, [])


# ---------------------------------------------------------------------------------------- the registry


def add_model(connection: duckdb.DuckDBPyConnection, model_id: str, created: str) -> None:
    connection.execute(
        "insert into ml.models values (?, ?, ?, 'v1', 'f', 7, 'cpu', 'cpu', '[]', '{}', '{}', '{}', '{}', 1.0)",
        [model_id, model_id, created],
    )


def test_the_champion_is_the_last_model_made_champion_and_statuses_keep_their_reasons(tmp_path):
    with duckdb.connect(str(tmp_path / "registry.duckdb")) as connection:
        create_tables(connection, "ml")
        add_model(connection, "a", "2025-01-01")
        add_model(connection, "b", "2025-02-01")
        # A store from before statuses: the newest model.
        assert champion_id(connection) == "b"
        day = dt.date(2025, 3, 3)
        record_status(connection, "a", StatusChange("champion", day, "ml.train", "trained"))
        assert champion_id(connection) == "a"  # and b, the champion before it, is retired
        add_model(connection, "c", "2025-03-03")
        record_status(connection, "c", StatusChange("challenger", day, "daily", "drift"))
        assert champion_id(connection) == "a" and models_with_status(connection, "challenger") == ["c"]
        record_status(connection, "c", StatusChange("champion", day, "daily", "beat a"))
        assert champion_id(connection) == "c"
        assert current_statuses(connection) == {"a": "retired", "b": "retired", "c": "champion"}
        retired = connection.execute("select reason from ml.model_status where model_id = 'a' and status = 'retired'")
        assert retired.fetchall() == [("replaced by c",)]
        assert models_with_status(connection, "challenger") == []
        with pytest.raises(ValueError, match="unknown status"):
            StatusChange("winner", day, "daily", "?")


def test_the_monitoring_report_of_a_store_without_a_daily_log_is_a_one_line_error(tmp_path):
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as connection:
        with pytest.raises(MLError, match="no daily log: run `python -m ml.daily`"):
            read_log(connection)
        create_tables(connection, "ml")
        with pytest.raises(MLError, match="no daily log"):
            read_log(connection)


# ----------------------------------------------------------------------------------- in the routine


@pytest.mark.slow
def test_the_routine_trains_a_challenger_scores_it_in_shadow_and_judges_it(small_trained_store, tmp_path, monkeypatch):
    monkeypatch.setattr(retraining, "SHADOW_DAYS", 8)  # a 30-stock store's test window holds a few weeks
    db_path = tmp_path / "store.duckdb"
    shutil.copy(small_trained_store[0], db_path)
    summary = small_trained_store[1]
    after = summary.splits["calibration"]["last_date"]
    dates = read(db_path, "select distinct trade_date from marts.fct_features where trade_date > ? order by 1", after)
    days = [day.date() for day in pd.to_datetime(dates["trade_date"])]
    models = ModelCache()

    first = run_job(run_day, db_path, days[0], retrain="always", models=models)
    # Re-running the day forgets the challenger it trained and trains it again: one challenger, not two.
    first = run_job(run_day, db_path, days[0], retrain="always", models=models)
    challenger = first.trained_model_id
    assert first.model_id == summary.model_id and challenger is not None
    statuses = read(db_path, "select model_id, status, effective_date, source, reason from ml.model_status")
    assert len(read(db_path, "select * from ml.models")) == 2
    assert run_job(models_with_status, db_path, "challenger") == [challenger]
    row = statuses.set_index("model_id").loc[challenger]
    assert row["source"] == "daily" and row["reason"] == f"trained on the labels known by {days[0]}: --retrain always"
    # It was trained on exactly the rows whose label was known by the day.
    stored = read(db_path, "select data_fingerprint, params from ml.models where model_id = ?", challenger)
    known = run_job(load_training_examples, db_path, known_before=days[0] + dt.timedelta(days=1))
    assert stored["data_fingerprint"].item() == known.fingerprint()
    assert pd.to_datetime(known.frame["label_known_date"]).max().date() <= days[0]

    decided = None
    for day in days[1:]:
        result = run_job(run_day, db_path, day, retrain="never", models=models)
        if result.decision is not None:
            decided = result
            break
        assert result.model_id == summary.model_id and result.shadow_model_id == challenger
    assert decided is not None, "no decision within the test window"

    # Both models scored every shadow day, the same tickers; the decision came on the first day they had
    # SHADOW_DAYS resolved trade dates in common, and agrees with the AUCs of those rows.
    predictions = read(db_path, "select * from ml.predictions where trade_date < ?", decided.day)
    counts = predictions[predictions["trade_date"].dt.date > days[0]].groupby("model_id")["ticker"].count()
    assert counts[challenger] == counts[summary.model_id]
    both = predictions.pivot_table(
        index=["trade_date", "ticker"], columns="model_id", values="calibrated_probability"
    ).dropna()
    outcomes = predictions[predictions["model_id"] == challenger].set_index(["trade_date", "ticker"])
    resolved = outcomes[outcomes["resolved_on"].notna()]
    shared = both.loc[both.index.isin(resolved.index)]
    shared_dates = shared.index.get_level_values("trade_date")
    assert shared_dates.nunique() >= retraining.SHADOW_DAYS
    shared = shared[shared_dates >= sorted(shared_dates.unique())[-retraining.SHADOW_DAYS]]
    labels = resolved.loc[shared.index, "outcome"]
    auc_challenger = roc_auc_score(labels, shared[challenger])
    auc_champion = roc_auc_score(labels, shared[summary.model_id])
    assert decided.decision.promoted == (auc_challenger > auc_champion)
    assert f"AUC {auc_challenger:.4f} vs the champion's {auc_champion:.4f}" in decided.decision.reason

    statuses = run_job(current_statuses, db_path)
    runs = read(db_path, "select model_id from ml.daily_runs where run_date = ?", decided.day)
    if decided.decision.promoted:
        assert statuses == {challenger: "champion", summary.model_id: "retired"}
        assert decided.model_id == challenger == runs["model_id"].item()
    else:
        assert statuses[challenger] == "rejected" and run_job(champion_id, db_path) == summary.model_id
        assert decided.model_id == summary.model_id == runs["model_id"].item()
    # After the decision only the champion scores.
    today = read(db_path, "select distinct model_id from ml.predictions where trade_date = ?", decided.day)
    assert today["model_id"].tolist() == [decided.model_id]

    # The monitoring report shows the log: the champion's calls only, its reliability, drift, the events.
    log = read_job(read_log, db_path)
    # The champion's calls up to the decision day are resolved; none of the decision day's is yet.
    calls = read(
        db_path,
        "select count(*) as n from ml.predictions where model_id = ? and resolved_on is not null",
        summary.model_id,
    )["n"].item()
    assert len(log.resolved) == calls > 0 and set(log.resolved["model_id"]) == {summary.model_id}
    bins = reliability(log.resolved)
    assert bins.groupby("probability")["rows"].sum().tolist() == [len(log.resolved)] * 2
    path = run_job(write_report, db_path, str(db_path), tmp_path / "reports" / "monitoring.html")
    page = path.read_text()
    for section in ("Live performance over time", "Live reliability", "Drift over time", "Retrain events"):
        assert f"<h2>{section}</h2>" in page
    assert page.count("<svg") == 5 and challenger in page
    final = "champion" if decided.decision.promoted else "rejected"
    assert f"<td>{challenger}</td><td>{final}</td><td>daily</td>" in page
