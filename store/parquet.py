"""The raw datasets as Parquet files, for an engine that reads files rather than the DuckDB file (Spark).

`export_raw(connection, directory)` writes each raw dataset of `store.tables.RAW_DATASETS` (prices,
sentiment, earnings, analyst_actions, insider_trades) to `directory/<dataset>/`, hive-partitioned by the
year of its date column (`year=2020/…parquet`): a cluster reads them from any shared file system, and a
new year is a new folder. The files hold every column of the raw table (provenance included); the
partition column `year` is the folder's, and the staging models select their columns by name, so it goes
no further.

A dataset is written to a temporary folder next to its destination and then swapped in, so a crash or
Ctrl-C leaves the previous export in place, and rows on disk always come from one export. `export_query`
does the same for any query with a `year` column (ml.train.data writes the training examples the Dask workers
read with it).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from store.connection import require_relation
from store.tables import RAW_DATASETS

PARTITION_COLUMN = "year"
PARQUET_ENV_VAR = "FEATURE_STORE_PARQUET"
DEFAULT_PARQUET_DIR = "warehouse/parquet"


@dataclass(frozen=True)
class ExportedDataset:
    """One dataset written: its folder, rows and files."""

    name: str
    folder: Path
    rows: int
    files: int


def parquet_directory(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the raw Parquet files are: `explicit`, else $FEATURE_STORE_PARQUET, else warehouse/parquet.

    profiles.yml's spark target reads the same variable with the same default.
    """
    return Path(explicit or os.environ.get(PARQUET_ENV_VAR) or DEFAULT_PARQUET_DIR)


def date_column(name: str) -> str:
    """The dataset's date column (the second column of its key): what its files are partitioned by."""
    return RAW_DATASETS[name].key[1]


def export_raw(
    connection: duckdb.DuckDBPyConnection,
    directory: str | Path,
    *,
    report: Callable[[str], None] | None = None,
) -> list[ExportedDataset]:
    """Write every raw dataset to `directory/<name>/` as Parquet partitioned by year; return what was written.

    A dataset with no rows gets an empty folder with one empty file, so that a reader finds its columns.
    """
    for name in RAW_DATASETS:
        require_relation(connection, f"raw.{name}", "run an ingest first, e.g. python -m ingest synthetic")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    exported = []
    for name in RAW_DATASETS:
        exported.append(_export_dataset(connection, name, directory))
        if report is not None:
            last = exported[-1]
            report(f"{name}: {last.rows:,} rows in {last.files:,} file(s)")
    return exported


def _export_dataset(connection: duckdb.DuckDBPyConnection, name: str, directory: Path) -> ExportedDataset:
    destination = directory / name
    query = f"select *, year({date_column(name)}) as {PARTITION_COLUMN} from raw.{name}"
    rows = export_query(connection, f"{query} order by {', '.join(RAW_DATASETS[name].key)}", [], destination)
    files = sum(1 for _ in destination.rglob("*.parquet"))
    return ExportedDataset(name=name, folder=destination, rows=rows, files=files)


def export_query(connection: duckdb.DuckDBPyConnection, query: str, params: list, destination: str | Path) -> int:
    """Write the rows of `query` (with `params`; it must have a `year` column) to `destination` as Parquet
    partitioned by that column, replacing what was there only once every file is written (a crash or
    Ctrl-C leaves the previous export); return the rows written. No rows: one empty file holding the columns.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.with_name(f".{destination.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        written = connection.execute(
            f"copy ({query}) to '{_sql_path(staging)}' (format parquet, partition_by ({PARTITION_COLUMN}))", params
        )
        rows = written.fetchall()[0][0]
        if not rows:
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            connection.execute(
                f"copy (select * from ({query}) limit 0) to '{_sql_path(staging / 'empty.parquet')}' (format parquet)",
                params,
            )
        _swap(staging, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return rows


def _swap(staging: Path, destination: Path) -> None:
    """Put `staging` where `destination` is, keeping the old one until the new one is in place."""
    retired = destination.with_name(f".{destination.name}.retired-{uuid.uuid4().hex[:8]}")
    if destination.exists():
        destination.rename(retired)
    try:
        staging.rename(destination)
    except BaseException:
        if retired.exists():
            retired.rename(destination)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
