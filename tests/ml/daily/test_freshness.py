"""Which day `python -m ml.daily` scores (ml/daily/freshness.py): stale data is refused with one line, and the
command scores the latest day and prints its summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from helpers import one_line_error, read, run_module

import store
from ml.daily import calendar
from ml.daily.freshness import StaleDataError, day_to_score

pytestmark = pytest.mark.slow


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
