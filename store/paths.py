"""Where the database is: `--db`, else `$FEATURE_STORE_DB`, else `warehouse/feature_store.duckdb`.

Resolved on every call, never cached: the path is passed explicitly to whoever needs it.
"""

from __future__ import annotations

import os
from pathlib import Path

DB_ENV_VAR = "FEATURE_STORE_DB"
DEFAULT_DB = Path("warehouse") / "feature_store.duckdb"


def database_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The DuckDB file to use: `explicit` if given, else $FEATURE_STORE_DB, else warehouse/feature_store.duckdb.

    A relative path is taken from the current directory, as dbt's profiles.yml does, so that ingest, dbt
    and ml agree when run from the project root.
    """
    chosen = explicit or os.environ.get(DB_ENV_VAR) or DEFAULT_DB
    return Path(chosen)
