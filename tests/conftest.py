"""Fixtures shared by every test package: the stores every package reads, each built once per test run (and
shared by pytest-xdist's workers, `helpers.shared_folder`)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from helpers import MARKET_DIR, PROJECT_DIR, SP500_DIR, dbt_build, run_job, shared_folder

from ingest import jobs

SYNTHETIC_END = dt.date(2024, 12, 31)

# LightGBM's OpenMP threads spin while they wait for each other. With pytest-xdist's workers (and their dbt, DuckDB
# and Spark) busy on the same cores, two spinning trainings slowed each other twelvefold (measured: 300 rounds on
# 100,000 rows took 12.5 s each at once, against 1.1 s alone); waiting threads that sleep instead take 2.3 s at once
# (2.9 s alone). One thread per training: with pytest-xdist's workers using both cores, a second LightGBM thread
# only adds its waits (measured, 300 rounds on 100,000 rows alone: 1 thread 3.7 s of CPU, 2 sleeping threads 4.9-5.5 s
# for the same 3.4-3.8 s). Set before anything loads LightGBM (`num_threads` 0 is OpenMP's default, which reads
# OMP_NUM_THREADS); the commands the tests start inherit both. Results are unchanged: the learner gives the same
# trees whatever the thread count (tests/ml/estimators/test_learner.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")

#: The modules that take longest (minutes: Spark, the default-size markets with their models, the real data),
#: run first. `python3 tasks.py test` hands whole modules to pytest-xdist's workers in collection order
#: (`--dist loadfile --no-loadscope-reorder`): started last, one of them would keep a worker busy alone at the end.
#: A module missing from the list only runs later.
LONG_MODULES = (
    "tests/scale/test_spark_build.py",
    "tests/ml/backtest/test_backtest.py",
    "tests/ml/daily/test_daily_drift.py",
    "tests/ml/daily/test_replay.py",
    "tests/scale/test_dask_training.py",
    "tests/ml/train/test_train_pipeline.py",
    "tests/dbt/test_cross_asset_features.py",
    "tests/dbt/test_incremental.py",
    "tests/dbt/test_partial_builds.py",
    "tests/dbt/test_cross_sectional.py",
    "tests/ml/daily/test_retraining.py",
    "tests/ml/test_seed_api.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the `LONG_MODULES` first, in that order; the rest keep pytest's order."""
    rank = {name: position for position, name in enumerate(LONG_MODULES)}

    def position(item: pytest.Item) -> int:
        return rank.get(Path(item.path).relative_to(PROJECT_DIR).as_posix(), len(rank))

    items.sort(key=position)  # stable: the order within each module and among the rest is kept


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A DuckDB file path that does not exist yet."""
    return tmp_path / "warehouse" / "test.duckdb"


def build_store(folder: Path, ingest, unit_tests: bool = False) -> None:
    """`ingest(db_path)`, then `dbt build` (with the dbt unit tests if `unit_tests`), into `folder`/store.duckdb;
    what dbt printed is kept in `folder`/dbt_build.log."""
    ingest(folder / "store.duckdb")
    result = dbt_build(folder / "store.duckdb", folder, unit_tests=unit_tests)
    (folder / "dbt_build.log").write_text(result.stdout)
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.fixture(scope="session")
def synthetic_store(tmp_path_factory) -> Path:
    """A synthetic market (seed 7, 30 equities + ETFs + cross-asset series, 3 years) built by dbt."""

    def ingest(db_path: Path) -> None:
        run_job(jobs.ingest_synthetic, db_path, seed=7, years=3, n_tickers=30, end=SYNTHETIC_END)

    def build(folder: Path) -> None:
        build_store(folder, ingest, unit_tests=True)  # the one store whose build runs the dbt unit tests

    return shared_folder(tmp_path_factory, "synthetic_store", build) / "store.duckdb"


@pytest.fixture(scope="session")
def real_store(tmp_path_factory) -> Path:
    """The shared real data (379 S&P 500 stocks + index/ETF/VIX/10Y series) built by dbt."""
    if not SP500_DIR.is_dir() or not MARKET_DIR.is_dir():
        pytest.skip("../shared/data is not present")

    def ingest(db_path: Path) -> None:
        run_job(jobs.ingest_files, db_path, [str(SP500_DIR), str(MARKET_DIR)])

    return shared_folder(tmp_path_factory, "real_store", lambda folder: build_store(folder, ingest)) / "store.duckdb"
