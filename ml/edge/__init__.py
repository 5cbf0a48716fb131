"""The edge analysis behind `python -m ml.backtest`: do the signals predict forward returns, after costs?

Modules, in the order data flows through them:

- `ml.edge.reads`: the SQL reads (signal-edge marts, daily returns, the model's stored metrics);
- `ml.edge.analysis`: `run_edge_analysis`, which measures the three views (signal edge, factor view,
  backtest of the model's test window) and returns an `EdgeAnalysis`;
- `ml.edge.statistics`: the reliability table and the backtest summary;
- `ml.edge.results`: the result types (`EdgeSettings`, `Verdict`, `EdgeAnalysis`);
- `ml.edge.verdicts`: the plain-words answers;
- `ml.edge.storage`: the `analysis` schema, written in one transaction per run;
- `ml.edge.report`: the self-contained HTML report.

The statistics they build on are general and live one level up: `ml.factors` (IC, rank IC, quantiles,
Newey-West t) and `ml.portfolio` (the overlapping-sleeve backtest and performance statistics).
"""
