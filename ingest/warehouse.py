"""The DuckDB warehouse: opening it, the `raw` schema, and the run log.

Tables (all in schema `raw`):
- `prices`, `sentiment`, `earnings`, `analyst_actions`, `insider_trades`: the loaded data, keyed as in
  `DATASETS`. Each row remembers the run, file and line that last changed it.
- `rejects`: quarantined input rows with the rule they broke, the file and line, and the raw record.
  Keyed by a hash of (dataset, file, line, rule, record), so loading the same input twice adds nothing.
- `ingest_runs`: one row per run (source, arguments, start, end, status, rows read/loaded/rejected).
- `ingest_run_datasets`: the same counts per dataset; `ingest_files`: per input file;
  `validation_results`: the great-expectations result of every expectation in the run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.errors import DatabaseLockedError


@dataclass(frozen=True)
class Dataset:
    """A raw table: its key and its value columns (compared to decide whether a reload changed a row)."""

    name: str
    key: tuple[str, ...]
    values: tuple[str, ...]
    column_types: dict[str, str]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.key + self.values


DATASETS: dict[str, Dataset] = {
    "prices": Dataset(
        name="prices",
        key=("ticker", "trade_date"),
        values=("open", "high", "low", "close", "adj_close", "volume"),
        column_types={
            "ticker": "varchar",
            "trade_date": "date",
            "open": "double",
            "high": "double",
            "low": "double",
            "close": "double",
            "adj_close": "double",
            "volume": "double",
        },
    ),
    "sentiment": Dataset(
        name="sentiment",
        key=("ticker", "trade_date"),
        values=("sentiment_score", "article_count"),
        column_types={
            "ticker": "varchar",
            "trade_date": "date",
            "sentiment_score": "double",
            "article_count": "double",
        },
    ),
    "earnings": Dataset(
        name="earnings",
        key=("ticker", "announce_date"),
        values=("announce_timing", "eps_estimate", "eps_actual", "surprise_pct"),
        column_types={
            "ticker": "varchar",
            "announce_date": "date",
            "announce_timing": "varchar",
            "eps_estimate": "double",
            "eps_actual": "double",
            "surprise_pct": "double",
        },
    ),
    "analyst_actions": Dataset(
        name="analyst_actions",
        key=("ticker", "action_date", "firm"),
        values=("action", "from_grade", "to_grade"),
        column_types={
            "ticker": "varchar",
            "action_date": "date",
            "firm": "varchar",
            "action": "varchar",
            "from_grade": "varchar",
            "to_grade": "varchar",
        },
    ),
    "insider_trades": Dataset(
        name="insider_trades",
        key=("ticker", "transaction_date", "insider", "transaction", "shares"),
        values=("announce_date", "position", "value"),
        column_types={
            "ticker": "varchar",
            "transaction_date": "date",
            "insider": "varchar",
            "transaction": "varchar",
            "shares": "double",
            "announce_date": "date",
            "position": "varchar",
            "value": "double",
        },
    ),
}

_PROVENANCE_COLUMNS = "source varchar not null, source_file varchar, line_number bigint, run_id varchar not null"

_LOG_DDL = """
create table if not exists raw.ingest_runs (
    run_id varchar primary key,
    source varchar not null,
    arguments varchar,
    started_at timestamp not null,
    finished_at timestamp,
    status varchar not null,
    rows_read bigint,
    rows_loaded bigint,
    rows_rejected bigint,
    rows_inserted bigint,
    rows_updated bigint,
    rows_unchanged bigint,
    files_read bigint,
    files_failed bigint,
    message varchar
);
create table if not exists raw.ingest_run_datasets (
    run_id varchar not null,
    dataset varchar not null,
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_rejected bigint not null,
    rows_inserted bigint not null,
    rows_updated bigint not null,
    rows_unchanged bigint not null,
    primary key (run_id, dataset)
);
create table if not exists raw.ingest_files (
    run_id varchar not null,
    source_file varchar not null,
    status varchar not null,
    rows_read bigint not null,
    message varchar,
    primary key (run_id, source_file)
);
create table if not exists raw.validation_results (
    run_id varchar not null,
    dataset varchar not null,
    rule varchar not null,
    expectation varchar not null,
    column_names varchar,
    success boolean not null,
    element_count bigint,
    unexpected_count bigint
);
create table if not exists raw.rejects (
    reject_id varchar primary key,
    run_id varchar not null,
    source varchar not null,
    dataset varchar not null,
    source_file varchar,
    line_number bigint,
    ticker varchar,
    record_date varchar,
    rule varchar not null,
    detail varchar,
    record varchar,
    rejected_at timestamp not null
);
"""


def dataset_ddl(dataset: Dataset) -> str:
    """`create table if not exists` for one raw dataset."""
    columns = ", ".join(
        f"{name} {dataset.column_types[name]}{' not null' if name in dataset.key else ''}" for name in dataset.columns
    )
    key = ", ".join(dataset.key)
    return f"create table if not exists raw.{dataset.name} ({columns}, {_PROVENANCE_COLUMNS}, primary key ({key}))"


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?) by user")


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, turning DuckDB's lock error into a one-line `DatabaseLockedError`."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as error:
        text = str(error)
        if "lock" not in text.lower():
            raise
        holder = _LOCK_HOLDER.search(text)
        raise DatabaseLockedError(str(path), f"held by {holder.group(1)}" if holder else "") from None


def ensure_schema(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and its tables if they do not exist (idempotent), in one transaction."""
    statements = ["create schema if not exists raw"]
    statements += [dataset_ddl(dataset) for dataset in DATASETS.values()]
    statements += [part.strip() for part in _LOG_DDL.split(";") if part.strip()]
    with transaction(connection):
        for statement in statements:
            connection.execute(statement)


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, or ROLLBACK if the block raises: a failed load leaves the tables as they were."""
    connection.execute("begin transaction")
    try:
        yield connection
    except BaseException:
        connection.execute("rollback")
        raise
    connection.execute("commit")


def mark_interrupted_runs(connection: duckdb.DuckDBPyConnection) -> int:
    """Runs still 'running' when a new one starts were killed: record them as 'interrupted'."""
    found = connection.execute("select count(*) from raw.ingest_runs where status = 'running'").fetchone()[0]
    if found:
        connection.execute(
            "update raw.ingest_runs set status = 'interrupted', "
            "message = 'the process ended before committing; nothing it read was loaded' "
            "where status = 'running'"
        )
    return found
