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

from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt_common.exceptions import DbtRuntimeError

from store.connection import open_error


class Plugin(BasePlugin):
    """Checks that the profile's database file opens for writing before dbt-duckdb opens it."""

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        """Open and close `creds.path` read-write; raise `DbtRuntimeError` with the store's message if it fails.

        Called by dbt-duckdb just before it connects. An in-memory or remote (`md:`, `s3://`) path is left to
        dbt-duckdb. Between this check and dbt's own open another process may still take the file: dbt then
        fails as before, with the adapter's message.
        """
        path = str(creds.path or "")
        if not path or path == ":memory:" or ":" in path.split("/")[0]:
            return
        try:
            duckdb.connect(path, read_only=False, config=dict(config)).close()
        except duckdb.Error as error:
            raise DbtRuntimeError(str(open_error(path, error))) from None
