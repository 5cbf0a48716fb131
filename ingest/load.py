"""Loading a source batch into the store: validate, quarantine, upsert, record the run.

`run_ingest` is the one entry point every source goes through, on the connection its command opened:

1. create the `raw` tables if needed, mark runs whose process is gone as 'interrupted', and record this run
   as 'running' with its writer (pid, host, process start), committed on its own, so a run killed later is
   still visible in `raw.ingest_runs` and the next run can tell it from one still in progress;
2. call the source to collect its frames (downloads happen here);
3. validate each frame (`ingest.validate`);
4. in ONE transaction: upsert accepted rows, add new rejects, write per-dataset/per-file counts and the
   great-expectations results, and mark the run 'success'. Any error rolls all of it back, and the run
   is marked 'failed' (or 'interrupted' after Ctrl-C) with the message.

Upsert: a row whose key exists with identical values is left untouched (provenance included), a row
whose values changed replaces it, a new key is inserted. Loading the same input twice therefore leaves
every data table identical.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from ingest.frames import check_frame
from ingest.sources.files import REJECT_COLUMNS, FileReport
from ingest.validate import Validated, validate
from store import (
    RAW_DATASETS,
    Dataset,
    create_tables,
    database_file,
    insert_row,
    insert_rows,
    is_interrupt,
    relation_exists,
    transaction,
)
from store.tables import (
    RAW_INGEST_FILES,
    RAW_INGEST_RUN_DATASETS,
    RAW_INGEST_RUNS,
    RAW_REJECTS,
    RAW_VALIDATION_RESULTS,
)


@dataclass
class SourceBatch:
    """What a source collected: frames by dataset, rows it rejected itself, file reports and notes."""

    frames: dict[str, pd.DataFrame]
    prerejected: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: list[FileReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class DatasetCounts:
    """Counts of one dataset in one run. Invariant: rows_read == rows_loaded + rows_rejected."""

    dataset: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    reject_rules: dict[str, int] = field(default_factory=dict)


@dataclass
class RunSummary:
    """The outcome of a run, for the printed summary and for tests."""

    run_id: str
    source: str
    status: str
    database: str
    seconds: float
    datasets: list[DatasetCounts]
    files: list[FileReport]
    notes: list[str]

    @property
    def rows_read(self) -> int:
        return sum(d.rows_read for d in self.datasets)

    @property
    def rows_loaded(self) -> int:
        return sum(d.rows_loaded for d in self.datasets)

    @property
    def rows_rejected(self) -> int:
        return sum(d.rows_rejected for d in self.datasets)


Reporter = Callable[[str], None]
#: `progress(description)` is a context manager yielding `update(done, total)` (see `cli.Terminal.progress`).
Progress = Callable[[str], AbstractContextManager[Callable[[int, int], None]]]


def quiet(_message: str) -> None:
    """A reporter that says nothing (the default of every job)."""
    return None


@contextmanager
def no_progress(_description: str) -> Iterator[Callable[[int, int], None]]:
    """A progress display that shows nothing (the default of every job)."""
    yield lambda _done, _total: None


def run_ingest(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    arguments: dict,
    collect: Callable[[Reporter], SourceBatch],
    *,
    report: Reporter = quiet,
    today: dt.date | None = None,
) -> RunSummary:
    """Run one ingest on `connection` (see the module docstring); `collect(report)` returns the `SourceBatch`.

    Returns a `RunSummary`. Whatever fails after the run was recorded is re-raised after the load was
    rolled back and the run marked 'failed' (or 'interrupted').
    """
    started = time.perf_counter()
    run_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    with transaction(connection):
        create_tables(connection, "raw")
        interrupted = mark_interrupted_runs(connection)
        pid = os.getpid()
        insert_row(
            connection,
            RAW_INGEST_RUNS,
            {
                "run_id": run_id,
                "source": source,
                "arguments": json.dumps(arguments, default=str, sort_keys=True),
                "started_at": dt.datetime.now(),
                "status": "running",
                "pid": pid,
                "host": socket.gethostname(),
                "process_started": process_start(pid),
            },
        )
    if interrupted:
        report(f"{interrupted} earlier run(s) had been interrupted; marked 'interrupted' in raw.ingest_runs")

    try:
        batch = collect(report)
        validated: dict[str, Validated] = {}
        for kind, frame in batch.frames.items():
            frame = check_frame(kind, frame)
            report(f"validating {kind}: {len(frame):,} rows")
            validated[kind] = validate(kind, frame, today=today)
        report("writing to the store (one transaction)")
        counts = _write(connection, run_id, source, batch, validated, report)
    except BaseException as error:
        _mark_unfinished(connection, run_id, error)
        raise
    return RunSummary(
        run_id=run_id,
        source=source,
        status="success",
        database=database_file(connection),
        seconds=time.perf_counter() - started,
        datasets=counts,
        files=batch.files,
        notes=batch.notes,
    )


@dataclass(frozen=True)
class RecordedRun:
    """A run as `raw.ingest_runs` holds it."""

    run_id: str
    status: str
    rows_loaded: int | None
    rows_rejected: int | None


def latest_run_of_this_process(connection: duckdb.DuckDBPyConnection) -> RecordedRun | None:
    """The last run this process recorded (its pid and process start), or None: what an interrupted command
    looks up to say whether its load had committed."""
    if not relation_exists(connection, RAW_INGEST_RUNS.qualified):
        return None
    pid = os.getpid()
    rows = connection.execute(
        f"select run_id, status, rows_loaded, rows_rejected from {RAW_INGEST_RUNS.qualified} "
        "where pid = ? and process_started is not distinct from ? order by started_at desc limit 1",
        [pid, process_start(pid)],
    ).fetchall()
    return RecordedRun(*rows[0]) if rows else None


def mark_interrupted_runs(connection: duckdb.DuckDBPyConnection) -> int:
    """Record as 'interrupted' the 'running' runs whose process is gone; returns how many.

    A 'running' row can belong to a run still in progress: on another connection of this process (DuckDB
    shares one database between the connections of a process), or in a process that opened the file
    and closed it again. So a run is marked only when its writer was on this host and that process no longer
    exists, or its pid now belongs to another process (a different start time). A run on another host, or
    whose process cannot be checked here, is left 'running'. Rows written before runs recorded their
    writer (no pid) keep the old rule: they are marked.
    """
    rows = connection.execute(
        "select run_id, pid, host, process_started from raw.ingest_runs where status = 'running'"
    ).fetchall()
    here = socket.gethostname()
    gone = [
        run_id
        for run_id, pid, host, started in rows
        if pid is None or (host == here and process_state(pid, started) == "gone")
    ]
    for run_id in gone:
        connection.execute(
            "update raw.ingest_runs set status = 'interrupted', "
            "message = 'the process ended before committing; nothing it read was loaded' "
            "where run_id = ? and status = 'running'",
            [run_id],
        )
    return len(gone)


_PROC = Path("/proc")


def process_start(pid: int) -> str | None:
    """When process `pid` started, as a token that differs for a later process given the same pid: on Linux the
    boot id and the start time in clock ticks (`/proc/PID/stat`, field 22); None where that cannot be read."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
        boot = (_PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return f"{boot}:{fields[19]}" if len(fields) > 19 else None


def process_state(pid: int, started: str | None) -> str:
    """'alive', 'gone' (no such process, or the pid now belongs to a process that started at another time), or
    'unknown' (this system offers no safe way to ask)."""
    if _PROC.joinpath("self").exists():  # Linux (and other /proc systems)
        if not (_PROC / str(pid)).exists():
            return "gone"
        now = process_start(pid)
        return "gone" if started and now and now != started else "alive"
    if os.name == "posix":
        try:
            os.kill(pid, 0)  # signal 0: nothing is sent, only whether the process exists is checked
        except ProcessLookupError:
            return "gone"
        except PermissionError:
            return "alive"  # it exists, owned by someone else
        return "alive"
    # On Windows os.kill(pid, 0) would send Ctrl-C to the process, not test for it.
    return "unknown"


def _mark_unfinished(connection: duckdb.DuckDBPyConnection, run_id: str, error: BaseException) -> None:
    """Record a run that stopped: 'interrupted' after Ctrl-C, else 'failed' with the error. If even that
    write fails (the database is gone or full), the run stays 'running' and the next run marks it."""
    if is_interrupt(error):
        status, message = "interrupted", "interrupted (Ctrl-C); nothing it read was loaded"
    else:
        status, message = "failed", f"{type(error).__name__}: {error}"[:2000]
    try:
        # Only a run still 'running': one whose load committed (status 'success', in the same transaction as its
        # rows) keeps that status when the interrupt lands after the commit.
        connection.execute(
            "update raw.ingest_runs set status = ?, finished_at = now(), message = ? "
            "where run_id = ? and status = 'running'",
            [status, message, run_id],
        )
    except duckdb.Error:
        return


def _write(
    connection: duckdb.DuckDBPyConnection,
    run_id: str,
    source: str,
    batch: SourceBatch,
    validated: dict[str, Validated],
    report: Reporter,
) -> list[DatasetCounts]:
    counts: list[DatasetCounts] = []
    with transaction(connection):
        kinds = list(dict.fromkeys([*validated, *batch.prerejected]))
        for kind in kinds:
            dataset = RAW_DATASETS[kind]
            result = validated.get(kind)
            prerejected = batch.prerejected.get(kind)
            entry = DatasetCounts(dataset=kind)
            if result is not None:
                report(f"upserting {kind}: {result.rows_accepted:,} rows")
                inserted, updated, unchanged = _upsert(connection, dataset, result.accepted, run_id, source)
                entry.rows_read += result.rows_read
                entry.rows_loaded += result.rows_accepted
                entry.rows_rejected += result.rows_rejected
                entry.rows_inserted, entry.rows_updated, entry.rows_unchanged = inserted, updated, unchanged
                _insert_rejects(connection, kind, result.rejects, run_id, source)
                _insert_results(connection, kind, result, run_id)
                _count_rules(entry, result.rejects.column("rule").to_pylist())
            if prerejected is not None and len(prerejected):
                table = pa.Table.from_pandas(prerejected.loc[:, list(REJECT_COLUMNS)], preserve_index=False)
                _insert_rejects(connection, kind, table, run_id, source)
                entry.rows_read += len(prerejected)
                entry.rows_rejected += len(prerejected)
                _count_rules(entry, list(prerejected["rule"]))
            if entry.rows_read != entry.rows_loaded + entry.rows_rejected:
                raise AssertionError(f"{kind}: rows read {entry.rows_read} != loaded + rejected")
            insert_row(
                connection,
                RAW_INGEST_RUN_DATASETS,
                {
                    "run_id": run_id,
                    "dataset": kind,
                    "rows_read": entry.rows_read,
                    "rows_loaded": entry.rows_loaded,
                    "rows_rejected": entry.rows_rejected,
                    "rows_inserted": entry.rows_inserted,
                    "rows_updated": entry.rows_updated,
                    "rows_unchanged": entry.rows_unchanged,
                },
            )
            counts.append(entry)
        recorded: set[str] = set()
        for file in batch.files:
            if file.source_file in recorded:
                continue  # the same name given twice: its one row says what happened to the file
            recorded.add(file.source_file)
            insert_row(
                connection,
                RAW_INGEST_FILES,
                {
                    "run_id": run_id,
                    "source_file": file.source_file,
                    "status": file.status,
                    "rows_read": file.rows_read,
                    "message": file.message or None,
                },
            )
        read_files = sum(1 for f in batch.files if f.status != "skipped")
        failed_files = sum(1 for f in batch.files if f.status not in ("loaded", "skipped"))
        connection.execute(
            """
            update raw.ingest_runs set
                status = 'success', finished_at = now(),
                rows_read = ?, rows_loaded = ?, rows_rejected = ?,
                rows_inserted = ?, rows_updated = ?, rows_unchanged = ?,
                files_read = ?, files_failed = ?, message = ?
            where run_id = ?
            """,
            [
                sum(c.rows_read for c in counts),
                sum(c.rows_loaded for c in counts),
                sum(c.rows_rejected for c in counts),
                sum(c.rows_inserted for c in counts),
                sum(c.rows_updated for c in counts),
                sum(c.rows_unchanged for c in counts),
                read_files,
                failed_files,
                "; ".join(batch.notes)[:2000] or None,
                run_id,
            ],
        )
    return counts


def _count_rules(entry: DatasetCounts, rules: list[str]) -> None:
    for rule in rules:
        entry.reject_rules[rule] = entry.reject_rules.get(rule, 0) + 1


def _upsert(
    connection: duckdb.DuckDBPyConnection, dataset: Dataset, accepted: pa.Table, run_id: str, source: str
) -> tuple[int, int, int]:
    """Insert new keys, replace changed rows, leave identical rows alone. Returns (inserted, updated, unchanged)."""
    table = dataset.table.qualified
    connection.register("accepted_rows", accepted)
    try:
        connection.execute("create or replace temp table staged_rows as select * from accepted_rows")
    finally:
        connection.unregister("accepted_rows")
    join = " and ".join(f"target.{c} = staged.{c}" for c in dataset.key)
    differs = " or ".join(f"target.{c} is distinct from staged.{c}" for c in dataset.values)
    updated = connection.execute(
        f"select count(*) from {table} as target join staged_rows as staged on {join} where {differs}"
    ).fetchone()[0]
    if updated:
        connection.execute(f"delete from {table} as target using staged_rows as staged where {join} and ({differs})")
    columns = ", ".join(dataset.columns)
    written = connection.execute(
        f"""
        insert into {table} ({columns}, source, source_file, line_number, run_id)
        select {", ".join(f"staged.{c}" for c in dataset.columns)}, ?, staged.source_file,
               staged.line_number, ?
        from staged_rows as staged
        where not exists (select 1 from {table} as target where {join})
        """,
        [source, run_id],
    ).fetchone()[0]
    connection.execute("drop table staged_rows")
    return written - updated, updated, accepted.num_rows - written


def _insert_rejects(
    connection: duckdb.DuckDBPyConnection, kind: str, rejects: pa.Table, run_id: str, source: str
) -> None:
    """Add quarantined rows; a reject already recorded by an earlier run (same file, line, rule, record) is kept."""
    if rejects.num_rows == 0:
        return
    connection.register("new_rejects", rejects)
    try:
        connection.execute(
            f"""
            insert into {RAW_REJECTS.qualified} ({", ".join(RAW_REJECTS.columns)})
            select distinct on (reject_id) * from (
                select
                    md5(concat_ws('|', ?, coalesce(source_file, ''), coalesce(cast(line_number as varchar), ''),
                                  rule, coalesce(record, ''))) as reject_id,
                    ? as run_id, ? as source, ? as dataset,
                    cast(source_file as varchar), cast(line_number as bigint), cast(ticker as varchar),
                    cast(record_date as varchar), cast(rule as varchar), cast(detail as varchar),
                    cast(record as varchar), now() as rejected_at
                from new_rejects
            )
            where reject_id not in (select reject_id from {RAW_REJECTS.qualified})
            """,
            [kind, run_id, source, kind],
        )
    finally:
        connection.unregister("new_rejects")


def _insert_results(connection: duckdb.DuckDBPyConnection, kind: str, result: Validated, run_id: str) -> None:
    insert_rows(
        connection,
        RAW_VALIDATION_RESULTS,
        (
            {
                "run_id": run_id,
                "dataset": kind,
                "rule": r.rule,
                "expectation": r.expectation,
                "column_names": r.column_names,
                "success": r.success,
                "element_count": r.element_count,
                "unexpected_count": r.unexpected_count,
            }
            for r in result.results
        ),
    )
