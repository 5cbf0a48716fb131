"""Loading into the warehouse: idempotent upserts, the run log, rollback on failure, lock errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from helpers import run_job

from ingest import jobs, load
from ingest.cli import main
from store import DatabaseLockedError, connect, create_tables

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"
GOOD = "2020-01-02,10,11,9,10.5,10.4,100\n2020-01-03,10,11,9,10.6,10.5,100\n"
BAD = "2020-01-06,10,8,9,10.5,10.4,100\n2020-01-07,10,11,9,10.5,10.4,-1\n2020-01-03,10,11,9,10.6,10.5,100\n"


def snapshot(db_path: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(db_path), read_only=True) as connection:
        return {
            table: connection.execute(f"select * from raw.{table} order by all").fetchall()
            for table in ("prices", "rejects", "sentiment", "earnings", "analyst_actions", "insider_trades")
        }


def runs(db_path: Path) -> list[tuple]:
    with duckdb.connect(str(db_path), read_only=True) as connection:
        return connection.execute(
            "select status, rows_read, rows_loaded, rows_rejected, rows_inserted, rows_updated, rows_unchanged "
            "from raw.ingest_runs order by started_at"
        ).fetchall()


@pytest.fixture
def price_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "prices"
    folder.mkdir()
    (folder / "AAA.csv").write_text(HEADER + GOOD + BAD)
    (folder / "BBB.csv").write_text(HEADER + GOOD)
    return folder


def test_counts_balance_and_bad_rows_are_quarantined(db_path, price_dir):
    summary = run_job(jobs.ingest_files, db_path, [str(price_dir)])
    assert (summary.rows_read, summary.rows_loaded, summary.rows_rejected) == (7, 4, 3)
    assert summary.datasets[0].reject_rules == {"high_below_low": 1, "negative_volume": 1, "duplicate_key": 1}
    with duckdb.connect(str(db_path), read_only=True) as connection:
        rejects = connection.execute(
            "select rule, source_file, line_number from raw.rejects order by line_number"
        ).fetchall()
    assert [(rule, Path(file).name, line) for rule, file, line in rejects] == [
        ("high_below_low", "AAA.csv", 4),
        ("negative_volume", "AAA.csv", 5),
        ("duplicate_key", "AAA.csv", 6),
    ]


def test_loading_the_same_input_twice_leaves_the_tables_identical(db_path, price_dir):
    run_job(jobs.ingest_files, db_path, [str(price_dir)])
    before = snapshot(db_path)
    second = run_job(jobs.ingest_files, db_path, [str(price_dir)])
    assert snapshot(db_path) == before
    assert (second.datasets[0].rows_inserted, second.datasets[0].rows_unchanged) == (0, 4)
    assert runs(db_path) == [("success", 7, 4, 3, 4, 0, 0), ("success", 7, 4, 3, 0, 0, 4)]


def test_a_changed_value_replaces_the_row_and_records_the_run(db_path, price_dir):
    run_job(jobs.ingest_files, db_path, [str(price_dir)])
    (price_dir / "BBB.csv").write_text(HEADER + GOOD.replace("10.6,10.5", "10.7,10.6"))
    summary = run_job(jobs.ingest_files, db_path, [str(price_dir)])
    assert (summary.datasets[0].rows_inserted, summary.datasets[0].rows_updated) == (0, 1)
    with duckdb.connect(str(db_path), read_only=True) as connection:
        close, run_id = connection.execute(
            "select close, run_id from raw.prices where ticker = 'BBB' and trade_date = '2020-01-03'"
        ).fetchone()
    assert close == 10.7 and run_id == summary.run_id


def test_a_failure_during_the_write_rolls_everything_back(db_path, price_dir, monkeypatch):
    run_job(jobs.ingest_files, db_path, [str(price_dir)])
    before = snapshot(db_path)
    (price_dir / "CCC.csv").write_text(HEADER + GOOD)

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(load, "_insert_results", explode)  # runs after the upsert, inside the transaction
    with pytest.raises(RuntimeError, match="disk on fire"):
        run_job(jobs.ingest_files, db_path, [str(price_dir)])
    assert snapshot(db_path) == before
    with duckdb.connect(str(db_path), read_only=True) as connection:
        status, message = connection.execute(
            "select status, message from raw.ingest_runs order by started_at desc limit 1"
        ).fetchone()
    assert status == "failed" and "disk on fire" in message


def test_a_run_left_running_is_marked_interrupted_by_the_next(db_path, price_dir):
    connection = connect(db_path)
    create_tables(connection, "raw")
    connection.execute(
        "insert into raw.ingest_runs (run_id, source, started_at, status) values ('dead', 'csv', now(), 'running')"
    )
    connection.close()
    run_job(jobs.ingest_files, db_path, [str(price_dir)])
    with duckdb.connect(str(db_path), read_only=True) as connection:
        assert connection.execute("select status from raw.ingest_runs where run_id = 'dead'").fetchone() == (
            "interrupted",
        )


def test_missing_file_is_one_line_error_from_the_cli(db_path, tmp_path, capsys):
    code = main(["csv", str(tmp_path / "nope" / "*.csv"), "--db", str(db_path)])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.startswith("error: No price files found") and "\n" not in err


def test_a_database_held_by_another_process_gives_one_clear_line(db_path, price_dir, capsys):
    holder_code = textwrap.dedent(
        f"""
        import duckdb, sys, time
        connection = duckdb.connect({str(db_path)!r})
        print("holding", flush=True)
        sys.stdin.read()
        """
    )
    db_path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", holder_code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(DatabaseLockedError, match="is in use by another process") as raised:
            connect(db_path)
        # DuckDB 2 names the holding program and its PID: the message passes both on.
        assert raised.value.pid == holder.pid and raised.value.program
        assert f"PID {holder.pid}" in str(raised.value)
        code = main(["csv", str(price_dir), "--db", str(db_path)])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1
        assert err[-1].startswith(f"error: The database {db_path} is in use by another process (")
        assert f"PID {holder.pid}" in err[-1] and "try again" in err[-1]
    finally:
        holder.communicate("", timeout=30)
