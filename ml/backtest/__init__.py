"""The edge analysis behind `python -m ml.backtest`: do the signals predict forward returns, after costs?

Modules, in the order data flows through them:

- `ml.backtest.reads`: the SQL reads (signal-edge marts, daily returns, the model's stored metrics);
- `ml.backtest.analysis`: `run_edge_analysis`, which measures the three views (signal edge, factor view,
  backtest of the model's test window) and returns an `EdgeAnalysis`;
- `ml.backtest.statistics`: the reliability table and the backtest summary;
- `ml.backtest.results`: the result types (`EdgeSettings`, `Verdict`, `EdgeAnalysis`);
- `ml.backtest.verdicts`: the plain-words answers;
- `ml.backtest.storage`: the `analysis` schema, written in one transaction per run;
- `ml.backtest.report`: the self-contained HTML report.

The statistics they build on: `ml.factors` (IC, rank IC, quantiles, Newey-West t; shared, one level up,
because the training metrics use it too and the two must agree) and `ml.backtest.portfolio` (the
overlapping-sleeve backtest and performance statistics). `ml.backtest.cli` is the command.
"""
