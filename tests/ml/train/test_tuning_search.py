"""The hyperparameter search runs over the learner that ships (walk-forward, purged), includes regularised
candidates, and is stored with its scores and choice in `ml.tuning`."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.estimators.learner import HierarchicalMetaLearner
from ml.train.tuning import CANDIDATE_PARAMS, candidate_name, choose_params


def test_the_candidates_include_regularisation():
    penalties = {candidate.get("lambda_l2", 1.0) for candidate in CANDIDATE_PARAMS}
    fractions = {candidate.get("feature_fraction", 0.8) for candidate in CANDIDATE_PARAMS}
    assert len(penalties) > 1 and len(fractions) > 1


def test_every_fold_of_every_candidate_is_scored_and_the_best_mean_wins():
    rng = np.random.default_rng(3)
    dates = pd.bdate_range("2020-01-01", periods=300)
    n_tickers = 8
    trade_dates = pd.Series(np.repeat(dates, n_tickers))
    known = trade_dates + pd.offsets.BDay(5)
    signal = rng.normal(size=len(trade_dates))
    X = pd.DataFrame({"signal": signal, "noise": rng.normal(size=len(trade_dates)), "regime_id": 1})
    y = (signal + rng.normal(size=len(trade_dates)) > 0).astype(int)
    learner = HierarchicalMetaLearner(random_state=0, device="cpu", num_boost_round=20, n_folds=2)
    candidates = ({"num_leaves": 4, "min_data_in_leaf": 50}, {"num_leaves": 4, "min_data_in_leaf": 50, "lambda_l2": 50})
    search = choose_params(learner, X, y, trade_dates, known, horizon=5, candidates=candidates, n_folds=3)
    assert len(search.folds) == 6
    for row in search.folds:
        assert row["train_last_date"] < row["validation_first_date"]
        assert 0.5 < row["auc"] < 1
    for candidate in candidates:
        name = candidate_name(candidate)
        folds = [row["auc"] for row in search.folds if row["candidate"] == name]
        assert search.scores[name] == pytest.approx(np.mean(folds))
    assert search.scores[candidate_name(search.best)] == max(search.scores.values())
    assert not hasattr(learner, "seed_")  # the shipped learner is cloned, never fitted here


def test_one_candidate_is_used_as_it_is_without_fitting_a_fold():
    class Unfittable(HierarchicalMetaLearner):
        def fit(self, *args, **kwargs):
            raise AssertionError("a search with one candidate fits nothing")

    X = pd.DataFrame({"signal": np.arange(100.0), "regime_id": 1})
    dates = pd.Series(pd.bdate_range("2020-01-01", periods=100))
    search = choose_params(Unfittable(), X, np.arange(100) % 2, dates, dates, horizon=5, candidates=[{"num_leaves": 7}])
    assert (search.best, search.scores, search.folds) == ({"num_leaves": 7}, {}, [])


@pytest.mark.slow
def test_the_search_is_stored_with_its_choice(small_trained_store):
    db_path, summary = small_trained_store
    with duckdb.connect(str(db_path), read_only=True) as connection:
        rows = connection.execute(
            "select candidate, fold, params, chosen, auc from ml.tuning where model_id = ? order by candidate, fold",
            [summary.model_id],
        ).fetchall()
        stored_params = json.loads(
            connection.execute("select params from ml.models where model_id = ?", [summary.model_id]).fetchall()[0][0]
        )["lightgbm"]
    assert len(rows) == 3 * len(CANDIDATE_PARAMS)
    means = {name: np.mean([auc for other, _, _, _, auc in rows if other == name]) for name, *_ in rows}
    chosen = {name for name, _, _, is_chosen, _ in rows if is_chosen}
    (stored_name,) = [candidate_name(candidate) for candidate in CANDIDATE_PARAMS if candidate == stored_params]
    assert chosen == {stored_name}
    assert means[stored_name] == max(means.values())
    assert {json.dumps(candidate, sort_keys=True) for candidate in CANDIDATE_PARAMS} == {row[2] for row in rows}
