"""The meta-learner's stacker (ml/estimators/stacking.py): non-negative logistic regression and the choice between the
blend of the global and regime models and the global model alone."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from ml.errors import InvalidInputError, NotFittedError
from ml.estimators.stacking import NonNegativeLogisticRegression, choose_stacker, unit_weight_global


def anti_correlated(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two inputs that run against the label (as out-of-fold predictions do when a relationship flips)."""
    rng = np.random.default_rng(seed)
    score = rng.normal(size=rows)
    labels = (rng.random(rows) < expit(score)).astype(int)
    inputs = np.column_stack([-0.8 * score + 0.5 * rng.normal(size=rows), -0.5 * score + rng.normal(size=rows)])
    return inputs, labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weights_stay_at_zero_where_an_unconstrained_fit_inverts_the_inputs(seed):
    inputs, labels = anti_correlated(5000, seed)
    unconstrained = LogisticRegression().fit(inputs, labels)
    assert (unconstrained.coef_ < -0.1).all()  # the case the bounds are for

    stacker = NonNegativeLogisticRegression().fit(inputs, labels)

    assert (stacker.coef_ >= 0).all()
    np.testing.assert_array_equal(stacker.coef_, 0.0)
    # With no usable input it predicts the base rate.
    np.testing.assert_allclose(stacker.predict_proba(inputs)[:, 1], labels.mean(), atol=1e-6)


def test_matches_an_unpenalized_logistic_regression_when_the_bounds_do_not_bind():
    rng = np.random.default_rng(3)
    score = rng.normal(size=20_000)
    labels = (rng.random(20_000) < expit(score)).astype(int)
    inputs = np.column_stack([score + rng.normal(size=20_000), score + rng.normal(size=20_000)])

    stacker = NonNegativeLogisticRegression(l2=0.0).fit(inputs, labels)
    reference = LogisticRegression(C=1e12, tol=1e-10, max_iter=10_000).fit(inputs, labels)

    np.testing.assert_allclose(stacker.coef_, reference.coef_, atol=1e-5)
    np.testing.assert_allclose(stacker.intercept_, reference.intercept_, atol=1e-5)
    assert stacker.converged_
    np.testing.assert_allclose(stacker.predict_proba(inputs), reference.predict_proba(inputs), atol=1e-5)


def test_unfitted_and_malformed_inputs_are_clear_errors():
    with pytest.raises(NotFittedError):
        NonNegativeLogisticRegression().predict_proba(np.zeros((2, 2)))
    with pytest.raises(InvalidInputError, match="finite 2-D"):
        NonNegativeLogisticRegression().fit(np.array([1.0, np.nan]), [0, 1])
    with pytest.raises(InvalidInputError, match="l2"):
        NonNegativeLogisticRegression(l2=-1.0).fit(np.zeros((2, 1)), [0, 1])


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_the_global_model_alone_is_chosen_when_the_regime_input_adds_nothing(seed):
    # The regime input is the global one plus noise that knows nothing of the label: blending it in cannot help
    # out of fold.
    rng = np.random.default_rng(seed)
    rows = 6000
    score = rng.normal(size=rows)
    labels = (rng.random(rows) < expit(score)).astype(int)
    global_logit = score + rng.normal(size=rows)
    regime_logit = global_logit + rng.normal(size=rows)

    decision = choose_stacker(np.column_stack([global_logit, regime_logit]), labels, n_folds=5)

    assert decision["choice"] == "global"
    # Where the regime weight sits at 0 the two stackers are the same function: any gain is the optimizer's.
    assert decision["improvement"] <= max(decision["standard_error"], 1e-9)


def test_the_blend_is_chosen_when_the_regime_input_knows_more():
    rng = np.random.default_rng(5)
    rows = 6000
    first, second = rng.normal(size=rows), rng.normal(size=rows)
    labels = (rng.random(rows) < expit(first + second)).astype(int)

    decision = choose_stacker(np.column_stack([first, first + second]), labels, n_folds=5)

    assert decision["choice"] == "blend"
    assert decision["log_loss"]["blend"] < decision["log_loss"]["global"]


def test_identical_inputs_choose_the_global_model_without_a_blend_score():
    rng = np.random.default_rng(6)
    column = rng.normal(size=500)
    labels = (rng.random(500) < expit(column)).astype(int)

    decision = choose_stacker(np.column_stack([column, column]), labels, n_folds=5)

    assert decision["choice"] == "global" and decision["log_loss"]["blend"] is None
    assert "no regime model" in decision["reason"]


def test_the_unit_weight_global_stacker_only_recentres_the_global_logit():
    rng = np.random.default_rng(7)
    global_logit = rng.normal(size=4000)
    labels = (rng.random(4000) < expit(global_logit + 0.7)).astype(int)

    stacker = unit_weight_global(global_logit, labels)

    np.testing.assert_array_equal(stacker.coef_, [[1.0, 0.0]])
    assert stacker.intercept_[0] == pytest.approx(0.7, abs=0.1)
    # The fitted intercept matches the mean: the stacker's average probability is the base rate.
    probabilities = stacker.predict_proba(np.column_stack([global_logit, np.zeros(4000)]))[:, 1]
    assert probabilities.mean() == pytest.approx(labels.mean(), abs=1e-6)
