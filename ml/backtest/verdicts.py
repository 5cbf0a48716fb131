"""The plain-words answers at the top of the edge report: each question, yes / no / n/a, and the numbers."""

from __future__ import annotations

import pandas as pd

from ml.backtest.results import EdgeAnalysis, Verdict
from ml.formatting import number, percent


def build_verdicts(analysis: EdgeAnalysis) -> list[Verdict]:
    """The plain-words answers at the top of the report (and in `analysis.verdicts`)."""
    settings = analysis.settings
    verdicts = []
    for row in analysis.signal_edge.itertuples():
        horizon = int(row.horizon_days)
        significant = row.t_stat is not None and not pd.isna(row.t_stat) and abs(row.t_stat) > 2
        verdicts.append(
            Verdict(
                f"{row.score_name} > {row.threshold:g}: edge > {settings.edge_threshold:.0%} on {horizon}-day returns",
                None if pd.isna(row.edge) else bool(row.edge > settings.edge_threshold),
                f"pooled edge {percent(row.edge)} (t {number(row.t_stat)}, "
                f"{'significant' if significant else 'not significant'} at |t| > 2); "
                f"{percent(row.share_tickers_positive, 0, signed=False)} "
                f"of {row.tickers_with_edge} tickers positive; a round trip costs "
                f"{2 * settings.cost_bps / 100:.2f}%",
            )
        )
    for split in ("validation", "test"):
        auc = analysis.model_metrics.get(f"{split}_auc")
        verdicts.append(
            Verdict(
                f"{split.capitalize()} AUC > {settings.auc_threshold}",
                None if auc is None else bool(auc > settings.auc_threshold),
                f"{split} AUC {number(auc, 3)} (model {analysis.model_id})",
            )
        )
    model = analysis.factors["model"].summary.set_index("factor").loc["model_probability"]
    if model["days"] == 0:
        ranks = Verdict(
            "Model probability ranks stocks: rank IC > 0 with t > 2 on the test window",
            False,
            "no test day has probabilities that differ across stocks: the model predicts one probability per "
            "day (it leans on market-wide inputs), so it cannot rank stocks",
        )
    else:
        ranks = Verdict(
            "Model probability ranks stocks: rank IC > 0 with t > 2 on the test window",
            bool(model["rank_ic_mean"] > 0 and model["rank_ic_t"] > 2),
            f"mean daily rank IC {number(model['rank_ic_mean'], 4)} (Newey-West t {number(model['rank_ic_t'])}, "
            f"{int(model['days'])} days); top-minus-bottom quintile {percent(model['top_minus_bottom'])} "
            f"per {analysis.horizon} days",
        )
    verdicts.append(ranks)
    summary = analysis.summary.set_index("portfolio")
    net, bench = summary.loc["strategy_net"], summary.loc["benchmark"]
    held = analysis.strategy.tranches["names"].median()
    universe = analysis.benchmark.tranches["names"].median()
    beats = None
    if not pd.isna(net["annual_return"]) and not pd.isna(bench["annual_return"]):
        beats = bool(net["annual_return"] > bench["annual_return"])
    verdicts.append(
        Verdict(
            f"Top {settings.top_fraction:.0%} by probability beats the equal-weight universe after "
            f"{settings.cost_bps:g} bps per side",
            beats,
            f"annual return {percent(net['annual_return'], 1)} vs {percent(bench['annual_return'], 1)}; Sharpe "
            f"{number(net['sharpe'])} vs {number(bench['sharpe'])}; max drawdown {percent(net['max_drawdown'], 1)} vs "
            f"{percent(bench['max_drawdown'], 1)}; holds {held:.0f} of {universe:.0f} stocks a day (median) "
            f"({analysis.test_first_date} to {analysis.test_last_date})",
        )
    )
    return verdicts
