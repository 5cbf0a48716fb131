"""Alphalens-style factor analysis: how well does each factor's cross-section on a day predict the forward return.

For every factor column and every date the function `factor_analysis` works on the rows where both the factor
and the forward return are known, and asks three questions: does the factor rank the names the way the return
does (IC, rank IC), how far apart are the returns of its top and bottom quantiles, and how fast does its top
quantile change (turnover). Pure pandas/numpy; no database access.

Definitions, per factor:

- **Rows of a date**: the rows of that date where the factor and the return are both finite (NaN and +-inf
  count as missing). A date is *evaluated* only if at least `min_names` rows remain and the factor and the
  return each take at least 2 distinct values there; other dates are skipped for that factor (not an error).
- **IC**: the Pearson correlation of factor and return over the rows of an evaluated date.
  **Rank IC**: the Spearman correlation, i.e. the Pearson correlation of average ranks (ties get the mean
  of the ranks they span).
- **Quantile** of a row: ``floor((r - 1) * quantiles / n) + 1`` with ``r`` the row's average rank of the
  factor (1..n, ascending) and ``n`` the rows of that date. Tied names therefore share a quantile;
  quantile 1 holds the lowest factor values and quantile `quantiles` the highest. With ties a quantile can
  be empty on a date.
- **Daily quantile return**: the equal-weight mean return of the rows in a quantile on a date.
  **Top minus bottom**: the top quantile's daily return minus the bottom quantile's (NaN if either is
  empty that date).
- **Top turnover**: the share of the names in the top quantile on a date that were not in it on the
  previous *evaluated* date of the factor (NaN on the first evaluated date, and on a date whose top
  quantile is empty). **Top turnover over the horizon**: the same against the evaluated date `horizon`
  positions earlier.
- **t-statistics**: every ``*_t`` is `newey_west_t` of the daily series with ``lags = horizon - 1``. Forward
  returns over `horizon` days overlap, so consecutive daily values are correlated and a plain t-statistic
  would overstate the evidence.

Outputs (see `FactorResults`): `summary` has one row per factor, in the order given, with columns
``factor, days, ic_mean, ic_std, ic_t, icir, rank_ic_mean, rank_ic_std, rank_ic_t, rank_icir,
top_minus_bottom, top_minus_bottom_t, top_turnover, top_turnover_horizon``: `days` is the number of
evaluated dates, ``*_std`` use ddof=1, ``icir = ic_mean / ic_std`` (daily, not annualised), and
`top_minus_bottom` and the turnovers are means over dates with NaN skipped. A factor that was never
evaluated still gets a row, with ``days = 0`` and NaN elsewhere (statistics that cannot be computed are NaN
in the frame, where `newey_west_t` itself returns None).

Speed: the work is vectorised over dates (one sort per ranking, `np.bincount` for every per-date sum), with
a Python loop over factors only; 60 factors x 500,000 rows take a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.errors import InvalidInputError

SUMMARY_COLUMNS = [
    "factor",
    "days",
    "ic_mean",
    "ic_std",
    "ic_t",
    "icir",
    "rank_ic_mean",
    "rank_ic_std",
    "rank_ic_t",
    "rank_icir",
    "top_minus_bottom",
    "top_minus_bottom_t",
    "top_turnover",
    "top_turnover_horizon",
]
DAILY_COLUMNS = ["factor", "trade_date", "names", "ic", "rank_ic", "top_minus_bottom", "top_turnover"]
QUANTILE_COLUMNS = ["factor", "quantile", "mean_return", "days"]


def bartlett_sum(deviations: np.ndarray, lags: int) -> float:
    """``sum_t d_t^2 + 2 * sum_{l=1}^{L} (1 - l/(L+1)) * sum_t d_t d_{t-l}`` with ``L = min(lags, n - 1)``: n times
    the Newey-West long-run variance of a mean-zero series ``d`` in time order (Bartlett kernel)."""
    max_lag = min(int(lags), deviations.size - 1)
    total = float(deviations @ deviations)
    for lag in range(1, max_lag + 1):
        total += 2.0 * (1.0 - lag / (max_lag + 1)) * float(deviations[lag:] @ deviations[:-lag])
    return total


def newey_west_t(values, lags: int) -> float | None:
    """t-statistic of the mean of a series, with a Newey-West (Bartlett kernel) standard error.

    NaNs are dropped first. With ``n`` values, mean ``m`` and autocovariances
    ``gamma_l = (1/n) * sum_{t=l}^{n-1} (x_t - m)(x_{t-l} - m)``, the variance of the mean is
    ``(gamma_0 + 2 * sum_{l=1}^{L} (1 - l/(L+1)) * gamma_l) / n`` with ``L = min(lags, n - 1)``. With
    ``lags = 0`` this is the plain t-statistic with the population (ddof=0) variance.

    Parameters
    ----------
    values : 1-d array-like of float
        The series, in time order (the autocovariances depend on the order).
    lags : int
        Number of autocovariance lags to include (>= 0); use ``horizon - 1`` for overlapping
        ``horizon``-day returns.

    Returns
    -------
    float or None
        ``m / sqrt(var_of_mean)``, or None when fewer than 2 values remain or the variance is not positive.
    """
    if lags < 0:
        raise InvalidInputError(f"lags must be >= 0, got {lags}.")
    series = np.asarray(values, dtype=float)
    if series.ndim != 1:
        raise InvalidInputError(f"values must be 1-dimensional, got an array of shape {series.shape}.")
    series = series[~np.isnan(series)]
    n = series.size
    if n < 2:
        return None
    mean = series.mean()
    deviations = series - mean
    variance_of_mean = bartlett_sum(deviations, lags) / n / n
    if not variance_of_mean > 0:
        return None
    return float(mean / np.sqrt(variance_of_mean))


@dataclass
class FactorResults:
    """What `factor_analysis` returns.

    Attributes
    ----------
    summary : pd.DataFrame
        One row per factor, in the order given (columns `SUMMARY_COLUMNS`).
    daily : pd.DataFrame
        One row per (factor, evaluated date), factors in the order given and dates ascending
        (columns `DAILY_COLUMNS`: ``names`` is the number of rows used that date; ``trade_date`` holds the
        values of the date column, whatever its name).
    quantile_returns : pd.DataFrame
        One row per (factor, quantile): the mean over evaluated dates of the daily quantile return (dates where
        the quantile is empty are skipped) and the number of dates where it had names (columns
        `QUANTILE_COLUMNS`).
    """

    summary: pd.DataFrame
    daily: pd.DataFrame
    quantile_returns: pd.DataFrame


def factor_analysis(
    frame: pd.DataFrame,
    factors: list[str],
    *,
    return_column: str = "fwd_ret_5d",
    date_column: str = "trade_date",
    ticker_column: str = "ticker",
    quantiles: int = 5,
    horizon: int = 5,
    min_names: int = 10,
) -> FactorResults:
    """IC, rank IC, quantile returns and top-quantile turnover of each factor against a forward return.

    The definitions are in the module docstring.

    Parameters
    ----------
    frame : pd.DataFrame
        One row per (date, ticker), in any order, with the factor columns and the forward return.
    factors : list of str
        Factor columns to analyse; the outputs keep this order.
    return_column, date_column, ticker_column : str
        Names of the forward return, the date and the ticker columns.
    quantiles : int
        Number of factor quantiles per date (>= 2).
    horizon : int
        Length of the forward return in trading days (>= 1): sets the Newey-West lags (``horizon - 1``) and
        how many evaluated dates back `top_turnover_horizon` looks.
    min_names : int
        Fewest rows a date needs to be evaluated.

    Returns
    -------
    FactorResults

    Raises
    ------
    InvalidInputError (a ValueError)
        A column is missing or not numeric, a date or ticker is missing, a (date, ticker) pair is
        duplicated, or a parameter is out of range.
    """
    factors = list(factors)
    _check_arguments(frame, factors, return_column, date_column, ticker_column, quantiles, horizon)
    panel = _Panel.from_frame(frame, return_column, date_column, ticker_column)

    summaries, dailies, quantile_frames = [], [], []
    for factor in factors:
        values = _numeric_column(frame, factor)[panel.order]
        evaluated = _evaluate_factor(values, panel, quantiles=quantiles, horizon=horizon, min_names=min_names)
        summaries.append(_summarise(factor, evaluated, horizon))
        dailies.append(
            pd.DataFrame(
                {
                    "factor": factor,
                    "trade_date": panel.dates.take(evaluated.date_codes),
                    "names": evaluated.names,
                    "ic": evaluated.ic,
                    "rank_ic": evaluated.rank_ic,
                    "top_minus_bottom": evaluated.top_minus_bottom,
                    "top_turnover": evaluated.top_turnover,
                },
                columns=DAILY_COLUMNS,
            )
        )
        quantile_means = evaluated.quantile_means
        quantile_frames.append(
            pd.DataFrame(
                {
                    "factor": factor,
                    "quantile": np.arange(1, quantiles + 1),
                    "mean_return": _nanmean_columns(quantile_means),
                    "days": (~np.isnan(quantile_means)).sum(axis=0),
                },
                columns=QUANTILE_COLUMNS,
            )
        )

    summary = pd.DataFrame(summaries, columns=SUMMARY_COLUMNS).astype(
        {"days": "int64"} | {column: "float64" for column in SUMMARY_COLUMNS[2:]}
    )
    return FactorResults(
        summary=summary,
        daily=_concat(dailies, DAILY_COLUMNS),
        quantile_returns=_concat(quantile_frames, QUANTILE_COLUMNS),
    )


def _check_arguments(
    frame: pd.DataFrame,
    factors: list[str],
    return_column: str,
    date_column: str,
    ticker_column: str,
    quantiles: int,
    horizon: int,
) -> None:
    """Fail early, naming what is wrong, before any work is done."""
    if quantiles < 2:
        raise InvalidInputError(f"quantiles must be at least 2 (a top and a bottom), got {quantiles}.")
    if horizon < 1:
        raise InvalidInputError(f"horizon must be at least 1 (days of the forward return), got {horizon}.")
    duplicated = sorted({name for name in factors if factors.count(name) > 1})
    if duplicated:
        raise InvalidInputError(f"factors lists column(s) more than once: {', '.join(duplicated)}.")
    required = {"return": [return_column], "date": [date_column], "ticker": [ticker_column], "factor": factors}
    missing = [f"{name!r} ({role})" for role, names in required.items() for name in names if name not in frame]
    if missing:
        raise InvalidInputError(
            f"frame lacks column(s) {', '.join(missing)}. Pass the right column names "
            f"(return_column=, date_column=, ticker_column=, factors=) or add the columns."
        )


def _numeric_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as float64, with missing values (including pandas' NA) as NaN."""
    try:
        return frame[name].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"column {name!r} must be numeric, got dtype {frame[name].dtype}.") from error


