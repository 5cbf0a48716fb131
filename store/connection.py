"""Opening the DuckDB file and running transactions; DuckDB's errors become the typed errors of `store.errors`.

Every command opens ONE connection (read-only when it only reads) and passes it down: nothing below a
command-line entry point opens the database itself.

DuckDB 2: `execute(...).fetchone()` leaves the result open, and the next `connection.sql(...)` on the same
connection then fails ("connection has an unfinished result"); the helpers here read with `fetchall()`.
"""

from __future__ import annotations

import errno
import os
import re
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from store.errors import (
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseMissingError,
    DatabaseOpenError,
    DiskFullError,
    MissingRelationError,
    NotADatabaseError,
    ReadOnlyLocationError,
    StoreError,
)

# DuckDB 2: 'Could not set lock on file "f": Conflicting lock is held in /usr/bin/python3 (PID 2668). See ...'
# DuckDB 1.x said '... is held in /usr/bin/python3 (PID 2668) by user alice. See ...'.
_LOCK_HOLDER = re.compile(
    r"Conflicting lock is held in (?P<program>.+?)(?: \(PID (?P<pid>\d+)\))?(?: by user \S+?)?\.(?:\s|$)"
)
_INTERRUPTED = "Query interrupted"
# What a full disk looks like: the OSError numbers, and DuckDB's wording of the same (strerror text).
_DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_DISK_FULL_WORDS = tuple(os.strerror(number) for number in _DISK_FULL_ERRNOS) + ("No space left on device",)
_DATA_FILE = "DuckDB reads it as a data file (CSV, Parquet, JSON), not as a database"


