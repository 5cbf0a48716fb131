"""The daily routine: `python -m ml.daily` scores a trading day with the champion model, logs it, matches past
predictions to their outcomes, keeps the live calibration and live performance, checks drift, and replays
past periods (docs/daily.md).

Modules: `calendar` (the exchange's trading days), `freshness` (which day to score, and stale-data
refusals), `scoring` (one day through the store's client), `outcomes` (resolution), `live_calibration`
(the streaming calibrator per model and day), `drift` (the features against the training baselines),
`performance` (rolling live metrics), `retraining` (challengers, promotion), `routine` (one day, in one
transaction), `replay` (a past period in a copy of the store), `monitoring` (the HTML report) and `cli`
(the command). Every read and write of the `ml` schema goes through `storage`, as the edge analysis's go
through `ml.backtest.reads` and `ml.backtest.storage`.
"""
