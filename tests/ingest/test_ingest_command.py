"""`python -m ingest` follows the command-line convention: exit 0 / 1 / 2 / 130, one-line errors, Ctrl-C leaves
the database as it was, and names that come from data are printed literally."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import duckdb
import pytest
from helpers import PROJECT_DIR, one_line_error, run_job, run_module

from ingest import jobs
from ingest.cli import build_parser

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"
ROWS = "2020-01-02,10,11,9,10.5,10.4,100\n2020-01-03,10,11,9,10.6,10.5,100\n2020-01-06,10,8,9,10.5,10.4,100\n"


def test_a_run_exits_0_and_prints_its_summary(db_path):
    result = run_module("ingest", "synthetic", "--n-tickers", "3", "--years", "0.5", "--db", str(db_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(balanced)" in result.stdout and "rows read" in result.stdout
    listed = run_module("ingest", "runs", "--last", "1", "--db", str(db_path))
    assert listed.returncode == 0 and "synthetic" in listed.stdout and "success" in listed.stdout


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--db", "before.duckdb", "synthetic"], "before.duckdb"),
        (["synthetic", "--db", "after.duckdb"], "after.duckdb"),
        (["--db", "before.duckdb", "runs", "--db", "after.duckdb"], "after.duckdb"),
        (["synthetic"], None),
    ],
)
def test_db_is_kept_before_or_after_the_source(arguments, expected):
    assert build_parser().parse_args(arguments).db == expected


@pytest.mark.parametrize(
    "arguments",
    [
        ("synthetic", "--n-tickers", "-5"),
        ("synthetic", "--years", "0"),
        ("synthetic", "--seed", "-1"),
        ("synthetic", "--tickers", "5"),  # a count is --n-tickers; --tickers is a list, and not for synthetic
        ("runs", "--last", "-1"),
        ("yfinance", "--chunk-size", "0"),
        ("yfinance", "--start", "2020-02-30"),
        ("csv",),
        ("nonsense",),
    ],
)
def test_bad_arguments_are_usage_errors(db_path, arguments):
    result = run_module("ingest", *arguments, "--db", str(db_path))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "usage: python -m ingest" in result.stderr
    assert not db_path.exists()


def test_a_failed_run_is_one_line_and_exit_1(tmp_path):
    missing = one_line_error(run_module("ingest", "csv", str(tmp_path / "none" / "*.csv")), 1)
    assert "No price files found" in missing
    directory = one_line_error(run_module("ingest", "synthetic", "--db", str(tmp_path)), 1)
    assert "is not a DuckDB database (it is a directory)" in directory
    not_duckdb = tmp_path / "prices.csv"
    not_duckdb.write_text(HEADER + ROWS)
    line = one_line_error(run_module("ingest", "synthetic", "--db", str(not_duckdb)), 1)
    assert "is not a DuckDB database" in line and not_duckdb.read_text() == HEADER + ROWS


def test_a_markup_looking_file_name_is_printed_literally(tmp_path, db_path):
    folder = tmp_path / "prices["
    folder.mkdir()
    (folder / "]2020.csv").write_text(HEADER + ROWS)
    (folder / "[bold]x[red].csv").write_text("Date,Close\n2020-01-02,1\n")  # missing columns: listed by name
    name = f"{tmp_path}/prices[/]2020.csv"
    result = run_module("ingest", "csv", name, str(folder / "[bold]x[red].csv"), "--db", str(db_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert f"reading {name}" in result.stderr  # the stage line, as given
    assert "[bold]x[red].csv is missing required column(s)" in result.stdout
    # "]2020" is not a ticker: its rows are quarantined, under the file name exactly as given.
    assert "rejected prices: bad_ticker 3" in result.stdout
    with duckdb.connect(str(db_path), read_only=True) as connection:
        rejected = connection.execute("select distinct source_file, rule from raw.rejects order by rule").fetchall()
    assert rejected == [(name, "bad_ticker"), (str(folder / "[bold]x[red].csv"), "missing_required_columns")]


def snapshot(db_path) -> dict:
    with duckdb.connect(str(db_path), read_only=True) as connection:
        return {
            table: connection.execute(f"select count(*), sum(hash(columns(*))) from raw.{table}").fetchall()
            for table in ("prices", "sentiment", "earnings", "analyst_actions", "insider_trades", "rejects")
        }


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["generating the synthetic market", "upserting prices"])
def test_ctrl_c_exits_130_with_one_line_and_leaves_the_database_as_it_was(db_path, stage):
    run_job(jobs.ingest_synthetic, db_path, seed=1, years=1, n_tickers=5)
    before = snapshot(db_path)
    command = [sys.executable, "-m", "ingest", "synthetic", "--seed", "2", "--n-tickers", "300", "--db", str(db_path)]
    process = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen, deadline = [], time.monotonic() + 240
    for line in process.stderr:
        seen.append(line)
        if stage in line:
            process.send_signal(signal.SIGINT)
            break
        assert time.monotonic() < deadline, "the ingest never reached the stage"
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 130, "".join(seen) + rest
    assert "Traceback" not in rest
    assert rest.strip().splitlines()[-1].startswith("interrupted: nothing from this run was loaded")
    assert snapshot(db_path) == before
    with duckdb.connect(str(db_path), read_only=True) as connection:
        statuses = connection.execute("select status from raw.ingest_runs order by started_at").fetchall()
    assert statuses == [("success",), ("interrupted",)]


class _CommitThenInterrupt:
    """A connection whose COMMIT is followed (or preceded) by a Ctrl-C: the signal landing during the commit,
    after DuckDB finished it or before it began. Everything else goes to the real connection."""

    def __init__(self, connection, after: bool):
        self._connection, self._after, self._commits = connection, after, 0

    def __getattr__(self, name):
        return getattr(self._connection, name)

    def execute(self, sql, *args):
        if sql.strip().lower() != "commit":
            return self._connection.execute(sql, *args)
        self._commits += 1
        if self._commits == 1:  # the run's 'running' row commits on its own first; the load is the second commit
            return self._connection.execute(sql, *args)
        if self._after:
            self._connection.execute(sql, *args)
        raise KeyboardInterrupt


@pytest.mark.slow
@pytest.mark.parametrize(
    ("where", "committed"),
    [
        ("validating prices", False),
        ("writing to the store", False),
        ("upserting prices", False),
        ("upserting insider_trades", False),
        ("before the commit", False),
        ("after the commit", True),
        ("printing the summary", True),
    ],
)
def test_a_ctrl_c_at_any_point_of_the_write_says_what_it_left(db_path, tmp_path, monkeypatch, capsys, where, committed):
    """Interrupted at every point of the write, the commit included: the rows and the run's status commit
    together, and the one line says whether this run's rows were loaded (the issue: a Ctrl-C just after the
    commit said nothing was loaded while every row was)."""
    import ingest.cli
    from cli.console import Terminal

    run_job(jobs.ingest_synthetic, db_path, seed=1, years=1, n_tickers=5)
    before = snapshot(db_path)
    if where in ("before the commit", "after the commit"):
        real_connect = ingest.cli.connect

        def connect(path, read_only=False):
            connection = real_connect(path, read_only=read_only)
            return connection if read_only else _CommitThenInterrupt(connection, after=where.startswith("after"))

        monkeypatch.setattr(ingest.cli, "connect", connect)
    elif where == "printing the summary":

        def interrupted_summary(*_args):
            raise KeyboardInterrupt

        monkeypatch.setattr(ingest.cli, "print_summary", interrupted_summary)
    else:
        say = Terminal.say

        def say_then_interrupt(self, message):
            say(self, message)
            if message.startswith(where):
                raise KeyboardInterrupt

        monkeypatch.setattr(Terminal, "say", say_then_interrupt)

    arguments = ["synthetic", "--seed", "2", "--years", "1", "--n-tickers", "8", "--db", str(db_path)]
    assert ingest.cli.main(arguments) == 130
    last = capsys.readouterr().err.strip().splitlines()[-1]
    with duckdb.connect(str(db_path), read_only=True) as connection:
        runs = connection.execute("select run_id, status, rows_loaded from raw.ingest_runs order by started_at")
        runs = runs.fetchall()
    assert len(runs) == 2
    run_id, status, loaded = runs[-1]
    if committed:
        assert status == "success" and loaded > 0
        assert snapshot(db_path) != before
        assert last == (
            f"interrupted: the load had already committed: run {run_id} loaded {loaded:,} rows (0 rejected), as "
            "`python -m ingest runs` shows; nothing was undone."
        )
    else:
        assert status == "interrupted"
        assert snapshot(db_path) == before
        assert last.startswith("interrupted: nothing from this run was loaded (its transaction was rolled back)")
