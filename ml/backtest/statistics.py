"""Statistics of the edge analysis beyond the factor view: the reliability table of the model's probabilities,
and the backtest's summary (performance, tranche hit rates, turnover) per portfolio."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.backtest.portfolio import BacktestResult, performance
from ml.metrics import quantile_bins


def reliability_table(probabilities: np.ndarray, outcomes: np.ndarray, n_bins: int) -> pd.DataFrame:
    """Equal-count bins of the predicted probability: mean prediction vs observed up-rate per bin.

    The bins are those of `sklearn.calibration.calibration_curve(strategy='quantile')`
    (`ml.metrics.quantile_bins`): edges at the quantiles of the probabilities, and equal probabilities
    always in the same bin, so a bin's hit rate never depends on the order (the dates) of tied rows. Where
    ties make edges coincide there are fewer than `n_bins` bins; they are numbered 1, 2, ... from the lowest.
    Rows with a missing probability or outcome are left out.

    Returns
    -------
    One row per bin: bin, rows, mean_predicted, observed_rate, lower and upper (smallest and largest
    probability in the bin).
    """
    frame = pd.DataFrame({"p": probabilities, "y": outcomes}).dropna()
    frame["bin"] = quantile_bins(frame["p"].to_numpy(), n_bins) + 1
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
