"""The store layer: opening the database, its typed errors (locked, missing, corrupt, not DuckDB, read-only),
transactions, and creating every Python-owned table (their declarations: test_tables.py)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from store import (
    DB_ENV_VAR,
    DEFAULT_DB,
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseMissingError,
    DiskFullError,
    MissingRelationError,
    NotADatabaseError,
    ReadOnlyLocationError,
    StoreError,
    connect,
    create_tables,
    database_file,
    database_path,
    is_disk_full,
    is_interrupt,
    relation_exists,
    release_memory,
    require_relation,
    transaction,
)
from store.connection import open_error
from store.tables import TABLES


def test_the_path_comes_from_the_argument_then_the_environment_then_the_default(monkeypatch, tmp_path):
    monkeypatch.delenv(DB_ENV_VAR, raising=False)
    assert database_path() == DEFAULT_DB
    monkeypatch.setenv(DB_ENV_VAR, str(tmp_path / "env.duckdb"))
    assert database_path() == tmp_path / "env.duckdb"
    assert database_path(tmp_path / "explicit.duckdb") == tmp_path / "explicit.duckdb"


def test_read_write_creates_the_file_and_its_folder(tmp_path):
    path = tmp_path / "new" / "folder" / "store.duckdb"
    with connect(path) as connection:
        assert database_file(connection) == str(path)
    assert path.is_file()


def test_a_missing_file_is_not_created_when_reading_or_when_asked_not_to(tmp_path):
    path = tmp_path / "absent.duckdb"
    with pytest.raises(DatabaseMissingError, match="does not exist"):
        connect(path, read_only=True)
    with pytest.raises(DatabaseMissingError):
        connect(path, create=False)
    assert not path.exists()


def test_a_directory_is_not_a_database(tmp_path):
    with pytest.raises(NotADatabaseError, match="it is a directory"):
        connect(tmp_path)
    with pytest.raises(NotADatabaseError, match="it is a directory"):
        connect(tmp_path, read_only=True)


@pytest.mark.parametrize("name", ["notes.txt", "prices.csv"])
def test_a_file_of_another_kind_is_not_a_database(tmp_path, name):
    # DuckDB 2 would open prices.csv as an in-memory database with a view over the CSV: writes would vanish.
    path = tmp_path / name
    path.write_text("Date,Open,High,Low,Close,Volume\n2020-01-02,1,1,1,1,1\n" * 200)
    for read_only in (True, False):
        with pytest.raises(NotADatabaseError, match="is not a DuckDB database"):
            connect(path, read_only=read_only)
    assert path.read_text().startswith("Date,Open")  # left as it was


def test_a_truncated_database_is_reported_as_damaged(tmp_path):
    path = tmp_path / "store.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("create table t as select range as a from range(1000000)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatabaseCorruptError, match="damaged") as raised:
        connect(path, read_only=True)
    assert "restore it from a copy" in str(raised.value)


@pytest.mark.skipif(os.access("/sys", os.W_OK) and not Path("/sys").is_mount(), reason="/sys is writable here")
def test_a_location_that_cannot_be_written_is_one_clear_error():
    with pytest.raises((ReadOnlyLocationError, DatabaseMissingError)) as raised:
        connect("/sys/feature_store_test.duckdb")
    assert isinstance(raised.value, ReadOnlyLocationError), str(raised.value)
    assert "writable location" in str(raised.value)


def test_duckdb_1_and_2_lock_messages_name_the_holder():
    two = open_error(
        "s.duckdb",
        duckdb.IOException(
            'IO Error: Could not set lock on file "s.duckdb": Conflicting lock is held in /opt/py/bin/python3.11 '
            "(PID 4242). See also https://duckdb.org/docs/current/connect/concurrency"
        ),
    )
    assert isinstance(two, DatabaseLockedError)
    assert (two.program, two.pid) == ("/opt/py/bin/python3.11", 4242)
    assert "(/opt/py/bin/python3.11, PID 4242)" in str(two)
    one = open_error(
        "s.duckdb",
        duckdb.IOException(
            'IO Error: Could not set lock on file "s.duckdb": Conflicting lock is held in /usr/bin/dbt (PID 7) '
            "by user alice. See also https://duckdb.org/docs/stable/connect/concurrency"
        ),
    )
    assert (one.program, one.pid) == ("/usr/bin/dbt", 7)


def test_a_real_lock_names_the_holding_process(tmp_path):
    path = tmp_path / "store.duckdb"
    code = textwrap.dedent(
        f"""
        import duckdb, sys
        connection = duckdb.connect({str(path)!r})
        print("holding", flush=True)
        sys.stdin.read()
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        for read_only in (False, True):
            with pytest.raises(DatabaseLockedError) as raised:
                connect(path, read_only=read_only)
            assert raised.value.pid == holder.pid
            assert str(path) in str(raised.value) and f"PID {holder.pid}" in str(raised.value)
    finally:
        holder.communicate("", timeout=30)


def test_every_store_error_is_one_line():
    errors = [
        DatabaseLockedError("a.duckdb", "/usr/bin/python3", 1),
        DatabaseMissingError("a.duckdb"),
        NotADatabaseError("a.duckdb", "it is a directory"),
        DatabaseCorruptError("a.duckdb", "checksum mismatch"),
        ReadOnlyLocationError("a.duckdb", "Permission denied"),
        MissingRelationError("a.duckdb", "marts.fct_features", "run `dbt build` first"),
    ]
    for error in errors:
        assert isinstance(error, StoreError)
        assert "\n" not in str(error) and str(error).endswith(".")


