"""The project's manifest (a real `dbt parse`), and the synthetic store truncated at a date and rebuilt for the
point-in-time tests; the stores it derives from (`synthetic_store`, `real_store`) are in tests/conftest.py. Tests
only read them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from helpers import TRUNCATION_CUTOFF, dbt_build, run_dbt, shared_folder


@pytest.fixture(scope="session")
def truncated_store(synthetic_store, tmp_path_factory) -> Path:
    """The synthetic store with every price after TRUNCATION_CUTOFF deleted, rebuilt from raw: a feature at
    a date <= the cutoff must be the same in both (no window may look ahead)."""

    def build(folder: Path) -> None:
        db_path = folder / "store.duckdb"
        shutil.copyfile(synthetic_store, db_path)
        with duckdb.connect(str(db_path)) as connection:
            connection.execute("delete from raw.prices where trade_date > ?", [TRUNCATION_CUTOFF])
        # --full-refresh: the copy already holds built marts, which a daily (incremental) build would keep.
        result = dbt_build(db_path, folder, "--full-refresh")
        assert result.returncode == 0, result.stdout[-4000:]

    return shared_folder(tmp_path_factory, "truncated_store", build) / "store.duckdb"


@pytest.fixture(scope="session")
def manifest(tmp_path_factory) -> dict:
    """dbt's manifest of the project (`dbt parse`): every node, its columns, docs and dependencies."""

    def parse(folder: Path) -> None:
        result = run_dbt(folder / "scratch.duckdb", folder, "parse")
        assert result.returncode == 0, result.stdout[-4000:]

    folder = shared_folder(tmp_path_factory, "manifest", parse)
    return json.loads((folder / "target" / "manifest.json").read_text())
