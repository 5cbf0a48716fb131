"""A synthetic equity market: the built-in source for demos, tests and benchmarks.

`generate_market(universe, seed=...)` returns daily prices for every row of the universe plus news
sentiment, earnings, analyst actions and insider trades for its equities, shaped as in `ingest.frames`.
Everything is drawn from `numpy.random.default_rng(seed)` (one child generator per piece, so the
regime path and the market factor do not change when the universe does): the same arguments give
identical frames, and nothing reads the wall clock or numpy's global generator.

The model, in log returns r (r_t = log(adj_close_t / adj_close_{t-1})):

* **Regimes.** A hidden Markov chain of market states (`REGIMES`, daily `REGIME_TRANSITIONS`): calm
  bull, volatile bull, bear, crisis. Each state sets the market's drift and volatility level.
* **Market factor.** m_t = mu(state_t) / 252 + sigma(state_t) / sqrt(252) * sqrt(g_t) * z_t with
  Student-t shocks z (unit variance) and a GJR-GARCH(1,1) multiplier g (mean 1; falls raise it more
  than rises): fat tails, volatility clustering and the leverage effect.
* **Series.** equity i in sector s: r_i = beta_i * m + gamma_i * f_s + delta_i * f_size + e_i, where
  the sector factors f_s, the small-cap factor f_size and the idiosyncratic e_i are GARCH processes
  with Student-t shocks whose level also follows the regime. SPY is the market with tracking noise,
  DIA nearly so, sector ETFs are m + f_s, QQQ is m plus technology/communication/discretionary
  factors, IWM is m plus the small-cap factor. ^VIX is 100 x the market's expected annualized
  volatility over the next month (known at the close) times a variance premium, plus persistent noise.
  ^TNX is a mean-reverting 10-year yield in percent, loosely tied to the market. BTC-USD trades every
  calendar day with its own high-volatility GARCH and a beta to the market on business days.
* **Bars.** The day's return is split into an overnight gap (open = previous close x exp(gap)) and a
  session move with a Brownian bridge; high and low are drawn from the bridge's extremes, so
  high >= max(open, close) and low <= min(open, close) by construction.
* **Events.** Earnings every ~63 business days move the stock on the first session after the
  announcement (the announcement day for 'bmo', the next business day for 'amc') by
  2.5 x its daily idiosyncratic volatility x the standardized surprise; nothing drifts afterwards.
  Sentiment is a persistent news tone plus a reaction to the returns of the same and the four
  previous sessions. Analyst actions and insider trades are independent of future returns.
* **Corporate actions.** Quarterly dividends (most large caps and all ETFs) and a few 2:1 or 3:1
  splits: `adj_close` is the total-return series, `close`/`open`/`high`/`low` are raw prices
  (raw = adjusted / factor, factor = product of the later events' adjustments, 1 on the last date)
  and raw volume = adjusted volume x factor.

**The planted signal.** With `signal = s`, and only for equities, the close location value of day t,

    clv_t = ((close_t - low_t) - (high_t - close_t)) / (high_t - low_t),

shifts the log return of each of the next five sessions of the same ticker:

    r_t = r0_t + s * 0.002 * (clv_{t-1} + clv_{t-2} + clv_{t-3} + clv_{t-4} + clv_{t-5}),

where r0_t is the return the model draws without the signal and the shift goes into the session
(open-to-close) move, so it also moves the bar, and hence clv_t, of the day it lands on. Days before
the listing count as clv = 0; an isolated missing row is a hole in the data feed, not in the market,
so its clv still counts. The log forward return from t to t+5 therefore contains
s * 0.002 * (5 clv_t + 4 clv_{t-1} + 3 clv_{t-2} + 2 clv_{t-3} + clv_{t-4}), about s * 0.01 * clv_t.
Features that share information with clv_t (the day's intraday return, stochastics, sentiment through
the same-day return) inherit part of its predictive power; nothing else is planted.
With s = 0 nothing observable predicts the sign of future returns beyond what the (slow, hidden)
regime drift allows: returns have zero idiosyncratic drift (in logs, so a higher volatility does not
lower the chance of an up move), earnings moves are zero-mean and happen on one session, sentiment
reacts to returns up to the same day only.

One caveat for the feature layer: an 'amc' announcement is dated on day d but moves the stock on
d+1, so a feature that treats it as known at the close of d (it is not: it comes after the close)
would see one session of the future.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.errors import SettingsError
from ingest.frames import (
    ANALYST_COLUMNS,
    EARNINGS_COLUMNS,
    INSIDER_COLUMNS,
    PRICE_COLUMNS,
    SENTIMENT_COLUMNS,
)

TRADING_DAYS_PER_YEAR = 252

#: Hidden market states: (name, annualized log drift, annualized volatility). The drifts are kept
#: modest on purpose: a persistent state is visible through trend and VIX features, and a strong drift
#: would make the market predictable at signal 0.
REGIMES = (
    ("calm_bull", 0.08, 0.11),
    ("volatile_bull", 0.05, 0.17),
    ("bear", -0.08, 0.25),
    ("crisis", -0.12, 0.40),
)

#: Daily transition probabilities between `REGIMES` (row: from, column: to). Expected stays: about
#: 250, 75, 55 and 33 business days; long-run shares about 55%, 27%, 14% and 4%.
REGIME_TRANSITIONS = (
    (0.996, 0.0035, 0.0005, 0.000),
    (0.007, 0.9865, 0.005, 0.0015),
    (0.002, 0.010, 0.982, 0.006),
    (0.000, 0.010, 0.020, 0.970),
)

#: Shift of each of the next `SIGNAL_HORIZON` daily log returns per unit of clv and of `signal`.
SIGNAL_DAILY_SHIFT = 0.002
SIGNAL_HORIZON = 5

#: Business days between earnings announcements (before jitter).
EARNINGS_INTERVAL = 63

#: Broad ETFs: (ticker, market beta, small-cap loading, annualized tracking noise, base volume,
#: dividend yield).
_BROAD_ETFS = (
    ("SPY", 1.00, 0.0, 0.008, 7.0e7, 0.013),
    ("QQQ", 1.00, 0.0, 0.030, 4.0e7, 0.006),
    ("IWM", 1.05, 1.0, 0.040, 3.0e7, 0.012),
    ("DIA", 0.95, 0.0, 0.030, 4.0e6, 0.016),
)

#: QQQ's sector tilt: (sector ETF, word in the sector name, weight on that sector factor).
_QQQ_TILT = (
    ("XLK", "technology", 0.55),
    ("XLC", "communication", 0.20),
    ("XLY", "discretionary", 0.15),
)

_ANALYST_FIRMS = (
    "Goldman Sachs",
    "Morgan Stanley",
    "JPMorgan",
    "Bank of America",
    "Citigroup",
    "Barclays",
    "UBS",
    "Deutsche Bank",
    "Wells Fargo",
    "Jefferies",
    "Raymond James",
    "Piper Sandler",
    "Evercore ISI",
    "Bernstein",
    "Mizuho",
    "RBC Capital",
    "Truist",
    "KeyBanc",
    "Needham",
    "Oppenheimer",
)
#: Rating scale, worst first: upgrades move right, downgrades left.
_GRADES = ("Sell", "Underperform", "Hold", "Outperform", "Buy")
_ANALYST_ACTIONS = ("upgrade", "downgrade", "init", "maintain", "reiterate")
_ANALYST_ACTION_P = (0.22, 0.20, 0.12, 0.30, 0.16)

_FIRST_NAMES = ("James", "Mary", "Robert", "Linda", "Michael", "Susan", "David", "Karen", "Wei", "Priya")
_LAST_NAMES = ("Smith", "Johnson", "Chen", "Garcia", "Miller", "Davis", "Patel", "Kim", "Brown", "Lee")
_POSITIONS = ("CEO", "CFO", "COO", "Director", "General Counsel", "EVP", "10% Owner")

_UNIVERSE_COLUMNS = ("ticker", "asset_class", "sector", "sector_etf", "role")

#: Names of the child generators, one per piece, in spawn order (append only: reordering changes
#: every generated market).
_STREAMS = (
    "regimes",
    "market",
    "sectors",
    "idiosyncratic",
    "exposures",
    "listing",
    "earnings",
    "bars",
    "actions",
    "volume",
    "gaps",
    "cross_asset",
    "crypto",
    "sentiment",
    "analyst",
    "insider",
)


@dataclass(frozen=True)
class SyntheticMarket:
    """The frames of one generated market, each with the columns of `ingest.frames`.

    Attributes
    ----------
    prices
        daily OHLCV of every universe row (`PRICE_COLUMNS`).
    sentiment
        daily news sentiment of the equities (`SENTIMENT_COLUMNS`).
    earnings
        earnings announcements of the equities (`EARNINGS_COLUMNS`).
    analyst_actions
        analyst rating actions (`ANALYST_COLUMNS`).
    insider_trades
        insider transactions (`INSIDER_COLUMNS`).
    """

    prices: pd.DataFrame
    sentiment: pd.DataFrame
    earnings: pd.DataFrame
    analyst_actions: pd.DataFrame
    insider_trades: pd.DataFrame


@dataclass(frozen=True)
class _Exposures:
    """Per-series parameters of the business-day block (equities, ETFs, indexes), aligned by position."""

    beta: np.ndarray
    sector_weights: np.ndarray  # (series, sector factors)
    size_loading: np.ndarray
    idio_sd: np.ndarray  # daily, before the regime and GARCH scaling
    size: np.ndarray  # standardized log market cap; 0 for non-equities
    start_price: np.ndarray
    volume_base: np.ndarray  # shares per day; 0 = the series has no volume
    dividend_yield: np.ndarray  # annual


@dataclass(frozen=True)
class _Bars:
    """Log OHLC of a block relative to each day's open, and the day's total log return."""

    returns: np.ndarray
    session: np.ndarray  # log(close / open)
    high: np.ndarray  # log(high / open)
    low: np.ndarray  # log(low / open)


def generate_market(
    universe: pd.DataFrame,
    *,
    seed: int = 42,
    years: float = 5.0,
    end: datetime.date = datetime.date(2025, 12, 31),
    signal: float = 0.0,
    n_tickers: int | None = None,
    regime: str | None = None,
    shift_on: datetime.date | None = None,
    shift_to: str = "crisis",
) -> SyntheticMarket:
    """Generate a synthetic market for `universe`.

    Parameters
    ----------
    universe
        one row per series with columns ticker, asset_class (equity, etf, index, rate,
        crypto), sector, sector_etf and role ('volatility', 'yield_10y', 'crypto' or empty).
    seed
        seed of `numpy.random.default_rng`; the same arguments give identical frames.
    years
        length of the sample; business days (Mon-Fri) for stocks, calendar days for crypto.
    end
        last date of the sample.
    signal
        strength s of the planted clv signal (see the module docstring); 0 plants nothing.
    n_tickers
        number of equities: more than the universe has adds generated tickers
        (SYN0001, ... round-robin over the sectors present), fewer keeps the first n. ETFs and
        cross-asset series are always kept. None keeps the universe as it is.
    regime
        the name of one of `REGIMES` to hold the hidden market state in all along (no regime
        change); None lets it switch as the Markov chain says.
    shift_on
        a planted regime shift: from the first business day on or after this date the hidden
        state is `shift_to` for good (for checking that drift monitoring notices). None: no shift.
    shift_to
        the name of the regime of the shift (default 'crisis').

    Returns
    -------
    A `SyntheticMarket` whose frames are sorted by ticker and date, with
    `source_file = f"synthetic:seed={seed}"` and `line_number` 1..n in each frame.

    Raises
    ------
    ValueError
        the universe lacks a column, repeats a ticker or names an unknown asset class, or
        `years`, `signal` or `n_tickers` is out of range (`SettingsError`, a ValueError, when `years`
        covers too few business days, so the command line shows it as one line).
    """
    if not np.isfinite(years) or years <= 0:
        raise ValueError(f"years must be a positive number, got {years!r}")
    if not np.isfinite(signal):
        raise ValueError(f"signal must be a finite number, got {signal!r}")
    series = _prepare_universe(universe, n_tickers)
    streams = dict(zip(_STREAMS, np.random.default_rng(seed).spawn(len(_STREAMS)), strict=True))
    source_file = f"synthetic:seed={seed}"

    business_days, calendar_days = _calendars(end, years)
    n_days = len(business_days)
    regimes = _regime_path(streams["regimes"], n_days)
    if regime is not None:
        regimes[:] = _regime_index(regime)
    if shift_on is not None:
        regimes[business_days >= pd.Timestamp(shift_on)] = _regime_index(shift_to)
    market, market_variance, vol_forecast, market_shock = _market_factor(streams["market"], regimes)
    regime_vol = np.array([vol for _, _, vol in REGIMES])[regimes] / REGIMES[0][2]

    block = series[series["kind"].isin(["equity", "etf", "index"])].reset_index(drop=True)
    is_equity = (block["kind"] == "equity").to_numpy()
    sector_keys = _sector_keys(series, block)
    exposures = _exposures(streams["exposures"], block, sector_keys)
    base_returns, variance = _factor_returns(
        streams["sectors"], streams["idiosyncratic"], exposures, market, market_variance, regime_vol
    )
    first_day = _listing_days(streams["listing"], is_equity, n_days)
    listed = np.arange(n_days)[:, None] >= first_day[None, :]
    earnings_events, earnings_jumps = _earnings_schedule(
        streams["earnings"], block, is_equity, first_day, exposures, n_days
    )
    bars = _bars(
        streams["bars"],
        base_returns,
        variance,
        earnings_jumps,
        gap_share=0.2,
        shift=signal * SIGNAL_DAILY_SHIFT * is_equity,
        listed=listed,
    )
    log_factor = _corporate_actions(streams["actions"], block, is_equity, exposures, first_day, n_days)
    adjusted, raw = _ohlc(bars, exposures.start_price, first_day, log_factor)
    volume = _volumes(streams["volume"], bars.returns, variance, exposures.volume_base, log_factor)
    present = listed & ~_missing_days(streams["gaps"], is_equity, first_day, n_days)

    price_blocks = [
        _block_rows(block["ticker"].to_numpy(), business_days, present, raw, adjusted[3], volume),
        *_cross_asset_blocks(streams["cross_asset"], series, business_days, vol_forecast, market_shock),
        *_crypto_blocks(streams["crypto"], series, business_days, calendar_days, market),
    ]
    prices = _finish(pd.concat(price_blocks, ignore_index=True), PRICE_COLUMNS, "trade_date", source_file)

    equity_tickers = block["ticker"].to_numpy()[is_equity]
    equity_present = present[:, is_equity]
    equity_returns = bars.returns[:, is_equity]
    equity_sd = np.sqrt(variance[:, is_equity].mean(axis=0))
    sentiment = _sentiment(
        streams["sentiment"],
        equity_tickers,
        business_days,
        equity_present,
        equity_returns,
        equity_sd,
        exposures.size[is_equity],
    )
    analyst = _analyst_actions(streams["analyst"], equity_tickers, business_days, equity_present)
    insider = _insider_trades(streams["insider"], equity_tickers, business_days, equity_present, raw[3][:, is_equity])
    earnings = _earnings_frame(earnings_events, block["ticker"].to_numpy(), business_days)
    return SyntheticMarket(
        prices=prices,
        sentiment=_finish(sentiment, SENTIMENT_COLUMNS, "trade_date", source_file),
        earnings=_finish(earnings, EARNINGS_COLUMNS, "announce_date", source_file),
        analyst_actions=_finish(analyst, ANALYST_COLUMNS, "action_date", source_file),
        insider_trades=_finish(insider, INSIDER_COLUMNS, "transaction_date", source_file),
    )


# --- universe -------------------------------------------------------------------------------------


def _text(value: object) -> str | None:
    """A stripped string, or None for NaN/None/empty cells."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def _series_kind(ticker: str, asset_class: str | None, role: str | None) -> str:
    """How a universe row is modelled: equity, etf, index, volatility, yield or crypto."""
    role = (role or "").lower()
    asset_class = (asset_class or "").lower()
    if role == "volatility":
        return "volatility"
    if role == "yield_10y" or asset_class == "rate":
        return "yield"
    if role == "crypto" or asset_class == "crypto":
        return "crypto"
    if asset_class in ("equity", "etf", "index"):
        return asset_class
    raise ValueError(
        f"universe row {ticker!r} has asset_class {asset_class!r}; expected one of equity, etf, index, rate, crypto"
    )