def test_a_transaction_rolls_back_on_any_error_including_ctrl_c(tmp_path):
    with connect(tmp_path / "store.duckdb") as connection:
        connection.execute("create table t (a integer)")
        for error in (RuntimeError("boom"), KeyboardInterrupt()):
            with pytest.raises(type(error)), transaction(connection):
                connection.execute("insert into t values (1)")
                raise error
        assert connection.execute("select count(*) from t").fetchone() == (0,)
        with transaction(connection):
            connection.execute("insert into t values (2)")
        assert connection.execute("select a from t").fetchall() == [(2,)]


def test_a_transaction_inside_another_joins_it(tmp_path):
    with connect(tmp_path / "store.duckdb") as connection:
        connection.execute("create table t (a integer)")
        with pytest.raises(RuntimeError), transaction(connection):
            connection.execute("insert into t values (1)")
            with transaction(connection):
                connection.execute("insert into t values (2)")
            raise RuntimeError("the outer block fails after the inner one ended")
        assert connection.execute("select count(*) from t").fetchall() == [(0,)]
        with transaction(connection):
            with transaction(connection):
                connection.execute("insert into t values (3)")
            connection.execute("insert into t values (4)")
        assert connection.execute("select a from t order by a").fetchall() == [(3,), (4,)]
        with transaction(connection):  # the connection is out of the transaction again
            connection.execute("insert into t values (5)")
        assert connection.execute("select count(*) from t").fetchall() == [(3,)]


def test_a_full_disk_in_a_transaction_is_rolled_back_and_named(tmp_path):
    db_path = tmp_path / "store.duckdb"
    with connect(db_path) as connection:
        connection.execute("create table t (a integer)")
        with pytest.raises(DiskFullError) as raised, transaction(connection):
            connection.execute("insert into t values (1)")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        assert connection.execute("select count(*) from t").fetchall() == [(0,)]
    message = str(raised.value)
    assert str(db_path) in message and "No space left on device" in message and "as it was before" in message


def test_a_full_disk_is_recognised_in_every_shape():
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EFBIG, "File too large"))
    assert is_disk_full(duckdb.IOException('Could not write file "x.duckdb": No space left on device'))
    try:
        try:
            raise OSError(errno.EDQUOT, "Disk quota exceeded")
        except OSError as cause:
            raise RuntimeError("while writing") from cause
    except RuntimeError as wrapped:
        assert is_disk_full(wrapped)
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(duckdb.IOException("Could not read file"))


def test_ctrl_c_is_recognised_whether_python_or_duckdb_saw_it():
    assert is_interrupt(KeyboardInterrupt())
    assert is_interrupt(RuntimeError("Query interrupted"))
    assert not is_interrupt(RuntimeError("something else"))
    assert not is_interrupt(ValueError("Query interrupted"))


def test_create_tables_is_idempotent_and_creates_every_python_owned_table(tmp_path):
    with connect(tmp_path / "store.duckdb") as connection:
        for _ in range(2):
            for schema in TABLES:
                create_tables(connection, schema)
        tables = {
            f"{schema}.{name}"
            for schema, name in connection.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        assert {"raw.prices", "raw.rejects", "raw.ingest_runs", "ml.models", "ml.calibrators"} <= tables
        assert {"analysis.runs", "analysis.factor_summary", "analysis.reliability"} <= tables
        assert relation_exists(connection, "ml.models") and not relation_exists(connection, "marts.fct_features")
        with pytest.raises(MissingRelationError, match="has no marts.fct_features: run `dbt build` first"):
            require_relation(connection, "marts.fct_features", "run `dbt build` first")
        with pytest.raises(ValueError, match="unknown schema"):
            create_tables(connection, "marts")


def test_release_memory_evicts_cached_pages_and_keeps_the_limit(tmp_path):
    path = tmp_path / "store.duckdb"
    with connect(path) as connection:
        connection.execute("create table t as select range as a, random() as b, random() as c from range(3000000)")
    with connect(path, read_only=True) as connection:
        limit = connection.execute("select current_setting('memory_limit')").fetchall()[0][0]
        connection.sql("select * from t order by b desc").to_arrow_table()

        def cached_bytes() -> int:
            return connection.execute("select sum(memory_usage_bytes) from duckdb_memory()").fetchall()[0][0]

        before = cached_bytes()
        release_memory(connection)
        assert cached_bytes() < before / 2
        assert connection.execute("select current_setting('memory_limit')").fetchall()[0][0] == limit
        assert connection.execute("select count(*) from t").fetchall() == [(3000000,)]  # still usable


def test_release_memory_inside_a_transaction_leaves_the_transaction_alive(tmp_path):
    with connect(tmp_path / "store.duckdb") as connection:
        connection.execute("create table t as select range as a from range(200000)")
        with transaction(connection):
            connection.execute("insert into t select range from range(200000)")
            release_memory(connection)
            connection.execute("insert into t values (-1)")
        assert connection.execute("select count(*) from t").fetchall() == [(400001,)]


def test_a_store_connection_draws_no_progress_bar_of_duckdbs_own(tmp_path):
    """DuckDB draws a progress bar on the terminal for long queries unless told not to; the commands print their
    own progress lines, so every connection of the store layer turns it off (read-write and read-only). Run in a
    process of its own: under pytest DuckDB starts with the bar off already."""
    script = textwrap.dedent(
        """
        import sys, duckdb, store
        setting = "select current_setting('enable_progress_bar')"
        path = sys.argv[1]
        with duckdb.connect(path) as plain:
            print(plain.execute(setting).fetchone()[0])
        with store.connect(path) as writer:
            print(writer.execute(setting).fetchone()[0])
        with store.connect(path, read_only=True) as reader:
            print(reader.execute(setting).fetchone()[0])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "store.duckdb")], capture_output=True, text=True, check=True
    )
    # DuckDB's own default first (what the store turns off), then the store's two connections.
    assert result.stdout.split() == ["True", "False", "False"], result.stderr[-2000:]
