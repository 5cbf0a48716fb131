"""The feature store's database: where it is, opening it, transactions, the tables Python owns, typed errors.

Every package reaches DuckDB through here (data flows ingest -> raw -> dbt -> marts -> ml; all of them
read and write one DuckDB file):

- `store.paths`: `database_path()` resolves `--db`, `$FEATURE_STORE_DB` or `warehouse/feature_store.duckdb`;
- `store.connection`: `connect()` (read-only or read-write), `transaction()`, `require_relation()`, and the
  translation of DuckDB's refusals into the typed errors of `store.errors` (locked, missing, corrupt, not a
  DuckDB file, read-only location, a disk that fills up during a write);
- `store.tables`: every table Python writes (schemas `raw`, `ml`, `analysis`), each declared once as a `Table`
  from which its DDL (`create_tables()`) and its inserts (`insert_row`, `insert_rows`, `insert_frame`, always
  naming their columns) come;
- `store.marts`: the names of the dbt marts Python reads (imported wherever one is read);
- `store.dbt_plugin`: a dbt-duckdb plugin (profiles.yml) that gives `dbt build` the same one-sentence message
  when the file cannot be opened (e.g. held by another process).

A command-line entry point opens ONE connection and passes it to the functions it calls.
"""

from store.connection import (
    connect,
    database_file,
    disk_full_detail,
    is_disk_full,
    is_interrupt,
    relation_columns,
    relation_exists,
    release_memory,
    require_relation,
    transaction,
)
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
from store.paths import DB_ENV_VAR, DEFAULT_DB, database_path
from store.tables import RAW_DATASETS, Dataset, Table, create_tables, insert_frame, insert_row, insert_rows

__all__ = [
    "DB_ENV_VAR",
    "DEFAULT_DB",
    "RAW_DATASETS",
    "DatabaseCorruptError",
    "DatabaseLockedError",
    "DatabaseMissingError",
    "DatabaseOpenError",
    "Dataset",
    "DiskFullError",
    "MissingRelationError",
    "NotADatabaseError",
    "ReadOnlyLocationError",
    "StoreError",
    "Table",
    "connect",
    "create_tables",
    "database_file",
    "database_path",
    "disk_full_detail",
    "insert_frame",
    "insert_row",
    "insert_rows",
    "is_disk_full",
    "is_interrupt",
    "relation_columns",
    "relation_exists",
    "release_memory",
    "require_relation",
    "transaction",
]
