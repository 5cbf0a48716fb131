"""The training pipeline behind `python -m ml.train`: from the feature mart to a stored, calibrated model.

Modules, in the order data flows through them:

- `ml.train.data`: the training examples read from `marts.fct_training_examples` (and exported as Parquet
  for the Dask workers);
- `ml.train.regimes`: `compute_market_regime`, each row's 0-11 regime looked up in the store;
- `ml.train.splits`: train / calibration / test windows in time, with purging and an embargo, and the
  walk-forward folds;
- `ml.train.tuning`: the walk-forward choice of LightGBM settings;
- `ml.train.pipeline`: `train_model`, the whole run (select, tune, train, calibrate, evaluate, store);
- `ml.train.registry`: the `ml` schema's models, metrics, baselines and statuses, and loading a stored model;
- `ml.train.cli`: the command.

The estimators it fits live in `ml.estimators`.
"""
