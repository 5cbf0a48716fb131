"""A real ingest process killed in the middle of its transaction leaves the database as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest
from helpers import PROJECT_DIR, run_job

from ingest import jobs

pytestmark = pytest.mark.slow


def snapshot(db_path) -> dict[str, object]:
    with duckdb.connect(str(db_path), read_only=True) as connection:
        return {
            table: connection.execute(f"select count(*), sum(hash(columns(*))) from raw.{table}").fetchall()
            for table in ("prices", "sentiment", "earnings", "analyst_actions", "insider_trades", "rejects")
        }


def test_killing_an_ingest_mid_transaction_changes_nothing(db_path):
    run_job(jobs.ingest_synthetic, db_path, seed=1, years=1, n_tickers=5)
    before = snapshot(db_path)

    # A bigger, different market, so the killed run would have changed almost every table.
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest", "synthetic", "--seed", "2", "--n-tickers", "300", "--db", str(db_path)],
        cwd=PROJECT_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    deadline = time.monotonic() + 240
    for line in process.stderr:
        seen.append(line)
        if "upserting prices" in line:  # printed after BEGIN, before the first write
            os.kill(process.pid, signal.SIGKILL)
            break
        assert time.monotonic() < deadline, "the ingest never reached its write"
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "".join(seen)

    assert snapshot(db_path) == before
    with duckdb.connect(str(db_path), read_only=True) as connection:
        statuses = connection.execute("select status from raw.ingest_runs order by started_at").fetchall()
    assert statuses == [("success",), ("running",)]

    run_job(jobs.ingest_synthetic, db_path, seed=1, years=1, n_tickers=5)
    assert snapshot(db_path) == before
    with duckdb.connect(str(db_path), read_only=True) as connection:
        statuses = connection.execute("select status from raw.ingest_runs order by started_at").fetchall()
    assert statuses == [("success",), ("interrupted",), ("success",)]
