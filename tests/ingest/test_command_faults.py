"""Faults a user meets at the command line of `python -m ingest`: settings a source cannot work with, and a
disk that fills up while the run writes. Each is one line and exit 1, and the database keeps what it held."""

from __future__ import annotations

import pytest
from helpers import one_line_error, read, run_module

pytestmark = pytest.mark.slow

TABLES = ("raw.prices", "raw.sentiment", "raw.earnings", "raw.analyst_actions", "raw.insider_trades", "raw.rejects")


def counts(db_path) -> dict[str, int]:
    return {table: int(read(db_path, f"select count(*) as n from {table}")["n"].item()) for table in TABLES}


def test_a_synthetic_market_too_short_to_label_is_one_line(db_path):
    message = one_line_error(run_module("ingest", "synthetic", "--years", "0.001", "--db", str(db_path)))
    assert "cover only 1 business day" in message and "ask for more years" in message


def test_a_disk_that_fills_up_during_the_write_leaves_the_data_as_it_was(db_path):
    small = run_module("ingest", "synthetic", "--n-tickers", "3", "--years", "0.5", "--db", str(db_path))
    assert small.returncode == 0, small.stderr[-2000:]
    before = counts(db_path)
    # Room for the run log's row, not for three years of 155 tickers.
    limit = db_path.stat().st_size + 64 * 1024
    full = run_module("ingest", "synthetic", "--years", "3", "--db", str(db_path), file_size_limit=limit)
    message = one_line_error(full)
    assert "filled up during the write" in message and "as it was before this command" in message
    assert counts(db_path) == before
    # The next run (with room) loads, and records the failed one as interrupted.
    again = run_module("ingest", "synthetic", "--n-tickers", "3", "--years", "0.5", "--seed", "5", "--db", str(db_path))
    assert again.returncode == 0, again.stderr[-2000:]
    statuses = read(db_path, "select status from raw.ingest_runs order by started_at")["status"].tolist()
    assert statuses == ["success", "interrupted", "success"]
