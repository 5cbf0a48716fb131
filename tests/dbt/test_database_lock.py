"""`dbt build` while another process holds the database stops with one sentence naming the holder's PID
(store/dbt_plugin.py, loaded by profiles.yml), not the adapter's tracebacks; $FEATURE_STORE_MEMORY_LIMIT
caps dbt's DuckDB."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest
from helpers import run_dbt

from store.dbt_plugin import MEMORY_LIMIT_ENV_VAR as MEMORY

pytestmark = pytest.mark.slow

HOLD = (
    "import duckdb, sys, time; connection = duckdb.connect(sys.argv[1]); print('holding', flush=True); time.sleep(120)"
)


def test_a_build_on_a_held_database_is_one_clear_line_naming_the_holder(tmp_path):
    db_path = tmp_path / "store.duckdb"
    duckdb.connect(str(db_path)).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        result = run_dbt(db_path, tmp_path, "build", absolute=True)
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    message = [line for line in output.splitlines() if f"PID {holder.pid}" in line]
    assert len(message) == 1, output
    assert message[0].strip().startswith(f"The database {db_path} is in use by another process")
    assert "try again" in message[0]
    assert len(output.splitlines()) < 20, output


def test_feature_store_memory_limit_caps_dbts_duckdb_and_a_bad_one_is_one_line(tmp_path):
    db_path = tmp_path / "store.duckdb"
    duckdb.connect(str(db_path)).close()
    query = "select current_setting('memory_limit') as memory_limit"
    shown = run_dbt(db_path, tmp_path, "show", "--inline", query, "--output", "json", env={MEMORY: "1GB"})
    assert shown.returncode == 0, shown.stdout[-2000:]
    assert "953.6 MiB" in shown.stdout  # DuckDB shows 1GB (10^9 bytes) in MiB
    default = run_dbt(db_path, tmp_path, "show", "--inline", query, "--output", "json")
    assert "953.6 MiB" not in default.stdout
    refused = run_dbt(db_path, tmp_path, "build", env={MEMORY: "lots"})
    assert refused.returncode != 0 and "Traceback" not in refused.stdout
    assert f"{MEMORY}='lots' is not a memory size DuckDB accepts" in refused.stdout
