"""The estimators of `ml`, each with scikit-learn's contract and saved as JSON text (`ml.estimators.persistence`).

- `ml.estimators.learner`: `HierarchicalMetaLearner`, a global LightGBM booster and one per market regime,
  stacked out of fold (`ml.estimators.stacking`); its boosters train through an engine of
  `ml.estimators.engines` (this process, or a Dask cluster);
- `ml.estimators.calibration`: `ProbabilityCalibrator` (identity, Platt or isotonic, chosen out of sample),
  streaming through `ml.estimators.calibration_stream.CalibrationStream` on top of its batch fit;
- `ml.estimators.selection`: `FeatureSelector`;
- `ml.estimators.drift`: `DriftDetector` (PSI and KS against a training baseline);
- `ml.estimators.persistence`: `save` / `load`. Their argument checks are `ml.validation`, shared with the
  metrics.

`from ml import ...` gives the four estimators the plan calls.
"""
