"""Evaluation metrics of a probability model, per split: discrimination, calibration and signal quality."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from ml.calibration import expected_calibration_error


def information_coefficients(probabilities: np.ndarray, forward_returns: np.ndarray, dates: np.ndarray) -> dict:
    """Mean daily cross-sectional IC (Pearson) and rank IC (Spearman) of the probabilities against the
    5-day forward return, with their t-statistics over days (dates with fewer than 5 names are skipped)."""
    frame = pd.DataFrame({"p": probabilities, "r": forward_returns, "d": dates}).dropna()
    ics, rank_ics = [], []
    for _, day in frame.groupby("d"):
        if len(day) < 5 or day["p"].nunique() < 2 or day["r"].nunique() < 2:
            continue
        ics.append(np.corrcoef(day["p"], day["r"])[0, 1])
        rank_ics.append(spearmanr(day["p"], day["r"]).statistic)

    def summary(values: list[float]) -> tuple[float | None, float | None]:
        if len(values) < 2:
            return None, None
        array = np.asarray(values)
        return float(array.mean()), float(array.mean() / (array.std(ddof=1) / np.sqrt(len(array))))

    ic, ic_t = summary(ics)
    rank_ic, rank_ic_t = summary(rank_ics)
    return {"ic": ic, "ic_t": ic_t, "rank_ic": rank_ic, "rank_ic_t": rank_ic_t, "ic_days": float(len(ics))}


def evaluate(
    probabilities: np.ndarray, labels: np.ndarray, forward_returns: np.ndarray, dates: np.ndarray
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
        **information_coefficients(probabilities, forward_returns, dates),
    }
