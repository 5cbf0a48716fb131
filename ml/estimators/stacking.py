"""The meta-learner's stacker: a logistic regression whose weights cannot be negative, and the choice between
the blend of the global and regime models and the global model alone.

Why bounded weights: the stacker is fitted on out-of-fold predictions. When a base model's out-of-fold
predictions happen to run against the labels (a relationship that flipped between time blocks, or plain
noise), an unconstrained logistic regression gives it a negative weight and the ensemble then turns the base
model upside down on new data (seen: weights -1.44 and -0.65, test AUC 0.44). A base model is trained to
predict the label; using it inverted is a bet that the flip persists, which nothing in the design supports.
With weights >= 0 the worst the stacker can do is ignore a model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin

from ml.errors import InvalidInputError
from ml.validation import check_binary_labels, check_is_fitted

# L2 penalty on the weights (not the intercept), added to the mean log loss: small enough to leave fits on
# thousands of rows alone, large enough to keep the weights finite when the inputs separate the labels.
DEFAULT_L2 = 1e-4

BLEND = "blend"
GLOBAL_ONLY = "global"
# The blend must beat the global model alone by more than this many standard errors of the row-by-row
# difference in cross-fitted log loss ...
MARGIN_STANDARD_ERRORS = 2.0
# ... a standard error clustered on this many contiguous chunks of the (time-ordered) rows. Rows of one date
# share the market's move and are far from independent: on a synthetic store without any signal, regime models
# that had learnt each regime's up-rate "beat" the global model by 10 row-level standard errors and lost on the
# test window. Contiguous chunks of rows hold whole runs of dates, so clustering on them counts dates, not rows.
N_CLUSTERS = 100
# ... and by more than this, which absorbs the optimizer's tolerance when the regime weight sits at 0 and the
# two stackers are the same function.
MIN_IMPROVEMENT = 1e-9


class NonNegativeLogisticRegression(ClassifierMixin, BaseEstimator):
    """Binary logistic regression with every coefficient >= 0 and a free intercept.

    Minimizes mean log loss + `l2` / 2 * ||coef||^2 with `scipy.optimize.minimize` (L-BFGS-B, bounds
    [0, inf) on the coefficients), from coef = 0 and the intercept at the logit of the base rate.

    Parameters
    ----------
    l2
        strength of the L2 penalty on the coefficients (>= 0).

    Attributes
    ----------
    coef_
        shape (1, n_features), every value >= 0.
    intercept_
        shape (1,).
    classes_
        array([0, 1]).
    n_features_in_
        number of input columns.
    converged_
        whether L-BFGS-B reported success.
    """

    def __init__(self, l2: float = DEFAULT_L2) -> None:
        self.l2 = l2

    def fit(self, X: Any, y: Any) -> NonNegativeLogisticRegression:
        """Fit on inputs X (n rows, k columns) and 0/1 labels y; return self.

        Raises
        ------
        InvalidInputError
            X is not a finite 2-D array, y not 0/1 of the same length, or `l2` negative.
        """
        if not np.isfinite(self.l2) or self.l2 < 0:
            raise InvalidInputError(f"NonNegativeLogisticRegression: l2 must be a number >= 0, got {self.l2!r}.")
        inputs = _matrix(X)
        labels = check_binary_labels(y, len(inputs), self, "y").astype(np.float64)
        if len(inputs) == 0:
            raise InvalidInputError("NonNegativeLogisticRegression: no rows to fit on.")
        rows, columns = inputs.shape
        base_rate = np.clip(labels.mean(), 1e-6, 1 - 1e-6)
        start = np.r_[np.zeros(columns), np.log(base_rate / (1 - base_rate))]
        negatives = 1.0 - labels

        def loss_and_gradient(parameters: np.ndarray) -> tuple[float, np.ndarray]:
            weights, intercept = parameters[:-1], parameters[-1]
            z = inputs @ weights + intercept
            # -log p(y | z) = -(y * log sigmoid(z) + (1 - y) * log sigmoid(-z)) = (1 - y) * z - log sigmoid(z),
            # since log sigmoid(-z) = log sigmoid(z) - z; computed without overflow, one logarithm per row.
            loss = (negatives * z - log_expit(z)).mean()
            residual = (expit(z) - labels) / rows
            gradient = np.r_[inputs.T @ residual + self.l2 * weights, residual.sum()]
            return float(loss + 0.5 * self.l2 * weights @ weights), gradient

        bounds = [(0.0, None)] * columns + [(None, None)]
        result = minimize(
            loss_and_gradient,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 1000, "ftol": 1e-13, "gtol": 1e-9},
        )
        # The bounds hold at every L-BFGS-B iterate; the max() only removes a -0.0.
        self.coef_ = np.maximum(result.x[:-1], 0.0).reshape(1, -1)
        self.intercept_ = np.asarray([result.x[-1]], dtype=np.float64)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = columns
        self.converged_ = bool(result.success)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """The logit of the positive class, X @ coef_ + intercept_, shape (n,)."""
        check_is_fitted(self, "predict")
        inputs = _matrix(X)
        if inputs.shape[1] != self.n_features_in_:
            raise InvalidInputError(
                f"NonNegativeLogisticRegression: fitted on {self.n_features_in_} columns, got {inputs.shape[1]}."
            )
        return inputs @ self.coef_.ravel() + self.intercept_[0]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of class 0 and class 1, shape (n, 2)."""
        positive = expit(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any) -> np.ndarray:
        """0/1 labels (probability of class 1 >= 0.5), like scikit-learn's classifiers."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "coef_")


def unit_weight_global(global_logit: np.ndarray, labels: Any) -> NonNegativeLogisticRegression:
    """The stacker used when no base model earns a positive weight out of fold: the global model at weight 1
    with only its intercept refitted, p = expit(intercept + logit(global)), as a two-input stacker (regime
    weight 0).

    A stacker with every weight at 0 would give every row the base rate: an ensemble that ranks nothing, and
    on which every test of the ranking (the no-signal AUC band that catches leakage, the rank IC) is
    vacuous. Weight 1 keeps the global model as it was trained, never inverted; only its level is recentred
    (its scale is the calibrator's job).
    """
    offset = _matrix(np.reshape(global_logit, (-1, 1)))[:, 0]
    labels = check_binary_labels(labels, len(offset), "unit_weight_global", "labels").astype(np.float64)

    def loss_and_gradient(parameters: np.ndarray) -> tuple[float, np.ndarray]:
        z = offset + parameters[0]
        loss = -(labels * log_expit(z) + (1 - labels) * log_expit(-z)).mean()
        return float(loss), np.array([float((expit(z) - labels).mean())])

    result = minimize(loss_and_gradient, np.zeros(1), jac=True, method="L-BFGS-B", options={"gtol": 1e-10})
    stacker = NonNegativeLogisticRegression()
    stacker.coef_ = np.array([[1.0, 0.0]])
    stacker.intercept_ = np.asarray([result.x[0]], dtype=np.float64)
    stacker.classes_ = np.array([0, 1])
    stacker.n_features_in_ = 2
    stacker.converged_ = bool(result.success)
    return stacker


def row_log_loss(labels: np.ndarray, probabilities: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Binary log loss of each row (probabilities clipped to [eps, 1 - eps])."""
    p = np.clip(probabilities, eps, 1 - eps)
    return -(labels * np.log(p) + (1 - labels) * np.log1p(-p))


def choose_stacker(inputs: np.ndarray, labels: np.ndarray, n_folds: int, l2: float = DEFAULT_L2) -> dict:
    """Decide between the blend of both columns of `inputs` and the first column (the global model) alone.

    Both stackers are non-negative logistic regressions. Each is scored by *cross-fitted* log loss over the
    same contiguous time blocks as the out-of-fold predictions: the rows of block k are predicted by a stacker
    fitted on the other blocks. Scoring in-sample would always favour the blend, which nests the global-only
    stacker. The blend is chosen only when its cross-fitted log loss is lower by more than
    `MARGIN_STANDARD_ERRORS` standard errors of the row-by-row difference, clustered on `N_CLUSTERS`
    contiguous chunks of rows (and by more than `MIN_IMPROVEMENT`);
    when both columns are equal (no regime model predicted any row) the global model is chosen without
    fitting.

    Parameters
    ----------
    inputs
        (n, 2) out-of-fold [logit(global), logit(regime)], rows in time order.
    labels
        0/1 labels of the rows.
    n_folds
        number of contiguous blocks (those of the out-of-fold predictions).
    l2
        the stackers' L2 penalty.

    Returns
    -------
    {'choice': 'blend' or 'global', 'log_loss': {'blend': float or None, 'global': float},
    'improvement': global's log loss minus the blend's (None without a blend), 'standard_error': of that
    improvement (None without a blend), 'reason': str}.
    """
    labels = np.asarray(labels, dtype=np.float64)
    blocks = np.array_split(np.arange(len(labels)), n_folds)
    candidates = {GLOBAL_ONLY: inputs[:, :1]}
    identical = bool(np.array_equal(inputs[:, 0], inputs[:, 1]))
    if not identical:
        candidates[BLEND] = inputs
    scores: dict[str, float | None] = {BLEND: None}
    row_losses = {}
    for name, columns in candidates.items():
        predicted = np.empty(len(labels))
        for index, held_out in enumerate(blocks):
            train_rows = np.concatenate([block for other, block in enumerate(blocks) if other != index])
            if len(np.unique(labels[train_rows])) < 2:
                predicted[held_out] = labels[train_rows].mean()
                continue
            stacker = NonNegativeLogisticRegression(l2=l2).fit(columns[train_rows], labels[train_rows])
            predicted[held_out] = stacker.predict_proba(columns[held_out])[:, 1]
        row_losses[name] = row_log_loss(labels, predicted)
        scores[name] = float(row_losses[name].mean())
    decision: dict = {"log_loss": scores, "improvement": None, "standard_error": None}
    if identical:
        return {**decision, "choice": GLOBAL_ONLY, "reason": "no regime model predicted any row"}
    difference = row_losses[GLOBAL_ONLY] - row_losses[BLEND]
    improvement = float(difference.mean())
    standard_error = clustered_standard_error(difference, N_CLUSTERS)
    decision.update(improvement=improvement, standard_error=standard_error)
    if improvement > max(MARGIN_STANDARD_ERRORS * standard_error, MIN_IMPROVEMENT):
        return {
            **decision,
            "choice": BLEND,
            "reason": f"the blend's cross-fitted log loss is lower by {improvement:.3g} (standard error "
            f"{standard_error:.3g})",
        }
    return {
        **decision,
        "choice": GLOBAL_ONLY,
        "reason": f"the blend does not beat the global model alone on cross-fitted log loss (by {improvement:.3g}, "
        f"standard error {standard_error:.3g}, margin {MARGIN_STANDARD_ERRORS:g} standard errors)",
    }


def clustered_standard_error(values: np.ndarray, n_clusters: int) -> float:
    """Standard error of the mean of `values` (in time order), clustered on `n_clusters` contiguous chunks
    (fewer when there are fewer than two rows per chunk): sqrt(sum over chunks of (chunk sum - chunk rows *
    mean)^2) / rows, the cluster-robust (CR0) estimate."""
    rows = len(values)
    if rows < 2:
        return 0.0
    chunks = np.array_split(values - values.mean(), max(1, min(n_clusters, rows // 2)))
    return float(np.sqrt(sum(float(chunk.sum()) ** 2 for chunk in chunks)) / rows)


def _matrix(X: Any) -> np.ndarray:
    inputs = np.asarray(X, dtype=np.float64)
    if inputs.ndim != 2 or not np.isfinite(inputs).all():
        raise InvalidInputError(
            f"NonNegativeLogisticRegression: X must be a finite 2-D array (rows x inputs), got shape {inputs.shape}."
        )
    return inputs


__all__ = [
    "BLEND",
    "DEFAULT_L2",
    "GLOBAL_ONLY",
    "MARGIN_STANDARD_ERRORS",
    "N_CLUSTERS",
    "NonNegativeLogisticRegression",
    "choose_stacker",
    "clustered_standard_error",
    "row_log_loss",
    "unit_weight_global",
]