@dataclass
class _Panel:
    """The parts shared by every factor, sorted by date once: rows of a date are contiguous."""

    order: np.ndarray  # positions in the frame, sorted by date
    date_codes: np.ndarray  # per sorted row: index into `dates`, non-decreasing
    dates: pd.Index  # distinct dates, ascending
    ticker_codes: np.ndarray  # per sorted row
    n_tickers: int
    returns: np.ndarray  # per sorted row
    return_order: np.ndarray  # sorts the rows by date, then return (NaN last within a date)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, return_column: str, date_column: str, ticker_column: str) -> _Panel:
        date_codes, dates = pd.factorize(frame[date_column], sort=True)
        ticker_codes, tickers = pd.factorize(frame[ticker_column])
        if (date_codes < 0).any():
            raise InvalidInputError(f"column {date_column!r} has missing values: every row needs a date.")
        if (ticker_codes < 0).any():
            raise InvalidInputError(f"column {ticker_column!r} has missing values: every row needs a ticker.")
        # Turnover compares sets of tickers between dates, which needs one row per (date, ticker).
        pair_keys = date_codes.astype(np.int64) * max(len(tickers), 1) + ticker_codes
        if len(np.unique(pair_keys)) != len(pair_keys):
            raise InvalidInputError(
                f"frame has more than one row for some ({date_column}, {ticker_column}) pair; "
                "drop the duplicates first."
            )
        order = np.argsort(date_codes, kind="stable")
        date_codes = date_codes[order]
        returns = _numeric_column(frame, return_column)[order]
        return cls(
            order=order,
            date_codes=date_codes,
            dates=pd.Index(dates),
            ticker_codes=ticker_codes[order],
            n_tickers=max(len(tickers), 1),
            returns=returns,
            return_order=_sort_within_groups(returns, date_codes, len(dates)),
        )


