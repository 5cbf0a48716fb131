"""Feature selection: drop empty and constant columns, rank by random-forest importance, prune correlated pairs.

`FeatureSelector` is fitted on the training window only: the importances, correlations and the list of
selected columns all come from the rows handed to `fit`, never from the validation or test window.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestClassifier
from sklearn.utils import check_random_state

from ml.errors import InvalidInputError, MissingFeaturesError, NotFittedError

logger = logging.getLogger(__name__)


class FeatureSelector(BaseEstimator):
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
    """

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
        _check_frame(X, "X")
        labels = _check_labels(y, len(X))
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
        self._check_fitted("transform")
        _check_frame(X, "X")
        present = set(X.columns)
        missing = [c for c in self.selected_features_ if c not in present]
        if missing:
            raise MissingFeaturesError(self, missing, list(X.columns))
        return X.loc[:, self.selected_features_].copy()

    def fit_transform(self, X: pd.DataFrame, y) -> pd.DataFrame:
        """Fit on the training window `X`, `y` and return its selected columns."""
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the columns `transform` returns (scikit-learn's naming protocol)."""
        self._check_fitted("ask for its output feature names")
        return np.asarray(self.selected_features_, dtype=object)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "selected_features_")

    def _check_fitted(self, action: str) -> None:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(self, action)

    def _check_params(self) -> None:
        if not 0.0 < self.correlation_threshold <= 1.0:
            raise InvalidInputError(
                f"FeatureSelector: correlation_threshold must be in (0, 1], got {self.correlation_threshold!r}."
            )
        for name in ("n_features", "n_estimators", "max_samples", "max_samples_per_tree"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise InvalidInputError(f"FeatureSelector: {name} must be a positive integer, got {value!r}.")


def _check_frame(X: object, name: str) -> None:
    """Raise unless `X` is a non-empty frame of numeric or boolean columns with unique names."""
    if not isinstance(X, pd.DataFrame):
        raise InvalidInputError(
            f"FeatureSelector expects {name} as a pandas DataFrame with named feature columns, got "
            f"{type(X).__name__}. Wrap arrays with pandas.DataFrame(values, columns=names)."
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise InvalidInputError(f"FeatureSelector: {name} is empty ({X.shape[0]} rows x {X.shape[1]} columns).")
    not_str = [repr(c) for c in X.columns if not isinstance(c, str)]
    if not_str:
        raise InvalidInputError(
            f"FeatureSelector: {name} must have string column names, got {', '.join(not_str[:5])}. "
            "Rename them, e.g. X.columns = X.columns.astype(str)."
        )
    if X.columns.duplicated().any():
        duplicated = sorted(set(X.columns[X.columns.duplicated()]))
        raise InvalidInputError(f"FeatureSelector: {name} has duplicated column name(s): {', '.join(duplicated)}.")
    not_numeric = [
        str(c)
        for c, dtype in X.dtypes.items()
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
    ]
    if not_numeric:
        raise InvalidInputError(
            f"FeatureSelector: {name} has non-numeric column(s): {', '.join(not_numeric)}. "
            "Drop keys and text columns (ticker, trade_date) or encode them before selecting features."
        )


def _check_labels(y: object, n_rows: int) -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.shape[0] != n_rows:
        raise InvalidInputError(
            f"FeatureSelector: y must be one label per row of X ({n_rows}), got shape {labels.shape}."
        )
    if pd.isna(labels).any():
        raise InvalidInputError(
            f"FeatureSelector: y has {int(pd.isna(labels).sum())} missing label(s). Drop those rows (labels not "
            "yet known at the end of the window) before fitting."
        )
    return labels


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
