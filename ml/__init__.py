"""Model training on the feature mart, and the estimators the user's plan calls.

    from ml import FeatureSelector, HierarchicalMetaLearner, ProbabilityCalibrator, DriftDetector
    from ml import compute_market_regime

Estimators (scikit-learn's contract; saved and loaded as JSON text, never pickle):
`FeatureSelector` (ml.selection), `HierarchicalMetaLearner` (ml.learner), `ProbabilityCalibrator`
(ml.calibration), `DriftDetector` (ml.drift); `compute_market_regime` (ml.regimes) looks up each row's
0-11 regime in the store.

Commands: `python -m ml.train` (ml.training: read `marts.fct_training_examples`, split it in time with
purging and an embargo, select features, tune and train the meta-learner, calibrate it, store models,
metrics and drift baselines in the `ml` schema through ml.registry) and `python -m ml.backtest`
(ml.edge: signal edge, factor view, backtest, report). Every fitted step is fitted on the training window
(the calibrator on the calibration window) and never on a later one.
"""

from ml.calibration import ProbabilityCalibrator
from ml.drift import DriftDetector
from ml.learner import HierarchicalMetaLearner
from ml.regimes import compute_market_regime
from ml.selection import FeatureSelector

__all__ = [
    "DriftDetector",
    "FeatureSelector",
    "HierarchicalMetaLearner",
    "ProbabilityCalibrator",
    "compute_market_regime",
]
