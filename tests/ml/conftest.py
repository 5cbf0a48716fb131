"""Two synthetic markets (seed 42, 5 years, 155 tickers) built by the real ingest and `dbt build`, each with
a model trained by `ml.training.train_model`: one without a planted signal, one with signal 1. Built once
per session and shared by the training and the backtest tests."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from helpers import dbt_build, run_job

from ingest import jobs
from ml.training import train_model


def build_store(tmp_path_factory, name: str, signal: float):
    folder = tmp_path_factory.mktemp(name)
    db_path = folder / "store.duckdb"
    run_job(jobs.ingest_synthetic, db_path, seed=42, years=5, signal=signal, end=dt.date(2025, 12, 31))
    result = dbt_build(db_path, folder)
    assert result.returncode == 0, result.stdout[-3000:]
    return db_path


@pytest.fixture(scope="session")
def null_run(tmp_path_factory):
    """(db_path, TrainSummary) on the market without a planted signal."""
    db_path = build_store(tmp_path_factory, "no_signal", 0.0)
    return db_path, run_job(train_model, db_path, random_state=7, device="cpu")


@pytest.fixture(scope="session")
def signal_run(tmp_path_factory):
    """(db_path, TrainSummary) on the market with the planted close-location signal (signal 1)."""
    db_path = build_store(tmp_path_factory, "signal", 1.0)
    return db_path, run_job(train_model, db_path, random_state=7, device="cpu")


@pytest.fixture(scope="session")
def daily_model_store(synthetic_store, tmp_path_factory):
    """A copy of the shared small synthetic store (30 equities, 3 years) with a model trained on it, for the
    daily routine's tests (each copies it again before writing)."""
    db_path = tmp_path_factory.mktemp("daily_model") / "store.duckdb"
    shutil.copy(synthetic_store, db_path)
    summary = run_job(train_model, db_path, random_state=7, device="cpu", n_features=10)
    return db_path, summary