def _prepare_universe(universe: pd.DataFrame, n_tickers: int | None) -> pd.DataFrame:
    """The universe as clean strings plus a `kind` column, resized to `n_tickers` equities, by ticker."""
    missing = [column for column in _UNIVERSE_COLUMNS if column not in universe.columns]
    if missing:
        raise ValueError(f"universe is missing column(s): {', '.join(missing)}")
    if n_tickers is not None and n_tickers < 0:
        raise ValueError(f"n_tickers must be >= 0 or None, got {n_tickers}")
    frame = pd.DataFrame(
        {column: [_text(value) for value in universe[column]] for column in _UNIVERSE_COLUMNS}, dtype=object
    )
    if frame.empty:
        raise ValueError("universe has no rows")
    if frame["ticker"].isna().any():
        raise ValueError("universe has a row without a ticker")
    duplicated = frame.loc[frame["ticker"].duplicated(), "ticker"].unique()
    if len(duplicated):
        raise ValueError(f"universe repeats ticker(s): {', '.join(duplicated)}")
    frame["kind"] = [
        _series_kind(ticker, asset_class, role)
        for ticker, asset_class, role in zip(frame["ticker"], frame["asset_class"], frame["role"], strict=True)
    ]
    equities = frame[frame["kind"] == "equity"]
    others = frame[frame["kind"] != "equity"]
    if n_tickers is not None and n_tickers < len(equities):
        equities = equities.iloc[:n_tickers]
    elif n_tickers is not None and n_tickers > len(equities):
        equities = pd.concat([equities, _extra_equities(frame, equities, n_tickers - len(equities))])
    resized = pd.concat([equities, others], ignore_index=True)
    return resized.sort_values("ticker", kind="mergesort").reset_index(drop=True)


