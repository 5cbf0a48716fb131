"""Trained stores, each built once per test run (and shared by pytest-xdist's workers):

- `null_run` and `signal_run`: two synthetic markets of seed 42 built by the real ingest and `dbt build`, each
  with a model trained by `ml.train.pipeline.train_model`: the default universe (155 tickers, 5 years, on which
  the claim of no edge is sized) without a planted signal, and a smaller market with signal 1, each trained with
  the LightGBM setting the walk-forward search of `python -m ml.train` chooses on it. Shared by the training and
  the backtest tests.
- `small_trained_store`: the small synthetic store (30 equities, 3 years) with a model, for tests whose claim
  holds on any store (the daily routine, the commands' exit codes, Ctrl-C, a full disk, reproducibility).

Tests only read them: one that writes copies the file first.
"""

from __future__ import annotations

import datetime as dt
import pickle
import shutil
from pathlib import Path

import pytest
from helpers import dbt_build, run_job, shared_folder

from ingest import jobs
from ml.train.pipeline import TrainSummary, train_model
from ml.train.tuning import CANDIDATE_PARAMS

#: The market with the planted signal is smaller than the default: finding a planted signal needs less data than
#: showing, within +/- 0.02 of AUC, that there is none (measured: the claims of test_train_pipeline and
#: test_backtest hold with wide margins at this size; docs/testing.md).
SIGNAL_TICKERS = 60
SIGNAL_YEARS = 4
#: The LightGBM setting the walk-forward search chooses on that market, given as the only candidate: the model is
#: the one the search leads to (measured: the same test AUC, rank IC and stacker weights to the last digit), in
#: 15 s instead of 115 s. The search itself runs in `small_trained_store` and the commands' tests.
SIGNAL_SETTING = CANDIDATE_PARAMS[3]
#: The setting the search chooses on the market without a signal, likewise (measured: the same selected features
#: and test AUC to the last digit; 12 s of training instead of 52 s).
NULL_SETTING = CANDIDATE_PARAMS[3]


def trained(tmp_path_factory, name: str, build_store, **options) -> tuple[Path, TrainSummary]:
    """(db_path, TrainSummary) of the store `build_store(db_path)` makes, with a model trained on it (seed 7,
    `train_model`'s `options`)."""

    def build(folder: Path) -> None:
        db_path = folder / "store.duckdb"
        build_store(db_path)
        summary = run_job(train_model, db_path, random_state=7, device="cpu", **options)
        (folder / "summary.pickle").write_bytes(pickle.dumps(summary))

    folder = shared_folder(tmp_path_factory, name, build)
    return folder / "store.duckdb", pickle.loads((folder / "summary.pickle").read_bytes())


def market(signal: float, **size):
    """A builder of the synthetic market of seed 42 (the default universe and 5 years, or `size`) with `signal`."""

    def build_store(db_path: Path) -> None:
        options = {"years": 5, **size}
        run_job(jobs.ingest_synthetic, db_path, seed=42, signal=signal, end=dt.date(2025, 12, 31), **options)
        result = dbt_build(db_path, db_path.parent)
        assert result.returncode == 0, result.stdout[-3000:]

    return build_store


@pytest.fixture(scope="session")
def null_run(tmp_path_factory):
    """(db_path, TrainSummary) on the market without a planted signal."""
    return trained(tmp_path_factory, "no_signal", market(0.0), candidates=[NULL_SETTING])


@pytest.fixture(scope="session")
def signal_run(tmp_path_factory):
    """(db_path, TrainSummary) on the market with the planted close-location signal (signal 1), trained with
    `SIGNAL_SETTING`."""
    build = market(1.0, n_tickers=SIGNAL_TICKERS, years=SIGNAL_YEARS)
    return trained(tmp_path_factory, "signal", build, candidates=[SIGNAL_SETTING])


@pytest.fixture(scope="session")
def small_trained_store(synthetic_store, tmp_path_factory):
    """(db_path, TrainSummary): a copy of the shared small synthetic store (30 equities, 3 years) with a model
    trained on it (10 features); tests that write copy it again."""
    return trained(
        tmp_path_factory,
        "small_trained_store",
        lambda db_path: shutil.copyfile(synthetic_store, db_path),
        n_features=10,
    )
