"""Long-only backtest of a daily score with overlapping portfolios, and the performance statistics of a return series.

It answers one question: "if each day I bought the top fraction of names by the model's score and held them
`horizon` days, net of costs, would I beat the equal-weight universe?" (the benchmark is the same simulation
with ``top_fraction=1``). Pure pandas/numpy; the caller reads signals and returns from the warehouse.

The simulation (`simulate`), precisely
---------------------------------------
Inputs. ``signals`` has one row per (trade_date, ticker) with a score (NaN scores are ignored); ``returns``
has one row per (trade_date, ticker) with ``ret_1d``, the close-to-close return ending at that date's close.
Both ``trade_date`` columns are parsed with `pd.to_datetime`.

Calendar. The sorted unique trade dates of ``returns`` from the first signal date onward, indexed
t = 0, 1, ... The signal dates (unique trade dates of ``signals``, scored or not) must be a contiguous run
of that calendar starting at t = 0, so the j-th signal date is calendar date j; there are S of them.

Sleeves. Capital 1.0 is split into ``horizon`` (h) sleeves of 1/h each, all starting in cash (cash earns 0).
On each calendar date t = 0 .. end, in this order:

1. Drift: every position is multiplied by (1 + ret_1d of date t) (not on t = 0: nothing is held yet).
   A held name with no return row, or a NaN ``ret_1d``, on a calendar date earns 0 that day. There is no
   daily rebalancing: positions are bought and held.
2. Trade: sleeve s = t mod h acts at the close of date t, the same close the 5-day label starts from. Its
   value V is its cash plus its positions after step 1. If t < S it switches to the selection of signal date t
   (`select_top`, k names, equal weight); if t >= S it liquidates into cash (a no-op for a sleeve already in
   cash). A signal date with no selection (every score NaN) also puts the sleeve in cash. The target is
   t_i = V/k for the k selected names and 0 otherwise; the traded notional is T = sum_i |t_i - h_i| over the
   current positions h_i (a full swap counts the sale and the purchase, so ``cost_bps`` is per side); the cost
   is ``cost_bps / 10_000 * T``; the sleeve then holds (V - cost)/k in each selected name (or V - cost in
   cash). Approximation: the cost is charged on the pre-cost target, not solved for the post-cost one.

So each sleeve holds one portfolio for h calendar dates, and on any day the strategy is the average of h
staggered portfolios ("overlapping portfolios averaged", as in alphalens and Jegadeesh-Titman). The
simulation ends at end = S - 1 + h, the date the sleeve that bought the last selection sells it, or at the
last calendar date if the data ends earlier; then the remaining positions are marked, not liquidated.

Daily output, one row per calendar date t = 0 .. end. With P the total value (cash plus positions) after the
previous date's trades (P = 1.0 before t = 0), G the total value after step 1 and C the total cost of step 2:

- ``gross_return`` = G / P - 1 (0 on t = 0);
- ``cost`` = C / P;
- ``net_return`` = (G - C) / P - 1, which is exactly ``gross_return - cost``;
- ``turnover`` = traded notional of the day / G;
- ``invested`` = positions / (G - C), the share of value not in cash after the day's trades;
- ``nav_net`` = G - C, the total value after costs (= cumprod(1 + net_return), since capital starts at 1.0);
- ``nav_gross`` = cumprod(1 + gross_return): the strategy's own pre-cost daily returns, compounded. It is not
  the value of a separate zero-cost run: costs shift weight between sleeves, so a zero-cost run's path
  differs from it by a second-order term. With ``cost_bps=0`` it equals ``nav_net``.

Tranches, one row per signal date j: ``names`` = number selected (k, ties included), ``tranche_return`` =
equal-weight mean over those names of prod(1 + ret_1d) - 1 over calendar dates j+1 .. j+h (missing = 0),
gross of costs; NaN if fewer than h calendar dates follow, or if nothing was selected. With zero cost this is
exactly the return of the sleeve that holds that selection.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.errors import InvalidInputError

DAILY_COLUMNS = ["trade_date", "gross_return", "net_return", "turnover", "cost", "invested", "nav_gross", "nav_net"]
TRANCHE_COLUMNS = ["signal_date", "names", "tranche_return"]

# ceil(0.7 * 10) is 8 in floating point; a selection size must not depend on that rounding.
_CEIL_TOLERANCE = 1e-9


@dataclass
class BacktestResult:
    """Output of `simulate`.

    Attributes
    ----------
    daily : pd.DataFrame
        One row per calendar date from the first signal date to the end of the simulation, with columns
        trade_date, gross_return, net_return, turnover, cost, invested, nav_gross, nav_net (defined in the
        module docstring).
    tranches : pd.DataFrame
        One row per signal date, with columns signal_date, names (number selected) and tranche_return
        (equal-weight, gross-of-cost return of the selection over the next `horizon` calendar dates).
    """

    daily: pd.DataFrame
    tranches: pd.DataFrame


def select_top(
    signals: pd.DataFrame, top_fraction: float, *, score: str = "score", tiebreak: str | None = None
) -> pd.DataFrame:
    """Select, per trade date, the top `top_fraction` of scored names, keeping every name tied at the cut.

    On a date with n names whose score is not NaN, k = ceil(top_fraction * n) (at least 1). Names are sorted
    by score, then by `tiebreak` if given, both descending (a NaN tiebreak sorts last). The selection is the
    first k names plus every other name with exactly the same score and tiebreak as the k-th one: a tie at the
    cut is never broken arbitrarily (by ticker name or row order). If every score of a date is equal, the
    whole date is selected.

    Parameters
    ----------
    signals : pd.DataFrame
        Columns trade_date, ticker, `score` (and `tiebreak` if given); one row per (trade_date, ticker).
    top_fraction : float
        Share of names to select, in (0, 1]; 1 selects every scored name (the equal-weight benchmark).
    score : str, default="score"
        Name of the numeric score column; higher is better.
    tiebreak : str or None, default=None
        Name of a numeric column that orders names of equal score; higher is better.

    Returns
    -------
    pd.DataFrame
        The selected rows' trade_date and ticker, ordered by trade_date, then score and tiebreak descending.
    """
    _check_fraction(top_fraction)
    key_columns = [score] if tiebreak is None else [score, tiebreak]
    _check_columns(signals, "signals", ["trade_date", "ticker", *key_columns])
    _check_unique(signals, "signals")

    scored = signals.loc[signals[score].notna(), ["trade_date", "ticker", *key_columns]]
    if tiebreak is not None:
        scored = scored.assign(**{tiebreak: scored[tiebreak].astype(float).fillna(-np.inf)})
    scored = scored.sort_values(["trade_date", *key_columns], ascending=[True] + [False] * len(key_columns))
    scored = scored.reset_index(drop=True)

    by_date = scored.groupby("trade_date", sort=False)
    position = by_date.cumcount().to_numpy()
    size = by_date["ticker"].transform("size").to_numpy()
    k = np.maximum(1, np.ceil(top_fraction * size - _CEIL_TOLERANCE)).astype(int)

    # Rows with equal (trade_date, score, tiebreak) are adjacent after the sort; each row inherits the position
    # of the first row of its run of equal keys, and the row is selected if that run starts inside the top k.
    run_keys = scored[["trade_date", *key_columns]]
    starts_run = (run_keys != run_keys.shift()).any(axis=1).to_numpy()
    run_id = np.cumsum(starts_run) - 1
    run_start = position[starts_run][run_id]
    selected = scored.loc[run_start < k, ["trade_date", "ticker"]]
    return selected.reset_index(drop=True)


def simulate(
    signals: pd.DataFrame,
    returns: pd.DataFrame,
    *,
    top_fraction: float = 0.1,
    horizon: int = 5,
    cost_bps: float = 0.0,
    score: str = "score",
    tiebreak: str | None = None,
) -> BacktestResult:
    """Backtest buying the daily top fraction by `score` and holding it `horizon` days, in overlapping sleeves.

    The rules (calendar, sleeves, drift, costs, liquidation) and every output column are defined in the
    module docstring.

    Parameters
    ----------
    signals : pd.DataFrame
        Columns trade_date, ticker, `score` (and `tiebreak` if given); one row per (trade_date, ticker). Its
        dates must be a contiguous run of the `returns` calendar.
    returns : pd.DataFrame
        Columns trade_date, ticker, ret_1d (close-to-close simple return ending at trade_date's close); one row
        per (trade_date, ticker).
    top_fraction : float, default=0.1
        Share of scored names bought each signal date, in (0, 1] (see `select_top`); 1 is the equal-weight
        benchmark.
    horizon : int, default=5
        Holding period in calendar dates, and the number of sleeves; at least 1.
    cost_bps : float, default=0.0
        Cost per side in basis points of traded notional; at least 0.
    score, tiebreak : str, str or None
        Column names passed to `select_top`.

    Returns
    -------
    BacktestResult
        The daily series and the per-signal-date tranche returns.
    """
    if isinstance(horizon, bool) or not isinstance(horizon, numbers.Integral) or horizon < 1:
        raise InvalidInputError(f"horizon must be an integer of at least 1 (holding days); got {horizon!r}.")
    if isinstance(cost_bps, bool) or not isinstance(cost_bps, numbers.Real) or not 0 <= cost_bps < math.inf:
        raise InvalidInputError(f"cost_bps must be a finite number >= 0 (basis points per side); got {cost_bps!r}.")
    _check_fraction(top_fraction)
    key_columns = [score] if tiebreak is None else [score, tiebreak]
    _check_columns(signals, "signals", ["trade_date", "ticker", *key_columns])
    _check_columns(returns, "returns", ["trade_date", "ticker", "ret_1d"])
    if signals.empty:
        raise InvalidInputError("signals is empty: pass at least one (trade_date, ticker, score) row.")
    signals = signals.assign(trade_date=pd.to_datetime(signals["trade_date"]))
    returns = returns.assign(trade_date=pd.to_datetime(returns["trade_date"]))
    _check_unique(signals, "signals")
    _check_unique(returns, "returns")

    signal_dates = pd.DatetimeIndex(signals["trade_date"].unique()).sort_values()
    all_dates = pd.DatetimeIndex(returns["trade_date"].unique()).sort_values()
    calendar = all_dates[all_dates >= signal_dates[0]]
    signal_index = calendar.get_indexer(signal_dates)
    if (signal_index < 0).any():
        missing = signal_dates[signal_index < 0]
        raise InvalidInputError(
            f"{len(missing)} signal date(s) have no rows in returns (first: {missing[0].date()}): every signal date "
            "must be a trade date of returns. Extend returns or drop those signal dates."
        )
    if not np.array_equal(signal_index, np.arange(len(signal_dates))):
        gap = int(np.flatnonzero(signal_index != np.arange(len(signal_dates)))[0])
        raise InvalidInputError(
            "signal dates must be a contiguous run of the returns calendar (one per trade date, no gaps); "
            f"calendar date {calendar[gap].date()} has no signals. Add signal rows for it (all-NaN scores mean "
            "'hold cash')."
        )
    n_signals = len(signal_dates)
    end = min(n_signals - 1 + horizon, len(calendar) - 1)

    selection = select_top(signals, top_fraction, score=score, tiebreak=tiebreak)
    tickers = pd.Index(selection["ticker"].unique())
    day = calendar.get_indexer(selection["trade_date"])
    column = tickers.get_indexer(selection["ticker"])
    order = np.argsort(day, kind="stable")
    chosen = np.split(column[order], np.cumsum(np.bincount(day, minlength=n_signals))[:-1])

    # Daily returns of the names ever selected, as a (calendar date x ticker) matrix; missing or NaN = 0.
    growth = np.ones((len(calendar), len(tickers)))
    row = calendar.get_indexer(returns["trade_date"])
    col = tickers.get_indexer(returns["ticker"])
    keep = (row >= 0) & (col >= 0)
    ret = pd.to_numeric(returns["ret_1d"]).to_numpy(dtype=float)[keep]
    growth[row[keep], col[keep]] = 1.0 + np.nan_to_num(ret, nan=0.0)

    daily = _run_sleeves(chosen, growth, horizon, cost_bps / 10_000, end)
    daily.insert(0, "trade_date", calendar[: end + 1])

    tranche_return = np.full(n_signals, np.nan)
    for j, names in enumerate(chosen):
        if names.size and j + horizon < len(calendar):
            tranche_return[j] = growth[j + 1 : j + horizon + 1, names].prod(axis=0).mean() - 1.0
    tranches = pd.DataFrame(
        {"signal_date": signal_dates, "names": [names.size for names in chosen], "tranche_return": tranche_return}
    )
    return BacktestResult(daily=daily[DAILY_COLUMNS], tranches=tranches)


def performance(daily_returns, periods_per_year: int = 252) -> dict[str, float | None]:
    """Summary statistics of a daily simple-return series (NaN values are dropped).

    Parameters
    ----------
    daily_returns : array-like of float
        One simple return per period, e.g. `BacktestResult.daily["net_return"]`.
    periods_per_year : int, default=252
        Periods per year, used to annualise.

    Returns
    -------
    dict
        ``days`` (number of returns, as a float), ``cumulative_return`` = prod(1 + r) - 1, ``annual_return`` =
        (1 + cumulative)^(periods_per_year / days) - 1, ``annual_volatility`` = std(r, ddof=1) *
        sqrt(periods_per_year), ``sharpe`` = mean(r) / std(r, ddof=1) * sqrt(periods_per_year) (risk-free rate
        0), ``max_drawdown`` = min over time of nav / running peak - 1 with nav starting at 1.0 before the first
        day (a number <= 0), ``positive_days`` = share of days with r > 0. A value that is undefined is None:
        everything but ``days`` for an empty series, volatility and Sharpe with fewer than 2 days, Sharpe for a
        constant series, and the annual return when the cumulative return is below -100%.
    """
    if isinstance(periods_per_year, bool) or not isinstance(periods_per_year, numbers.Integral) or periods_per_year < 1:
        raise InvalidInputError(f"periods_per_year must be a positive integer; got {periods_per_year!r}.")
    values = np.asarray(daily_returns, dtype=float)
    if values.ndim != 1:
        raise InvalidInputError(f"daily_returns must be one-dimensional; got shape {values.shape}.")
    values = values[~np.isnan(values)]
    days = len(values)
    result: dict[str, float | None] = {
        "days": float(days),
        "cumulative_return": None,
        "annual_return": None,
        "annual_volatility": None,
        "sharpe": None,
        "max_drawdown": None,
        "positive_days": None,
    }
    if days == 0:
        return result

    nav = np.cumprod(1.0 + values)
    cumulative = float(nav[-1] - 1.0)
    result["cumulative_return"] = cumulative
    if 1.0 + cumulative >= 0:
        result["annual_return"] = float((1.0 + cumulative) ** (periods_per_year / days) - 1.0)
    if days >= 2:
        std = float(values.std(ddof=1))
        result["annual_volatility"] = std * math.sqrt(periods_per_year)
        if std > 0:
            result["sharpe"] = float(values.mean() / std * math.sqrt(periods_per_year))
    nav = np.concatenate([[1.0], nav])
    result["max_drawdown"] = float((nav / np.maximum.accumulate(nav) - 1.0).min())
    result["positive_days"] = float((values > 0).mean())
    return result


def _run_sleeves(chosen: list[np.ndarray], growth: np.ndarray, horizon: int, rate: float, end: int) -> pd.DataFrame:
    """Step the sleeves through calendar dates 0 .. end; `growth[t]` is 1 + ret_1d of each ticker on date t."""
    positions = np.zeros((horizon, growth.shape[1]))
    cash = np.full(horizon, 1.0 / horizon)
    nothing = np.empty(0, dtype=int)
    previous = 1.0
    rows = []
    for t in range(end + 1):
        if t > 0:
            positions *= growth[t]
        before_costs = cash.sum() + positions.sum()
        sleeve = t % horizon
        names = chosen[t] if t < len(chosen) else nothing
        value = cash[sleeve] + positions[sleeve].sum()
        target = np.zeros(growth.shape[1])
        if names.size:
            target[names] = value / names.size
        traded = np.abs(target - positions[sleeve]).sum()
        cost = rate * traded
        positions[sleeve] = 0.0
        if names.size:
            positions[sleeve, names] = (value - cost) / names.size
            cash[sleeve] = 0.0
        else:
            cash[sleeve] = value - cost
        after_costs = before_costs - cost
        rows.append(
            {
                "gross_return": before_costs / previous - 1.0,
                "net_return": after_costs / previous - 1.0,
                "turnover": traded / before_costs,
                "cost": cost / previous,
                "invested": positions.sum() / after_costs,
                "nav_net": after_costs,
            }
        )
        previous = after_costs
    daily = pd.DataFrame(rows)
    daily["nav_gross"] = np.cumprod(1.0 + daily["gross_return"].to_numpy())
    return daily


def _check_fraction(top_fraction: float) -> None:
    if isinstance(top_fraction, bool) or not isinstance(top_fraction, numbers.Real) or not 0 < top_fraction <= 1:
        raise InvalidInputError(
            f"top_fraction must be in (0, 1] (the share of names to buy; 1 = equal-weight benchmark); "
            f"got {top_fraction!r}."
        )


def _check_columns(frame: pd.DataFrame, name: str, required: list[str]) -> None:
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"{name} lacks column(s) {', '.join(missing)}; it needs {', '.join(required)} "
            f"(found: {', '.join(map(str, frame.columns)) or 'none'})."
        )


def _check_unique(frame: pd.DataFrame, name: str) -> None:
    duplicated = frame.duplicated(["trade_date", "ticker"])
    if duplicated.any():
        first = frame.loc[duplicated, ["trade_date", "ticker"]].iloc[0]
        raise InvalidInputError(
            f"{name} has {int(duplicated.sum())} duplicate (trade_date, ticker) row(s) (first: {first['trade_date']}, "
            f"{first['ticker']}); keep one row per ticker and date."
        )
