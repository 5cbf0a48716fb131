"""Fixtures shared by every test package."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from helpers import MARKET_DIR, SP500_DIR, dbt_build, run_job

from ingest import jobs

SYNTHETIC_END = dt.date(2024, 12, 31)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A DuckDB file path that does not exist yet."""
    return tmp_path / "warehouse" / "test.duckdb"


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
def real_store(tmp_path_factory):
    """The shared real data (379 S&P 500 stocks + index/ETF/VIX/10Y series) built by dbt."""
    if not SP500_DIR.is_dir() or not MARKET_DIR.is_dir():
        pytest.skip("../shared/data is not present")
    folder = tmp_path_factory.mktemp("real_store")
    db_path = folder / "store.duckdb"
    run_job(jobs.ingest_files, db_path, [str(SP500_DIR), str(MARKET_DIR)])
    result = dbt_build(db_path, folder)
    assert result.returncode == 0, result.stdout[-4000:]
    return db_path
