"""Typed errors of the store: what went wrong with the database file, and what to do about it.

Every message is one sentence a person can act on; the command-line convention (`cli.run`) prints it as
one line and exits with status 1.
"""

from __future__ import annotations

from pathlib import Path


class StoreError(Exception):
    """Base class of the database errors a user can act on."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else str(path)


class DatabaseLockedError(StoreError):
    """Another process holds the DuckDB file (DuckDB lets one process write a file at a time)."""

    def __init__(self, path: str | Path, program: str | None = None, pid: int | None = None) -> None:
        self.program = program
        self.pid = pid
        holder = "another process"
        if program and pid is not None:
            holder = f"another process ({program}, PID {pid})"
        elif program or pid is not None:
            holder = f"another process ({program or f'PID {pid}'})"
        super().__init__(
            f"The database {path} is in use by {holder}: close that process (a dbt run, a notebook, another "
            "ingest or training) and try again, or point FEATURE_STORE_DB at another file.",
            path,
        )


class DatabaseMissingError(StoreError):
    """The database file does not exist (and was opened for reading)."""

    def __init__(self, path: str | Path, hint: str | None = None) -> None:
        hint = hint or "run `python -m ingest synthetic` (or another source) and `dbt build` first"
        super().__init__(f"The database {path} does not exist: {hint}.", path)


class NotADatabaseError(StoreError):
    """The path exists but is not a DuckDB database file (a directory, a CSV, another program's file)."""

    def __init__(self, path: str | Path, detail: str) -> None:
        super().__init__(
            f"{path} is not a DuckDB database ({detail}): point --db or FEATURE_STORE_DB at the feature store's "
            ".duckdb file, or at a new path to start one.",
            path,
        )


class DatabaseCorruptError(StoreError):
    """The file is a DuckDB database that cannot be read: truncated or damaged."""

    def __init__(self, path: str | Path, detail: str) -> None:
        super().__init__(
            f"The database {path} is damaged and cannot be read ({detail}): restore it from a copy, or move it "
            "away and rebuild the store (`python -m ingest ...`, then `dbt build`).",
            path,
        )


class ReadOnlyLocationError(StoreError):
    """The database (or its folder) cannot be written."""

    def __init__(self, path: str | Path, detail: str) -> None:
        super().__init__(
            f"The database {path} cannot be written ({detail}): point --db or FEATURE_STORE_DB at a writable location.",
            path,
        )


class DatabaseOpenError(StoreError):
    """DuckDB refused to open the file for a reason the other errors do not cover."""

    def __init__(self, path: str | Path, detail: str) -> None:
        super().__init__(
            f"DuckDB could not open {path} ({detail}): check the path given by --db or FEATURE_STORE_DB.", path
        )


class MissingRelationError(StoreError):
    """A table or view the command reads does not exist yet."""

    def __init__(self, path: str | Path, relation: str, hint: str) -> None:
        self.relation = relation
        super().__init__(f"{path} has no {relation}: {hint}.", path)


class DiskFullError(StoreError):
    """The disk filled up (or a file-size limit was reached) while a transaction was writing; it was rolled back."""

    def __init__(self, path: str | Path, detail: str) -> None:
        super().__init__(
            f"The disk holding {path} filled up during the write ({detail}): the write was rolled back, so the "
            "database is as it was before this command; free some space (or point FEATURE_STORE_DB at a disk "
            "with room) and run it again.",
            path,
        )
