"""Evaluation metrics of a probability model: discrimination, calibration and signal quality.

`evaluate` gives one split's metrics; `expected_calibration_error` (ECE) and `quantile_bins` (the tie-aware
equal-count bins of the reliability table and of the binned isotonic calibrator) are the calibration metrics
every package uses. The information coefficients are `ml.factors.factor_analysis`'s, the one
implementation of daily IC / rank IC in the project (dates with too few names skipped by the same rule,
Newey-West t-statistics over the overlapping label horizon), so the training metrics and the edge analysis
agree by construction.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from ml.errors import InvalidInputError
from ml.factors import bartlett_sum, factor_analysis
from ml.validation import check_int, check_probability_outcome_pairs


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
    """AUC (with its standard error, `auc_standard_error`), log loss, Brier score, ECE (10 bins), base rate,
    IC and rank IC of one split, and
    `distinct_share`: the median over days of (distinct probabilities / names scored that day), 1 when every
    stock of a day gets its own probability, near 0 when the model gives the whole day one number."""
    labels = np.asarray(labels)
    clipped = np.clip(probabilities, 1e-6, 1 - 1e-6)
    both_classes = len(np.unique(labels)) == 2
    return {
        "rows": float(len(labels)),
        "base_rate": float(labels.mean()),
        "auc": float(roc_auc_score(labels, probabilities)) if both_classes else None,
        "auc_se": auc_standard_error(probabilities, labels, dates, horizon) if both_classes else None,
        "log_loss": float(log_loss(labels, clipped, labels=[0, 1])),
        "brier": float(brier_score_loss(labels, probabilities)),
        "ece": float(expected_calibration_error(probabilities, labels, n_bins=10)),
        "distinct_share": distinct_share(probabilities, dates),
        **information_coefficients(probabilities, forward_returns, dates, tickers, horizon),
    }


def auc_standard_error(scores: np.ndarray, labels: np.ndarray, dates: np.ndarray, horizon: int) -> float | None:
    """Standard error of the pooled AUC that allows for rows of a day (and of neighbouring days, whose
    `horizon`-day labels overlap) moving together.

    DeLong's placements linearise the AUC: a positive row contributes (its share of negatives scored below it -
    AUC) / n_positive, a negative row (its share of positives scored above it - AUC) / n_negative (ties count
    half). The contributions are summed per date, and the variance of their total is the Newey-West long-run
    variance of that daily series with `horizon - 1` lags (Bartlett weights), as for the IC's t-statistic. On
    independent rows this is DeLong's standard error; on a label that moves with the market (every stock of
    a day up together) it is much larger, which is the honest width of a pooled AUC there.
    """
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels).astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    everything = rankdata(scores)
    placement = np.empty(len(scores))
    placement[labels] = (everything[labels] - rankdata(scores[labels])) / n_neg
    placement[~labels] = 1.0 - (everything[~labels] - rankdata(scores[~labels])) / n_pos
    auc = placement[labels].mean()
    influence = np.where(labels, (placement - auc) / n_pos, (placement - auc) / n_neg)
    daily = pd.Series(influence).groupby(pd.Series(dates).to_numpy(), sort=True).sum().to_numpy()
    variance = bartlett_sum(daily, max(horizon - 1, 0))  # the daily sums add up to 0: no centring needed
    return float(np.sqrt(variance)) if variance > 0 else None


def distinct_share(probabilities: np.ndarray, dates: np.ndarray) -> float:
    """Median over days of the number of distinct probabilities divided by the number of rows of the day."""
    per_day = pd.DataFrame({"p": probabilities, "date": dates}).groupby("date")["p"].agg(["nunique", "size"])
    return float((per_day["nunique"] / per_day["size"]).median())


def expected_calibration_error(probabilities, outcomes, n_bins: int = 10) -> float:
    """Expected calibration error with `n_bins` equal-width bins on [0, 1].

    ECE = sum over non-empty bins of (rows in bin / all rows) * |mean outcome - mean probability| in the bin.
    A probability of exactly 1.0 falls in the last bin.

    Parameters
    ----------
    probabilities : array-like of float in [0, 1]
    outcomes : array-like of 0/1 (or bool), aligned with `probabilities`
    n_bins : int, default=10

    Returns
    -------
    float in [0, 1] (0 for a perfectly calibrated predictor, in the limit of many rows).
    """
    check_int("expected_calibration_error", "n_bins", n_bins)
    p, y = check_probability_outcome_pairs(probabilities, outcomes, "expected_calibration_error")
    if p.size == 0:
        raise InvalidInputError("expected_calibration_error: no observations; pass at least one.")
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    confidence = np.bincount(bins, weights=p, minlength=n_bins)
    accuracy = np.bincount(bins, weights=y, minlength=n_bins)
    # Sums of |accuracy - confidence| per bin, divided by all rows, is the count-weighted mean of the bin gaps.
    return float(np.abs(accuracy - confidence).sum() / p.size)


def quantile_bins(probabilities, n_bins: int) -> np.ndarray:
    """Bin index (0, 1, ...) of each probability in equal-count bins whose edges are quantiles, ties kept together.

    The same bins as `sklearn.calibration.calibration_curve(strategy='quantile')`: edges are
    `np.percentile(p, linspace(0, 100, n_bins + 1))` and each value goes to `np.searchsorted(inner edges, p)`
    (side 'left'), so equal probabilities always share a bin. Where edges coincide (many ties) some bins are
    empty; they are dropped and the rest renumbered 0..k-1 in increasing order of probability, so there may be
    fewer than `n_bins` bins.
    """
    check_int("quantile_bins", "n_bins", n_bins)
    p = np.asarray(probabilities, dtype=np.float64)
    if p.size == 0:
        return np.zeros(0, dtype=np.int64)
    edges = np.percentile(p, np.linspace(0.0, 100.0, n_bins + 1))
    ids = np.searchsorted(edges[1:-1], p)
    _, renumbered = np.unique(ids, return_inverse=True)
    return renumbered.astype(np.int64).reshape(-1)
