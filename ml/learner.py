"""Hierarchical LightGBM meta-learner: a global model, one model per market regime, and a logistic stacker.

How it is put together (all fitted on the training window only):

1. **Global model.** A LightGBM binary model on every training row.
2. **Regime models.** One LightGBM binary model per regime id with at least `min_regime_rows` training rows
   (and both classes). Rows of any other regime, and at prediction time rows whose regime is unseen or NaN,
   use the global model in its place.
3. **Stacker.** A `LogisticRegression` on two inputs, the logit of the global probability and the logit of
   the regime probability (the global one where the row falls back), fitted on *out-of-fold* predictions so
   that it learns how far to trust each model on rows those models did not train on.

Out-of-fold predictions come from a **blocked K-fold**: the training rows, which the caller must pass in
time order, are cut into `n_folds` contiguous blocks, never shuffled; each block is predicted by models
trained on the other blocks (those before it *and* after it). Contiguous blocks keep autocorrelated
neighbours on the same side of a split except at the block edges; the folds are not purged, so labels that
overlap in time (the 5-day label) leak across a block edge for a few days of rows. Purging between the
training window and the validation window passed to `train_ensemble` is the caller's job (see
`ml.splits.purged_splits`).

Early stopping picks the number of boosting rounds of each model. With validation data, each model is
trained on all its training rows and stopped on the validation rows (of its regime, for a regime model);
without it, or when a regime has fewer than `MIN_EARLY_STOPPING_ROWS` validation rows, the last
`EARLY_STOPPING_TAIL` of that model's training rows (the most recent ones) are held out to pick the round,
and the model is then refit on all its rows with that many rounds. The fold models reuse the round counts
of the final models. Because the validation rows chose the stopping round, the reported `val_auc` is
slightly optimistic; the test split is the unbiased estimate.

Persistence uses LightGBM's own model text and plain numbers for the stacker (`to_artifacts` /
`from_artifacts`); nothing is pickled.
"""

from __future__ import annotations

import math
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
from scipy.special import logit
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.utils import check_random_state

from ml.device import DeviceChoice, resolve_device
from ml.errors import InvalidInputError, MissingFeaturesError, NotFittedError, StateError

ARTIFACT_FORMAT = "hierarchical_meta_learner/1"

# Defaults for every booster; `lgbm_params` overrides them. `deterministic` with `force_row_wise` and a
# fixed thread count makes two fits with the same seed give the same trees.
DEFAULT_LGBM_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "metric": "binary_logloss",
    "num_leaves": 31,
    "learning_rate": 0.05,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "min_data_in_leaf": 100,
    "lambda_l2": 1.0,
    "num_threads": 2,
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
    "feature_names_",
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
    "training_report_",
)


