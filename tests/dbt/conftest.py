"""Shared feature-store fixtures: a synthetic store (and its truncated copy) ingested and built by `dbt build`
once per test session; the real one (`real_store`) is in tests/conftest.py. Tests only read them."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pytest
from helpers import TRUNCATION_CUTOFF, dbt_build, run_job

from ingest import jobs

SYNTHETIC_END = dt.date(2024, 12, 31)


@pytest.fixture(scope="session")
def synthetic_store(tmp_path_factory):
    """A synthetic market (seed 7, 30 equities + ETFs + cross-asset series, 3 years) built by dbt."""
    folder = tmp_path_factory.mktemp("synthetic_store")
    db_path = folder / "store.duckdb"
    run_job(jobs.ingest_synthetic, db_path, seed=7, years=3, n_tickers=30, end=SYNTHETIC_END)
    result = dbt_build(db_path, folder)
    assert result.returncode == 0, result.stdout[-4000:]
    return db_path


@pytest.fixture(scope="session")
def truncated_store(synthetic_store, tmp_path_factory):
    """The synthetic store with every price after TRUNCATION_CUTOFF deleted, rebuilt from raw: a feature at
    a date <= the cutoff must be the same in both (no window may look ahead)."""
    folder = tmp_path_factory.mktemp("truncated_store")
    db_path = folder / "store.duckdb"
    shutil.copy(synthetic_store, db_path)
    with duckdb.connect(str(db_path)) as connection:
        connection.execute("delete from raw.prices where trade_date > ?", [TRUNCATION_CUTOFF])
    # --full-refresh: the copy already holds built marts, which a daily (incremental) build would keep.
    result = dbt_build(db_path, folder, "--full-refresh")
    assert result.returncode == 0, result.stdout[-4000:]
    return db_path
