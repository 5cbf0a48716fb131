"""The reliability table of the edge analysis (ml/backtest/statistics.py) and the quantile bins behind it
(ml.metrics.quantile_bins): equal-count bins that keep tied probabilities together."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from ml.backtest.statistics import reliability_table
from ml.metrics import quantile_bins


def test_tied_probabilities_all_land_in_one_bin():
    # One probability per day, as a model that leans on market inputs gives: 600 rows at 0.5 in time order, the
    # first half all down and the second half all up. Splitting the ties by order would show bins of 0% and
    # 100% up at the same probability.
    p = np.r_[np.linspace(0.1, 0.3, 200), np.full(600, 0.5), np.linspace(0.6, 0.9, 200)]
    y = np.r_[np.zeros(200), np.zeros(300), np.ones(300), np.ones(200)]

    table = reliability_table(p, y, n_bins=10)

    tied = table[(table["lower"] <= 0.5) & (table["upper"] >= 0.5)]
    assert len(tied) == 1
    assert tied["rows"].item() == 600 and tied["lower"].item() == tied["upper"].item() == 0.5
    assert tied["observed_rate"].item() == 0.5
    assert table["rows"].sum() == 1000
    assert table["bin"].tolist() == list(range(1, len(table) + 1))
    assert len(table) < 10  # coinciding edges leave fewer bins
    # No two bins share a probability.
    assert (table["lower"].to_numpy()[1:] > table["upper"].to_numpy()[:-1]).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bins_agree_with_scikit_learn_calibration_curve(seed):
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 3, 5000)
    p[:1500] = np.round(p[:1500], 2)  # ties too
    y = (rng.random(5000) < p).astype(int)

    table = reliability_table(p, y, n_bins=10)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="quantile")

    np.testing.assert_allclose(table["observed_rate"], prob_true, rtol=0, atol=1e-12)
    np.testing.assert_allclose(table["mean_predicted"], prob_pred, rtol=0, atol=1e-12)


def test_quantile_bins_keep_ties_and_renumber_empty_bins():
    p = np.array([0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.7, 0.8])
    bins = quantile_bins(p, 4)
    assert len(set(bins[:6])) == 1
    assert sorted(set(bins.tolist())) == list(range(len(set(bins.tolist()))))
    assert np.all(np.diff(bins[np.argsort(p, kind="stable")]) >= 0)  # increasing with the probability
    assert quantile_bins(np.array([0.4] * 5), 10).tolist() == [0] * 5
