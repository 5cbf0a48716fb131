"""Model training on the feature mart (`python -m ml.train`): not built yet.

This package will read `marts.fct_training_examples`, select features, train the hierarchical
LightGBM meta-learner, calibrate it and store models, metrics and drift baselines in the `ml` schema.
"""
