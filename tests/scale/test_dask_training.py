"""Training the meta-learner's boosters on Dask (`python -m ml.train --engine dask`, ml.estimators.engines.dask).

On a real local Dask cluster (worker processes, LightGBM's own network between them): the replayed early
stopping keeps the round LightGBM's callback keeps; the learner trained on Dask ranks as well as the local one
and round-trips through its stored state; and the command trains, stores and reloads a model whose test AUC
is within 0.01 of the local model's on the same store (issue 13).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import shutil

import duckdb
import lightgbm
import numpy as np
import pandas as pd
import pytest
from helpers import dbt_build, read_job, run_job, run_module
from sklearn.metrics import roc_auc_score

from ingest import jobs
from ml.errors import InvalidInputError, MLError
from ml.estimators.learner import DEFAULT_LGBM_PARAMS, HierarchicalMetaLearner
from ml.train.data import label_horizon, load_training_examples
from ml.train.registry import load_trained_model
from ml.train.splits import purged_splits
from ml.train.tuning import CANDIDATE_PARAMS
from store.parquet import export_query

if importlib.util.find_spec("distributed") is None:
    pytest.skip("the scale extra is not installed (dask): pip install -e '.[scale]'", allow_module_level=True)

import distributed  # noqa: E402  (after the skip: the scale extra)

from ml.estimators.engines import dask as dask_training  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scheduler():
    """The address of a two-worker local Dask cluster, shared by the tests of this module."""
    with dask_training.cluster(workers=2) as address:
        yield address


def panel(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows in time order with a regime column, a signal in f0 (and in f1 within regime 1), and noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 6)), columns=[f"f{i}" for i in range(6)])
    frame["regime_id"] = rng.integers(0, 3, rows).astype(float)
    score = frame["f0"] + 0.5 * frame["f1"] * (frame["regime_id"] == 1) + 2.0 * rng.normal(size=rows)
    return frame, (score > 0).to_numpy(dtype=np.int8)


def test_the_replayed_early_stopping_keeps_the_round_lightgbm_keeps():
    """`best_iteration` on a booster trained for every round equals what LightGBM's own callback picks."""
    rng = np.random.default_rng(3)
    features = rng.normal(size=(6000, 5))
    labels = (features[:, 0] + 3 * rng.normal(size=6000) > 0).astype(np.int8)
    fit, stop = slice(0, 4000), slice(4000, None)
    for metric in ("binary_logloss", "auc"):
        params = {**DEFAULT_LGBM_PARAMS, "metric": metric, "learning_rate": 0.1, "seed": 1}
        train_set = lightgbm.Dataset(features[fit], label=labels[fit])
        stopped = lightgbm.train(
            params,
            train_set,
            num_boost_round=300,
            valid_sets=[lightgbm.Dataset(features[stop], label=labels[stop], reference=train_set)],
            callbacks=[lightgbm.early_stopping(20, first_metric_only=True, verbose=False)],
        )
        full = lightgbm.train(params, lightgbm.Dataset(features[fit], label=labels[fit]), num_boost_round=300)
        replayed = dask_training.best_iteration(full, params, features[stop], labels[stop], 20)
        print(f"{metric}: LightGBM stopped at {stopped.best_iteration}, the replay at {replayed}")
        assert stopped.best_iteration < 300  # the rule was exercised, not the last round
        assert replayed == stopped.best_iteration


def test_an_unknown_first_metric_is_refused():
    booster = lightgbm.train(
        {**DEFAULT_LGBM_PARAMS, "metric": "binary_error"},
        lightgbm.Dataset(np.arange(400.0).reshape(200, 2), label=np.arange(200) % 2),
        num_boost_round=2,
    )
    with pytest.raises(InvalidInputError, match="replays early stopping on"):
        dask_training.best_iteration(booster, {"metric": "binary_error"}, np.zeros((4, 2)), np.array([0, 1, 0, 1]), 5)