def _extra_equities(frame: pd.DataFrame, equities: pd.DataFrame, count: int) -> pd.DataFrame:
    """`count` generated equities SYN0001, ... assigned round-robin to the sectors present."""
    pairs = list(dict.fromkeys(zip(equities["sector"], equities["sector_etf"], strict=True)))
    pairs = [pair for pair in pairs if pair != (None, None)]
    if not pairs:
        sector_etfs = frame[(frame["kind"] == "etf") & (frame["sector_etf"] == frame["ticker"])]
        pairs = list(zip(sector_etfs["sector"], sector_etfs["ticker"], strict=True)) or [(None, None)]
    taken = set(frame["ticker"])
    tickers: list[str] = []
    number = 0
    while len(tickers) < count:
        number += 1
        ticker = f"SYN{number:04d}"
        if ticker not in taken:
            tickers.append(ticker)
    rows = [pairs[position % len(pairs)] for position in range(count)]
    return pd.DataFrame(
        {
            "ticker": tickers,
            "asset_class": "equity",
            "sector": [sector for sector, _ in rows],
            "sector_etf": [etf for _, etf in rows],
            "role": None,
            "kind": "equity",
        },
        dtype=object,
    )


def _sector_keys(series: pd.DataFrame, block: pd.DataFrame) -> list[str | None]:
    """The sector factor each row of `block` loads on (its sector ETF where known), None for none.

    Sector ETFs are the ETFs whose sector_etf is themselves or that some equity names as its sector
    ETF; broad ETFs ('Broad Market', no sector_etf) load on no sector factor.
    """
    etf_by_sector = {
        sector: etf
        for sector, etf in zip(series["sector"], series["sector_etf"], strict=True)
        if sector is not None and etf is not None
    }
    named_etfs = set(series.loc[series["kind"] == "equity", "sector_etf"].dropna())
    keys: list[str | None] = []
    for ticker, kind, sector, etf in zip(
        block["ticker"], block["kind"], block["sector"], block["sector_etf"], strict=True
    ):
        if kind == "equity":
            keys.append(etf or etf_by_sector.get(sector) or sector)
        elif kind == "etf" and (etf == ticker or ticker in named_etfs):
            keys.append(ticker)
        else:
            keys.append(None)
    return keys


# --- calendar, regimes and the market factor -----------------------------------------------------


