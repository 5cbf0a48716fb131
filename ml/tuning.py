"""Choosing the meta-learner's LightGBM settings by walk-forward cross-validation on the training window.

The search runs over the learner that ships: each candidate is `sklearn.base.clone` of the configured
`HierarchicalMetaLearner` (same device, seed, regimes, stacker and early stopping) with its `lgbm_params`
set, fitted on each fold's training rows (the regime is a column of X) and scored by the AUC of its
probabilities on the fold's validation rows. Folds are expanding windows, purged and embargoed by the label
horizon (`ml.splits.walk_forward_folds`), all inside the training window.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from ml.learner import HierarchicalMetaLearner
from ml.splits import walk_forward_folds

#: LightGBM settings compared on the training window (each overrides the learner's defaults).
CANDIDATE_PARAMS: tuple[dict, ...] = (
    {"num_leaves": 15, "min_data_in_leaf": 200},
    {"num_leaves": 31, "min_data_in_leaf": 100},
)


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
) -> tuple[dict, dict[str, float]]:
    """The candidate with the best mean walk-forward AUC, and every candidate's mean AUC.

    Parameters:
        learner: the configured learner; it is cloned, never fitted here.
        X: the training window's features and regime column, in time order.
        y: its labels.
        trade_dates, label_known_dates: per row of X, for the purged folds.
        horizon: the label horizon in trading days (the folds' embargo).
        candidates: `lgbm_params` to compare (the learner's own `lgbm_params` are replaced, not merged).
        n_folds: walk-forward folds.
    """
    folds = walk_forward_folds(trade_dates, label_known_dates, embargo_days=horizon, n_folds=n_folds)
    labels = np.asarray(y)
    scores: dict[str, float] = {}
    best, best_score = dict(candidates[0]), -np.inf
    # Each fold's rows are cut once and shared by every candidate.
    fold_data = [(X.iloc[train], labels[train], X.iloc[validation], labels[validation]) for train, validation in folds]
    for candidate in candidates:
        aucs = []
        for x_fit, y_fit, x_score, truth in fold_data:
            model = clone(learner).set_params(lgbm_params=dict(candidate))
            model.fit(x_fit, y_fit)
            if len(np.unique(truth)) == 2:
                aucs.append(roc_auc_score(truth, model.predict(x_score)))
        score = float(np.mean(aucs)) if aucs else float("nan")
        scores[candidate_name(candidate)] = score
        if score > best_score:
            best, best_score = dict(candidate), score
    return best, scores
