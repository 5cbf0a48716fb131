"""Test helpers: project paths, the shared real data (if present), and running the commands (`python -m ...`, dbt)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
import resource
import runpy
import shutil
import signal
import subprocess
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

PROJECT_DIR = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_DIR.parent / "shared" / "data"
SP500_DIR = SHARED_DATA / "sp500_2015_2020"
MARKET_DIR = SHARED_DATA / "market_2009_2019"

#: tests/dbt's `truncated_store` drops every price after this date.
TRUNCATION_CUTOFF = dt.date(2024, 6, 28)

needs_shared_data = pytest.mark.skipif(
    not SP500_DIR.is_dir() or not MARKET_DIR.is_dir(), reason="../shared/data is not present"
)


def run_job(job, db_path: Path, *args, **kwargs):
    """Run a job that takes the store's connection first (`ingest.jobs.ingest_*`, `ml.train.pipeline.train_model`, ...)
    on its own read-write connection to `db_path`, as the command line does."""
    import store

    connection = store.connect(db_path)
    try:
        return job(connection, *args, **kwargs)
    finally:
        connection.close()


def read_job(job, db_path: Path, *args, **kwargs):
    """`run_job` on a read-only connection (for readers such as `ml.backtest.analysis.run_edge_analysis`)."""
    import store

    connection = store.connect(db_path, read_only=True)
    try:
        return job(connection, *args, **kwargs)
    finally:
        connection.close()


def run_module(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    file_size_limit: int | None = None,
    own_process: bool = False,
) -> subprocess.CompletedProcess:
    """Run `python -m MODULE ARGS` from the project root, capturing its output and exit status.

    The command runs in this process (`_module_in_process`): the same `__main__` that `python -m` runs, without
    starting a Python and importing the command's libraries each time (great_expectations alone takes 2 s of a
    small ingest's 4 s). `own_process=True` starts a child Python instead, for a test whose claim is about the
    process: another process's lock on the store, or `timeout`. `file_size_limit` (bytes) always starts one and
    makes its disk look full: a write past that size of any file fails with EFBIG ('File too large'), as a full
    disk fails with ENOSPC, without needing a small filesystem."""
    environment = {**os.environ, **(env or {})}
    if not own_process and file_size_limit is None:
        return _module_in_process(args, environment)
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=None if file_size_limit is None else lambda: _limit_file_size(file_size_limit),
    )


@contextlib.contextmanager
def _as_a_child(cwd: Path, environment: dict[str, str]):
    """While the block runs, this process has the working folder `cwd` and exactly `environment`, as a child
    started there with that environment would; both are restored after."""
    saved_environment, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(environment)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environment)


def _module_in_process(args: tuple[str, ...], environment: dict[str, str]) -> subprocess.CompletedProcess:
    """`python -m MODULE ARGS` run in this process, from the project root with exactly `environment`, as a
    `CompletedProcess` with what it printed and its exit status.

    The module runs as `python -m` runs it (`runpy`, `__name__ == "__main__"`, `sys.argv`), its `sys.exit`
    status is the exit status, and an exception it does not handle prints its traceback on stderr with status
    1, as Python does. What it prints through `sys.stdout` and `sys.stderr` is captured (every line the
    commands print goes there); warnings are shown on its stderr under Python's default filters, as in a child,
    and not collected by pytest. Ctrl-C is not caught: a test that interrupts a command starts one."""
    module, *rest = args
    stdout, stderr = io.StringIO(), io.StringIO()
    saved_argv = sys.argv
    sys.argv = [module, *rest]
    status = 0
    with (
        _as_a_child(PROJECT_DIR, environment),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
        warnings.catch_warnings(),
    ):
        _python_default_warnings()
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        except SystemExit as stop:
            status = _exit_status(stop.code)
        except Exception:
            traceback.print_exc()
            status = 1
        finally:
            sys.argv = saved_argv
    return subprocess.CompletedProcess([sys.executable, "-m", *args], status, stdout.getvalue(), stderr.getvalue())


def _python_default_warnings() -> None:
    """Python's default warning filters and display (on `sys.stderr`), as a child started without -W has them."""
    warnings.resetwarnings()
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__", append=True)
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.filterwarnings("ignore", category=category, append=True)

    def show(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = show


def _exit_status(code) -> int:
    """The exit status of `sys.exit(code)`: 0 for None, the number, or 1 after printing anything else."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _limit_file_size(limit: int) -> None:
    """In a child before exec: writes past `limit` bytes fail with EFBIG instead of killing it with SIGXFSZ
    (an ignored signal stays ignored across exec)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def one_line_error(result: subprocess.CompletedProcess, status: int = 1) -> str:
    """The one `error: ...` line a failed command printed, after checking its exit status and that no
    traceback was shown."""
    assert result.returncode == status, result.stderr[-3000:]
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("error:"), result.stderr[-3000:]
    return lines[-1]


def shared_folder(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder `name`, filled by `build(folder)` once per test run and shared by every pytest-xdist worker.

    The first worker that asks builds it while the others wait for it; a build that fails leaves nothing, so the
    next worker to ask tries again (and fails the same way). Tests only read what is in it: one that writes copies
    the file first (a DuckDB file copies in milliseconds, a dbt build takes seconds)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # each worker's base folder is inside the run's
    folder = root / "shared" / name
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        done = folder / ".built"
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


def private_copy(store: Path, folder: Path) -> Path:
    """A copy of the shared store `store` in `folder`, for a test whose process opens it read-write (any dbt
    command, even `show`, `compile` or `docs generate`; a command line): a process that holds a DuckDB file
    read-write keeps every other process from reading it, so a shared store is only ever opened read-only."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / store.name
    shutil.copyfile(store, copy)
    return copy


#: What dbt parses: a change to any of these makes a new parse.
DBT_PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "selectors.yml", "models", "macros", "seeds", "data_tests")


def _project_digest() -> str:
    digest = hashlib.sha256()
    for name in DBT_PROJECT_FILES:
        path = PROJECT_DIR / name
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file():
                digest.update(str(file.relative_to(PROJECT_DIR)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def _parse_once(database_name: str, environment: dict[str, str]) -> Path:
    """A `partial_parse.msgpack` of the project as it is now, for a database file called `database_name` in the
    current folder (build/test-dbt-parse/, made once and reused by every test run until a project file changes).

    dbt parses the whole project (about 5 s) unless its target folder holds a parse made with the same profile,
    vars and project files; the profile includes the database path, so tests run dbt next to the database and
    name the file relatively. dbt still checks every file's hash, so a stale parse is never used."""
    folder = (
        PROJECT_DIR
        / "build"
        / "test-dbt-parse"
        / f"{_project_digest()}-{hashlib.sha256(database_name.encode()).hexdigest()[:8]}"
    )
    parsed = folder / "target" / "partial_parse.msgpack"
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if not parsed.exists():
            arguments = _dbt_arguments(("parse",), folder / "target", folder / "logs")
            result = _dbt_in_process(arguments, folder, {**environment, "FEATURE_STORE_DB": database_name})
            assert result.returncode == 0, result.stdout[-4000:]
    return parsed


def _dbt_arguments(args, target: Path, logs: Path) -> list[str]:
    """`args` for the project, with dbt's target/ and logs/ folders."""
    project = ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
    return [*args, *project, "--target-path", str(target), "--log-path", str(logs)]


def _dbt_in_process(arguments: list[str], cwd: Path, environment: dict[str, str]) -> subprocess.CompletedProcess:
    """`dbt ARGUMENTS` run in this process by dbt's own runner (`dbt.cli.main.dbtRunner`), in `cwd` with exactly
    `environment`, as a `CompletedProcess` with what the `dbt` command would print and its exit status.

    The same code as the command line from click's parsing on (the `dbt` script is `dbt.cli.main:cli`), without
    starting a Python and importing dbt each time (about 3 s of a small build's 10 s). dbt prints its lines to
    `sys.stdout`, taken when it sets up its logger, so they are captured here; a usage error goes to stderr
    with exit status 2, as click does. dbt-duckdb keeps its DuckDB database open in a class attribute between
    runs of one process: it is closed after every run, as the command's exit closes it, so no file stays held
    and no setting (e.g. $FEATURE_STORE_MEMORY_LIMIT) carries over to the next run."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.exceptions import DbtUsageException
    from dbt.cli.main import dbtRunner

    stdout = io.StringIO()
    with _as_a_child(cwd, environment), contextlib.redirect_stdout(stdout):
        try:
            result = dbtRunner().invoke(list(arguments))
        finally:
            duck = DuckDBConnectionManager._ENV
            DuckDBConnectionManager._ENV = None
            if duck is not None:
                duck.close()
    stderr = ""
    if result.success:
        status = 0
    elif isinstance(result.exception, DbtUsageException):
        status, stderr = 2, f"Error: {result.exception}\n"
    else:
        status = 1 if result.exception is None else 2
    return subprocess.CompletedProcess(["dbt", *arguments], status, stdout.getvalue(), stderr)


def run_dbt(
    db_path: Path,
    folder: Path,
    *args: str,
    timeout: float = 900,
    env: dict[str, str] | None = None,
    absolute: bool = False,
    own_process: bool = False,
) -> subprocess.CompletedProcess:
    """Run `dbt ARGS` on the project against `db_path`, with target/ and logs/ under `folder` (and `env` added).

    dbt runs in the database's folder with FEATURE_STORE_DB naming the file relatively, so that it can start
    from a parse made once (see `_parse_once`); `absolute=True` runs it from the project root with the
    absolute path instead, as a user would, for tests whose claim is about the path or the messages naming it.

    dbt runs in this process (`_dbt_in_process`), which saves starting a Python and importing dbt each time;
    `own_process=True` starts the `dbt` command instead, for a run that must not stay in the test's process
    (the Spark target starts a JVM) or that may need `timeout`."""
    # dbt writes its file log at debug level by default, which costs a quarter of a small build; info keeps the
    # log readable and the run's output is unchanged.
    environment = {"DBT_LOG_LEVEL_FILE": "info", **os.environ, **(env or {})}
    target = folder / "target"
    if absolute:
        cwd, database = PROJECT_DIR, str(db_path)
    else:
        cwd, database = db_path.parent, db_path.name
        target.mkdir(parents=True, exist_ok=True)
        if not (target / "partial_parse.msgpack").exists():
            shutil.copyfile(_parse_once(database, environment), target / "partial_parse.msgpack")
    arguments = _dbt_arguments(args, target, folder / "logs")
    environment = {**environment, "FEATURE_STORE_DB": database}
    if not own_process:
        return _dbt_in_process(arguments, cwd, environment)
    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *arguments],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def dbt_build(
    db_path: Path,
    folder: Path,
    *extra: str,
    absolute: bool = False,
    unit_tests: bool = False,
    data_tests: bool = True,
) -> subprocess.CompletedProcess:
    """`dbt build` of the project against `db_path`, with target/ and logs/ kept under `folder`.

    Without the dbt unit tests unless `unit_tests`: they check each model's SQL on hand-made rows, whatever the
    store holds, so they run once, in the shared synthetic store's build (and in the Spark build), rather than in
    every build a test makes (a quarter of a small store's build). `data_tests=False` leaves out the data tests
    too, for a store whose tests' claim is not the data tests, made from a synthetic market whose kind the
    shared stores' builds test (half of a small store's build: dbt spends some 35 ms on each of 239 tests)."""
    skip = () if unit_tests else ("--exclude-resource-type", "unit_test")
    skip += () if data_tests else ("--exclude-resource-type", "test")
    return run_dbt(db_path, folder, "build", *extra, *skip, absolute=absolute)


def compile_inline(sql: str, folder: Path, *extra: str) -> subprocess.CompletedProcess:
    """`dbt compile --inline SQL [EXTRA]` against a scratch database under `folder` (to check macro errors)."""
    return run_dbt(folder / "scratch.duckdb", folder, "compile", "--inline", sql, *extra, timeout=300)


def compiled_sql(sql: str, folder: Path) -> str:
    """The SQL that `dbt compile --inline SQL` makes of a Jinja snippet (e.g. a macro call)."""
    import json

    result = compile_inline(sql, folder, "--output", "json", "--quiet")
    assert result.returncode == 0, result.stdout[-4000:]
    return json.loads(result.stdout)["compiled"]


def read(db_path: Path, sql: str, *params):
    """Run a read-only query on a store and return a pandas DataFrame."""
    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as connection:
        return connection.execute(sql, list(params)).df()


def assert_features_close(
    actual, expected, columns, *, rtol: float = 1e-9, atol: float = 1e-12, keys=("ticker", "trade_date")
) -> None:
    """Same keys in the same order (after sorting) and every column within tolerance, NaN matching NaN."""
    import numpy as np
    import pandas as pd

    keys = list(keys)
    actual = actual.sort_values(keys, ignore_index=True)
    expected = expected.sort_values(keys, ignore_index=True)
    assert len(actual) == len(expected) > 0
    pd.testing.assert_frame_equal(actual[keys], expected[keys])
    for column in columns:
        np.testing.assert_allclose(
            actual[column].to_numpy(float),
            expected[column].to_numpy(float),
            rtol=rtol,
            atol=atol,
            equal_nan=True,
            err_msg=column,
        )


def assert_relations_equal(actual_db: Path, expected_db: Path, relation: str, keys=("ticker", "trade_date")) -> None:
    """`relation` holds the same rows in both stores: same columns, same keys, floats within 1e-9 (relative),
    everything else (NULLs included) equal."""
    import numpy as np
    import pandas as pd

    keys = list(keys)
    expected = read(expected_db, f"select * from {relation}").sort_values(keys, ignore_index=True)
    actual = read(actual_db, f"select * from {relation}").sort_values(keys, ignore_index=True)
    assert list(actual.columns) == list(expected.columns), relation
    assert len(actual) == len(expected) > 0, relation
    for column in expected.columns:
        if pd.api.types.is_float_dtype(expected[column]):
            np.testing.assert_allclose(
                actual[column].to_numpy(float),
                expected[column].to_numpy(float),
                rtol=1e-9,
                atol=1e-12,
                err_msg=f"{relation}.{column}",
            )
        else:
            pd.testing.assert_series_equal(actual[column], expected[column], check_names=False, obj=column)


#: The date column of each raw dataset, by which a test holds data back ("yesterday's store").
RAW_DATE_COLUMNS = {
    "prices": "trade_date",
    "sentiment": "trade_date",
    "earnings": "announce_date",
    "analyst_actions": "action_date",
    "insider_trades": "transaction_date",
}


def hold_back_raw(db_path: Path, first_held_day) -> None:
    """Delete every raw row dated `first_held_day` or later: the store as it was before those days arrived."""
    import duckdb

    with duckdb.connect(str(db_path)) as connection:
        for table, column in RAW_DATE_COLUMNS.items():
            connection.execute(f"delete from raw.{table} where {column} >= ?", [first_held_day])


def deliver_raw(db_path: Path, source_db: Path, first_day) -> None:
    """Copy the raw rows dated `first_day` or later from `source_db` into `db_path` (the days arrive)."""
    import duckdb

    with duckdb.connect(str(db_path)) as connection:
        connection.execute(f"attach '{source_db}' as source (read_only)")
        for table, column in RAW_DATE_COLUMNS.items():
            connection.execute(
                f"insert into raw.{table} select * from source.raw.{table} where {column} >= ?", [first_day]
            )


def price_input_rows(*rows: dict):
    """Price rows as a file gives them (text values), one per dict of overrides of a valid row of AAA; line
    numbers from 2 (after the header)."""
    import pandas as pd

    base = {
        "ticker": "AAA",
        "trade_date": "2024-01-02",
        "open": "10",
        "high": "11",
        "low": "9",
        "close": "10.5",
        "adj_close": "10.4",
        "volume": "1000",
        "source_file": "test.csv",
    }
    frame = pd.DataFrame([{**base, **row} for row in rows])
    frame["line_number"] = range(2, len(frame) + 2)
    return frame


def non_null_counts(db_path: Path, relation: str, columns):
    """One row: `row_count` and, per column, how many of its values are not NULL."""
    counts = ", ".join(f"count({column}) as {column}" for column in columns)
    return read(db_path, f"select count(*) as row_count, {counts} from {relation}").iloc[0]
