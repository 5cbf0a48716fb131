"""Model training on the feature mart: `python -m ml.train` (see docs/ml.md).

Reads `marts.fct_training_examples`, splits it in time with purging and an embargo, selects features,
trains the hierarchical LightGBM meta-learner, calibrates it and stores models, metrics and drift
baselines in the warehouse's `ml` schema. Every fitted step is fitted on the training window (the
calibrator on the calibration window) and never on a later one.
"""