@dataclass
class _Evaluated:
    """Per-date results of one factor, one entry per evaluated date (ascending)."""

    date_codes: np.ndarray
    names: np.ndarray
    ic: np.ndarray
    rank_ic: np.ndarray
    quantile_means: np.ndarray  # (dates, quantiles), NaN where the quantile is empty
    top_minus_bottom: np.ndarray
    top_turnover: np.ndarray
    top_turnover_horizon: np.ndarray


def _evaluate_factor(values: np.ndarray, panel: _Panel, *, quantiles: int, horizon: int, min_names: int) -> _Evaluated:
    """Every per-date statistic of one factor, vectorised over dates (`values` is sorted like `panel`)."""
    kept = np.isfinite(values) & np.isfinite(panel.returns)
    factor, returns = _subset(kept, values, panel.returns)
    date_codes, ticker_codes = _subset(kept, panel.date_codes, panel.ticker_codes)
    n_dates = len(panel.dates)

    # Ranks only depend on the rows of their own date, so rank first and drop the dates that fail after.
    factor_order = _sort_within_groups(factor, date_codes, n_dates)
    factor_ranks, factor_distinct = _average_ranks(factor, date_codes, factor_order, n_dates)
    # The returns were sorted once for all factors: the kept rows, taken in that order, are sorted too.
    kept_return_order = panel.return_order[kept[panel.return_order]]
    if not kept.all():
        kept_return_order = (np.cumsum(kept) - 1)[kept_return_order]
    return_ranks, return_distinct = _average_ranks(returns, date_codes, kept_return_order, n_dates)
    counts = np.bincount(date_codes, minlength=n_dates)
    is_evaluated = (counts >= min_names) & (factor_distinct >= 2) & (return_distinct >= 2)
    rows = is_evaluated[date_codes]
    evaluated_codes = np.flatnonzero(is_evaluated)
    n_evaluated = evaluated_codes.size
    # Dense position of each row's date among the evaluated dates: 0..n_evaluated-1, non-decreasing.
    position = (np.cumsum(is_evaluated) - 1)[date_codes]
    factor, returns, ticker_codes, position = _subset(rows, factor, returns, ticker_codes, position)
    factor_ranks, return_ranks = _subset(rows, factor_ranks, return_ranks)
    names = counts[evaluated_codes]

    ic = _grouped_pearson(factor, returns, position, names)
    rank_ic = _grouped_pearson(factor_ranks, return_ranks, position, names)

    # floor((r - 1) * q / n) + 1 in integers: 2r is a whole number because average ranks are halves at worst.
    twice_rank = np.rint(2.0 * factor_ranks).astype(np.int64)
    quantile = ((twice_rank - 2) * quantiles) // (2 * names[position]) + 1
    cell = position * quantiles + (quantile - 1)
    cell_sums = np.bincount(cell, weights=returns, minlength=n_evaluated * quantiles)
    cell_counts = np.bincount(cell, minlength=n_evaluated * quantiles)
    with np.errstate(invalid="ignore", divide="ignore"):
        quantile_means = (cell_sums / cell_counts).reshape(n_evaluated, quantiles)

    in_top = quantile == quantiles
    top_turnover = _top_turnover(position[in_top], ticker_codes[in_top], n_evaluated, panel.n_tickers, lag=1)
    top_turnover_horizon = _top_turnover(
        position[in_top], ticker_codes[in_top], n_evaluated, panel.n_tickers, lag=horizon
    )
    return _Evaluated(
        date_codes=evaluated_codes,
        names=names,
        ic=ic,
        rank_ic=rank_ic,
        quantile_means=quantile_means,
        top_minus_bottom=quantile_means[:, -1] - quantile_means[:, 0],
        top_turnover=top_turnover,
        top_turnover_horizon=top_turnover_horizon,
    )


