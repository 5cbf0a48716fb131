"""Statistics of the edge analysis beyond the factor view: the reliability table of the model's probabilities,
and the backtest's summary (performance, tranche hit rates, turnover) per portfolio."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.portfolio import BacktestResult, performance


def reliability_table(probabilities: np.ndarray, outcomes: np.ndarray, n_bins: int) -> pd.DataFrame:
    """Equal-count bins of the predicted probability: mean prediction vs observed up-rate per bin."""
    frame = pd.DataFrame({"p": probabilities, "y": outcomes}).dropna()
    ranks = frame["p"].rank(method="first")
    frame["bin"] = np.minimum(((ranks - 1) * n_bins / len(frame)).astype(int), n_bins - 1) + 1
    table = frame.groupby("bin").agg(
        rows=("y", "size"),
        mean_predicted=("p", "mean"),
        observed_rate=("y", "mean"),
        lower=("p", "min"),
        upper=("p", "max"),
    )
    return table.reset_index()


def tranche_rates(result: BacktestResult, benchmark: BacktestResult | None, round_trip_cost: float) -> dict[str, float]:
    """Share of tranches (one per signal date, held for the horizon) that made money net of a round trip's cost,
    and that beat the benchmark's tranche of the same day (NaN for the benchmark itself: `benchmark` None)."""
    tranches = result.tranches.set_index("signal_date")["tranche_return"].dropna()
    net = tranches - round_trip_cost
    if tranches.empty:
        return {"hit_rate": float("nan"), "beat_benchmark_rate": float("nan")}
    beat = float("nan")
    if benchmark is not None:
        reference = benchmark.tranches.set_index("signal_date")["tranche_return"].reindex(tranches.index)
        beat = float((net > reference).mean())
    return {"hit_rate": float((net > 0).mean()), "beat_benchmark_rate": beat}


def backtest_summary(
    strategy: BacktestResult, gross: BacktestResult, benchmark: BacktestResult, cost_bps: float
) -> pd.DataFrame:
    rows = []
    for name, result, cost, reference in (
        ("strategy_net", strategy, cost_bps, benchmark),
        ("strategy_gross", gross, 0.0, benchmark),
        ("benchmark", benchmark, 0.0, None),
    ):
        stats = performance(result.daily["net_return"])
        stats.update(tranche_rates(result, reference, 2 * cost / 10_000))
        stats["mean_turnover"] = float(result.daily["turnover"].mean())
        rows.append({"portfolio": name, **stats})
    return pd.DataFrame(rows)
