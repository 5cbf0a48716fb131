"""Where things are: the database file and the project folders. Passed explicitly, never global."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DB = Path("warehouse") / "feature_store.duckdb"
DB_ENV_VAR = "FEATURE_STORE_DB"


def database_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The DuckDB file to use: `explicit` if given, else $FEATURE_STORE_DB, else warehouse/feature_store.duckdb.

    A relative path is taken from the current directory, as dbt's profiles.yml does, so that
    ingest, dbt and ml agree when run from the project root.
    """
    chosen = explicit or os.environ.get(DB_ENV_VAR) or DEFAULT_DB
    return Path(chosen)


def seeds_dir() -> Path:
    """The dbt seeds folder that holds the universe."""
    return PROJECT_DIR / "seeds"