def _calendars(end: datetime.date, years: float) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Business days and calendar days of the `years` years ending at `end`."""
    last = pd.Timestamp(end).normalize()
    first = last - pd.Timedelta(days=max(int(round(years * 365.25)), 1) - 1)
    business_days = pd.bdate_range(first, last)
    if len(business_days) < 2 * SIGNAL_HORIZON:
        needed = 2 * SIGNAL_HORIZON
        raise SettingsError(
            f"{years:g} years to {end} cover only {len(business_days)} business day(s); the synthetic market needs "
            f"at least {needed} (about {needed * 7 / 5 / 365.25:.2f} years): ask for more years."
        )
    return business_days, pd.date_range(first, last, freq="D")


def _regime_index(name: str) -> int:
    names = [regime for regime, _, _ in REGIMES]
    if name not in names:
        raise SettingsError(f"unknown regime {name!r}: use one of {', '.join(names)}")
    return names.index(name)


def _regime_path(rng: np.random.Generator, n_days: int) -> np.ndarray:
    """The hidden market state of each business day: a Markov chain started from its stationary law."""
    transitions = np.array(REGIME_TRANSITIONS)
    eigenvalues, eigenvectors = np.linalg.eig(transitions.T)
    stationary = np.real(eigenvectors[:, np.argmin(np.abs(eigenvalues - 1.0))])
    stationary = stationary / stationary.sum()
    cumulative = np.cumsum(transitions, axis=1)
    draws = rng.random(n_days)
    states = np.empty(n_days, dtype=np.int64)
    state = min(int(np.searchsorted(np.cumsum(stationary), draws[0], side="right")), len(REGIMES) - 1)
    for day in range(n_days):
        if day:
            state = min(int(np.searchsorted(cumulative[state], draws[day], side="right")), len(REGIMES) - 1)
        states[day] = state
    return states


def _student_t(rng: np.random.Generator, df: float, shape: tuple[int, ...]) -> np.ndarray:
    """Student-t draws scaled to unit variance, clipped at 8 standard deviations.

    The clip keeps the tails fat but stops a one-in-a-million draw from producing a -18 sigma day
    (and a VIX of 150) in an ordinary five-year sample.
    """
    return np.clip(rng.standard_t(df, size=shape) * np.sqrt((df - 2.0) / df), -8.0, 8.0)


def _garch(
    shocks: np.ndarray, *, alpha: float, leverage: float, beta: float, cap: float = 4.0
) -> tuple[np.ndarray, np.ndarray]:
    """GJR-GARCH(1,1) variance multipliers (mean about 1) for unit shocks of shape (days, series).

    The multiplier is capped at `cap` times its mean: with Student-t shocks one extreme day could
    otherwise lift volatility to levels no market has seen (a VIX of 150).
    Returns the multiplier of each day and the one-step forecast made at each day's close
    (g_{t+1}), which is what a volatility index quotes.
    """
    omega = 1.0 - alpha - leverage / 2.0 - beta
    state = np.ones(shocks.shape[1:])
    levels = np.empty_like(shocks)
    for day in range(len(shocks)):
        levels[day] = state
        shock = shocks[day]
        state = omega + (alpha + leverage * (shock < 0)) * shock * shock * state + beta * state
        state = np.minimum(state, cap)
    forecasts = np.empty_like(shocks)
    forecasts[:-1] = levels[1:]
    forecasts[-1] = state
    return levels, forecasts


def _market_factor(
    rng: np.random.Generator, regimes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The market's daily log return, its conditional variance, the expected annualized volatility
    over the next 21 sessions as of each close (for ^VIX) and the unit shock (for correlated series).
    """
    alpha, leverage, beta = 0.02, 0.14, 0.87
    drift = np.array([mu for _, mu, _ in REGIMES])[regimes] / TRADING_DAYS_PER_YEAR
    level = np.array([vol for _, _, vol in REGIMES])[regimes]
    shock = _student_t(rng, 5.0, (len(regimes), 1))
    multiplier, forecast = _garch(shock, alpha=alpha, leverage=leverage, beta=beta)
    daily_sd = level / np.sqrt(TRADING_DAYS_PER_YEAR) * np.sqrt(multiplier[:, 0])
    returns = drift + daily_sd * shock[:, 0]
    # The GARCH forecast reverts to 1 at rate `persistence`; average it over a month like the VIX does.
    persistence = alpha + leverage / 2.0 + beta
    horizon = 21
    mean_decay = (1.0 - persistence**horizon) / (horizon * (1.0 - persistence))
    month_ahead = 1.0 + (forecast[:, 0] - 1.0) * mean_decay
    return returns, daily_sd**2, level * np.sqrt(month_ahead), shock[:, 0]


# --- business-day series: exposures, factors and bars --------------------------------------------


def _exposures(rng: np.random.Generator, block: pd.DataFrame, sector_keys: list[str | None]) -> _Exposures:
    """Betas, loadings, volatilities, start prices, volumes and dividend yields of the block's series.

    Every parameter is drawn for every series and then picked by kind, which keeps the draws in a
    fixed order whatever the mix of kinds.
    """
    n = len(block)
    factors = list(dict.fromkeys(key for key in sector_keys if key is not None))
    column = {key: position for position, key in enumerate(factors)}
    size = rng.standard_normal(n)
    beta = np.clip(rng.normal(1.0, 0.3, n), 0.3, 2.0)
    gamma = np.clip(rng.normal(0.8, 0.25, n), 0.2, 1.5)
    size_loading = np.clip(0.3 - 0.35 * size + rng.normal(0.0, 0.15, n), -0.3, 1.2)
    idio_annual = np.clip(np.exp(rng.normal(np.log(0.24) - 0.08 * size, 0.3)), 0.08, 0.9)
    equity_price = np.exp(rng.uniform(np.log(5.0), np.log(500.0), n))
    fund_price = np.exp(rng.uniform(np.log(30.0), np.log(450.0), n))
    index_price = np.exp(rng.uniform(np.log(1000.0), np.log(5000.0), n))
    equity_volume = np.exp(np.log(2.5e6) + 0.7 * size + rng.normal(0.0, 0.5, n))
    fund_volume = np.exp(rng.normal(np.log(1.0e7), 0.6, n))
    equity_yield = np.clip(np.exp(rng.normal(np.log(0.02), 0.4, n)), 0.004, 0.06)
    fund_yield = np.clip(np.exp(rng.normal(np.log(0.022), 0.3, n)), 0.008, 0.045)
    # Large caps mostly pay dividends, small caps mostly do not.
    size_rank = (np.argsort(np.argsort(size)) + 0.5) / max(n, 1)
    pays = rng.random(n) < 0.15 + 0.75 * size_rank

    weights = np.zeros((n, len(factors)))
    result = {
        "beta": np.ones(n),
        "size_loading": np.zeros(n),
        "idio_annual": np.full(n, 0.05),
        "size": np.zeros(n),
        "start_price": fund_price.copy(),
        "volume_base": fund_volume.copy(),
        "dividend_yield": fund_yield.copy(),
    }
    broad = {ticker: profile for ticker, *profile in _BROAD_ETFS}
    for position, (ticker, kind) in enumerate(zip(block["ticker"], block["kind"], strict=True)):
        key = sector_keys[position]
        if kind == "equity":
            result["beta"][position] = beta[position]
            result["size_loading"][position] = size_loading[position]
            result["idio_annual"][position] = idio_annual[position]
            result["size"][position] = size[position]
            result["start_price"][position] = equity_price[position]
            result["volume_base"][position] = equity_volume[position]
            result["dividend_yield"][position] = equity_yield[position] if pays[position] else 0.0
            if key is not None:
                weights[position, column[key]] = gamma[position]
        elif kind == "index":
            result["idio_annual"][position] = 0.003
            result["start_price"][position] = index_price[position]
            result["volume_base"][position] = 0.0
            result["dividend_yield"][position] = 0.0
        elif ticker in broad:
            market_beta, small_cap, noise, volume, dividend = broad[ticker]
            result["beta"][position] = market_beta
            result["size_loading"][position] = small_cap
            result["idio_annual"][position] = noise
            result["volume_base"][position] = volume
            result["dividend_yield"][position] = dividend
            if ticker == "QQQ":
                weights[position] = _qqq_weights(factors, block)
        elif key is not None:
            result["idio_annual"][position] = 0.025
            weights[position, column[key]] = 1.0
    return _Exposures(
        beta=result["beta"],
        sector_weights=weights,
        size_loading=result["size_loading"],
        idio_sd=result["idio_annual"] / np.sqrt(TRADING_DAYS_PER_YEAR),
        size=result["size"],
        start_price=result["start_price"],
        volume_base=result["volume_base"],
        dividend_yield=result["dividend_yield"],
    )


