"""Evaluation metrics of a probability model, per split: discrimination, calibration and signal quality.

The information coefficients are `ml.factors.factor_analysis`'s, the one implementation of daily IC / rank
IC in the project (dates with too few names skipped by the same rule, Newey-West t-statistics over the
overlapping label horizon), so the training metrics and the edge analysis agree by construction.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from ml.calibration import expected_calibration_error
from ml.factors import factor_analysis


def information_coefficients(
    probabilities: np.ndarray, forward_returns: np.ndarray, dates: np.ndarray, tickers: np.ndarray, horizon: int
) -> dict[str, float | None]:
    """Mean daily cross-sectional IC (Pearson) and rank IC (Spearman) of the probabilities against the
    forward return, with their Newey-West t-statistics (`horizon - 1` lags), and the number of days used."""
    frame = pd.DataFrame({"score": probabilities, "forward_return": forward_returns, "date": dates, "ticker": tickers})
    summary = factor_analysis(
        frame, ["score"], return_column="forward_return", date_column="date", ticker_column="ticker", horizon=horizon
    ).summary.iloc[0]

    def value(name: str) -> float | None:
        number = float(summary[name])
        return None if math.isnan(number) else number

    return {
        "ic": value("ic_mean"),
        "ic_t": value("ic_t"),
        "rank_ic": value("rank_ic_mean"),
        "rank_ic_t": value("rank_ic_t"),
        "ic_days": float(summary["days"]),
    }


def evaluate(
    probabilities: np.ndarray,
    labels: np.ndarray,
    forward_returns: np.ndarray,
    dates: np.ndarray,
    tickers: np.ndarray,
    horizon: int,
) -> dict[str, float | None]:
    """AUC, log loss, Brier score, ECE (10 bins), base rate, IC and rank IC of one split."""
    labels = np.asarray(labels)
    clipped = np.clip(probabilities, 1e-6, 1 - 1e-6)
    both_classes = len(np.unique(labels)) == 2
    return {
        "rows": float(len(labels)),
        "base_rate": float(labels.mean()),
        "auc": float(roc_auc_score(labels, probabilities)) if both_classes else None,
        "log_loss": float(log_loss(labels, clipped, labels=[0, 1])),
        "brier": float(brier_score_loss(labels, probabilities)),
        "ece": float(expected_calibration_error(probabilities, labels, n_bins=10)),
        **information_coefficients(probabilities, forward_returns, dates, tickers, horizon),
    }
