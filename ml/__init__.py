"""Model training on the feature mart, and the estimators the user's plan calls.

    from ml import FeatureSelector, HierarchicalMetaLearner, ProbabilityCalibrator, DriftDetector
    from ml import compute_market_regime

Packages, by role:

- `ml.estimators`: the estimators (scikit-learn's contract; saved and loaded as JSON text, never pickle):
  `HierarchicalMetaLearner` with its stacker and booster engines, `ProbabilityCalibrator`,
  `FeatureSelector`, `DriftDetector`, and their persistence;
- `ml.train`: the training pipeline and `python -m ml.train` (read `marts.fct_training_examples`, split it
  in time with purging and an embargo, select features, tune and train the meta-learner, calibrate it, store
  models, metrics and drift baselines in the `ml` schema through `ml.train.registry`);
  `compute_market_regime` (`ml.train.regimes`) looks up each row's 0-11 regime in the store;
- `ml.backtest`: the edge analysis and `python -m ml.backtest` (signal edge, factor view, backtest, report),
  with the portfolio statistics;
- `ml.daily`: the daily loop and `python -m ml.daily` (score, resolve, calibrate live, watch drift, retrain).

Shared by them, below every package: `ml.errors`, `ml.validation` (input checks), `ml.metrics`
(discrimination, calibration and signal metrics), `ml.factors` (IC, rank IC, Newey-West t), `ml.formatting`,
`ml.report_page`. Every fitted step is fitted on the training window (the calibrator on
the calibration window) and never on a later one.
"""

from ml.estimators.calibration import ProbabilityCalibrator
from ml.estimators.drift import DriftDetector
from ml.estimators.learner import HierarchicalMetaLearner
from ml.estimators.selection import FeatureSelector
from ml.train.regimes import compute_market_regime

__all__ = [
    "DriftDetector",
    "FeatureSelector",
    "HierarchicalMetaLearner",
    "ProbabilityCalibrator",
    "compute_market_regime",
]
