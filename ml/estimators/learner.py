"""Hierarchical LightGBM meta-learner: a global model, one model per market regime, and a logistic stacker.

How it is put together (all fitted on the training window only):

1. **Global model.** A LightGBM binary model on every training row.
2. **Regime models.** One LightGBM binary model per regime id with at least `min_regime_rows` training rows
   (and both classes). Rows of any other regime, and at prediction time rows whose regime is unseen or NaN,
   use the global model in its place.
3. **Stacker.** A logistic regression with non-negative weights (`ml.estimators.stacking`) on two inputs, the logit of
   the global probability and the logit of the regime probability (the global one where the row falls back),
   fitted on *out-of-fold* predictions so that it learns how far to trust each model on rows those models
   did not train on. Its weights are bounded at 0, so it can ignore a base model but never invert one. The
   blend of both inputs is used only when it beats the global model alone (a one-input stacker on the
   global logit, fitted the same way) on cross-fitted out-of-fold log loss by more than two standard errors
   (clustered on contiguous chunks of rows, i.e. runs of dates);
   otherwise the stacker uses the global model alone (weight 0 on the regime input). When every weight comes
   out 0 (no base model relates positively to the label out of fold, as on data without a signal), the
   global model is kept at weight 1 with a refitted intercept instead of a constant base rate, which would
   rank nothing and make every test of the ranking vacuous. `stacker_choice_` and `stacker_scores_` record
   which and why.

The regime id (0-11, the T-1 market state) is an ordinary input: a column of X named by `regime_column`
('regime_id' by default), or the keyword `regime_ids=` of `fit`, `train_ensemble`, `predict_proba`,
`predict` and `score`. With the column in X, the learner follows scikit-learn's contract as it is
(`clone`, `set_params`, `fit(X, y)`, `score(X, y)`), so a hyperparameter search can run over the learner
that ships.

Out-of-fold predictions come from a **blocked K-fold**: the training rows, which the caller must pass in
time order, are cut into `n_folds` contiguous blocks, never shuffled; each block is predicted by models
trained on the other blocks (those before it *and* after it). Contiguous blocks keep autocorrelated
neighbours on the same side of a split except at the block edges; the folds are not purged, so labels that
overlap in time (the 5-day label) leak across a block edge for a few days of rows. Purging between the
training window and a validation window passed to `fit` / `train_ensemble` is the caller's job (see
`ml.train.splits.purged_splits`); without one, `train_ensemble` holds out and purges the most recent dates itself.

Early stopping picks the number of boosting rounds of each model. With validation data, each model is
trained on all its training rows and stopped on the validation rows (of its regime, for a regime model);
without it, or when a regime has fewer than `MIN_EARLY_STOPPING_ROWS` validation rows, the last
`EARLY_STOPPING_TAIL` of that model's training rows (the most recent ones) are held out to pick the round,
and the model is then refit on all its rows with that many rounds. The fold models reuse the round counts
of the final models. Because the validation rows chose the stopping round, the reported `val_auc` is
slightly optimistic; the test split is the unbiased estimate.

Every booster trains in this process (`engine='local'`) or on a Dask cluster (`engine='dask'`, with
`lightgbm.dask`; `ml.estimators.engines.dask`), which replays the early-stopping rule on the stopping rows after a
first step of rounds and trains the rest only when the rule has not stopped; the rest of the learner is the
same for both. With `examples=` (a Parquet export of the training rows), the Dask workers read the features
they train on from those files themselves.

Persistence uses LightGBM's own model text and plain numbers for the stacker (`to_dict` / `from_dict`,
`save` / `load` as a `.json` file); nothing is pickled.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
from scipy.special import logit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.utils import check_random_state

from ml.errors import InvalidInputError
from ml.estimators.engines import DASK, ENGINES, BoosterEngine, device_for, open_engine
from ml.estimators.engines.device import DeviceChoice
from ml.estimators.persistence import JsonPersistenceMixin, json_params
from ml.estimators.stacking import BLEND, GLOBAL_ONLY, NonNegativeLogisticRegression, choose_stacker, unit_weight_global
from ml.validation import (
    as_float_matrix,
    check_binary_labels,
    check_frame,
    check_int,
    check_interval,
    check_is_fitted,
    check_numeric_columns,
    check_regime_ids,
    select_features,
)

logger = logging.getLogger(__name__)

# The `format` tag of the stored state. Version 2: the stacker's weights are non-negative and the state
# records the stacker's choice ('blend' or 'global') and its scores. Version 1 states (an unconstrained
# `LogisticRegression` stacker) still load and predict exactly as before, with `stacker_choice_`
# 'unconstrained' and no scores; version 1 states written before `regime_column`, `validation_fraction` and
# `label_horizon` existed load with their defaults.
ARTIFACT_FORMAT = "hierarchical_meta_learner/2"
STATE_FORMAT = ARTIFACT_FORMAT
OLDER_STATE_FORMATS = ("hierarchical_meta_learner/1",)
# The choice recorded for a version 1 state, whose stacker was fitted without bounds.
UNCONSTRAINED = "unconstrained"

# Defaults for every booster; `lgbm_params` overrides them. `deterministic` with `force_row_wise` makes two fits
# with the same seed give the same trees, whatever the thread count (measured: the same predictions, to the last
# bit, with 1, 2 and 3 threads; tests/ml/estimators/test_learner.py). `num_threads` 0 is OpenMP's default:
# $OMP_NUM_THREADS when it is set, else every core (it was 2 before, whatever the machine). The small learning
# rate makes early stopping keep more, smaller trees: on weak signals (the real data) 0.05 stopped after ~15 trees
# whose leaves gave a third of a day's stocks the same probability; 0.02 gives 84 % of them their own (docs/ml.md).
DEFAULT_LGBM_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "metric": "binary_logloss",
    "num_leaves": 31,
    "learning_rate": 0.02,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "min_data_in_leaf": 100,
    "lambda_l2": 1.0,
    "num_threads": 0,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}

# Set by the learner itself (objective, seed from `random_state`, device from `device`, rounds from
# `num_boost_round` / `early_stopping_rounds`); passing them, or a LightGBM alias of them, in `lgbm_params`
# is an error rather than a silent override.
RESERVED_LGBM_PARAMS = frozenset(
    {
        "objective",
        "objective_type",
        "app",
        "application",
        "loss",
        "seed",
        "random_seed",
        "random_state",
        "device",
        "device_type",
        "num_iterations",
        "num_iteration",
        "n_iter",
        "num_tree",
        "num_trees",
        "num_round",
        "num_rounds",
        "nrounds",
        "num_boost_round",
        "n_estimators",
        "max_iter",
        "early_stopping_round",
        "early_stopping_rounds",
        "early_stopping",
        "n_iter_no_change",
    }
)

# Share of a model's most recent training rows held out to pick its stopping round when there is no
# validation data for it.
EARLY_STOPPING_TAIL = 0.1
# Fewer validation rows than this for a regime and its model is stopped on its training tail instead.
MIN_EARLY_STOPPING_ROWS = 200
# Probabilities are clipped before the logit so a (near-)certain base model cannot give the stacker an
# infinite input.
_PROBABILITY_EPSILON = 1e-7
GLOBAL = "global"
# Characters LightGBM refuses in feature names (its model text is JSON-like).
_FORBIDDEN_NAME_CHARACTERS = set('",:[]{}')
_FITTED_ATTRIBUTES = (
    "feature_names_in_",
    "n_features_in_",
    "classes_",
    "seed_",
    "lightgbm_params_",
    "device_used_",
    "device_reason_",
    "regimes_trained_",
    "regimes_fallback_",
    "booster_",
    "regime_boosters_",
    "best_iterations_",
    "stacker_",
    "stacker_choice_",
    "stacker_scores_",
    "training_report_",
)


class HierarchicalMetaLearner(JsonPersistenceMixin, ClassifierMixin, BaseEstimator):
    """Global + per-regime LightGBM binary models combined by a non-negative logistic stacker on out-of-fold logits.

    See the module docstring for how the models, folds and early stopping fit together. Fit it on the
    training window only, with rows in time order.

    Parameters
    ----------
    random_state
        int, `numpy.random.RandomState` or None. Seeds every booster (bagging and feature
        fraction) so two fits with the same int give identical predictions; None draws a new seed.
    device
        'cpu', 'gpu' (LightGBM's OpenCL learner), 'cuda' (a CUDA build of LightGBM) or 'auto'
        (cuda, then gpu, then cpu); resolved at fit time by `ml.estimators.engines.device.resolve_device`.
    min_regime_rows
        fewest training rows a regime needs for its own model.
    n_folds
        number of contiguous time blocks for the out-of-fold predictions the stacker is fitted on.
    lgbm_params
        LightGBM parameters overriding `DEFAULT_LGBM_PARAMS` (not the ones in
        `RESERVED_LGBM_PARAMS`, which this class sets).
    num_boost_round
        most boosting rounds per model.
    early_stopping_rounds
        rounds without improvement of the first metric before stopping; None
        trains every model for `num_boost_round` rounds.
    min_boost_round
        fewest rounds a model keeps when early stopping picks fewer (at most
        `num_boost_round`). Where the signal is weak, early stopping on log loss keeps one to a few trees,
        whose few leaves give many rows (most stocks of a day) the same probability: a model that cannot
        rank. `python -m ml.train` uses 50 (docs/ml.md); 1 keeps early stopping's choice.
    regime_column
        the column of X holding each row's regime id (0-11; NaN for none). It is an input,
        never a feature. Instead of the column, the regimes may be passed with `regime_ids=` (not both).
        None: X has no regime column; without `regime_ids=` only the global model is trained and used.
    validation_fraction
        share of the most recent trade dates `train_ensemble` holds out as its validation
        set when none is given.
    label_horizon
        trading days a label looks ahead (5 for `label_up_5d`); `train_ensemble` drops the
        training rows of that many dates before its held-out block, whose labels overlap it.
    engine
        where the boosters train: 'local' (LightGBM in this process) or 'dask' (`lightgbm.dask` on the
        Dask cluster at `scheduler`; `ml.estimators.engines.dask` says how, and how its early stopping is replayed).
        Only the training moves: prediction, stacking and persistence are the same.
    scheduler
        the Dask scheduler's address (for example `tcp://10.0.0.5:8786`), required with
        engine='dask' (`ml.estimators.engines.dask.cluster` starts a local one); None with engine='local'.
    examples
        with engine='dask', the folder of Parquet files the training rows were exported to
        (`ml.train.data.export_training_examples`, at a path every worker can read): the workers then read the
        features of each fit's rows from it themselves, and X's index must hold each row's
        `row_position` there. None: the driver sends the rows of X to the workers.

    Attributes
    ----------
    booster_
        the global `lightgbm.Booster`, cut to its best iteration.
    regime_boosters_
        {regime id: `lightgbm.Booster`} for the regimes with their own model.
    stacker_
        the fitted `ml.estimators.stacking.NonNegativeLogisticRegression` over [logit(global), logit(regime)]
        (coefficients >= 0; the regime coefficient is 0 when the global model alone was chosen).
    stacker_choice_
        'blend' (both inputs) or 'global' (the global model alone); 'unconstrained' for a
        learner restored from a version 1 state.
    stacker_scores_
        {'log_loss': {'blend': float or None, 'global': float}, 'improvement',
        'standard_error', 'reason'}: the cross-fitted out-of-fold log loss of each stacker, the blend's
        improvement on the global model alone and its standard error, and why the choice was made (see
        `ml.estimators.stacking.choose_stacker`; empty for a version 1 state).
    classes_
        array([0, 1]).
    feature_names_in_, n_features_in_
        the feature columns (all columns of X but the regime column), in
        the order the boosters use them, and their number.
    best_iterations_
        {'global': rounds, 'regimes': {regime id: rounds}}.
    regimes_trained_, regimes_fallback_
        sorted regime ids with and without their own model.
    lightgbm_params_
        the booster parameters used (with the seed and device).
    seed_
        the LightGBM seed drawn from `random_state`.
    device_used_, device_reason_
        the LightGBM device type that trained and why.
    training_report_
        the dict `train_ensemble` returned (or `fit` built); absent after `from_dict`.

    Unlike scikit-learn's classifiers, `predict` returns the probability of class 1 (the plan's contract:
    the probability of an up move in 5 days, 0-1), not a label; `predict_proba(X)[:, 1] >= 0.5` gives labels.
    `score` is the ROC AUC. With cross-validation helpers, pass a time-ordered splitter (e.g.
    `TimeSeriesSplit`): an integer `cv` would mean stratified folds, which ignore time.
    """

    STATE_FORMAT = STATE_FORMAT
    OLDER_STATE_FORMATS = OLDER_STATE_FORMATS

    def __init__(
        self,
        random_state: int | np.random.RandomState | None = None,
        device: str = "auto",
        min_regime_rows: int = 2000,
        n_folds: int = 5,
        lgbm_params: dict | None = None,
        num_boost_round: int = 300,
        early_stopping_rounds: int | None = 30,
        regime_column: str | None = "regime_id",
        validation_fraction: float = 0.15,
        label_horizon: int = 5,
        min_boost_round: int = 1,
        engine: str = "local",
        scheduler: str | None = None,
        examples: str | None = None,
    ) -> None:
        self.random_state = random_state
        self.device = device
        self.min_regime_rows = min_regime_rows
        self.n_folds = n_folds
        self.lgbm_params = lgbm_params
        self.num_boost_round = num_boost_round
        self.early_stopping_rounds = early_stopping_rounds
        self.regime_column = regime_column
        self.validation_fraction = validation_fraction
        self.label_horizon = label_horizon
        self.min_boost_round = min_boost_round
        self.engine = engine
        self.scheduler = scheduler
        self.examples = examples

    # ------------------------------------------------------------------ fitting

    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        *,
        regime_ids: Any = None,
        X_val: pd.DataFrame | None = None,
        y_val: Any = None,
        regime_val: Any = None,
    ) -> HierarchicalMetaLearner:
        """Fit the global, regime and stacker models on all rows given and return self.

        Parameters
        ----------
        X
            training features, one row per example, **in time order** (numeric columns; NaN allowed), with
            the regime id in column `regime_column` unless `regime_ids` is given. Every other column is a
            feature.
        y
            binary labels (0/1), one per row of X.
        regime_ids
            integer regime id per row (NaN: no regime, uses the global model), when X has no
            regime column.
        X_val, y_val
            optional validation window, later than the training window and purged from it by the
            caller, with its regimes in `X_val[regime_column]` or `regime_val`; used for early stopping and
            `training_report_['val_auc']`. Without it each model stops early on its own training tail.

        Returns
        -------
        self.

        Raises
        ------
        InvalidInputError
            malformed inputs or parameters, or regimes given both ways or not at all.
        MissingFeaturesError
            X_val lacks a feature column of X.
        DeviceUnavailableError
            `device` is 'gpu' or 'cuda' and that learner is unavailable.
        """
        self._start_fit()
        features, labels, regimes = self._training_inputs(X, y, regime_ids)
        validation = self._validation_inputs(X_val, y_val, regime_val)
        positions = self._example_positions(X)
        self.training_report_ = self._fit_arrays(features, labels, regimes, validation, _given(validation), positions)
        return self

    def train_ensemble(
        self,
        X: pd.DataFrame,
        y: Any,
        *,
        regime_ids: Any = None,
        X_val: pd.DataFrame | None = None,
        y_val: Any = None,
        regime_val: Any = None,
        trade_dates: Any = None,
    ) -> dict:
        """Fit the ensemble and report how it went, with a validation AUC even when no validation set is given.

        With `X_val`/`y_val` (and their regimes), this is `fit` and returns its report. Without them, the most
        recent rows are held out, purged, as the validation set: the last `validation_fraction` of the unique
        trade dates are held out, the training rows of the `label_horizon` unique dates before the held-out
        block are dropped (their labels look into it), and the learner is fitted on the remaining, earlier
        rows with the held-out rows as its validation set (early stopping and `val_auc`, as with a given one).
        The fitted model has then not seen the held-out or purged rows. `val_auc` is slightly optimistic,
        since the held-out rows also chose the stopping rounds; the test split is the unbiased estimate.

        Trade dates come from `trade_dates` (one per row) or from X's index: a DatetimeIndex, an index named
        'trade_date', or a MultiIndex with a 'trade_date' level. Without any, the rows are taken as one time
        series in order: the last `validation_fraction` of the rows are held out and the `label_horizon` rows
        before them purged, and a warning says that a panel (many tickers per date) needs `trade_dates=` or a
        trade_date index.

        Parameters
        ----------
        X, y, regime_ids, X_val, y_val, regime_val
            as for `fit`. Rows in time order.
        trade_dates
            optional trade date per row of X (ignored when a validation set is given).

        Returns
        -------
        {'train_auc': in-sample AUC of the final ensemble, 'oof_auc': AUC of the stacker on the
        out-of-fold inputs, 'val_auc': AUC on the validation rows (None only when they hold one class),
        'device_used', 'device_reason', 'regimes_trained', 'regimes_fallback', 'best_iterations',
        'rows' (training rows fitted on), 'rows_held_out' and 'rows_purged' (0 with a given validation
        set), 'validation': {'source': 'given' or 'holdout', 'rows', 'rows_purged', 'by': None,
        'trade_date' or 'row order', 'first_date', 'last_training_date', 'purged_dates'}}.

        Raises
        ------
        InvalidInputError
            malformed inputs or parameters, rows out of date order, or too few rows left
            to train on after the hold-out.
        DeviceUnavailableError
            `device` is 'gpu' or 'cuda' and that learner is unavailable.
        """
        self._start_fit()
        features, labels, regimes = self._training_inputs(X, y, regime_ids)
        validation = self._validation_inputs(X_val, y_val, regime_val)
        positions = self._example_positions(X)
        if validation is not None:
            report = self._fit_arrays(features, labels, regimes, validation, _given(validation), positions)
        else:
            dates = _row_dates(X, trade_dates, len(features))
            train_end, held_start, source = _recent_holdout(
                len(features), dates, self.validation_fraction, self.label_horizon
            )
            held = slice(held_start, None)
            validation = (features[held], labels[held], regimes[held])
            if len(np.unique(validation[1])) < 2:
                logger.warning(
                    "HierarchicalMetaLearner: the %d held-out rows hold a single class; val_auc is None.",
                    len(validation[1]),
                )
            report = self._fit_arrays(
                features[:train_end],
                labels[:train_end],
                regimes[:train_end],
                validation,
                source,
                None if positions is None else positions[:train_end],
            )
        self.training_report_ = report
        return report

    def _start_fit(self) -> None:
        self._check_params()
        # A failed refit must not leave a mix of old and new fitted state behind.
        for name in _FITTED_ATTRIBUTES:
            self.__dict__.pop(name, None)

    def _training_inputs(self, X: Any, y: Any, regime_ids: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Features, labels and regimes of the training rows; sets `feature_names_in_` and `n_features_in_`."""
        check_frame(X, self, "X")
        frame, regimes = self._split_regimes(X, regime_ids, "X", "regime_ids")
        if frame.shape[1] == 0:
            raise InvalidInputError(
                f"HierarchicalMetaLearner: X has no feature columns besides the regime column {self.regime_column!r}."
            )
        names = list(frame.columns)
        awkward = [name for name in names if _FORBIDDEN_NAME_CHARACTERS.intersection(name)]
        if awkward:
            raise InvalidInputError(
                "HierarchicalMetaLearner: LightGBM does not accept the characters "
                f"{''.join(sorted(_FORBIDDEN_NAME_CHARACTERS))} in feature names; rename these columns: {awkward[:5]}"
            )
        check_numeric_columns(frame, self, "X")
        features = as_float_matrix(frame)
        labels = check_binary_labels(y, len(features), self, "y", dtype=np.int8)
        regimes = self._regime_array(regimes, len(features), "regime_ids")
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        return features, labels, regimes

    def _validation_inputs(
        self, X_val: Any, y_val: Any, regime_val: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        if X_val is None and y_val is None and regime_val is None:
            return None
        if X_val is None or y_val is None:
            raise InvalidInputError(
                "HierarchicalMetaLearner: pass X_val and y_val together (with the regimes in X_val's regime column "
                "or regime_val=), or none of them"
            )
        features, regimes = self._features_and_regimes(X_val, regime_val, "X_val", "regime_val")
        labels = check_binary_labels(y_val, len(features), self, "y_val", dtype=np.int8)
        return features, labels, regimes

    def _features_and_regimes(
        self, X: Any, regime_ids: Any, frame_name: str, keyword: str, *, allow_no_rows: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """The fitted feature columns of X as a float matrix, and the regime of each row (NaN for none)."""
        if not isinstance(X, pd.DataFrame):
            check_frame(X, self, frame_name)  # raises the error that says to pass a DataFrame
        frame, regimes = self._split_regimes(X, regime_ids, frame_name, keyword)
        features = as_float_matrix(
            select_features(frame, list(self.feature_names_in_), self, frame_name, allow_no_rows=allow_no_rows)
        )
        return features, self._regime_array(regimes, len(features), keyword)

    def _split_regimes(
        self, X: pd.DataFrame, regime_ids: Any, frame_name: str, keyword: str
    ) -> tuple[pd.DataFrame, Any]:
        """X without its regime column, and the regimes from that column or the keyword (None: no regimes)."""
        column = self.regime_column
        in_frame = column is not None and column in X.columns
        if in_frame and regime_ids is not None:
            raise InvalidInputError(
                f"HierarchicalMetaLearner: got the regimes twice, as column {column!r} of {frame_name} and as "
                f"{keyword}=; give them one way (drop the column, or leave out {keyword}=)."
            )
        if in_frame:
            return X.drop(columns=column), X[column].to_numpy()
        if regime_ids is not None:
            return X, regime_ids
        if column is not None:
            raise InvalidInputError(
                f"HierarchicalMetaLearner: {frame_name} has no regime column {column!r} and no {keyword}= was "
                f"passed; put each row's regime id (0-11, NaN for none) in column {column!r} of {frame_name}, "
                f"pass {keyword}=..., or set regime_column=None to use the global model only."
            )
        return X, None

    def _example_positions(self, X: pd.DataFrame) -> np.ndarray | None:
        """With `examples`, each training row's `row_position` in those Parquet files: X's index (increasing
        integers); otherwise None."""
        if self.examples is None:
            return None
        index = X.index
        if not pd.api.types.is_integer_dtype(index.dtype) or not index.is_monotonic_increasing or not index.is_unique:
            raise InvalidInputError(
                "HierarchicalMetaLearner: with examples=, X's index must hold each row's row_position in those "
                "Parquet files: integers, increasing, none repeated"
            )
        return index.to_numpy(dtype=np.int64)

    def _regime_array(self, regime_ids: Any, rows: int, name: str) -> np.ndarray:
        if regime_ids is None:
            return np.full(rows, np.nan)
        return check_regime_ids(regime_ids, rows, self, name)

    def _fit_arrays(
        self,
        features: np.ndarray,
        labels: np.ndarray,
        regimes: np.ndarray,
        validation: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        validation_info: dict,
        positions: np.ndarray | None = None,
    ) -> dict:
        """Fit every model on the training arrays (rows in time order) and return the training report.
        `positions`: the rows' positions in the Parquet files of `examples` (the Dask workers read them)."""
        if len(np.unique(labels)) < 2:
            raise InvalidInputError(
                "HierarchicalMetaLearner: y has a single class; the learner needs both 0 and 1 in the training window"
            )
        if len(features) < 2 * self.n_folds:
            raise InvalidInputError(
                f"HierarchicalMetaLearner: {len(features)} training rows are too few for n_folds={self.n_folds}"
            )

        choice: DeviceChoice = device_for(self.engine, self.device)
        self.seed_ = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self.lightgbm_params_ = self._booster_params(self.seed_, choice)
        self.device_used_ = choice.used
        self.device_reason_ = choice.reason

        self.regimes_trained_, self.regimes_fallback_ = self._split_by_regime(labels, regimes)
        binned = self._binned(features, labels)
        with open_engine(self.engine, scheduler=self.scheduler, examples=self.examples) as engine:
            engine.load(binned, positions)
            self._fit_boosters(engine, binned, regimes, validation)
            oof_global, oof_regime = self._out_of_fold(engine, binned, labels, regimes)
        oof_inputs = _stacker_inputs(oof_global, oof_regime)
        self._fit_stacker(oof_inputs, labels)
        self.classes_ = np.array([0, 1])
        trained, fallback = self.regimes_trained_, self.regimes_fallback_
        global_rounds, regime_rounds = self.best_iterations_[GLOBAL], self.best_iterations_["regimes"]

        report = {
            "train_auc": _auc(labels, self._predict_positive(features, regimes)),
            "oof_auc": _auc(labels, self.stacker_.predict_proba(oof_inputs)[:, 1]),
            "stacker": {
                "choice": self.stacker_choice_,
                "coef": [float(value) for value in self.stacker_.coef_.ravel()],
                "intercept": float(self.stacker_.intercept_[0]),
                **self.stacker_scores_,
            },
            "val_auc": None,
            "device_used": choice.used,
            "device_reason": choice.reason,
            "regimes_trained": list(trained),
            "regimes_fallback": list(fallback),
            "best_iterations": {GLOBAL: global_rounds, "regimes": dict(regime_rounds)},
            "rows": int(len(features)),
            "rows_held_out": int(validation_info["rows"]) if validation_info["source"] == "holdout" else 0,
            "rows_purged": int(validation_info["rows_purged"]),
            "validation": validation_info,
        }
        if validation is not None:
            report["val_auc"] = _auc(validation[1], self._predict_positive(validation[0], validation[2]))
        return report

    def _split_by_regime(self, labels: np.ndarray, regimes: np.ndarray) -> tuple[list[int], list[int]]:
        """The regimes with their own model (at least `min_regime_rows` rows, both classes), and the others."""
        seen, counts = np.unique(regimes[~np.isnan(regimes)].astype(np.int64), return_counts=True)
        trained, fallback = [], []
        for regime, count in zip(seen.tolist(), counts.tolist(), strict=True):
            eligible = count >= self.min_regime_rows and len(np.unique(labels[regimes == regime])) == 2
            (trained if eligible else fallback).append(int(regime))
        return trained, fallback

    def _fit_boosters(
        self,
        engine: BoosterEngine,
        binned: lightgbm.Dataset,
        regimes: np.ndarray,
        validation: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    ) -> None:
        """The final global and regime models: on all their training rows, with the number of rounds chosen by
        early stopping (on the validation rows of their regime when there are enough)."""
        global_validation = None if validation is None else (validation[0], validation[1])
        self.booster_, global_rounds = self._fit_final(engine, binned, None, global_validation)
        self.regime_boosters_ = {}
        regime_rounds = {}
        for regime in self.regimes_trained_:
            regime_validation = None
            if validation is not None:
                val_rows = validation[2] == regime
                if val_rows.sum() >= MIN_EARLY_STOPPING_ROWS:
                    regime_validation = (validation[0][val_rows], validation[1][val_rows])
            self.regime_boosters_[regime], regime_rounds[regime] = self._fit_final(
                engine, binned, np.flatnonzero(regimes == regime), regime_validation
            )
        self.best_iterations_ = {GLOBAL: global_rounds, "regimes": regime_rounds}

    def _fit_stacker(self, oof_inputs: np.ndarray, labels: np.ndarray) -> None:
        """The stacker on the out-of-fold inputs: the blend of both models, or the global one alone, as
        `choose_stacker` decides; never a base model inverted."""
        decision = choose_stacker(oof_inputs, labels, self.n_folds)
        if decision["choice"] == BLEND:
            self.stacker_ = NonNegativeLogisticRegression().fit(oof_inputs, labels)
        else:
            self.stacker_ = _global_only(NonNegativeLogisticRegression().fit(oof_inputs[:, :1], labels))
        self.stacker_choice_ = decision["choice"]
        self.stacker_scores_ = {key: value for key, value in decision.items() if key != "choice"}
        if not (self.stacker_.coef_ > 0).any():
            # No base model has a positive out-of-fold relation to the label: keep the global model at weight 1
            # (never inverted) rather than give every row the base rate (ml.estimators.stacking.unit_weight_global).
            self.stacker_ = unit_weight_global(oof_inputs[:, 0], labels)
            self.stacker_choice_ = GLOBAL_ONLY
            self.stacker_scores_["reason"] += (
                "; every weight was 0 out of fold, so the global model is kept at weight 1 with a refitted intercept"
            )

    def _check_params(self) -> None:
        check_int(self, "n_folds", self.n_folds, minimum=2)
        check_int(self, "min_regime_rows", self.min_regime_rows)
        check_int(self, "num_boost_round", self.num_boost_round)
        check_int(self, "early_stopping_rounds", self.early_stopping_rounds, allow_none=True)
        check_int(self, "min_boost_round", self.min_boost_round)
        check_int(self, "label_horizon", self.label_horizon, minimum=0)
        check_interval(self, "validation_fraction", self.validation_fraction, 0.0, 1.0, high_inclusive=False)
        if self.engine not in ENGINES:
            raise InvalidInputError(
                f"HierarchicalMetaLearner: engine must be one of {', '.join(ENGINES)}; got {self.engine!r}"
            )
        if self.engine == DASK and not (isinstance(self.scheduler, str) and self.scheduler):
            raise InvalidInputError(
                "HierarchicalMetaLearner: engine='dask' needs scheduler= (the Dask scheduler's address; "
                "ml.estimators.engines.dask.cluster() starts a local cluster and gives its address)"
            )
        if self.examples is not None and not (self.engine == DASK and isinstance(self.examples, str) and self.examples):
            raise InvalidInputError(
                "HierarchicalMetaLearner: examples= names the folder of Parquet files the Dask workers read "
                f"(a path, with engine='dask'); got {self.examples!r} with engine={self.engine!r}"
            )
        if self.regime_column is not None and (not isinstance(self.regime_column, str) or not self.regime_column):
            raise InvalidInputError(
                "HierarchicalMetaLearner: regime_column must be a column name or None (no regime column), got "
                f"{self.regime_column!r}."
            )
        if self.lgbm_params is not None:
            if not isinstance(self.lgbm_params, dict):
                raise InvalidInputError(
                    "HierarchicalMetaLearner: lgbm_params must be a dict or None; got "
                    f"{type(self.lgbm_params).__name__}"
                )
            reserved = sorted(RESERVED_LGBM_PARAMS.intersection(self.lgbm_params))
            if reserved:
                raise InvalidInputError(
                    f"HierarchicalMetaLearner: lgbm_params may not set {', '.join(reserved)}: use random_state, "
                    "device, num_boost_round and early_stopping_rounds instead (the objective is always binary)"
                )

    def _booster_params(self, seed: int, choice: DeviceChoice) -> dict:
        params = {**DEFAULT_LGBM_PARAMS, **(self.lgbm_params or {})}
        params["objective"] = "binary"
        params["seed"] = seed
        params.update(choice.lightgbm_params())
        return params

    def _binned(self, features: np.ndarray, labels: np.ndarray) -> lightgbm.Dataset:
        """Every training row binned once (LightGBM's histogram bins, from the features of this fit's own
        training rows): each model of the fit trains on a subset of it, which copies binned rows instead of
        binning the raw features again (on the real 379-ticker set binning took a third of a fit)."""
        return lightgbm.Dataset(
            features,
            label=labels,
            feature_name=list(self.feature_names_in_),
            params=self.lightgbm_params_,
            free_raw_data=False,
        ).construct()

    def _train(
        self,
        engine: BoosterEngine,
        rows: np.ndarray | None,
        rounds: int,
        stop: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> lightgbm.Booster:
        """One booster from `engine` on `rows` of the fit's training rows (None: all of them); with `stop`,
        early stopping on those rows (features and labels, at most `rounds` rounds)."""
        params = self.lightgbm_params_
        ordered = None if rows is None else np.sort(rows)
        if stop is None:
            return engine.train(params, ordered, rounds)
        return engine.train_early_stopping(params, ordered, rounds, stop, self.early_stopping_rounds)

    def _fit_final(
        self,
        engine: BoosterEngine,
        binned: lightgbm.Dataset,
        rows: np.ndarray | None,
        validation: tuple[np.ndarray, np.ndarray] | None,
    ) -> tuple[lightgbm.Booster, int]:
        """A model on `rows` of the binned training set (None: all), its rounds picked on `validation` or on the
        training tail, and never fewer than `min_boost_round` (nor more than `num_boost_round`)."""
        floor = min(self.min_boost_round, self.num_boost_round)
        if self.early_stopping_rounds is None:
            booster, rounds = self._train(engine, rows, self.num_boost_round), self.num_boost_round
        elif validation is not None:
            booster = self._train(engine, rows, self.num_boost_round, stop=validation)
            rounds = max(_best_rounds(booster), floor)
            if booster.current_iteration() < rounds:  # stopped before the floor: grow it that far
                booster = self._train(engine, rows, rounds)
        else:
            positions = np.arange(binned.num_data()) if rows is None else np.sort(rows)
            head = len(positions) - max(1, int(round(EARLY_STOPPING_TAIL * len(positions))))
            tail = positions[head:]
            features, labels = binned.get_data(), binned.get_label()
            probe = self._train(engine, positions[:head], self.num_boost_round, stop=(features[tail], labels[tail]))
            rounds = max(_best_rounds(probe), floor)
            booster = self._train(engine, rows, rounds)
        # LightGBM ends early, without an error, when no split is left to make.
        rounds = min(rounds, booster.current_iteration())
        return _frozen(booster, rounds), rounds

    def _out_of_fold(
        self, engine: BoosterEngine, binned: lightgbm.Dataset, labels: np.ndarray, regimes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Global and regime probabilities of each row from models that did not train on its time block.

        A regime's fold model needs `min_regime_rows * (n_folds - 1) / n_folds` rows of that regime (and
        both classes) outside the block; otherwise that block's rows of the regime use the global fold model,
        as they would at prediction time for a regime without a model.
        """
        features = binned.get_data()
        blocks = np.array_split(np.arange(len(features)), self.n_folds)
        fold_min_rows = math.ceil(self.min_regime_rows * (self.n_folds - 1) / self.n_folds)
        oof_global = np.empty(len(features))
        oof_regime = np.empty(len(features))
        for index, held_out in enumerate(blocks):
            train_rows = np.concatenate([block for other, block in enumerate(blocks) if other != index])
            booster = self._train(engine, train_rows, self.best_iterations_[GLOBAL])
            oof_global[held_out] = booster.predict(features[held_out])
            oof_regime[held_out] = oof_global[held_out]
            for regime in self.regimes_trained_:
                predict_rows = held_out[regimes[held_out] == regime]
                fit_rows = train_rows[regimes[train_rows] == regime]
                if len(predict_rows) == 0 or len(fit_rows) < fold_min_rows or len(np.unique(labels[fit_rows])) < 2:
                    continue
                rounds = self.best_iterations_["regimes"][regime]
                regime_booster = self._train(engine, fit_rows, rounds)
                oof_regime[predict_rows] = regime_booster.predict(features[predict_rows])
        return oof_global, oof_regime

    # ------------------------------------------------------------------ prediction

    def predict_proba(self, X: pd.DataFrame, *, regime_ids: Any = None) -> np.ndarray:
        """Probabilities of class 0 and class 1, shape (n, 2) like scikit-learn.

        Parameters
        ----------
        X
            features with (at least) the fitted feature columns; extra columns are ignored. The regimes come
            from its column `regime_column` or from `regime_ids` (one way, not both), as for `fit`.
        regime_ids
            regime id per row; an id without its own model, or NaN, uses the global model.

        Raises
        ------
        NotFittedError
            the learner has not been fitted or restored.
        MissingFeaturesError
            X lacks a fitted feature column.
        InvalidInputError
            regimes given both ways, or not at all (unless `regime_column` is None and the
            learner has no regime model).
        """
        check_is_fitted(self, "predict")
        features, regimes = self._prediction_inputs(X, regime_ids)
        if len(features) == 0:
            return np.empty((0, 2))
        positive = self._predict_positive(features, regimes)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: pd.DataFrame, *, regime_ids: Any = None) -> np.ndarray:
        """Probability of class 1 (an up move over the label horizon) per row, 0-1, shape (n,).

        This is the plan's contract and differs from scikit-learn's classifiers, whose `predict` returns labels:
        use `predict_proba(X)[:, 1] >= 0.5` for labels. Same inputs as `predict_proba`.
        """
        return self.predict_proba(X, regime_ids=regime_ids)[:, 1]

    def score(self, X: pd.DataFrame, y: Any, *, regime_ids: Any = None) -> float:
        """ROC AUC of `predict(X)` against the 0/1 labels `y` (what a scikit-learn search maximizes).

        Raises
        ------
        InvalidInputError
            `y` holds a single class (the AUC is undefined).
        """
        probabilities = self.predict(X, regime_ids=regime_ids)
        labels = check_binary_labels(y, len(probabilities), self, "y")
        if len(np.unique(labels)) < 2:
            raise InvalidInputError(
                "HierarchicalMetaLearner.score: y holds a single class, so the ROC AUC is undefined; score on rows "
                "with both outcomes (e.g. a longer window)."
            )
        return float(roc_auc_score(labels, probabilities))

    def _prediction_inputs(self, X: Any, regime_ids: Any) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(X, pd.DataFrame):
            check_frame(X, self, "X")  # raises the error that says to pass a DataFrame
        no_regimes = regime_ids is None and (self.regime_column is None or self.regime_column not in X.columns)
        if no_regimes and self.regime_column is None and self.regime_boosters_:
            # Fitted with regime_ids= but asked without: the regime models would silently go unused.
            raise InvalidInputError(
                f"HierarchicalMetaLearner: this learner has models for regimes {sorted(self.regime_boosters_)}; "
                "pass regime_ids=... (one per row, NaN for none) to predict with them."
            )
        return self._features_and_regimes(X, regime_ids, "X", "regime_ids", allow_no_rows=True)

    def _predict_positive(self, features: np.ndarray, regimes: np.ndarray) -> np.ndarray:
        global_probability = self.booster_.predict(features)
        regime_probability = global_probability.copy()
        # With the global model alone the regime input has weight 0: its models need not run.
        regime_models = {} if self.stacker_choice_ == GLOBAL_ONLY else self.regime_boosters_
        for regime, booster in regime_models.items():
            rows = regimes == regime
            if rows.any():
                regime_probability[rows] = booster.predict(features[rows])
        return self.stacker_.predict_proba(_stacker_inputs(global_probability, regime_probability))[:, 1]

    def feature_importance(self, importance_type: str = "gain") -> pd.Series:
        """Importance of each feature in the global model, normalized to sum to 1, largest first.

        Parameters
        ----------
        importance_type
            'gain' (total split gain) or 'split' (number of splits).
        """
        check_is_fitted(self, "read its feature importance")
        return _importance(self.booster_, list(self.feature_names_in_), importance_type)

    def regime_feature_importance(self, importance_type: str = "gain") -> dict[int, pd.Series]:
        """{regime id: normalized importance Series} for each regime with its own model."""
        check_is_fitted(self, "read its feature importance")
        return {
            regime: _importance(booster, list(self.feature_names_in_), importance_type)
            for regime, booster in self.regime_boosters_.items()
        }

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "stacker_")

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict:
        """The fitted learner as JSON-serializable parts: LightGBM model text and plain numbers, no pickle.

        Returns
        -------
        {'format', 'global_model', 'regime_models' {str(regime): text}, 'stacker' {'coef', 'intercept',
        'choice', 'scores'}, 'params' (constructor parameters), 'lightgbm_params', 'feature_names', 'device_used',
        'device_reason', 'best_iterations', 'regimes_fallback', 'seed'}. `save(path)` writes it as JSON
        text. A `random_state` that is a RandomState object is stored as None (the seed it gave is kept).
        """
        check_is_fitted(self, "save it")
        return {
            "format": self.STATE_FORMAT,
            "global_model": self.booster_.model_to_string(),
            "regime_models": {
                str(regime): booster.model_to_string() for regime, booster in self.regime_boosters_.items()
            },
            "stacker": {
                "coef": [float(value) for value in self.stacker_.coef_.ravel()],
                "intercept": float(self.stacker_.intercept_[0]),
                "choice": self.stacker_choice_,
                "scores": self.stacker_scores_,
            },
            "params": json_params(self.get_params()),
            "lightgbm_params": dict(self.lightgbm_params_),
            "feature_names": [str(name) for name in self.feature_names_in_],
            "device_used": self.device_used_,
            "device_reason": self.device_reason_,
            "best_iterations": {
                GLOBAL: self.best_iterations_[GLOBAL],
                "regimes": {str(regime): rounds for regime, rounds in self.best_iterations_["regimes"].items()},
            },
            "regimes_fallback": list(self.regimes_fallback_),
            "seed": self.seed_,
        }

    @classmethod
    def from_dict(cls, state: dict) -> HierarchicalMetaLearner:
        """Rebuild a fitted learner from `to_dict()` output (e.g. after a JSON round trip, or `load`).

        Predictions of the rebuilt learner are identical to the original's. A version 1 state (format
        'hierarchical_meta_learner/1', an unconstrained stacker) is rebuilt with scikit-learn's
        `LogisticRegression` holding its stored weights, `stacker_choice_` 'unconstrained' and empty
        `stacker_scores_`; states stored before the parameters `regime_column`, `validation_fraction`,
        `label_horizon`, `engine`, `scheduler` and `examples` existed get their defaults.

        Raises
        ------
        StateError
            the dict is not a learner state of this format, or is incomplete.
        """
        cls._check_state_format(state)
        with cls._reading_state(lightgbm.basic.LightGBMError):
            learner = cls(**state["params"])
            learner._check_params()
            names = [str(name) for name in state["feature_names"]]
            learner.feature_names_in_ = np.asarray(names, dtype=object)
            learner.n_features_in_ = len(names)
            learner.booster_ = lightgbm.Booster(model_str=state["global_model"])
            learner.regime_boosters_ = {
                int(regime): lightgbm.Booster(model_str=text) for regime, text in state["regime_models"].items()
            }
            legacy = state["format"] != cls.STATE_FORMAT
            # A version 1 stacker may hold negative weights, which NonNegativeLogisticRegression cannot: it is
            # rebuilt as the scikit-learn object it was, so its predictions stay identical.
            stacker = LogisticRegression() if legacy else NonNegativeLogisticRegression()
            stacker.coef_ = np.asarray([state["stacker"]["coef"]], dtype=np.float64)
            stacker.intercept_ = np.asarray([state["stacker"]["intercept"]], dtype=np.float64)
            stacker.classes_ = np.asarray([0, 1])
            stacker.n_features_in_ = stacker.coef_.shape[1]
            learner.stacker_ = stacker
            if legacy:
                learner.stacker_choice_, learner.stacker_scores_ = UNCONSTRAINED, {}
            else:
                choice = state["stacker"]["choice"]
                if choice not in (BLEND, GLOBAL_ONLY):
                    raise ValueError(f"unknown stacker choice {choice!r}")
                learner.stacker_choice_, learner.stacker_scores_ = choice, dict(state["stacker"]["scores"])
            learner.classes_ = np.array([0, 1])
            learner.lightgbm_params_ = dict(state["lightgbm_params"])
            learner.device_used_ = state["device_used"]
            learner.device_reason_ = state["device_reason"]
            learner.best_iterations_ = {
                GLOBAL: int(state["best_iterations"][GLOBAL]),
                "regimes": {int(regime): int(rounds) for regime, rounds in state["best_iterations"]["regimes"].items()},
            }
            learner.regimes_trained_ = sorted(learner.regime_boosters_)
            learner.regimes_fallback_ = [int(regime) for regime in state["regimes_fallback"]]
            learner.seed_ = int(state["seed"])
        return learner


# ---------------------------------------------------------------------- helpers


def _given(validation: tuple | None) -> dict:
    """The report's description of a validation set the caller gave (or of none)."""
    return {
        "source": "none" if validation is None else "given",
        "rows": 0 if validation is None else int(len(validation[1])),
        "rows_purged": 0,
        "by": None,
        "first_date": None,
        "last_training_date": None,
        "purged_dates": [],
    }


def _row_dates(X: pd.DataFrame, trade_dates: Any, rows: int) -> pd.DatetimeIndex | None:
    """The trade date of each row, from `trade_dates` or X's index; None when neither has them."""
    if trade_dates is not None:
        values, source = trade_dates, "trade_dates"
    elif isinstance(X.index, pd.MultiIndex):
        if "trade_date" not in X.index.names:
            return None
        values, source = X.index.get_level_values("trade_date"), "the 'trade_date' level of X's index"
    elif isinstance(X.index, pd.DatetimeIndex) or X.index.name == "trade_date":
        values, source = X.index, "X's index"
    else:
        return None
    if isinstance(values, str | bytes) or np.ndim(values) != 1:
        raise InvalidInputError(f"HierarchicalMetaLearner: trade_dates must hold one date per row, got {values!r}.")
    try:
        dates = pd.DatetimeIndex(pd.to_datetime(np.asarray(values)))
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"HierarchicalMetaLearner: {source} must be dates ({error}).") from error
    if len(dates) != rows:
        raise InvalidInputError(f"HierarchicalMetaLearner: {source} has {len(dates)} dates for {rows} rows of X.")
    if dates.hasnans:
        raise InvalidInputError(f"HierarchicalMetaLearner: {source} has {int(dates.isna().sum())} missing date(s).")
    if not dates.is_monotonic_increasing:
        raise InvalidInputError(
            f"HierarchicalMetaLearner: rows must be in time order, but {source} is not sorted; sort X, y and the "
            "regimes by trade_date before training."
        )
    return dates


def _recent_holdout(rows: int, dates: pd.DatetimeIndex | None, fraction: float, horizon: int) -> tuple[int, int, dict]:
    """Where the training rows end and the held-out rows start (the rows between them are purged), and the
    report's description of the split. Rows are in time order, so each block is contiguous."""
    if dates is None:
        logger.warning(
            "HierarchicalMetaLearner.train_ensemble: no trade dates (trade_dates= or a trade_date index), so the "
            "rows are taken as one time series in order: holding out the last %.0f%% of the rows and purging the "
            "%d rows before them. A panel (many tickers per date) needs trade_dates= or a trade_date index.",
            100 * fraction,
            horizon,
        )
        held_start = rows - max(1, round(fraction * rows))
        train_end = max(0, held_start - horizon)
        info = {"by": "row order", "first_date": None, "last_training_date": None, "purged_dates": []}
    else:
        unique = dates.unique()
        first_held = len(unique) - max(1, round(fraction * len(unique)))
        first_purged = max(0, first_held - horizon)
        held_start = int(dates.searchsorted(unique[first_held], side="left"))
        train_end = int(dates.searchsorted(unique[first_purged], side="left"))
        info = {
            "by": "trade_date",
            "first_date": unique[first_held].date().isoformat(),
            "last_training_date": unique[first_purged - 1].date().isoformat() if first_purged > 0 else None,
            "purged_dates": [day.date().isoformat() for day in unique[first_purged:first_held]],
        }
    if train_end < 1:
        raise InvalidInputError(
            f"HierarchicalMetaLearner.train_ensemble: holding out the last {fraction:.0%} of the "
            f"{'rows' if dates is None else 'dates'} and purging {horizon} before them leaves no training rows; "
            "pass a longer window, or a validation set with X_val= and y_val=."
        )
    return (
        train_end,
        held_start,
        {"source": "holdout", "rows": rows - held_start, "rows_purged": held_start - train_end, **info},
    )


def _best_rounds(booster: lightgbm.Booster) -> int:
    return int(booster.best_iteration) if booster.best_iteration > 0 else int(booster.current_iteration())


def _frozen(booster: lightgbm.Booster, rounds: int) -> lightgbm.Booster:
    """The booster rebuilt from its own model text, cut to `rounds`: exactly what `from_dict` will load."""
    return lightgbm.Booster(model_str=booster.model_to_string(num_iteration=rounds))


def _global_only(single: NonNegativeLogisticRegression) -> NonNegativeLogisticRegression:
    """The one-input stacker on logit(global) as a two-input one with weight 0 on the regime input, so that
    prediction and storage have one shape whatever was chosen."""
    stacker = NonNegativeLogisticRegression(l2=single.l2)
    stacker.coef_ = np.asarray([[single.coef_[0, 0], 0.0]])
    stacker.intercept_ = single.intercept_.copy()
    stacker.classes_ = single.classes_.copy()
    stacker.n_features_in_ = 2
    stacker.converged_ = single.converged_
    return stacker


def _stacker_inputs(global_probability: np.ndarray, regime_probability: np.ndarray) -> np.ndarray:
    clip = (_PROBABILITY_EPSILON, 1.0 - _PROBABILITY_EPSILON)
    return np.column_stack([logit(np.clip(global_probability, *clip)), logit(np.clip(regime_probability, *clip))])


def _auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    return float(roc_auc_score(labels, scores)) if len(np.unique(labels)) == 2 else None


def _importance(booster: lightgbm.Booster, names: list[str], importance_type: str) -> pd.Series:
    if importance_type not in ("gain", "split"):
        raise InvalidInputError(f"importance_type must be 'gain' or 'split'; got {importance_type!r}")
    values = booster.feature_importance(importance_type=importance_type).astype(np.float64)
    total = values.sum()
    if total > 0:
        values = values / total
    return pd.Series(values, index=names, name=f"importance_{importance_type}").sort_values(ascending=False)


__all__ = ["ARTIFACT_FORMAT", "DEFAULT_LGBM_PARAMS", "HierarchicalMetaLearner", "OLDER_STATE_FORMATS", "STATE_FORMAT"]