def _subset(mask: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arrays at the rows of `mask`; the arrays themselves (no copy) when the mask keeps every row."""
    if mask.all():
        return arrays
    return tuple(array[mask] for array in arrays)


def _sort_within_groups(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """The permutation that sorts `values` within each group (NaN last), groups staying in place.

    `groups` must be non-decreasing (0..n_groups-1), so the rows of a group are contiguous. Sorting all values
    once and then stably by group (a radix sort for small integer codes) costs a fraction of
    `lexsort` or `groupby().rank()` at 500,000 rows.
    """
    by_value = np.argsort(values)
    group_dtype = np.uint16 if n_groups <= np.iinfo(np.uint16).max else np.int64
    return by_value[np.argsort(groups[by_value].astype(group_dtype), kind="stable")]


def _average_ranks(
    values: np.ndarray, groups: np.ndarray, order: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks (1..n within each group; ties share the mean of the ranks they span) and the number of
    distinct values per group, given `order` from `_sort_within_groups`. `values` must not hold NaN.
    """
    n = values.size
    if n == 0:
        return np.empty(0), np.zeros(n_groups, dtype=np.int64)
    sorted_values = values[order]
    # `groups` is already sorted, so groups[order] == groups.
    starts_run = np.empty(n, dtype=bool)
    starts_run[0] = True
    starts_run[1:] = (sorted_values[1:] != sorted_values[:-1]) | (groups[1:] != groups[:-1])
    run_starts = np.flatnonzero(starts_run)
    run_ends = np.append(run_starts[1:], n)
    group_offsets = np.concatenate(([0], np.cumsum(np.bincount(groups, minlength=n_groups))[:-1]))
    run_groups = groups[run_starts]
    # Positions start..end-1 (0-based) hold ranks start+1..end within the whole array; their mean, less the
    # group's offset, is the average rank within the group.
    run_ranks = (run_starts + run_ends + 1) / 2.0 - group_offsets[run_groups]
    ranks = np.empty(n)
    ranks[order] = np.repeat(run_ranks, run_ends - run_starts)
    return ranks, np.bincount(run_groups, minlength=n_groups)


def _grouped_pearson(x: np.ndarray, y: np.ndarray, groups: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Pearson correlation of x and y within each group (0..len(counts)-1), from demeaned sums."""
    n_groups = counts.size
    x_dev = x - (np.bincount(groups, weights=x, minlength=n_groups) / counts)[groups]
    y_dev = y - (np.bincount(groups, weights=y, minlength=n_groups) / counts)[groups]
    cross = np.bincount(groups, weights=x_dev * y_dev, minlength=n_groups)
    x_square = np.bincount(groups, weights=x_dev * x_dev, minlength=n_groups)
    y_square = np.bincount(groups, weights=y_dev * y_dev, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return cross / np.sqrt(x_square * y_square)


def _top_turnover(
    positions: np.ndarray, tickers: np.ndarray, n_evaluated: int, n_tickers: int, *, lag: int
) -> np.ndarray:
    """Per evaluated date: the share of its top-quantile names that were not in the top quantile `lag`
    evaluated dates earlier (NaN for the first `lag` dates and for dates with an empty top quantile)."""
    keys = positions.astype(np.int64) * n_tickers + tickers
    sorted_keys = np.sort(keys)
    earlier_keys = keys - lag * n_tickers
    found = np.minimum(np.searchsorted(sorted_keys, earlier_keys), max(sorted_keys.size - 1, 0))
    was_in_top = sorted_keys[found] == earlier_keys if sorted_keys.size else np.zeros(0, dtype=bool)
    stayed = np.bincount(positions, weights=was_in_top, minlength=n_evaluated)
    in_top = np.bincount(positions, minlength=n_evaluated)
    with np.errstate(invalid="ignore", divide="ignore"):
        turnover = 1.0 - stayed / in_top
    turnover[:lag] = np.nan
    return turnover


def _summarise(factor: str, evaluated: _Evaluated, horizon: int) -> dict:
    """One summary row: means and ddof=1 deviations over dates, Newey-West t-statistics with horizon-1 lags."""
    lags = horizon - 1
    ic, rank_ic = pd.Series(evaluated.ic), pd.Series(evaluated.rank_ic)
    ic_mean, ic_std = ic.mean(), ic.std(ddof=1)
    rank_ic_mean, rank_ic_std = rank_ic.mean(), rank_ic.std(ddof=1)
    return {
        "factor": factor,
        "days": int(evaluated.date_codes.size),
        "ic_mean": ic_mean,
        "ic_std": ic_std,
        "ic_t": _t_or_nan(evaluated.ic, lags),
        "icir": _ratio(ic_mean, ic_std),
        "rank_ic_mean": rank_ic_mean,
        "rank_ic_std": rank_ic_std,
        "rank_ic_t": _t_or_nan(evaluated.rank_ic, lags),
        "rank_icir": _ratio(rank_ic_mean, rank_ic_std),
        "top_minus_bottom": pd.Series(evaluated.top_minus_bottom).mean(),
        "top_minus_bottom_t": _t_or_nan(evaluated.top_minus_bottom, lags),
        "top_turnover": pd.Series(evaluated.top_turnover).mean(),
        "top_turnover_horizon": pd.Series(evaluated.top_turnover_horizon).mean(),
    }


def _t_or_nan(values: np.ndarray, lags: int) -> float:
    """`newey_west_t`, with NaN instead of None so that the summary columns stay float."""
    t = newey_west_t(values, lags)
    return np.nan if t is None else t


def _ratio(mean: float, std: float) -> float:
    return float(mean / std) if std > 0 else np.nan


def _nanmean_columns(values: np.ndarray) -> np.ndarray:
    """Column means skipping NaN, NaN for an all-NaN column (without numpy's empty-slice warning)."""
    present = ~np.isnan(values)
    counts = present.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(present, values, 0.0).sum(axis=0) / counts


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)
