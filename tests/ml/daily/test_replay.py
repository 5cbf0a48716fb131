"""Replaying a past period (ml/daily/replay.py) and the command's usage errors."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest
from daily_helpers import calibration_end, feature_days
from helpers import dbt_build, read, run_job, run_module

from ml.daily.replay import copy_store, replay
from ml.daily.routine import ModelCache, run_day

pytestmark = pytest.mark.slow


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
    # Rebuilt from raw without the data tests: the claim is what the routine writes (tests/dbt's truncated store
    # runs them on a store cut the same way).
    result = dbt_build(truncated, tmp_path, "--full-refresh", data_tests=False)
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
