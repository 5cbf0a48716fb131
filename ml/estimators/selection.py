"""Feature selection: drop empty and constant columns, rank by random-forest importance, prune correlated pairs.

`FeatureSelector` is fitted on the training window only: the importances, correlations and the list of
selected columns all come from the rows handed to `fit`, never from the validation or test window. It is
saved as JSON text (`save` / `load`, see `ml.estimators.persistence`), never pickled.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestClassifier
from sklearn.utils import check_random_state

from ml.errors import InvalidInputError
from ml.estimators.persistence import JsonPersistenceMixin, finite_or_none, floats_or_none, json_params, none_to_nan
from ml.validation import (
    check_feature_frame,
    check_int,
    check_interval,
    check_is_fitted,
    check_labels,
    select_features,
)

logger = logging.getLogger(__name__)

STATE_FORMAT = "FeatureSelector/1"


class FeatureSelector(JsonPersistenceMixin, BaseEstimator):
    """Select a small, non-redundant set of feature columns for a classifier.

    Fit it on the training window only (never on rows of the validation or test window): it learns which
    columns to keep from those rows alone.

    `fit` does, in order:

    1. drops columns that are entirely NaN/NULL (`dropped_all_null_`) and columns with a single distinct
       non-missing value (`dropped_constant_`), checked on all rows, and logs a warning naming them;
    2. draws a seeded subsample of at most `max_samples` rows (for speed; all later steps use it);
    3. ranks the remaining columns by the impurity importance of a `RandomForestClassifier`
       (`importances_`). Missing values go to the forest as NaN: scikit-learn's trees handle them natively
       (since 1.4), so nothing is imputed. Infinite values are treated as missing;
    4. walks the columns from most to least important and drops a column whose absolute **Spearman**
       correlation with an already kept column exceeds `correlation_threshold`, recording the kept partner
       (`dropped_correlated_`). Spearman rather than Pearson because features are heavy-tailed and a few
       extreme rows should not make two columns look redundant (or distinct). It is computed as the Pearson
       correlation of per-column ranks over the rows where both columns are present;
    5. stops once `n_features` columns are kept; the columns it did not reach are `dropped_low_importance_`.

    Parameters
    ----------
    correlation_threshold : float, default=0.85
        Absolute Spearman correlation above which the less important column of a pair is dropped.
    n_features : int, default=20
        Number of columns to keep (fewer if fewer survive the other steps).
    random_state : int, numpy RandomState or None, default=None
        Seeds the row subsample and the forest. An int makes `fit` deterministic.
    n_estimators : int, default=200
        Number of trees in the forest.
    max_samples : int, default=50_000
        Rows drawn (without replacement) from the fit data for the forest and the correlations.
    max_samples_per_tree : int, default=2_500
        Bootstrap rows each tree sees. The forest's cost grows with `n_estimators * max_samples_per_tree`;
        many trees on small bootstraps of a large pool rank importances as well as a few big trees, faster.
    max_depth : int or None, default=6
        Depth limit of each tree (also for speed; importance ranking does not need deep trees).
    n_jobs : int or None, default=None
        Parallel jobs for the forest (None: one, -1: all cores).

    Attributes
    ----------
    feature_names_in_ : numpy.ndarray of str
        Columns of the frame given to `fit`.
    n_features_in_ : int
        Number of those columns.
    dropped_all_null_ : list of str
        Columns with no non-missing value in the fit data.
    dropped_constant_ : list of str
        Columns with exactly one distinct non-missing value.
    importances_ : pandas.Series
        Forest importance of every remaining column, sorted from most to least important.
    dropped_correlated_ : dict of str to str
        Dropped column -> the more important kept column it was correlated with.
    dropped_low_importance_ : list of str
        Columns that passed the correlation check but ranked below the first `n_features`.
    selected_features_ : list of str
        Kept columns, most important first. `transform` returns these.
    correlation_ : pandas.DataFrame
        Absolute Spearman correlations between the ranked columns (on the subsample).

    Saving: `save('models/feature_selector_fitted.json')` writes the parameters and every fitted attribute as
    JSON text and `FeatureSelector.load(path)` reads them back (`to_dict` / `from_dict` for a database column).
    """

    STATE_FORMAT = STATE_FORMAT

    def __init__(
        self,
        correlation_threshold: float = 0.85,
        n_features: int = 20,
        random_state: int | np.random.RandomState | None = None,
        n_estimators: int = 200,
        max_samples: int = 50_000,
        max_samples_per_tree: int = 2_500,
        max_depth: int | None = 6,
        n_jobs: int | None = None,
    ) -> None:
        self.correlation_threshold = correlation_threshold
        self.n_features = n_features
        self.random_state = random_state
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_samples_per_tree = max_samples_per_tree
        self.max_depth = max_depth
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y) -> FeatureSelector:
        """Learn which columns to keep from the training window.

        Parameters
        ----------
        X : pandas.DataFrame
            Training-window features: numeric or boolean columns with unique string names. NaN/NULL allowed.
        y : array-like of shape (n_rows,)
            Class labels, aligned with `X` by position. Must not contain missing values.

        Returns
        -------
        self : FeatureSelector
        """
        self._check_params()
        check_feature_frame(X, self, "X")
        labels = check_labels(y, len(X), self)
        # A refit that fails part way must not leave the previous fit's selection looking current.
        self.__dict__.pop("selected_features_", None)

        columns = list(X.columns)
        self.feature_names_in_ = np.asarray(columns, dtype=object)
        self.n_features_in_ = len(columns)

        self.dropped_all_null_, self.dropped_constant_ = _empty_and_constant_columns(X)
        if self.dropped_all_null_:
            logger.warning(
                "FeatureSelector: dropping %d column(s) that are entirely NULL/NaN in the training window: %s",
                len(self.dropped_all_null_),
                ", ".join(self.dropped_all_null_),
            )
        if self.dropped_constant_:
            logger.warning(
                "FeatureSelector: dropping %d constant column(s) (one distinct value): %s",
                len(self.dropped_constant_),
                ", ".join(self.dropped_constant_),
            )
        unusable = set(self.dropped_all_null_) | set(self.dropped_constant_)
        candidates = [c for c in columns if c not in unusable]
        if not candidates:
            raise InvalidInputError(
                "FeatureSelector: every column is entirely NULL/NaN or constant in the training window; "
                "there is nothing to select. Check the feature query and the training window's dates."
            )

        rng = check_random_state(self.random_state)
        if len(X) > self.max_samples:
            # Sorted, so the subsample keeps the frame's row (time) order.
            rows = np.sort(rng.choice(len(X), size=self.max_samples, replace=False))
        else:
            rows = np.arange(len(X))
        positions = [columns.index(c) for c in candidates]
        sample = X.iloc[rows, positions].to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        # The trees accept NaN but reject +-inf; a ratio feature with a zero denominator is as good as missing.
        sample[~np.isfinite(sample)] = np.nan
        sample_labels = labels[rows]
        if np.unique(sample_labels).size < 2:
            raise InvalidInputError(
                "FeatureSelector: y has a single class in the training window; importances need at least two. "
                "Widen the training window or check the label query."
            )

        forest = RandomForestClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            max_samples=min(self.max_samples_per_tree, len(rows)),
            random_state=rng,
            n_jobs=self.n_jobs,
        )
        forest.fit(sample, sample_labels)
        # A stable sort on the negated importances keeps the column order for ties, so the ranking is reproducible.
        order = np.argsort(-forest.feature_importances_, kind="stable")
        self.importances_ = pd.Series(
            forest.feature_importances_[order], index=[candidates[i] for i in order], name="importance"
        )

        ranks = pd.DataFrame(sample, columns=candidates).rank()
        self.correlation_ = ranks.corr(method="pearson", min_periods=3).abs()

        kept: list[str] = []
        self.dropped_correlated_ = {}
        self.dropped_low_importance_ = []
        for position, feature in enumerate(self.importances_.index):
            if len(kept) == self.n_features:
                self.dropped_low_importance_ = list(self.importances_.index[position:])
                break
            if kept:
                # NaN (too few rows where both are present) compares False: not evidence of redundancy.
                with_kept = self.correlation_.loc[feature, kept]
                partners = with_kept[with_kept > self.correlation_threshold]
                if len(partners):
                    self.dropped_correlated_[feature] = str(partners.idxmax())
                    continue
            kept.append(feature)
        self.selected_features_ = kept

        if self.dropped_correlated_:
            logger.info(
                "FeatureSelector: dropped %d column(s) correlated above %.2f with a more important one: %s",
                len(self.dropped_correlated_),
                self.correlation_threshold,
                ", ".join(f"{dropped} (~{partner})" for dropped, partner in self.dropped_correlated_.items()),
            )
        logger.info(
            "FeatureSelector: kept %d of %d column(s): %s",
            len(kept),
            self.n_features_in_,
            ", ".join(kept),
        )
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Return the selected columns of `X`, in `selected_features_` order.

        Raises `MissingFeaturesError` naming any selected column that `X` lacks, and `NotFittedError` before
        `fit`. Extra columns in `X` are ignored.
        """
        check_is_fitted(self, "transform")
        return select_features(X, self.selected_features_, self, "X").copy()

    def fit_transform(self, X: pd.DataFrame, y) -> pd.DataFrame:
        """Fit on the training window `X`, `y` and return its selected columns."""
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the columns `transform` returns (scikit-learn's naming protocol)."""
        check_is_fitted(self, "ask for its output feature names")
        return np.asarray(self.selected_features_, dtype=object)

    def get_selected_features(self) -> list[str]:
        """The selected column names, most important first (a copy of `selected_features_`)."""
        check_is_fitted(self, "ask for its selected features")
        return list(self.selected_features_)

    def _check_params(self) -> None:
        check_interval(self, "correlation_threshold", self.correlation_threshold, 0.0, 1.0)
        for name in ("n_features", "n_estimators", "max_samples", "max_samples_per_tree"):
            check_int(self, name, getattr(self, name))
        check_int(self, "max_depth", self.max_depth, allow_none=True)
        if self.n_jobs is not None and (isinstance(self.n_jobs, bool) or not isinstance(self.n_jobs, int | np.integer)):
            raise InvalidInputError(f"FeatureSelector: n_jobs must be an integer or None, got {self.n_jobs!r}.")

    # ----------------------------------------------------------------------------------------- storage

    def to_dict(self) -> dict[str, Any]:
        """Parameters and fitted state as plain JSON types; `from_dict` (or `save` / `load`) reverses it exactly.

        Keeps what `transform`, `get_selected_features` and `get_feature_names_out` need and the diagnostic
        attributes (importances, correlations, dropped columns). NaN correlations (too few rows where both
        columns are present) are stored as null. A `random_state` that is a RandomState object is stored as None.
        """
        check_is_fitted(self, "save it")
        return {
            "format": self.STATE_FORMAT,
            "params": json_params(self.get_params()),
            "feature_names_in": [str(name) for name in self.feature_names_in_],
            "dropped_all_null": list(self.dropped_all_null_),
            "dropped_constant": list(self.dropped_constant_),
            "importances": [[str(name), finite_or_none(value)] for name, value in self.importances_.items()],
            "correlation": {
                "columns": [str(name) for name in self.correlation_.columns],
                "values": floats_or_none(self.correlation_.to_numpy()),
            },
            "dropped_correlated": dict(self.dropped_correlated_),
            "dropped_low_importance": list(self.dropped_low_importance_),
            "selected_features": list(self.selected_features_),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> FeatureSelector:
        """Rebuild a fitted selector from `to_dict` output; it selects exactly what the stored one did.

        Raises
        ------
        StateError
            `state` is not a FeatureSelector state, or is incomplete.
        """
        cls._check_state_format(state)
        with cls._reading_state():
            selector = cls(**state["params"])
            selector._check_params()
            selector.feature_names_in_ = np.asarray([str(name) for name in state["feature_names_in"]], dtype=object)
            selector.n_features_in_ = len(selector.feature_names_in_)
            selector.dropped_all_null_ = [str(name) for name in state["dropped_all_null"]]
            selector.dropped_constant_ = [str(name) for name in state["dropped_constant"]]
            names = [str(name) for name, _ in state["importances"]]
            values = none_to_nan([value for _, value in state["importances"]])
            selector.importances_ = pd.Series(values, index=names, name="importance", dtype=np.float64)
            columns = [str(name) for name in state["correlation"]["columns"]]
            matrix = none_to_nan(state["correlation"]["values"]).reshape(len(columns), len(columns))
            selector.correlation_ = pd.DataFrame(matrix, index=columns, columns=columns)
            selector.dropped_correlated_ = {str(k): str(v) for k, v in state["dropped_correlated"].items()}
            selector.dropped_low_importance_ = [str(name) for name in state["dropped_low_importance"]]
            selector.selected_features_ = [str(name) for name in state["selected_features"]]
        return selector

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "selected_features_")


def _empty_and_constant_columns(X: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Columns with no non-missing value, and columns with exactly one distinct non-missing value."""
    all_null: list[str] = []
    constant: list[str] = []
    for column in X.columns:
        values = X[column]
        if not values.notna().any():
            all_null.append(column)
        elif values.min() == values.max():
            constant.append(column)
    return all_null, constant
