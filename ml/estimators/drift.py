"""Feature drift between the training window and recent data: per-feature KS test or PSI, and a retrain trigger.

`DriftDetector` is fitted on the training window only: its baselines describe the rows the model was trained
on, and recent data is compared against them. It is saved as JSON text (`save` / `load`, see
`ml.estimators.persistence`), never pickled.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from ml.estimators.persistence import JsonPersistenceMixin, json_params
from ml.validation import (
    check_choice,
    check_feature_frame,
    check_int,
    check_interval,
    check_is_fitted,
    select_features,
)

logger = logging.getLogger(__name__)

METHODS = ("ks", "psi")
#: How scipy computes a KS p-value (`scipy.stats.ks_2samp`'s `method`); the statistic is the same with each.
KS_P_VALUE_METHODS = ("auto", "exact", "asymp")
STATE_FORMAT = "DriftDetector/1"
QUANTILES = (0.01, 0.05, 0.25, 0.50, 0.75, 0.95, 0.99)
# PSI takes log(actual / expected): an empty bin on either side would make it infinite. The usual remedy is to
# floor the fractions at a small value, which caps one empty bin's contribution at about 0.1 * ln(1000) = 0.7.
_PSI_FLOOR = 1e-4


def _quantile_key(q: float) -> str:
    return f"q{round(q * 100):02d}"


class DriftDetector(JsonPersistenceMixin, BaseEstimator):
    """Decide whether recent feature data has drifted far enough from the training window to retrain.

    Fit it on the training window only (the rows the model was trained on): each feature's baseline is
    taken from those rows, and `check_retrain_trigger` compares a recent window against it.

    Per feature, `fit` stores the row and missing counts, mean, standard deviation, the 1/5/25/50/75/95/99%
    quantiles, PSI bin edges (training quantiles, `psi_bins` bins) with the training fraction in each bin, and
    a seeded sample of up to `sample_size` non-missing values for the KS test. Infinite values count as
    missing.

    Parameters
    ----------
    ks_threshold : float, default=0.05
        A feature has drifted when the two-sample KS test's p-value is below this.
    drift_percentage_trigger : float, default=0.20
        Retrain when at least this fraction of the tested features has drifted.
    sample_size : int, default=2000
        Values per feature kept for the KS test; the recent window is subsampled to the same size, so that
        the test's power, and with it the meaning of `ks_threshold`, does not depend on the window's length.
    random_state : int, numpy RandomState or None, default=None
        Seeds both samples. An int makes `fit` deterministic; after `fit`, `check_retrain_trigger` always is
        (see `seed_`).
    psi_bins : int, default=10
        Quantile bins for the population stability index (fewer when the feature has repeated values).
    psi_threshold : float, default=0.2
        A feature has drifted when its PSI exceeds this (0.1-0.2: moderate shift, above 0.2: significant).

    Attributes
    ----------
    feature_names_in_ : numpy.ndarray of str
        Columns of the training frame; `check_retrain_trigger` needs all of them.
    n_features_in_ : int
    seed_ : int
        The seed of both samples: `random_state` when it is an int, else drawn once by `fit`. Every check of a
        fitted detector, and of one loaded from its saved state, draws the same recent sample.
    baselines_ : dict of str to dict
        Per-feature baseline, JSON-ready: `n_rows`, `n_missing`, `mean`, `std`, `quantiles` (`q01` ... `q99`),
        `psi_edges` (inner bin edges; the outer bins are open-ended), `psi_expected` (training fraction per
        bin), `ks_sample`. All but the counts are None (or empty) for a feature with no value in the window.

    Saving: `save('models/drift_detector_baseline.json')` writes the parameters and baselines as JSON text and
    `DriftDetector.load(path)` reads them back (`to_dict` / `from_dict` for a database table).
    """

    STATE_FORMAT = STATE_FORMAT

    def __init__(
        self,
        ks_threshold: float = 0.05,
        drift_percentage_trigger: float = 0.20,
        sample_size: int = 2000,
        random_state: int | np.random.RandomState | None = None,
        psi_bins: int = 10,
        psi_threshold: float = 0.2,
    ) -> None:
        self.ks_threshold = ks_threshold
        self.drift_percentage_trigger = drift_percentage_trigger
        self.sample_size = sample_size
        self.random_state = random_state
        self.psi_bins = psi_bins
        self.psi_threshold = psi_threshold

    def fit(self, X_train: pd.DataFrame, y=None) -> DriftDetector:
        """Store each feature's baseline from the training window.

        Parameters
        ----------
        X_train : pandas.DataFrame
            Training-window features: numeric or boolean columns with unique string names.
        y : ignored
            Accepted for pipeline compatibility.

        Returns
        -------
        self : DriftDetector
        """
        self._check_params()
        check_feature_frame(X_train, self, "X_train")
        # One seed, drawn here when random_state is not an int, for the baseline samples now and for every later
        # check: the same detector (or one loaded from its saved state) always gives the same answer.
        self.seed_ = _seed_of(self.random_state)
        rng = check_random_state(self.seed_)
        baselines: dict[str, dict[str, Any]] = {}
        for column in X_train.columns:
            values = _finite_values(X_train[column])
            baselines[column] = self._baseline(values, n_rows=len(X_train), rng=rng)
        empty = [c for c, b in baselines.items() if b["mean"] is None]
        if empty:
            logger.warning(
                "DriftDetector: %d feature(s) have no value in the training window and will not be tested: %s",
                len(empty),
                ", ".join(empty),
            )
        self.feature_names_in_ = np.asarray(list(X_train.columns), dtype=object)
        self.n_features_in_ = len(baselines)
        self.baselines_ = baselines
        return self

    def _baseline(self, values: np.ndarray, n_rows: int, rng: np.random.RandomState) -> dict[str, Any]:
        baseline: dict[str, Any] = {"n_rows": int(n_rows), "n_missing": int(n_rows - values.size)}
        if values.size == 0:
            baseline.update(
                mean=None,
                std=None,
                quantiles={_quantile_key(q): None for q in QUANTILES},
                psi_edges=[],
                psi_expected=[],
            )
            baseline["ks_sample"] = []
            return baseline
        quantiles = np.quantile(values, QUANTILES)
        # Inner edges at the training quantiles; repeated values (a discrete or clipped feature) merge bins.
        edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, self.psi_bins + 1)[1:-1]))
        sample = rng.choice(values, size=self.sample_size, replace=False) if values.size > self.sample_size else values
        baseline.update(
            mean=float(values.mean()),
            std=float(values.std(ddof=1)) if values.size > 1 else 0.0,
            quantiles={_quantile_key(q): float(v) for q, v in zip(QUANTILES, quantiles, strict=True)},
            psi_edges=edges.tolist(),
            psi_expected=_bin_fractions(values, edges).tolist(),
            ks_sample=np.sort(sample).tolist(),
        )
        return baseline

    def check_retrain_trigger(
        self, X_recent: pd.DataFrame, method: str = "ks", *, ks_p_value: str = "auto"
    ) -> dict[str, Any]:
        """Test every training feature for drift in `X_recent` and say whether to retrain.

        Parameters
        ----------
        X_recent : pandas.DataFrame
            Recent rows with (at least) every column the detector was fitted on; extra columns are ignored.
        method : {'ks', 'psi'}, default='ks'
            'ks': `scipy.stats.ks_2samp` between the stored sample and (a sample of) the recent values;
            drifted when p-value < `ks_threshold`. 'psi': population stability index over the stored bins;
            drifted when PSI > `psi_threshold`.
        ks_p_value : {'auto', 'exact', 'asymp'}, default='auto'
            How the KS p-value is computed (`scipy.stats.ks_2samp`'s `method`: 'auto' is exact for samples of up
            to 10,000 values, which takes a few milliseconds per feature; 'asymp' is the asymptotic
            distribution). The statistic is the same with each: a caller that reads only the statistic can
            ask for 'asymp'.

        Returns
        -------
        dict with
            `should_retrain` (bool): drift_percentage >= drift_percentage_trigger (False when nothing was tested);
            `drift_percentage` (float): drifted / tested features, 0.0 when none was tested;
            `drifted_features` (list of str), in column order;
            `details` (dict): per tested feature `statistic`, `p_value` (KS) or `psi` (PSI), `n_recent`, `drifted`;
            `skipped_features` (dict): feature -> why it was not tested (no value in the training or recent
            window);
            `method` (str) and `n_features_tested` (int).
        All values are plain Python types, ready for `json.dumps`.
        """
        check_is_fitted(self, "check for drift")
        check_choice(self, "method", method, METHODS)
        check_choice(self, "ks_p_value", ks_p_value, KS_P_VALUE_METHODS)
        X_recent = select_features(X_recent, list(self.feature_names_in_), self, "X_recent")

        rng = check_random_state(self.seed_)
        details: dict[str, dict[str, Any]] = {}
        skipped: dict[str, str] = {}
        drifted: list[str] = []
        for feature in self.feature_names_in_:
            baseline = self.baselines_[feature]
            if baseline["mean"] is None:
                skipped[feature] = "no value in the training window"
                continue
            recent = _finite_values(X_recent[feature])
            if recent.size == 0:
                skipped[feature] = "all values are NULL/NaN in X_recent"
                continue
            if method == "ks":
                if recent.size > self.sample_size:
                    recent = rng.choice(recent, size=self.sample_size, replace=False)
                result = ks_2samp(np.asarray(baseline["ks_sample"]), recent, method=ks_p_value)
                is_drifted = bool(result.pvalue < self.ks_threshold)
                detail = {"statistic": float(result.statistic), "p_value": float(result.pvalue)}
            else:
                edges = np.asarray(baseline["psi_edges"], dtype=np.float64)
                psi = _psi(np.asarray(baseline["psi_expected"]), _bin_fractions(recent, edges))
                is_drifted = bool(psi > self.psi_threshold)
                detail = {"statistic": psi, "psi": psi}
            details[feature] = {**detail, "n_recent": int(recent.size), "drifted": is_drifted}
            if is_drifted:
                drifted.append(feature)

        if skipped:
            logger.warning(
                "DriftDetector: skipped %d feature(s): %s",
                len(skipped),
                "; ".join(f"{feature} ({why})" for feature, why in skipped.items()),
            )
        n_tested = len(details)
        drift_percentage = len(drifted) / n_tested if n_tested else 0.0
        should_retrain = bool(n_tested and drift_percentage >= self.drift_percentage_trigger)
        logger.info(
            "DriftDetector (%s): %d of %d tested feature(s) drifted (%.1f%%, trigger %.1f%%): retrain=%s",
            method,
            len(drifted),
            n_tested,
            100 * drift_percentage,
            100 * self.drift_percentage_trigger,
            should_retrain,
        )
        return {
            "should_retrain": should_retrain,
            "drift_percentage": float(drift_percentage),
            "drifted_features": drifted,
            "details": details,
            "skipped_features": skipped,
            "method": method,
            "n_features_tested": n_tested,
        }

    # ----------------------------------------------------------------------------------------- storage

    def to_dict(self) -> dict[str, Any]:
        """Parameters and baselines as plain JSON types (for `save` or a DuckDB table); `from_dict` reverses it
        exactly.

        A `random_state` that is a RandomState object (not an int) cannot be stored and is saved as None. Values
        JSON cannot hold (NaN) never occur: a feature without a value in the window has None statistics.
        """
        check_is_fitted(self, "save it")
        return {
            "format": self.STATE_FORMAT,
            "params": json_params(self.get_params()),
            "feature_names": list(self.feature_names_in_),
            "seed": self.seed_,
            "baselines": self.baselines_,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> DriftDetector:
        """Rebuild a fitted detector from `to_dict` output (e.g. read back from the database, or `load`).

        Raises
        ------
        StateError
            `state` is not a DriftDetector state, or is incomplete.
        """
        cls._check_state_format(state)
        with cls._reading_state():
            detector = cls(**state["params"])
            detector._check_params()
            names = list(state["feature_names"])
            baselines = {name: dict(state["baselines"][name]) for name in names}
            required = {"n_rows", "n_missing", "mean", "std", "quantiles", "psi_edges", "psi_expected", "ks_sample"}
            for name, baseline in baselines.items():
                if not required <= baseline.keys():
                    raise KeyError(f"{name}: {', '.join(sorted(required - baseline.keys()))}")
        detector.feature_names_in_ = np.asarray(names, dtype=object)
        detector.n_features_in_ = len(names)
        # States saved before the seed was stored drew with their int random_state (or at random, for None).
        detector.seed_ = state.get("seed", detector.random_state)
        detector.baselines_ = baselines
        return detector

    # ----------------------------------------------------------------------------------------- helpers

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "baselines_")

    def _check_params(self) -> None:
        check_interval(self, "ks_threshold", self.ks_threshold, 0.0, 1.0)
        check_interval(self, "drift_percentage_trigger", self.drift_percentage_trigger, 0.0, 1.0)
        check_interval(self, "psi_threshold", self.psi_threshold, 0.0)
        check_int(self, "sample_size", self.sample_size, minimum=2)
        check_int(self, "psi_bins", self.psi_bins, minimum=2)


def _seed_of(random_state: int | np.random.RandomState | None) -> int:
    """An int random_state as it is (so fits with the same int draw the same samples), else a seed drawn
    from it."""
    if isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _bin_fractions(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Fraction of `values` in each of the bins (-inf, e1], (e1, e2], ..., (ek, inf)."""
    bins = np.searchsorted(edges, values, side="left")
    return np.bincount(bins, minlength=edges.size + 1) / values.size


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected = np.maximum(expected, _PSI_FLOOR)
    actual = np.maximum(actual, _PSI_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _finite_values(column: pd.Series) -> np.ndarray:
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    return values[np.isfinite(values)]