def test_early_stopping_on_dask_trains_the_rest_only_when_the_rule_has_not_stopped(scheduler):
    """`train_early_stopping`: a booster whose rule stops within the first step keeps that step's rounds
    only; one whose rule has not stopped there continues it (its first trees are the first step's) up to
    `rounds`; either way `best_iteration` is the rule's round on all the trees trained."""
    rng = np.random.default_rng(5)
    features = rng.normal(size=(4000, 4))
    signal = (features[:, 0] + 0.5 * rng.normal(size=4000) > 0).astype(np.float32)
    noise = (rng.random(4000) > 0.5).astype(np.float32)
    fit, stop = np.arange(3000), slice(3000, None)
    first = dask_training.FIRST_ROUNDS
    params = {**DEFAULT_LGBM_PARAMS, "metric": "binary_logloss", "seed": 1}
    with dask_training.DaskBoosters(scheduler) as boosters:
        boosters.load_arrays(features, noise)
        stopped = boosters.train_early_stopping(
            {**params, "learning_rate": 0.1}, fit, first + 50, (features[stop], noise[stop]), 10
        )
        print(f"noise: {stopped.current_iteration()} rounds trained, best {stopped.best_iteration}")
        assert stopped.current_iteration() == first  # the rule stopped in the first step: no second one
        assert stopped.best_iteration <= first - 10

        boosters.load_arrays(features, signal)
        slow = {**params, "learning_rate": 0.01}
        grown = boosters.train_early_stopping(slow, fit, first + 50, (features[stop], signal[stop]), 10)
        print(f"signal: {grown.current_iteration()} rounds trained, best {grown.best_iteration}")
        assert grown.current_iteration() == first + 50  # continued to `rounds`
        assert grown.best_iteration > first - 10  # the rule had not stopped within the first step
        assert grown.best_iteration == dask_training.best_iteration(grown, slow, features[stop], signal[stop], 10)

        # A continued booster holds its init model's trees first, then the new ones.
        head = boosters.train(slow, fit, 20)
        continued = boosters.train(slow, fit, 15, init_model=head)
        assert continued.current_iteration() == 35
        np.testing.assert_allclose(continued.predict(features, num_iteration=20), head.predict(features), rtol=1e-12)
        assert not np.allclose(continued.predict(features), head.predict(features))


