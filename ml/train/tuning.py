"""Choosing the meta-learner's LightGBM settings by walk-forward cross-validation on the training window.

The search runs over the learner that ships: each candidate is `sklearn.base.clone` of the configured
`HierarchicalMetaLearner` (same device, seed, regimes, stacker and early stopping) with its `lgbm_params`
set, fitted on each fold's training rows (the regime is a column of X) and scored by the AUC of its
probabilities on the fold's validation rows. Folds are expanding windows, purged and embargoed by the label
horizon (`ml.train.splits.walk_forward_folds`), all inside the training window. The candidates span tree size and
regularisation (leaf size, L2 penalty, feature subsampling); on data with little signal the strongly
regularised ones are expected to win. Every (candidate, fold) score is returned, and training stores them in
`ml.tuning` with the choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from ml.estimators.learner import HierarchicalMetaLearner
from ml.train.splits import walk_forward_folds

#: LightGBM settings compared on the training window (each overrides the learner's defaults,
#: `ml.estimators.learner.DEFAULT_LGBM_PARAMS`): two tree sizes at the default L2 penalty (1.0) and feature fraction
#: (0.8), and two strongly regularised shapes (bigger leaves, L2 10, half the features per tree).
CANDIDATE_PARAMS: tuple[dict, ...] = (
    {"num_leaves": 15, "min_data_in_leaf": 200},
    {"num_leaves": 31, "min_data_in_leaf": 100},
    {"num_leaves": 15, "min_data_in_leaf": 400, "lambda_l2": 10.0, "feature_fraction": 0.5},
    {"num_leaves": 7, "min_data_in_leaf": 800, "lambda_l2": 10.0, "feature_fraction": 0.5},
)


@dataclass
class SearchResult:
    """The outcome of `choose_params`.

    Attributes
    ----------
    best
        the chosen candidate's `lgbm_params`.
    scores
        mean walk-forward AUC per candidate (by `candidate_name`).
    folds
        one dict per (candidate, fold): candidate, params, fold, train_rows, validation_rows,
        train_first_date, train_last_date, validation_first_date, validation_last_date, auc (None when
        the fold's validation rows hold one class only).
    """

    best: dict
    scores: dict[str, float]
    folds: list[dict] = field(default_factory=list)


def candidate_name(params: dict) -> str:
    """A stable, readable key for one candidate (`num_leaves=15,min_data_in_leaf=200`)."""
    return ",".join(f"{key}={value}" for key, value in params.items())


def choose_params(
    learner: HierarchicalMetaLearner,
    X: pd.DataFrame,
    y: np.ndarray,
    trade_dates: pd.Series,
    label_known_dates: pd.Series,
    *,
    horizon: int,
    candidates: Sequence[dict] = CANDIDATE_PARAMS,
    n_folds: int = 3,
) -> SearchResult:
    """The candidate with the best mean walk-forward AUC (the first one on a tie), with every score. With one
    candidate there is nothing to choose: it is returned as it is, with no score and no fold fitted.

    Parameters
    ----------
    learner
        the configured learner (device, seed, regimes, stacker); it is cloned, never fitted here.
    X
        the training window's features and regime column, in time order.
    y
        its labels.
    trade_dates, label_known_dates
        per row of X, for the purged folds.
    horizon
        the label horizon in trading days (the folds' embargo).
    candidates
        `lgbm_params` to compare (each replaces the learner's own `lgbm_params`).
    n_folds
        walk-forward folds.
    """
    if len(candidates) == 1:
        return SearchResult(best=dict(candidates[0]), scores={})
    folds = walk_forward_folds(trade_dates, label_known_dates, embargo_days=horizon, n_folds=n_folds)
    labels = np.asarray(y)
    dates = pd.to_datetime(pd.Series(trade_dates)).reset_index(drop=True)
    scores: dict[str, float] = {}
    rows: list[dict] = []
    best, best_score = dict(candidates[0]), -np.inf
    # Each fold's rows are cut once and shared by every candidate.
    fold_data = [(X.iloc[train], labels[train], X.iloc[validation], labels[validation]) for train, validation in folds]
    for candidate in candidates:
        name = candidate_name(candidate)
        aucs = []
        for number, ((train, validation), (x_fit, y_fit, x_score, truth)) in enumerate(
            zip(folds, fold_data, strict=True), 1
        ):
            model = clone(learner).set_params(lgbm_params=dict(candidate))
            model.fit(x_fit, y_fit)
            auc = float(roc_auc_score(truth, model.predict(x_score))) if len(np.unique(truth)) == 2 else None
            if auc is not None:
                aucs.append(auc)
            rows.append(
                {
                    "candidate": name,
                    "params": dict(candidate),
                    "fold": number,
                    "train_rows": len(train),
                    "validation_rows": len(validation),
                    "train_first_date": dates.iloc[train].min().date(),
                    "train_last_date": dates.iloc[train].max().date(),
                    "validation_first_date": dates.iloc[validation].min().date(),
                    "validation_last_date": dates.iloc[validation].max().date(),
                    "auc": auc,
                }
            )
        score = float(np.mean(aucs)) if aucs else float("nan")
        scores[name] = score
        if score > best_score:
            best, best_score = dict(candidate), score
    return SearchResult(best=best, scores=scores, folds=rows)
