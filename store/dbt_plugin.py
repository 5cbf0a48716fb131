"""A dbt-duckdb plugin (profiles.yml, `plugins:`) that opens the database once before dbt does, so a file dbt
cannot open stops the build with the store's one-sentence message instead of the adapter's tracebacks.

Without it, `dbt build` while another process holds the file (DuckDB lets one process write it at a time)
printed some 230 lines: dbt-duckdb opens its connection lazily inside a query, fails, tries to roll back on
a connection it then opens again, fails again, and dbt prints each traceback. Raised from here, dbt reports
a `DbtRuntimeError` as "Runtime Error" and the message, naming the holder's program and PID, e.g.

    The database warehouse/feature_store.duckdb is in use by another process (python, PID 8699): close that
    process (a dbt run, a notebook, another ingest or training) and try again, or point FEATURE_STORE_DB at
    another file.
"""

from __future__ import annotations

import os
from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt_common.exceptions import DbtRuntimeError

from store.connection import open_error

#: DuckDB's memory limit for dbt builds, e.g. "4GB" (DuckDB's default: 80% of the machine's memory). Beyond it
#: DuckDB spills sorts, joins and windows to disk next to the database instead of running out of memory.
MEMORY_LIMIT_ENV_VAR = "FEATURE_STORE_MEMORY_LIMIT"


class Plugin(BasePlugin):
    """Checks that the profile's database file opens for writing before dbt-duckdb opens it, and applies
    $FEATURE_STORE_MEMORY_LIMIT to dbt's connection."""

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        """Open and close `creds.path` read-write; raise `DbtRuntimeError` with the store's message if it fails.

        Called by dbt-duckdb just before it connects. An in-memory or remote (`md:`, `s3://`) path is left to
        dbt-duckdb. Between this check and dbt's own open another process may still take the file: dbt then
        fails as before, with the adapter's message.
        """
        limit = os.environ.get(MEMORY_LIMIT_ENV_VAR, "").strip()
        if limit:
            try:
                duckdb.connect(":memory:", config={"memory_limit": limit}).close()
            except duckdb.Error:
                raise DbtRuntimeError(
                    f"{MEMORY_LIMIT_ENV_VAR}={limit!r} is not a memory size DuckDB accepts: give one such as 4GB, "
                    "or unset it."
                ) from None
            config["memory_limit"] = limit
        path = str(creds.path or "")
        if not path or path == ":memory:" or ":" in path.split("/")[0]:
            return
        try:
            duckdb.connect(path, read_only=False, config=dict(config)).close()
        except duckdb.Error as error:
            raise DbtRuntimeError(str(open_error(path, error))) from None