def test_the_rows_travel_once_and_each_booster_takes_its_own_from_the_workers(scheduler):
    """`load` deals the rows out (worker k: rows k, k + 2, ...); `partitions` gives exactly the rows asked
    for, worker k's partition from its own rows, split evenly for a block of rows (a fold, a run of days) and
    for a scattered subset (a regime); a booster LightGBM refuses is one MLError."""
    rows = 1_001
    features = np.arange(rows * 3, dtype=np.float64).reshape(rows, 3)  # row i holds 3i, 3i + 1, 3i + 2
    labels = (np.arange(rows) % 2).astype(np.float32)
    block = np.arange(200, 700)
    scattered = np.flatnonzero(np.random.default_rng(0).random(rows) < 0.3)
    with dask_training.DaskBoosters(scheduler) as boosters:
        workers, client = boosters.workers, boosters._connected()
        boosters.load_arrays(features, labels)
        for wanted in (None, block, scattered):
            expected = np.arange(rows) if wanted is None else wanted
            x_parts, y_parts = boosters.partitions(wanted)
            sizes = x_parts.chunks[0]
            assert len(sizes) == len(workers) and max(sizes) - min(sizes) <= max(1, len(expected) // 10)
            x, y = client.compute([x_parts, y_parts], sync=True)
            got = (x[:, 0] // 3).astype(np.int64)  # the row each comes from
            assert got.tolist() == sorted(got[: sizes[0]].tolist()) + sorted(got[sizes[0] :].tolist())
            assert sorted(got.tolist()) == expected.tolist()
            assert np.array_equal(x, features[got]) and np.array_equal(y, labels[got])
            assert set(got[: sizes[0]] % 2) == {0} and set(got[sizes[0] :] % 2) == {1}  # worker k: rows k + 2j
        x_parts, _ = boosters.partitions(np.array([4]))
        assert x_parts.chunks[0] == (1,)  # a worker with none of the rows gives no partition
        assert client.compute(x_parts, sync=True)[0, 0] == 12
        with pytest.raises(MLError, match="Dask cluster"):
            boosters.train({"objective": "binary", "min_data_in_leaf": -1}, block, 5)


def test_the_workers_read_their_rows_from_the_parquet_export(scheduler, tmp_path):
    """`load_parquet`: each worker reads its interleaved share of the positions asked for from the Parquet
    files itself (the columns asked for, in that order; NULL as NaN); files holding other values than the
    driver's rows, positions the files lack, or a folder a worker cannot read, are one MLError."""
    rows = 1_001
    values = np.arange(rows * 3, dtype=np.float64).reshape(rows, 3)  # row i holds 3i, 3i + 1, 3i + 2
    values[5, 1] = np.nan
    frame = pd.DataFrame(values, columns=["a", "b", "c"])
    frame["row_position"] = np.arange(rows)
    frame["year"] = 2000 + frame["row_position"] // 300  # four partitions
    folder = tmp_path / "examples"
    with duckdb.connect() as connection:
        connection.register("examples", frame)
        assert export_query(connection, "select * from examples", [], folder) == rows
    assert len(list(folder.glob("year=*"))) == 4
    labels = (np.arange(rows) % 2).astype(np.float32)
    positions = np.concatenate([np.arange(3, 40), np.flatnonzero(np.random.default_rng(1).random(rows) < 0.3) + 40])
    positions = positions[positions < rows]
    with dask_training.DaskBoosters(scheduler) as boosters:
        client = boosters._connected()
        boosters.load_parquet(str(folder), ["c", "b"], positions, labels[positions], values[positions][:, [2, 1]])
        x_parts, y_parts = boosters.partitions(None)
        sizes = x_parts.chunks[0]
        x, y = client.compute([x_parts, y_parts], sync=True)
        got = ((x[:, 0] - 2) // 3).astype(np.int64)  # the row each comes from (column c holds 3i + 2)
        assert got.tolist() == positions[0::2].tolist() + positions[1::2].tolist()  # worker k: every 2nd from k
        assert sizes == (len(positions[0::2]), len(positions[1::2]))
        assert np.array_equal(x, values[got][:, [2, 1]], equal_nan=True) and np.isnan(x[got == 5, 1]).all()
        assert np.array_equal(y, labels[got])
        with pytest.raises(MLError, match="hold other values than the rows trained on"):
            boosters.load_parquet(str(folder), ["a", "b"], positions, labels[positions], values[positions][:, [1, 0]])
        with pytest.raises(MLError, match="lack rows asked for"):
            boosters.load_parquet(str(folder), ["a"], np.array([7, rows, rows + 1]), np.zeros(3))
        with pytest.raises(MLError, match="cannot read the training examples"):
            boosters.load_parquet(str(tmp_path / "missing"), ["a"], np.array([1, 2]), np.zeros(2))


def test_the_learner_on_dask_ranks_like_the_local_one_and_round_trips(scheduler):
    frame, labels = panel(24_000, seed=5)
    fit, test = slice(0, 18_000), slice(18_000, None)
    settings = {"random_state": 3, "device": "cpu", "n_folds": 3}
    local = HierarchicalMetaLearner(**settings).fit(frame[fit], labels[fit])
    on_dask = HierarchicalMetaLearner(**settings, engine="dask", scheduler=scheduler).fit(frame[fit], labels[fit])
    local_auc = roc_auc_score(labels[test], local.predict(frame[test]))
    dask_auc = roc_auc_score(labels[test], on_dask.predict(frame[test]))
    print(
        f"test AUC local {local_auc:.4f}, Dask {dask_auc:.4f}; rounds local {local.best_iterations_}, "
        f"Dask {on_dask.best_iterations_}"
    )
    assert local_auc > 0.6  # there is a signal to find
    assert abs(dask_auc - local_auc) <= 0.01
    assert on_dask.regimes_trained_ == local.regimes_trained_
    assert on_dask.device_used_ == "cpu"
    restored = HierarchicalMetaLearner.from_dict(json.loads(json.dumps(on_dask.to_dict())))
    assert np.array_equal(restored.predict(frame[test]), on_dask.predict(frame[test]))
    assert restored.get_params()["engine"] == "dask"


def test_the_dask_engine_needs_a_scheduler_and_the_cpu():
    frame, labels = panel(2_000, seed=1)
    with pytest.raises(InvalidInputError, match="needs scheduler="):
        HierarchicalMetaLearner(engine="dask").fit(frame, labels)
    with pytest.raises(InvalidInputError, match="engine must be one of"):
        HierarchicalMetaLearner(engine="spark").fit(frame, labels)
    with pytest.raises(InvalidInputError, match="workers' CPUs"):
        HierarchicalMetaLearner(engine="dask", scheduler="tcp://127.0.0.1:1", device="gpu").fit(frame, labels)
    with pytest.raises(InvalidInputError, match="with engine='dask'"):
        HierarchicalMetaLearner(examples="/tmp/examples").fit(frame, labels)
    with pytest.raises(InvalidInputError, match="integers, increasing, none repeated"):
        HierarchicalMetaLearner(engine="dask", scheduler="tcp://127.0.0.1:1", examples="/tmp/examples").fit(
            frame.iloc[::-1], labels[::-1]
        )


@pytest.fixture(scope="module")
def signal_store(tmp_path_factory):
    """A small synthetic market with the planted signal (30 equities, 3 years), built by the real ingest and
    dbt, as the path of a store each test copies."""
    folder = tmp_path_factory.mktemp("dask_signal")
    db_path = folder / "store.duckdb"
    run_job(jobs.ingest_synthetic, db_path, seed=7, years=3, n_tickers=30, signal=1.0, end=dt.date(2024, 12, 31))
    # Without the data tests (the planted-signal market of tests/ml runs them): the claim is the training.
    result = dbt_build(db_path, folder, data_tests=False)
    assert result.returncode == 0, result.stdout[-4000:]
    return db_path


def test_ml_train_on_dask_stores_a_model_that_reloads_and_matches_the_local_auc(scheduler, signal_store, tmp_path):
    """The command on a running cluster (--scheduler), against the local engine on a copy of the same store, both
    with the same LightGBM setting (--params: the walk-forward search fits the same learner four times over,
    which `test_the_learner_on_dask_ranks_like_the_local_one_and_round_trips` covers): the stored Dask model
    reloads, reproduces its stored test AUC, and that AUC is within 0.01."""
    runs = {}
    parquet = tmp_path / "parquet"
    setting = CANDIDATE_PARAMS[0]
    for engine, extra in (("local", ()), ("dask", ("--scheduler", scheduler))):
        db_path = tmp_path / f"{engine}.duckdb"
        shutil.copy(signal_store, db_path)
        arguments = ("--db", str(db_path), "--seed", "7", "--n-features", "10", "--engine", engine, *extra)
        arguments += ("--params", json.dumps(setting))
        # The Dask run in a process of its own, whose exit closes its client, as a user's does.
        environment = {"FEATURE_STORE_PARQUET": str(parquet)}
        result = run_module("ml.train", *arguments, timeout=900, env=environment, own_process=engine == "dask")
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Traceback" not in result.stderr
        assert f"engine {engine}" in result.stdout
        assert "using the one LightGBM setting given (no search)" in result.stderr
        runs[engine] = db_path
    assert f"the Dask scheduler at {scheduler}" in result.stderr
    # The workers read the examples from the Parquet export: the selected features, by year, every labelled row.
    examples = parquet / "fct_training_examples"
    assert f"as Parquet to {examples}" in result.stderr
    exported = pd.read_parquet(examples)
    assert len(list(examples.glob("year=*"))) == 3
    assert sorted(exported["row_position"]) == list(range(len(read_job(load_training_examples, runs["dask"]).frame)))
    assert len(exported.columns) == 10 + 3  # the 10 selected features, the label, row_position, year
    aucs = {}
    for engine, db_path in runs.items():
        with duckdb.connect(str(db_path), read_only=True) as connection:
            model_id, params = connection.execute("select model_id, params from ml.models").fetchone()
            aucs[engine] = connection.execute(
                "select value from ml.metrics where model_id = ? and split = 'test' and metric = 'auc'", [model_id]
            ).fetchone()[0]
        assert json.loads(params)["engine"] == engine
        assert json.loads(params)["lightgbm"] == setting
        model = read_job(load_trained_model, db_path, model_id)
        assert model.learner.get_params()["engine"] == engine
        assert model.learner.get_params()["scheduler"] == (scheduler if engine == "dask" else None)
        data = read_job(load_training_examples, db_path)
        horizon = read_job(label_horizon, db_path)
        splits = purged_splits(data.frame["trade_date"], data.frame["label_known_date"], horizon=horizon)
        test = data.frame.iloc[splits["test"].rows]
        assert roc_auc_score(test[data.label.column], model.predict_proba(test)) == pytest.approx(aucs[engine])
    print(f"test AUC: local {aucs['local']:.4f}, Dask {aucs['dask']:.4f}")
    assert abs(aucs["dask"] - aucs["local"]) <= 0.01


def test_without_a_scheduler_a_local_cluster_is_started_and_closed():
    with dask_training.cluster() as address, distributed.Client(address, set_as_default=False) as client:
        workers = client.scheduler_info()["workers"]
        assert len(workers) == min(os.cpu_count() or 1, 4)
    with pytest.raises(OSError):
        distributed.Client(address, timeout=2, set_as_default=False)


def test_a_scheduler_without_workers_is_refused():
    with (
        distributed.LocalCluster(n_workers=0, dashboard_address=":0") as empty,
        pytest.raises(MLError, match="has no workers"),
        dask_training.cluster(empty.scheduler_address),
    ):
        pass


def test_an_unreachable_scheduler_or_a_scheduler_without_dask_is_one_line(synthetic_store, tmp_path):
    db_path = tmp_path / "store.duckdb"
    shutil.copy(synthetic_store, db_path)
    result = run_module("ml.train", "--db", str(db_path), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in last
    # Nothing listens there: said at once ("refused"), not after the client's connect timeout ("Timed out").
    assert "Connection refused" in last
    assert "Traceback" not in result.stderr
    usage = run_module("ml.train", "--db", str(db_path), "--scheduler", "tcp://127.0.0.1:9")
    assert usage.returncode == 2 and "--engine dask" in usage.stderr
    usage = run_module("ml.train", "--db", str(db_path), "--examples", str(tmp_path / "examples"))
    assert usage.returncode == 2 and "use it with --engine dask" in usage.stderr
    with duckdb.connect(str(db_path), read_only=True) as connection:
        tables = {row[0] for row in connection.execute("select table_name from duckdb_tables()").fetchall()}
    assert "models" not in tables


def test_a_folder_the_examples_cannot_be_written_to_is_one_line(scheduler, synthetic_store, tmp_path):
    db_path = tmp_path / "store.duckdb"
    shutil.copy(synthetic_store, db_path)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    arguments = ("--db", str(db_path), "--engine", "dask", "--scheduler", scheduler, "--examples", str(blocker / "x"))
    result = run_module("ml.train", *arguments, timeout=600, own_process=True)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and f"cannot write the training examples to {blocker / 'x'}" in last
    assert "Traceback" not in result.stderr
    with duckdb.connect(str(db_path), read_only=True) as connection:
        tables = {row[0] for row in connection.execute("select table_name from duckdb_tables()").fetchall()}
    assert "models" not in tables
