"""The pooled AUC's standard error (`ml.metrics.auc_standard_error`): DeLong's on independent rows, and wide
when the label moves a whole day at once, as an up/down label does with the market."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from ml.metrics import auc_standard_error, distinct_share


def delong_by_hand(scores: np.ndarray, labels: np.ndarray) -> float:
    """DeLong's variance from every (positive, negative) pair, population variances of the placements."""
    positives, negatives = scores[labels == 1], scores[labels == 0]
    pairs = (positives[:, None] > negatives[None, :]) + 0.5 * (positives[:, None] == negatives[None, :])
    v10, v01 = pairs.mean(axis=1), pairs.mean(axis=0)
    return float(np.sqrt(v10.var() / len(positives) + v01.var() / len(negatives)))


def test_on_independent_rows_it_is_delongs_standard_error():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 600)
    scores = np.round(rng.normal(size=600) + 0.4 * labels, 1)  # rounded: ties count half
    dates = np.arange(600)  # every row its own day
    assert np.isclose(auc_standard_error(scores, labels, dates, horizon=1), delong_by_hand(scores, labels))


def test_a_score_that_only_times_the_market_gets_a_wide_standard_error():
    """200 days of 100 stocks: the label depends mostly on the day. A score that is the same for every stock of
    a day has a pooled AUC whose honest error is that of 200 days, not of 20,000 rows."""
    rng = np.random.default_rng(5)
    dates = np.repeat(np.arange(200), 100)
    market = rng.normal(size=200)
    labels = (market[dates] + 0.5 * rng.normal(size=dates.size) > 0).astype(int)
    day_score = rng.normal(size=200)[dates]  # no skill
    stock_score = rng.normal(size=dates.size)
    day_se = auc_standard_error(day_score, labels, dates, horizon=5)
    stock_se = auc_standard_error(stock_score, labels, dates, horizon=5)
    print(f"AUC {roc_auc_score(labels, day_score):.3f} +/- {day_se:.3f} (day score), +/- {stock_se:.4f} (stock)")
    assert day_se > 5 * stock_se
    assert abs(roc_auc_score(labels, day_score) - 0.5) < 3 * day_se


def test_one_class_has_no_standard_error_and_distinct_share_counts_per_day():
    assert auc_standard_error(np.array([0.1, 0.2]), np.array([1, 1]), np.array([0, 1]), horizon=5) is None
    dates = np.array([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])
    probabilities = np.array([0.5, 0.5, 0.5, 0.5, 0.1, 0.2, 0.3, 0.4, 0.1, 0.1, 0.2, 0.2])
    assert distinct_share(probabilities, dates) == 0.5  # days: 1/4, 4/4, 2/4 -> median 2/4