def _qqq_weights(factors: list[str], block: pd.DataFrame) -> np.ndarray:
    """QQQ's loadings on the sector factors: technology-heavy where those sectors exist."""
    names = {
        key: (sector or "").lower()
        for key, sector in zip(block["sector_etf"], block["sector"], strict=True)
        if key is not None
    }
    weights = np.zeros(len(factors))
    for position, key in enumerate(factors):
        for etf, word, weight in _QQQ_TILT:
            if key == etf or word in names.get(key, (key or "").lower()):
                weights[position] = weight
                break
    return weights


def _factor_returns(
    sector_rng: np.random.Generator,
    idio_rng: np.random.Generator,
    exposures: _Exposures,
    market: np.ndarray,
    market_variance: np.ndarray,
    regime_vol: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Daily log returns (days, series) of the factor model and their conditional variances.

    The sector and small-cap factors and the idiosyncratic parts are GARCH processes with Student-t
    shocks; their level rises with the regime's volatility (less than one for one), so crises lift
    every volatility at once.
    """
    n_days = len(market)
    n_sectors = exposures.sector_weights.shape[1]
    factor_shock = _student_t(sector_rng, 5.0, (n_days, n_sectors + 1))
    factor_level, _ = _garch(factor_shock, alpha=0.04, leverage=0.04, beta=0.92)
    factor_annual = np.append(np.exp(sector_rng.normal(np.log(0.11), 0.25, n_sectors)), 0.10)
    factor_sd = factor_annual / np.sqrt(TRADING_DAYS_PER_YEAR) * regime_vol[:, None] ** 0.7 * np.sqrt(factor_level)
    factors = factor_sd * factor_shock
    sectors, size_factor = factors[:, :n_sectors], factors[:, n_sectors]

    idio_shock = _student_t(idio_rng, 4.0, (n_days, len(exposures.beta)))
    idio_level, _ = _garch(idio_shock, alpha=0.06, leverage=0.03, beta=0.90)
    idio_sd = exposures.idio_sd[None, :] * regime_vol[:, None] ** 0.5 * np.sqrt(idio_level)

    returns = (
        exposures.beta[None, :] * market[:, None]
        + sectors @ exposures.sector_weights.T
        + size_factor[:, None] * exposures.size_loading[None, :]
        + idio_sd * idio_shock
    )
    variance = (
        exposures.beta[None, :] ** 2 * market_variance[:, None]
        + factor_sd[:, :n_sectors] ** 2 @ (exposures.sector_weights**2).T
        + factor_sd[:, n_sectors, None] ** 2 * exposures.size_loading[None, :] ** 2
        + idio_sd**2
    )
    return returns, variance


def _listing_days(rng: np.random.Generator, is_equity: np.ndarray, n_days: int) -> np.ndarray:
    """First listed business day of each series: about 8% of equities list mid-sample (IPOs)."""
    first = np.zeros(len(is_equity), dtype=np.int64)
    equities = np.flatnonzero(is_equity)
    count = max(int(round(0.08 * len(equities))), 1) if len(equities) >= 5 else 0
    chosen = rng.choice(equities, size=count, replace=False) if count else np.array([], dtype=np.int64)
    first[chosen] = rng.integers(int(0.1 * n_days), int(0.75 * n_days) + 1, size=count)
    return first


def _earnings_schedule(
    rng: np.random.Generator,
    block: pd.DataFrame,
    is_equity: np.ndarray,
    first_day: np.ndarray,
    exposures: _Exposures,
    n_days: int,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Quarterly earnings of each equity and the price jump they cause.

    The standardized surprise z (Student-t, 3 degrees of freedom, clipped at 6) sets both the reported
    surprise (3 + 9 z percent: most companies beat) and the move on the first session after the
    announcement, 2.5 x the stock's daily idiosyncratic volatility x z. The move has mean zero and
    happens on that one session only, so a known surprise predicts no later return.
    """
    jumps = np.zeros((n_days, len(block)))
    records: list[tuple[int, int, str, float, float]] = []
    for position in np.flatnonzero(is_equity):
        start = int(first_day[position])
        days = (
            start
            + int(rng.integers(5, EARNINGS_INTERVAL))
            + np.cumsum(np.concatenate([[0], EARNINGS_INTERVAL + rng.integers(-6, 7, size=n_days // 50 + 2)]))
        )
        days = days[days < n_days]
        if not len(days):
            continue
        bmo_share = rng.uniform(0.1, 0.9)
        timing = np.where(rng.random(len(days)) < bmo_share, "bmo", "amc")
        loss_making = rng.random() < 0.12 * (1.0 - np.tanh(exposures.size[position]))
        yield_ = rng.uniform(0.005, 0.03) if loss_making else rng.uniform(0.02, 0.07)
        growth = np.cumsum(rng.normal(0.01, 0.06, len(days)))
        estimate = (-1.0 if loss_making else 1.0) * exposures.start_price[position] * yield_ / 4 * np.exp(growth)
        z = np.clip(_student_t(rng, 3.0, (len(days),)), -6.0, 6.0)
        reaction = days + (timing == "amc")
        keep = reaction < n_days
        jumps[reaction[keep], position] += 2.5 * exposures.idio_sd[position] * z[keep]
        for day, when, est, shock in zip(days[keep], timing[keep], estimate[keep], z[keep], strict=True):
            records.append((int(position), int(day), str(when), float(est), float(shock)))
    events = pd.DataFrame(records, columns=["position", "day", "announce_timing", "estimate", "z"])
    return events, jumps


def _bars(
    rng: np.random.Generator,
    base_returns: np.ndarray,
    variance: np.ndarray,
    gap_jumps: np.ndarray,
    *,
    gap_share: float,
    shift: np.ndarray,
    listed: np.ndarray,
) -> _Bars:
    """Overnight gaps, session moves, highs and lows; plants the clv signal.

    The day's move is a Brownian motion with variance `variance`, `gap_share` of it overnight:
    given the day's return the overnight part is drawn from the bridge, and the session's high and
    low from the distribution of the bridge's maximum and minimum,
    P(max > m) = exp(-2 m (m - b) / T) for a session move b over variance T. Earnings jumps are added
    to the gap. `shift` (per series) times the sum of the previous five days' clv is added to each
    session move, which is why this runs day by day: the clv of day t depends on that day's bar.
    """
    n_days, n_series = base_returns.shape
    bridge_noise = np.sqrt(gap_share * (1.0 - gap_share) * variance) * rng.standard_normal((n_days, n_series))
    overnight = gap_share * base_returns + bridge_noise
    session = base_returns - overnight
    session_variance = (1.0 - gap_share) * variance
    # 1 - U lies in (0, 1], so the logarithm is finite.
    high_spread = -2.0 * session_variance * np.log(1.0 - rng.random((n_days, n_series)))
    low_spread = -2.0 * session_variance * np.log(1.0 - rng.random((n_days, n_series)))
    high = np.empty_like(session)
    low = np.empty_like(session)
    clv = np.zeros_like(session)
    planted = np.any(shift != 0)
    for day in range(n_days):
        move = session[day]
        if planted and day:
            move = move + shift * clv[max(day - SIGNAL_HORIZON, 0) : day].sum(axis=0)
            session[day] = move
        high[day] = 0.5 * (move + np.sqrt(move * move + high_spread[day]))
        low[day] = 0.5 * (move - np.sqrt(move * move + low_spread[day]))
        if planted:
            clv[day] = np.where(listed[day], _close_location(move, high[day], low[day]), 0.0)
    return _Bars(returns=overnight + gap_jumps + session, session=session, high=high, low=low)


def _close_location(session: np.ndarray, high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """clv = ((close - low) - (high - close)) / (high - low), from log prices relative to the open."""
    close, top, bottom = np.exp(session), np.exp(high), np.exp(low)
    return ((close - bottom) - (top - close)) / (top - bottom)


def _corporate_actions(
    rng: np.random.Generator,
    block: pd.DataFrame,
    is_equity: np.ndarray,
    exposures: _Exposures,
    first_day: np.ndarray,
    n_days: int,
) -> np.ndarray:
    """Log adjustment factors log(adj_close / close) of each day and series.

    Dividends: quarterly (every 63 business days from a random phase), yield/4 of the price each, on
    payers. Splits: about 4% of equities (at least one when there are five or more), 2:1 or 3:1,
    mid-sample, among the higher-priced half. Each event multiplies the factor of every earlier day
    by its adjustment (1 - dividend yield, or 1 / ratio), so the factor is 1 on the last date.
    """
    events = np.zeros((n_days, len(block)))
    for position in np.flatnonzero(exposures.dividend_yield > 0):
        phase = int(first_day[position]) + int(rng.integers(1, EARNINGS_INTERVAL + 1))
        ex_days = np.arange(phase, n_days, EARNINGS_INTERVAL)
        events[ex_days, position] += np.log1p(-exposures.dividend_yield[position] / 4.0)
    # Splits follow high prices: pick among the pricier half of the equities listed for 300+ days.
    seasoned = np.flatnonzero(is_equity & (first_day < n_days - 300))
    prices = exposures.start_price[seasoned]
    candidates = seasoned[prices >= np.median(prices)] if len(seasoned) else seasoned
    count = max(1, int(round(0.04 * is_equity.sum()))) if is_equity.sum() >= 5 else 0
    for position in rng.choice(candidates, size=min(count, len(candidates)), replace=False):
        start = int(first_day[position])
        day = int(rng.integers(start + (n_days - start) // 5, n_days - (n_days - start) // 5))
        ratio = 2 if rng.random() < 0.7 else 3
        events[day, position] += -np.log(ratio)
    later = np.cumsum(events[::-1], axis=0)[::-1]
    log_factor = np.zeros_like(events)
    log_factor[:-1] = later[1:]
    return log_factor


def _ohlc(
    bars: _Bars, start_price: np.ndarray, first_day: np.ndarray, log_factor: np.ndarray
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Adjusted and raw (open, high, low, close) matrices; the raw close on the listing day is the
    series' start price.
    """
    n_days = len(bars.returns)
    after_listing = np.arange(n_days)[:, None] > first_day[None, :]
    cumulative = np.cumsum(np.where(after_listing, bars.returns, 0.0), axis=0)
    anchor = np.log(start_price) + log_factor[first_day, np.arange(len(first_day))]
    log_close = anchor[None, :] + cumulative
    log_open = log_close - bars.session
    adjusted_log = (log_open, log_open + bars.high, log_open + bars.low, log_close)
    adjusted = tuple(np.exp(values) for values in adjusted_log)
    raw = tuple(np.exp(values - log_factor) for values in adjusted_log)
    return _ordered(adjusted), _ordered(raw)


def _ordered(ohlc: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Guard high >= max(open, close) and low <= min(open, close) against last-bit rounding of exp."""
    open_, high, low, close = ohlc
    return open_, np.maximum(high, np.maximum(open_, close)), np.minimum(low, np.minimum(open_, close)), close


def _ar1(rng: np.random.Generator, n_days: int, n_series: int, phi: float, sd: float) -> np.ndarray:
    """A stationary AR(1) process per series with coefficient `phi` and marginal standard deviation `sd`."""
    innovations = rng.standard_normal((n_days, n_series)) * sd * np.sqrt(1.0 - phi * phi)
    values = np.empty_like(innovations)
    state = rng.standard_normal(n_series) * sd
    for day in range(n_days):
        state = phi * state + innovations[day]
        values[day] = state
    return values


def _volumes(
    rng: np.random.Generator,
    returns: np.ndarray,
    variance: np.ndarray,
    base: np.ndarray,
    log_factor: np.ndarray,
) -> np.ndarray:
    """Raw share volume: a per-series base level, a persistent activity process and a rise with |r|.

    Raw volume is the adjusted volume times the adjustment factor, so before a 2:1 split half as
    many shares trade and volume / (adj_close / close) is continuous. Series with base 0 (indexes,
    yields) get 0.
    """
    n_days, n_series = returns.shape
    typical_sd = np.sqrt(variance.mean(axis=0))
    activity = _ar1(rng, n_days, n_series, 0.8, 0.35)
    noise = rng.normal(0.0, 0.2, (n_days, n_series))
    with np.errstate(divide="ignore"):
        # log1p: a crash day trades several times the usual volume, not a hundred times.
        log_volume = np.log(base)[None, :] + activity + 0.8 * np.log1p(np.abs(returns) / typical_sd) + noise
    volume = np.maximum(np.rint(np.exp(log_volume + log_factor)), 1.0)
    return np.where(base[None, :] > 0, volume, 0.0).astype(np.int64)


def _missing_days(rng: np.random.Generator, is_equity: np.ndarray, first_day: np.ndarray, n_days: int) -> np.ndarray:
    """A (days, series) mask of isolated missing trading days: about 0.05% of equity rows, a few tickers."""
    missing = np.zeros((n_days, len(is_equity)), dtype=bool)
    equities = np.flatnonzero(is_equity)
    if not len(equities):
        return missing
    rows = int((n_days - first_day[equities]).sum())
    n_tickers = min(len(equities), max(2, int(round(0.1 * len(equities)))))
    per_ticker = max(1, int(round(0.0005 * rows / n_tickers)))
    for position in rng.choice(equities, size=n_tickers, replace=False):
        # Never the listing day or the last day: a gap is a hole inside the series.
        days = rng.integers(int(first_day[position]) + 1, n_days - 1, size=per_ticker)
        missing[days, position] = True
    return missing


# --- cross-asset series --------------------------------------------------------------------------


def _cross_asset_blocks(
    rng: np.random.Generator,
    series: pd.DataFrame,
    business_days: pd.DatetimeIndex,
    vol_forecast: np.ndarray,
    market_shock: np.ndarray,
) -> list[pd.DataFrame]:
    """Price rows of the volatility index and yield series (business days, volume 0)."""
    n_days = len(business_days)
    blocks = []
    for ticker, kind in zip(series["ticker"], series["kind"], strict=True):
        if kind == "volatility":
            close = _volatility_index(rng, vol_forecast, market_shock)
            open_ = np.append(close[0], close[:-1]) * np.exp(rng.normal(0.0, 0.02, n_days))
            high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.025, n_days)))
            low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.025, n_days)))
        elif kind == "yield":
            close = _yield_10y(rng, market_shock)
            open_ = np.maximum(np.append(close[0], close[:-1]) + rng.normal(0.0, 0.015, n_days), 0.01)
            high = np.maximum(open_, close) + np.abs(rng.normal(0.0, 0.02, n_days))
            low = np.maximum(np.minimum(open_, close) - np.abs(rng.normal(0.0, 0.02, n_days)), 0.005)
            low = np.minimum(low, np.minimum(open_, close))
        else:
            continue
        ohlc = tuple(values[:, None] for values in (open_, high, low, close))
        blocks.append(
            _block_rows(
                np.array([ticker], dtype=object),
                business_days,
                np.ones((n_days, 1), dtype=bool),
                ohlc,
                ohlc[3],
                np.zeros((n_days, 1), dtype=np.int64),
            )
        )
    return blocks


def _volatility_index(rng: np.random.Generator, vol_forecast: np.ndarray, market_shock: np.ndarray) -> np.ndarray:
    """A VIX-like level: 100 x expected annualized volatility x a variance premium, plus noise.

    The forecast is made at the close, after the day's return, so the index jumps when the market
    falls (the GJR leverage term); the premium keeps it above realized volatility most of the time,
    as the real index is. The persistent log-noise also reacts to the day's market shock (option
    buyers pay up for protection on down days), which is what makes the real index move against the
    market almost every day.
    """
    phi, sd = 0.9, 0.08
    innovations = -0.8 * market_shock + 0.6 * rng.standard_normal(len(market_shock))
    noise = np.empty(len(market_shock))
    state = rng.standard_normal() * sd
    for day, innovation in enumerate(innovations):
        state = phi * state + sd * np.sqrt(1.0 - phi * phi) * innovation
        noise[day] = state
    return (100.0 * vol_forecast * 1.1 + 2.0) * np.exp(noise)


def _yield_10y(rng: np.random.Generator, market_shock: np.ndarray) -> np.ndarray:
    """A mean-reverting 10-year yield in percent (Ornstein-Uhlenbeck around 3.2), rising with stocks."""
    n_days = len(market_shock)
    kappa, mean, sigma = 0.35, 3.2, 0.9
    dt = 1.0 / TRADING_DAYS_PER_YEAR
    shocks = 0.3 * market_shock + np.sqrt(1.0 - 0.09) * rng.standard_normal(n_days)
    level = rng.uniform(1.0, 4.0)
    values = np.empty(n_days)
    for day in range(n_days):
        level = max(level + kappa * (mean - level) * dt + sigma * np.sqrt(dt) * shocks[day], 0.1)
        values[day] = level
    return values


def _crypto_blocks(
    rng: np.random.Generator,
    series: pd.DataFrame,
    business_days: pd.DatetimeIndex,
    calendar_days: pd.DatetimeIndex,
    market: np.ndarray,
) -> list[pd.DataFrame]:
    """Price rows of crypto series: every calendar day, 55-70% annual volatility, beta to the market."""
    tickers = series.loc[series["kind"] == "crypto", "ticker"].to_numpy()
    if not len(tickers):
        return []
    n_days, n_series = len(calendar_days), len(tickers)
    position = business_days.get_indexer(calendar_days)
    market_today = np.where(position >= 0, market[np.maximum(position, 0)], 0.0)
    shock = _student_t(rng, 4.0, (n_days, n_series))
    level, _ = _garch(shock, alpha=0.08, leverage=0.0, beta=0.89)
    own_sd = rng.uniform(0.028, 0.035, n_series)[None, :] * np.sqrt(level)
    beta = 1.3
    returns = beta * market_today[:, None] + own_sd * shock
    variance = own_sd**2 + beta**2 * market.var()
    # Crypto trades around the clock: the open is the previous close (no overnight gap).
    bars = _bars(
        rng,
        returns,
        variance,
        np.zeros_like(returns),
        gap_share=0.0,
        shift=np.zeros(n_series),
        listed=np.ones_like(returns, dtype=bool),
    )
    start_price = np.exp(rng.uniform(np.log(8000.0), np.log(60000.0), n_series))
    no_adjustment = np.zeros_like(returns)
    _, raw = _ohlc(bars, start_price, np.zeros(n_series, dtype=np.int64), no_adjustment)
    base = np.exp(rng.normal(np.log(2.5e10), 0.3, n_series))
    volume = _volumes(rng, bars.returns, np.broadcast_to(variance, returns.shape), base, no_adjustment)
    present = np.ones_like(returns, dtype=bool)
    return [_block_rows(tickers, calendar_days, present, raw, raw[3], volume)]


# --- frames --------------------------------------------------------------------------------------


def _block_rows(
    tickers: np.ndarray,
    dates: pd.DatetimeIndex,
    present: np.ndarray,
    ohlc: tuple[np.ndarray, ...],
    adj_close: np.ndarray,
    volume: np.ndarray,
) -> pd.DataFrame:
    """Long price rows (ticker-major) of the (days, series) matrices where `present`."""
    mask = present.T
    series_index, day_index = np.nonzero(mask)
    open_, high, low, close = (values.T[mask] for values in ohlc)
    return pd.DataFrame(
        {
            "ticker": tickers[series_index],
            "trade_date": dates.values[day_index],
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "adj_close": adj_close.T[mask],
            "volume": volume.T[mask].astype(np.int64),
        }
    )


def _finish(frame: pd.DataFrame, columns: tuple[str, ...], date_column: str, source_file: str) -> pd.DataFrame:
    """Sort by ticker and date, number the rows from 1, add the source and order the columns."""
    frame = frame.sort_values(["ticker", date_column], kind="mergesort").reset_index(drop=True)
    frame["source_file"] = source_file
    frame["line_number"] = np.arange(1, len(frame) + 1, dtype=np.int64)
    return frame.loc[:, list(columns)]


def _sentiment(
    rng: np.random.Generator,
    tickers: np.ndarray,
    business_days: pd.DatetimeIndex,
    present: np.ndarray,
    returns: np.ndarray,
    typical_sd: np.ndarray,
    size: np.ndarray,
) -> pd.DataFrame:
    """Daily news sentiment of the equities: tone + reaction to returns up to the same session.

    score_t = tanh(0.5 tone_t + 0.8 sum_k w_k r_{t-k} / sd + 0.35 noise), k = 0..4, with a persistent
    AR(1) tone independent of returns. Only returns up to day t enter (news of the day is out by the
    close), so the score says nothing about later returns. Articles are Poisson, more for large caps and
    on big-move days; 70-90% of the trading days have a row.
    """
    n_days, n_series = returns.shape
    tone = _ar1(rng, n_days, n_series, 0.95, 1.0)
    standardized = np.where(present, returns, 0.0) / typical_sd[None, :]
    reaction = np.zeros_like(standardized)
    for lag, weight in enumerate((0.4, 0.25, 0.15, 0.12, 0.08)):
        reaction[lag:] += weight * standardized[: n_days - lag]
    score = np.tanh(0.5 * tone + 0.8 * reaction + 0.35 * rng.standard_normal((n_days, n_series)))
    rate = np.exp(1.0 + 0.5 * size + rng.normal(0.0, 0.3, n_series))
    articles = rng.poisson(rate[None, :] * np.exp(0.35 * np.abs(standardized)))
    coverage = np.clip(rng.uniform(0.7, 0.9, n_series) + 0.03 * size, 0.6, 0.95)
    covered = present & (rng.random((n_days, n_series)) < coverage[None, :])
    series_index, day_index = np.nonzero(covered.T)
    return pd.DataFrame(
        {
            "ticker": tickers[series_index],
            "trade_date": business_days.values[day_index],
            "sentiment_score": score.T[covered.T],
            "article_count": articles.T[covered.T].astype(np.int64),
        }
    )


def _earnings_frame(events: pd.DataFrame, tickers: np.ndarray, business_days: pd.DatetimeIndex) -> pd.DataFrame:
    """Earnings rows from the schedule: estimates and actuals in cents, surprise from the rounded values."""
    estimate = np.round(events["estimate"].to_numpy(dtype=float), 2)
    estimate = np.where(np.abs(estimate) < 0.01, np.where(estimate < 0, -0.01, 0.01), estimate)
    surprise_true = 3.0 + 9.0 * events["z"].to_numpy(dtype=float)
    actual = np.round(estimate + np.abs(estimate) * surprise_true / 100.0, 2)
    return pd.DataFrame(
        {
            "ticker": tickers[events["position"].to_numpy(dtype=np.int64)],
            "announce_date": business_days.values[events["day"].to_numpy(dtype=np.int64)],
            "announce_timing": events["announce_timing"].to_numpy(dtype=object),
            "eps_estimate": estimate,
            "eps_actual": actual,
            "surprise_pct": (actual - estimate) / np.abs(estimate) * 100.0,
        }
    )


def _event_days(rng: np.random.Generator, present: np.ndarray, per_year: float) -> list[np.ndarray]:
    """For each series, sorted trading-day indices of a Poisson number of events (`per_year` rate)."""
    result = []
    for column in present.T:
        days = np.flatnonzero(column)
        count = rng.poisson(per_year * len(days) / TRADING_DAYS_PER_YEAR) if len(days) else 0
        result.append(np.sort(rng.choice(days, size=count, replace=True)) if count else days[:0])
    return result


def _analyst_actions(
    rng: np.random.Generator, tickers: np.ndarray, business_days: pd.DatetimeIndex, present: np.ndarray
) -> pd.DataFrame:
    """About four analyst actions per ticker and year, at random (no relation to future returns)."""
    rows = []
    for position, days in enumerate(_event_days(rng, present, 4.0)):
        for day in days:
            action = _ANALYST_ACTIONS[rng.choice(len(_ANALYST_ACTIONS), p=_ANALYST_ACTION_P)]
            firm = _ANALYST_FIRMS[rng.integers(len(_ANALYST_FIRMS))]
            if action == "upgrade":
                start = int(rng.integers(0, len(_GRADES) - 1))
                from_grade, to_grade = _GRADES[start], _GRADES[start + 1]
            elif action == "downgrade":
                start = int(rng.integers(1, len(_GRADES)))
                from_grade, to_grade = _GRADES[start], _GRADES[start - 1]
            elif action == "init":
                from_grade, to_grade = None, _GRADES[rng.choice(len(_GRADES), p=(0.05, 0.1, 0.35, 0.2, 0.3))]
            else:
                from_grade = to_grade = _GRADES[rng.choice(len(_GRADES), p=(0.05, 0.1, 0.35, 0.2, 0.3))]
            rows.append((tickers[position], business_days[day], firm, action, from_grade, to_grade))
    frame = pd.DataFrame(rows, columns=list(ANALYST_COLUMNS[:6]))
    # A firm publishes one rating per ticker and day; two draws on the same day would be a duplicate key.
    return frame.drop_duplicates(subset=["ticker", "action_date", "firm"], ignore_index=True)


def _insider_trades(
    rng: np.random.Generator,
    tickers: np.ndarray,
    business_days: pd.DatetimeIndex,
    present: np.ndarray,
    raw_close: np.ndarray,
) -> pd.DataFrame:
    """About five insider transactions per ticker and year, one in five a purchase, valued at the raw
    close; the filing is public two business days later (the SEC Form 4 deadline).
    """
    rows = []
    for position, days in enumerate(_event_days(rng, present, 5.0)):
        first_names = rng.choice(_FIRST_NAMES, size=4)
        last_names = rng.choice(_LAST_NAMES, size=4)
        roles = rng.choice(_POSITIONS, size=4)
        roster = [
            (f"{first} {last}", str(role)) for first, last, role in zip(first_names, last_names, roles, strict=True)
        ]
        for day in days:
            buy = rng.random() < 0.2
            shares = max(1, int(round(np.exp(rng.normal(np.log(2500.0 if buy else 6000.0), 1.0)))))
            insider, role = roster[rng.integers(len(roster))]
            price = float(raw_close[day, position])
            rows.append(
                (
                    tickers[position],
                    business_days[day],
                    insider,
                    role,
                    "buy" if buy else "sell",
                    shares,
                    shares * price,
                )
            )
    frame = pd.DataFrame(
        rows, columns=["ticker", "transaction_date", "insider", "position", "transaction", "shares", "value"]
    )
    transaction = frame["transaction_date"].to_numpy(dtype="datetime64[D]")
    announce = np.busday_offset(transaction, 2, roll="forward")
    frame["announce_date"] = pd.to_datetime(announce).as_unit(pd.DatetimeIndex(business_days).unit)
    frame["shares"] = frame["shares"].astype(np.int64)
    frame["value"] = frame["value"].astype(float)
    return frame