def connect(path: str | Path, *, read_only: bool = False, create: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the database at `path`: read-only, or read-write (creating the file and its folder when `create`).

    Raises
    ------
    DatabaseMissingError
        the file does not exist, and it is opened read-only or without `create`.
    DatabaseLockedError
        another process holds the file; the message names the program and its PID.
    NotADatabaseError
        the path is a directory or a file that is not a DuckDB database.
    DatabaseCorruptError
        a truncated or damaged DuckDB file.
    ReadOnlyLocationError
        read-write and the file or its folder cannot be written.
    DatabaseOpenError
        any other refusal, with DuckDB's own words.
    """
    path = Path(path)
    if path.is_dir():
        raise NotADatabaseError(path, "it is a directory")
    if (read_only or not create) and not path.exists():
        raise DatabaseMissingError(path)
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ReadOnlyLocationError(path, f"cannot create the folder {path.parent}: {error.strerror}") from None
    try:
        connection = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as error:
        raise open_error(path, error) from None
    if database_file(connection) == ":memory:":
        # DuckDB 2 opens a data file (prices.csv, x.parquet) as an in-memory database with a view over it:
        # everything written there would be lost when the connection closes.
        connection.close()
        raise NotADatabaseError(path, _DATA_FILE)
    # DuckDB draws its own progress bar on the terminal for queries over two seconds, in the middle of the
    # commands' progress lines: the commands say what they do themselves.
    connection.execute("set enable_progress_bar = false")
    return connection


def open_error(path: str | Path, error: BaseException) -> StoreError:
    """The typed error for DuckDB's refusal to open `path` (see `connect`)."""
    text = str(error)
    lowered = text.lower()
    detail = _first_line(text)
    if "conflicting lock" in lowered or "could not set lock" in lowered:
        holder = _LOCK_HOLDER.search(text)
        if holder is None:
            return DatabaseLockedError(path)
        pid = holder.group("pid")
        return DatabaseLockedError(path, holder.group("program"), None if pid is None else int(pid))
    if "in-memory database in read-only mode" in lowered:
        return NotADatabaseError(path, _DATA_FILE)
    if "not a valid duckdb database" in lowered:
        return NotADatabaseError(path, "the file exists but DuckDB does not recognise it")
    if "is a directory" in lowered:
        return NotADatabaseError(path, "it is a directory")
    if "database does not exist" in lowered:
        return DatabaseMissingError(path)
    if "permission denied" in lowered or "read-only file system" in lowered or "operation not permitted" in lowered:
        return ReadOnlyLocationError(path, detail)
    if any(sign in lowered for sign in ("could not read enough bytes", "corrupt", "checksum", "truncated")):
        return DatabaseCorruptError(path, detail)
    return DatabaseOpenError(path, detail)


def _first_line(text: str) -> str:
    """DuckDB's message without its 'IO Error: ' prefix, first line only, without a final period."""
    line = text.strip().splitlines()[0] if text.strip() else "no detail"
    line = re.sub(r"^[A-Za-z ]*Error: ", "", line)
    return line.rstrip(".")


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, or ROLLBACK if the block raises (Ctrl-C included): a failed write leaves every table
    as it was. A disk that fills up inside the block or at COMMIT becomes `DiskFullError` (DuckDB does not
    commit a transaction whose COMMIT fails).

    A block inside another `transaction` of the same connection joins it: the outer block commits or rolls
    back everything (the daily routine trains and stores a challenger inside the day's transaction)."""
    if connection in _OPEN:
        yield connection
        return
    connection.execute("begin transaction")
    _OPEN.add(connection)
    try:
        yield connection
        connection.execute("commit")
    except BaseException as error:
        # If the transaction is already gone (DuckDB aborted it), the original error is the one that matters.
        with suppress(duckdb.Error):
            connection.execute("rollback")
        if is_disk_full(error):
            raise DiskFullError(_database_name(connection, error), disk_full_detail(error)) from error
        raise
    finally:
        _OPEN.discard(connection)


#: Connections inside a `transaction` block.
_OPEN: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()


def is_disk_full(error: BaseException) -> bool:
    """Whether `error` (or an error it was raised from) says the disk is full or a file-size limit was hit:
    an OSError with ENOSPC/EFBIG/EDQUOT, or a DuckDB error with the same words."""
    return any(
        (isinstance(link, OSError) and link.errno in _DISK_FULL_ERRNOS)
        or (isinstance(link, duckdb.Error) and any(words in str(link) for words in _DISK_FULL_WORDS))
        for link in _error_chain(error)
    )


def disk_full_detail(error: BaseException) -> str:
    """The short reason of a disk-full error: the operating system's words ('No space left on device')."""
    text = str(error)
    for words in _DISK_FULL_WORDS:
        if words in text:
            return words
    return _first_line(text)


def _database_name(connection: duckdb.DuckDBPyConnection, error: BaseException) -> str:
    """The database file of `connection`; after a fatal error DuckDB refuses every statement, and the file is
    then the one DuckDB's message names."""
    try:
        return database_file(connection)
    except duckdb.Error:
        named = re.search(r'file "(?P<path>[^"]+)"', str(error))
        return named["path"] if named else "the feature store"


def release_memory(connection: duckdb.DuckDBPyConnection) -> None:
    """Hand back the memory DuckDB keeps after a bulk read: the table pages in its buffer pool and what its
    allocator holds. A command keeps its one connection open for its whole run, so after reading a mart into
    Arrow that memory (hundreds of MiB for the real data set) would otherwise stay taken while the model
    trains. DuckDB evicts unpinned pages when its memory limit is lowered; the limit then goes back to DuckDB's
    default, which is what `connect` opens with (the store never sets another).

    Inside a `transaction` it does nothing: DuckDB cannot evict the transaction's own pages, and the refused
    setting would abort the transaction."""
    if connection in _OPEN:
        return
    # DuckDB refuses the low limit when it cannot evict enough (pages pinned by a result still open elsewhere in
    # the process): then nothing is handed back, which only costs memory, never correctness.
    with suppress(duckdb.Error):
        connection.execute("set memory_limit = '1MB'")
    connection.execute("reset memory_limit")


def database_file(connection: duckdb.DuckDBPyConnection) -> str:
    """The path of the file `connection` has open (':memory:' for an in-memory database)."""
    rows = connection.execute("select path from duckdb_databases() where database_name = current_database()").fetchall()
    return rows[0][0] if rows and rows[0][0] else ":memory:"


def relation_exists(connection: duckdb.DuckDBPyConnection, relation: str) -> bool:
    """Whether `schema.name` is a table or view of the open database (every one has a column)."""
    return bool(relation_columns(connection, relation))


def relation_columns(connection: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    """The columns of `schema.name` in order; empty when it does not exist."""
    schema, _, name = relation.rpartition(".")
    rows = connection.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "and table_catalog = current_database() order by ordinal_position",
        [schema or "main", name],
    ).fetchall()
    return [row[0] for row in rows]


def require_relation(connection: duckdb.DuckDBPyConnection, relation: str, hint: str) -> None:
    """Raise `MissingRelationError(relation, hint)` unless `relation` exists (hint: what to run first)."""
    if not relation_exists(connection, relation):
        raise MissingRelationError(database_file(connection), relation, hint)


def is_interrupt(error: BaseException | None) -> bool:
    """Whether `error` is Ctrl-C, in any of the shapes it reaches Python in: KeyboardInterrupt; DuckDB 2's
    RuntimeError 'Query interrupted' (a SIGINT during a query); a DuckDB error wrapping a KeyboardInterrupt
    that was raised while DuckDB read Python data ('... failed: KeyboardInterrupt'); or an error caused by one
    of these."""
    return any(
        isinstance(link, KeyboardInterrupt)
        or (isinstance(link, RuntimeError) and str(link) == _INTERRUPTED)
        or (isinstance(link, duckdb.Error) and "KeyboardInterrupt" in str(link))
        for link in _error_chain(error)
    )


def _error_chain(error: BaseException | None) -> Iterator[BaseException]:
    """`error`, then the error it was raised from (or while handling), and so on; each once."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__