class HierarchicalMetaLearner(BaseEstimator):
    """Global + per-regime LightGBM binary models combined by a logistic stacker on out-of-fold logits.

    See the module docstring for how the models, folds and early stopping fit together.

    Parameters:
        random_state: int, `numpy.random.RandomState` or None. Seeds every booster (bagging and feature
            fraction) so two fits with the same int give identical predictions; None draws a new seed.
        device: 'cpu', 'gpu' (LightGBM's OpenCL learner), 'cuda' (a CUDA build of LightGBM) or 'auto'
            (cuda, then gpu, then cpu); resolved at fit time by `ml.device.resolve_device`.
        min_regime_rows: fewest training rows a regime needs for its own model.
        n_folds: number of contiguous time blocks for the out-of-fold predictions the stacker is fitted on.
        lgbm_params: LightGBM parameters overriding `DEFAULT_LGBM_PARAMS` (not the ones in
            `RESERVED_LGBM_PARAMS`, which this class sets).
        num_boost_round: most boosting rounds per model.
        early_stopping_rounds: rounds without improvement of the first metric before stopping; None
            trains every model for `num_boost_round` rounds.

    Fitted attributes:
        booster_: the global `lightgbm.Booster`, cut to its best iteration.
        regime_boosters_: {regime id: `lightgbm.Booster`} for the regimes with their own model.
        stacker_: the fitted `LogisticRegression` over [logit(global), logit(regime)].
        feature_names_: the feature columns, in the order the boosters use them.
        best_iterations_: {'global': rounds, 'regimes': {regime id: rounds}}.
        regimes_trained_, regimes_fallback_: sorted regime ids with and without their own model.
        lightgbm_params_: the booster parameters used (with the seed and device).
        seed_: the LightGBM seed drawn from `random_state`.
        device_used_, device_reason_: the LightGBM device type that trained and why.
        training_report_: the dict `train_ensemble` returned (absent after `from_artifacts`).
    """

    def __init__(
        self,
        random_state: int | np.random.RandomState | None = None,
        device: str = "auto",
        min_regime_rows: int = 2000,
        n_folds: int = 5,
        lgbm_params: dict | None = None,
        num_boost_round: int = 300,
        early_stopping_rounds: int | None = 30,
    ) -> None:
        self.random_state = random_state
        self.device = device
        self.min_regime_rows = min_regime_rows
        self.n_folds = n_folds
        self.lgbm_params = lgbm_params
        self.num_boost_round = num_boost_round
        self.early_stopping_rounds = early_stopping_rounds

    # ------------------------------------------------------------------ fitting

    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        regime_ids: Any,
        X_val: pd.DataFrame | None = None,
        y_val: Any = None,
        regime_val: Any = None,
    ) -> HierarchicalMetaLearner:
        """Fit the ensemble (see `train_ensemble`) and return self."""
        self.train_ensemble(X, y, regime_ids, X_val=X_val, y_val=y_val, regime_val=regime_val)
        return self

    def train_ensemble(
        self,
        X: pd.DataFrame,
        y: Any,
        regime_ids: Any,
        X_val: pd.DataFrame | None = None,
        y_val: Any = None,
        regime_val: Any = None,
    ) -> dict:
        """Fit the global, regime and stacker models on the training window and report how it went.

        Parameters:
            X: training features, one row per example, **in time order** (numeric columns; NaN allowed).
            y: binary labels (0/1), one per row of X.
            regime_ids: integer regime id per row (NaN: no regime, uses the global model).
            X_val, y_val, regime_val: optional validation window (pass all three or none), later than the
                training window and purged from it by the caller; used for early stopping and `val_auc`.

        Returns:
            {'train_auc': in-sample AUC of the final ensemble, 'oof_auc': AUC of the stacker on the
            out-of-fold inputs, 'val_auc': AUC on the validation window or None, 'device_used',
            'device_reason', 'regimes_trained', 'regimes_fallback', 'best_iterations', 'rows'}.

        Raises:
            InvalidInputError: malformed inputs or parameters (the message says which).
            DeviceUnavailableError: `device` is 'gpu' or 'cuda' and that learner is unavailable.
        """
        self._check_params()
        # A failed refit must not leave a mix of old and new fitted state behind.
        for name in _FITTED_ATTRIBUTES:
            self.__dict__.pop(name, None)
        self.feature_names_ = _feature_names(X)
        features = _as_matrix(X, self.feature_names_, self)
        labels = _as_labels(y, len(features), "y")
        regimes = _as_regimes(regime_ids, len(features), "regime_ids")
        if len(np.unique(labels)) < 2:
            raise InvalidInputError("y has a single class; the learner needs both 0 and 1 in the training window")
        if len(features) < 2 * self.n_folds:
            raise InvalidInputError(f"{len(features)} training rows are too few for n_folds={self.n_folds}")

        validation = None
        given = [part is not None for part in (X_val, y_val, regime_val)]
        if any(given) and not all(given):
            raise InvalidInputError("pass X_val, y_val and regime_val together, or none of them")
        if all(given):
            val_features = _as_matrix(X_val, self.feature_names_, self)
            val_labels = _as_labels(y_val, len(val_features), "y_val")
            val_regimes = _as_regimes(regime_val, len(val_features), "regime_val")
            validation = (val_features, val_labels, val_regimes)

        choice: DeviceChoice = resolve_device(self.device)
        self.seed_ = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self.lightgbm_params_ = self._booster_params(self.seed_, choice)
        self.device_used_ = choice.used
        self.device_reason_ = choice.reason

        seen, counts = np.unique(regimes[~np.isnan(regimes)].astype(np.int64), return_counts=True)
        trained, fallback = [], []
        for regime, count in zip(seen.tolist(), counts.tolist(), strict=True):
            eligible = count >= self.min_regime_rows and len(np.unique(labels[regimes == regime])) == 2
            (trained if eligible else fallback).append(int(regime))
        self.regimes_trained_ = trained
        self.regimes_fallback_ = fallback

        # Final models: on all training rows, with the number of rounds chosen by early stopping.
        global_validation = None if validation is None else (validation[0], validation[1])
        self.booster_, global_rounds = self._fit_final(features, labels, global_validation)
        self.regime_boosters_ = {}
        regime_rounds = {}
        for regime in trained:
            rows = regimes == regime
            regime_validation = None
            if validation is not None:
                val_rows = validation[2] == regime
                if val_rows.sum() >= MIN_EARLY_STOPPING_ROWS:
                    regime_validation = (validation[0][val_rows], validation[1][val_rows])
            self.regime_boosters_[regime], regime_rounds[regime] = self._fit_final(
                features[rows], labels[rows], regime_validation
            )
        self.best_iterations_ = {GLOBAL: global_rounds, "regimes": regime_rounds}

        oof_global, oof_regime = self._out_of_fold(features, labels, regimes)
        self.stacker_ = LogisticRegression()
        self.stacker_.fit(_stacker_inputs(oof_global, oof_regime), labels)

        report = {
            "train_auc": _auc(labels, self._predict_positive(features, regimes)),
            "oof_auc": _auc(labels, self.stacker_.predict_proba(_stacker_inputs(oof_global, oof_regime))[:, 1]),
            "val_auc": None,
            "device_used": choice.used,
            "device_reason": choice.reason,
            "regimes_trained": list(trained),
            "regimes_fallback": list(fallback),
            "best_iterations": {GLOBAL: global_rounds, "regimes": dict(regime_rounds)},
            "rows": int(len(features)),
        }
        if validation is not None:
            report["val_auc"] = _auc(validation[1], self._predict_positive(validation[0], validation[2]))
        self.training_report_ = report
        return report

    def _check_params(self) -> None:
        if not isinstance(self.n_folds, int | np.integer) or self.n_folds < 2:
            raise InvalidInputError(f"n_folds must be an integer of at least 2; got {self.n_folds!r}")
        if not isinstance(self.min_regime_rows, int | np.integer) or self.min_regime_rows < 1:
            raise InvalidInputError(f"min_regime_rows must be a positive integer; got {self.min_regime_rows!r}")
        if not isinstance(self.num_boost_round, int | np.integer) or self.num_boost_round < 1:
            raise InvalidInputError(f"num_boost_round must be a positive integer; got {self.num_boost_round!r}")
        if self.early_stopping_rounds is not None and (
            not isinstance(self.early_stopping_rounds, int | np.integer) or self.early_stopping_rounds < 1
        ):
            raise InvalidInputError(
                f"early_stopping_rounds must be a positive integer or None; got {self.early_stopping_rounds!r}"
            )
        if self.lgbm_params is not None:
            if not isinstance(self.lgbm_params, dict):
                raise InvalidInputError(f"lgbm_params must be a dict or None; got {type(self.lgbm_params).__name__}")
            reserved = sorted(RESERVED_LGBM_PARAMS.intersection(self.lgbm_params))
            if reserved:
                raise InvalidInputError(
                    f"lgbm_params may not set {', '.join(reserved)}: use random_state, device, "
                    "num_boost_round and early_stopping_rounds instead (the objective is always binary)"
                )

    def _booster_params(self, seed: int, choice: DeviceChoice) -> dict:
        params = {**DEFAULT_LGBM_PARAMS, **(self.lgbm_params or {})}
        params["objective"] = "binary"
        params["seed"] = seed
        params.update(choice.lightgbm_params())
        return params

    def _train(
        self,
        features: np.ndarray,
        labels: np.ndarray,
        rounds: int,
        stop: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> lightgbm.Booster:
        """One booster; with `stop`, early stopping on those rows (at most `rounds` rounds)."""
        params = self.lightgbm_params_
        train_set = lightgbm.Dataset(features, label=labels, feature_name=self.feature_names_, params=params)
        if stop is None:
            return lightgbm.train(params, train_set, num_boost_round=rounds)
        stop_set = lightgbm.Dataset(stop[0], label=stop[1], reference=train_set)
        callbacks = [lightgbm.early_stopping(self.early_stopping_rounds, first_metric_only=True, verbose=False)]
        return lightgbm.train(
            params, train_set, num_boost_round=rounds, valid_sets=[stop_set], valid_names=["stop"], callbacks=callbacks
        )

    def _fit_final(
        self, features: np.ndarray, labels: np.ndarray, validation: tuple[np.ndarray, np.ndarray] | None
    ) -> tuple[lightgbm.Booster, int]:
        """A model on all of `features`, its rounds picked on `validation` or on the training tail."""
        if self.early_stopping_rounds is None:
            booster, rounds = self._train(features, labels, self.num_boost_round), self.num_boost_round
        elif validation is not None:
            booster = self._train(features, labels, self.num_boost_round, stop=validation)
            rounds = _best_rounds(booster)
        else:
            head = len(features) - max(1, int(round(EARLY_STOPPING_TAIL * len(features))))
            probe = self._train(
                features[:head], labels[:head], self.num_boost_round, stop=_tail(features, labels, head)
            )
            rounds = _best_rounds(probe)
            booster = self._train(features, labels, rounds)
        # LightGBM ends early, without an error, when no split is left to make.
        rounds = min(rounds, booster.current_iteration())
        return _frozen(booster, rounds), rounds

    def _out_of_fold(
        self, features: np.ndarray, labels: np.ndarray, regimes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Global and regime probabilities of each row from models that did not train on its time block.

        A regime's fold model needs `min_regime_rows * (n_folds - 1) / n_folds` rows of that regime (and
        both classes) outside the block; otherwise that block's rows of the regime use the global fold model,
        as they would at prediction time for a regime without a model.
        """
        blocks = np.array_split(np.arange(len(features)), self.n_folds)
        fold_min_rows = math.ceil(self.min_regime_rows * (self.n_folds - 1) / self.n_folds)
        oof_global = np.empty(len(features))
        oof_regime = np.empty(len(features))
        for index, held_out in enumerate(blocks):
            train_rows = np.concatenate([block for other, block in enumerate(blocks) if other != index])
            booster = self._train(features[train_rows], labels[train_rows], self.best_iterations_[GLOBAL])
            oof_global[held_out] = booster.predict(features[held_out])
            oof_regime[held_out] = oof_global[held_out]
            for regime in self.regimes_trained_:
                predict_rows = held_out[regimes[held_out] == regime]
                fit_rows = train_rows[regimes[train_rows] == regime]
                if len(predict_rows) == 0 or len(fit_rows) < fold_min_rows or len(np.unique(labels[fit_rows])) < 2:
                    continue
                rounds = self.best_iterations_["regimes"][regime]
                regime_booster = self._train(features[fit_rows], labels[fit_rows], rounds)
                oof_regime[predict_rows] = regime_booster.predict(features[predict_rows])
        return oof_global, oof_regime

    # ------------------------------------------------------------------ prediction

    def predict_proba(self, X: pd.DataFrame, regime_ids: Any) -> np.ndarray:
        """Probabilities of class 0 and class 1, shape (n, 2) like scikit-learn.

        Parameters:
            X: features with (at least) the training columns; extra columns are ignored.
            regime_ids: regime id per row; an id without its own model, or NaN, uses the global model.

        Raises:
            NotFittedError: the learner has not been fitted or restored.
        """
        self._check_fitted("predict")
        features = _as_matrix(X, self.feature_names_, self)
        regimes = _as_regimes(regime_ids, len(features), "regime_ids")
        if len(features) == 0:
            return np.empty((0, 2))
        positive = self._predict_positive(features, regimes)
        return np.column_stack([1.0 - positive, positive])

    def _predict_positive(self, features: np.ndarray, regimes: np.ndarray) -> np.ndarray:
        global_probability = self.booster_.predict(features)
        regime_probability = global_probability.copy()
        for regime, booster in self.regime_boosters_.items():
            rows = regimes == regime
            if rows.any():
                regime_probability[rows] = booster.predict(features[rows])
        return self.stacker_.predict_proba(_stacker_inputs(global_probability, regime_probability))[:, 1]

    def feature_importance(self, importance_type: str = "gain") -> pd.Series:
        """Importance of each feature in the global model, normalized to sum to 1, largest first.

        Parameters:
            importance_type: 'gain' (total split gain) or 'split' (number of splits).
        """
        self._check_fitted("read its feature importance")
        return _importance(self.booster_, self.feature_names_, importance_type)

    def regime_feature_importance(self, importance_type: str = "gain") -> dict[int, pd.Series]:
        """{regime id: normalized importance Series} for each regime with its own model."""
        self._check_fitted("read its feature importance")
        return {
            regime: _importance(booster, self.feature_names_, importance_type)
            for regime, booster in self.regime_boosters_.items()
        }

    def _check_fitted(self, action: str = "use it") -> None:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(self, action)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "stacker_")

    # ------------------------------------------------------------------ persistence

    def to_artifacts(self) -> dict:
        """The fitted learner as JSON-serializable parts: LightGBM model text and plain numbers, no pickle.

        Returns:
            {'format', 'global_model', 'regime_models' {str(regime): text}, 'stacker' {'coef', 'intercept'},
            'params' (constructor parameters), 'lightgbm_params', 'feature_names', 'device_used',
            'device_reason', 'best_iterations', 'regimes_fallback', 'seed'}.
        """
        self._check_fitted("export it")
        params = self.get_params()
        if not isinstance(params["random_state"], int | type(None)):
            # A RandomState object is not JSON; the seed it produced is kept in 'seed'.
            params["random_state"] = None
        return {
            "format": ARTIFACT_FORMAT,
            "global_model": self.booster_.model_to_string(),
            "regime_models": {
                str(regime): booster.model_to_string() for regime, booster in self.regime_boosters_.items()
            },
            "stacker": {
                "coef": [float(value) for value in self.stacker_.coef_.ravel()],
                "intercept": float(self.stacker_.intercept_[0]),
            },
            "params": params,
            "lightgbm_params": dict(self.lightgbm_params_),
            "feature_names": list(self.feature_names_),
            "device_used": self.device_used_,
            "device_reason": self.device_reason_,
            "best_iterations": {
                GLOBAL: self.best_iterations_[GLOBAL],
                "regimes": {str(regime): rounds for regime, rounds in self.best_iterations_["regimes"].items()},
            },
            "regimes_fallback": list(self.regimes_fallback_),
            "seed": self.seed_,
        }

    def to_dict(self) -> dict:
        """Same as `to_artifacts`, under the name the other estimators of `ml` use for their state."""
        return self.to_artifacts()

    @classmethod
    def from_dict(cls, state: dict) -> HierarchicalMetaLearner:
        """Same as `from_artifacts`, under the name the other estimators of `ml` use for their state."""
        return cls.from_artifacts(state)

    @classmethod
    def from_artifacts(cls, artifacts: dict) -> HierarchicalMetaLearner:
        """Rebuild a fitted learner from `to_artifacts()` output (e.g. after a JSON round trip).

        Predictions of the rebuilt learner are identical to the original's.

        Raises:
            StateError: the dict is not a learner artifact of this format.
        """
        if not isinstance(artifacts, dict) or artifacts.get("format") != ARTIFACT_FORMAT:
            found = artifacts.get("format") if isinstance(artifacts, dict) else type(artifacts).__name__
            raise StateError(
                f"not a HierarchicalMetaLearner artifact (format {found!r}, expected {ARTIFACT_FORMAT!r}); "
                "pass the dict returned by to_artifacts()"
            )
        learner = cls(**artifacts["params"])
        learner.feature_names_ = list(artifacts["feature_names"])
        learner.booster_ = lightgbm.Booster(model_str=artifacts["global_model"])
        learner.regime_boosters_ = {
            int(regime): lightgbm.Booster(model_str=text) for regime, text in artifacts["regime_models"].items()
        }
        stacker = LogisticRegression()
        stacker.coef_ = np.asarray([artifacts["stacker"]["coef"]], dtype=np.float64)
        stacker.intercept_ = np.asarray([artifacts["stacker"]["intercept"]], dtype=np.float64)
        stacker.classes_ = np.asarray([0, 1])
        stacker.n_features_in_ = stacker.coef_.shape[1]
        learner.stacker_ = stacker
        learner.lightgbm_params_ = dict(artifacts["lightgbm_params"])
        learner.device_used_ = artifacts["device_used"]
        learner.device_reason_ = artifacts["device_reason"]
        learner.best_iterations_ = {
            GLOBAL: int(artifacts["best_iterations"][GLOBAL]),
            "regimes": {int(regime): int(rounds) for regime, rounds in artifacts["best_iterations"]["regimes"].items()},
        }
        learner.regimes_trained_ = sorted(learner.regime_boosters_)
        learner.regimes_fallback_ = [int(regime) for regime in artifacts["regimes_fallback"]]
        learner.seed_ = int(artifacts["seed"])
        return learner


# ---------------------------------------------------------------------- helpers


def _feature_names(X: Any) -> list[str]:
    if not isinstance(X, pd.DataFrame):
        raise InvalidInputError(f"X must be a pandas DataFrame with named feature columns; got {type(X).__name__}")
    names = [str(column) for column in X.columns]
    if not names:
        raise InvalidInputError("X has no feature columns")
    if len(set(names)) != len(names):
        raise InvalidInputError("X has duplicate column names; feature names must be unique")
    awkward = [name for name in names if _FORBIDDEN_NAME_CHARACTERS.intersection(name)]
    if awkward:
        raise InvalidInputError(
            f"LightGBM does not accept the characters {''.join(sorted(_FORBIDDEN_NAME_CHARACTERS))} in feature "
            f"names; rename these columns: {awkward[:5]}"
        )
    return names


def _as_matrix(X: Any, names: list[str], estimator: object) -> np.ndarray:
    """The named columns of X as a float64 matrix (NaN for missing values)."""
    if not isinstance(X, pd.DataFrame):
        raise InvalidInputError(f"X must be a pandas DataFrame with named feature columns; got {type(X).__name__}")
    frame = X.rename(columns=str)
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise MissingFeaturesError(estimator, missing, frame.columns)
    frame = frame[names]
    not_numeric = [name for name in names if not pd.api.types.is_numeric_dtype(frame[name].dtype)]
    if not_numeric:
        raise InvalidInputError(f"feature columns must be numeric or boolean; these are not: {not_numeric[:5]}")
    return frame.to_numpy(dtype=np.float64, na_value=np.nan)


def _as_labels(y: Any, rows: int, name: str) -> np.ndarray:
    labels = np.asarray(y, dtype=np.float64).ravel()
    if len(labels) != rows:
        raise InvalidInputError(f"{name} has {len(labels)} values for {rows} rows")
    if np.isnan(labels).any() or not np.isin(labels, (0.0, 1.0)).all():
        raise InvalidInputError(f"{name} must hold only 0 and 1 (no NaN)")
    return labels.astype(np.int8)


def _as_regimes(regime_ids: Any, rows: int, name: str) -> np.ndarray:
    """Regime ids as floats: integers, or NaN where a row has no regime."""
    regimes = pd.to_numeric(pd.Series(np.asarray(regime_ids, dtype=object).ravel()), errors="coerce")
    regimes = regimes.to_numpy(dtype=np.float64, na_value=np.nan)
    if len(regimes) != rows:
        raise InvalidInputError(f"{name} has {len(regimes)} values for {rows} rows")
    known = regimes[~np.isnan(regimes)]
    if not np.array_equal(known, np.round(known)):
        raise InvalidInputError(f"{name} must be integer regime ids (or NaN for none)")
    return regimes


def _tail(features: np.ndarray, labels: np.ndarray, head: int) -> tuple[np.ndarray, np.ndarray]:
    return features[head:], labels[head:]


def _best_rounds(booster: lightgbm.Booster) -> int:
    return int(booster.best_iteration) if booster.best_iteration > 0 else int(booster.current_iteration())


def _frozen(booster: lightgbm.Booster, rounds: int) -> lightgbm.Booster:
    """The booster rebuilt from its own model text, cut to `rounds`: exactly what `from_artifacts` will load."""
    return lightgbm.Booster(model_str=booster.model_to_string(num_iteration=rounds))


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


__all__ = ["ARTIFACT_FORMAT", "DEFAULT_LGBM_PARAMS", "HierarchicalMetaLearner"]
