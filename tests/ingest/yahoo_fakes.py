"""yfinance-shaped test data and fakes of the two yfinance call boundaries (`download`, `Ticker`).

Frames are built the way yfinance 1.7 builds them (multi.py: per-ticker frames aligned on the union of
dates, a failed ticker as `utils.empty_df()`, concatenated under a (Ticker, Price) MultiIndex; errors
logged as "Failed download" lines on the 'yfinance' logger). Shared by the source and job tests.
"""

from __future__ import annotations

import datetime
import logging

import numpy as np
import pandas as pd
from yfinance.exceptions import YFRateLimitError

RATE_LIMITED = repr(YFRateLimitError())
PRICE_FIELDS = ["Open", "High", "Low", "Close", "Adj Close", "Volume"]
D = datetime.date


# --- yfinance-shaped data -------------------------------------------------------------------------


def history(dates: list[str], base: float = 100.0) -> pd.DataFrame:
    """One ticker's `Ticker.history(auto_adjust=False, actions=False)` daily frame."""
    index = pd.DatetimeIndex(pd.to_datetime(dates), name="Date")
    closes = base + np.arange(len(dates), dtype=float)
    return pd.DataFrame(
        {
            "Open": closes - 0.5,
            "High": closes + 1.0,
            "Low": closes - 1.0,
            "Close": closes,
            "Adj Close": closes * 0.98,
            "Volume": np.arange(1, len(dates) + 1, dtype=np.int64) * 1000,
        },
        index=index,
    )


def empty_history() -> pd.DataFrame:
    """yfinance.utils.empty_df(): what download() keeps for a ticker that failed."""
    frame = pd.DataFrame(index=[], data={name: np.nan for name in PRICE_FIELDS})
    frame.index.name = "Date"
    return frame


def download_frame(per_ticker: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Assemble per-ticker frames as yfinance.multi.download(group_by='ticker') does."""
    index = None
    for frame in per_ticker.values():
        if not frame.empty:
            index = frame.index if index is None else index.union(frame.index)
    if index is None:
        index = pd.DatetimeIndex([])
    aligned = {ticker: frame.reindex(index) for ticker, frame in per_ticker.items()}
    return pd.concat(aligned.values(), axis=1, sort=True, keys=aligned.keys(), names=["Ticker", "Price"])


def log_failed_downloads(errors: dict[str, str]) -> None:
    """The summary yfinance.multi logs after a download with per-ticker errors."""
    logger = logging.getLogger("yfinance")
    logger.error(f"\n{len(errors)} Failed download{'s' if len(errors) > 1 else ''}:")
    grouped: dict[str, list[str]] = {}
    for ticker, error in errors.items():
        grouped.setdefault(error, []).append(ticker)
    for error, symbols in grouped.items():
        logger.error(f"{symbols}: " + error)


def earnings_dates(rows: list[tuple[str, float, float, float]]) -> pd.DataFrame:
    """`Ticker.get_earnings_dates()`: indexed by a tz-aware 'Earnings Date'."""
    index = pd.DatetimeIndex([pd.Timestamp(when, tz="America/New_York") for when, *_ in rows], name="Earnings Date")
    return pd.DataFrame(
        {
            "EPS Estimate": [row[1] for row in rows],
            "Reported EPS": [row[2] for row in rows],
            "Surprise(%)": [row[3] for row in rows],
        },
        index=index,
    )


def upgrades_downgrades(history_json: list[dict]) -> pd.DataFrame:
    """`Ticker.upgrades_downgrades`, built from Yahoo's JSON as scrapers/quote.py does."""
    frame = pd.DataFrame(history_json)
    frame = frame.rename(
        columns={
            "epochGradeDate": "GradeDate",
            "firm": "Firm",
            "toGrade": "ToGrade",
            "fromGrade": "FromGrade",
            "action": "Action",
        }
    )
    frame = frame.set_index("GradeDate")
    frame.index = pd.to_datetime(frame.index, unit="s")
    return frame


def insider_transactions(transactions: list[dict]) -> pd.DataFrame:
    """`Ticker.insider_transactions`, built from Yahoo's JSON as scrapers/holders.py does."""
    frame = pd.DataFrame(transactions)
    frame["startDate"] = pd.to_datetime(frame["startDate"], unit="s")
    return frame.rename(
        columns={
            "startDate": "Start Date",
            "filerName": "Insider",
            "filerRelation": "Position",
            "filerUrl": "URL",
            "moneyText": "Transaction",
            "transactionText": "Text",
            "shares": "Shares",
            "value": "Value",
            "ownership": "Ownership",
        }
    )


def epoch(day: str, hour: int = 0) -> int:
    return int(pd.Timestamp(day, tz="UTC").timestamp()) + hour * 3600


# --- fakes at the call boundary -------------------------------------------------------------------


class FakeTicker:
    """Stands in for yfinance.Ticker: each attribute returns a frame or raises what it is given."""

    def __init__(self, earnings=None, analyst=None, insider=None, rate_limits: int = 0):
        self._earnings, self._analyst, self._insider = earnings, analyst, insider
        self.rate_limits = rate_limits  # the first N calls, of any kind, are rate limited
        self.earnings_limits: list[int] = []

    def _answer(self, value):
        if self.rate_limits > 0:
            self.rate_limits -= 1
            raise YFRateLimitError()
        if isinstance(value, Exception):
            raise value
        return value

    def get_earnings_dates(self, limit=12):
        self.earnings_limits.append(limit)
        return self._answer(self._earnings)

    @property
    def upgrades_downgrades(self):
        return self._answer(self._analyst)

    @property
    def insider_transactions(self):
        return self._answer(self._insider)


class FakeYahoo:
    """Stands in for YahooClient, answering like yfinance.download and yfinance.Ticker."""

    def __init__(self, histories=None, *, rate_limited=None, errors=None, absent=(), tickers=None):
        self.histories = histories or {}
        self.rate_limited = dict(rate_limited or {})  # ticker -> how many calls are rate limited
        self.errors = errors or {}  # ticker -> error text yfinance would log
        self.absent = set(absent)  # tickers left out of the frame altogether
        self.tickers = tickers or {}
        self.download_calls: list[tuple[list[str], datetime.date, datetime.date]] = []
        self.ticker_calls: list[str] = []

    def download(self, tickers, start, end):
        self.download_calls.append((list(tickers), start, end))
        per_ticker, failed = {}, {}
        for ticker in tickers:
            symbol = ticker.upper()
            if symbol in self.absent:
                continue
            if self.rate_limited.get(symbol, 0) > 0:
                self.rate_limited[symbol] -= 1
                per_ticker[symbol], failed[symbol] = empty_history(), RATE_LIMITED
                continue
            if symbol in self.errors:
                per_ticker[symbol], failed[symbol] = empty_history(), self.errors[symbol]
                continue
            frame = self.histories.get(symbol, empty_history())
            dates = frame.index.date if len(frame) else np.array([], dtype=object)
            frame = frame[(dates >= start) & (dates < end)] if len(frame) else frame
            if frame.empty:
                failed[symbol] = f"possibly delisted; no price data found  (1d {start} -> {end})"
            per_ticker[symbol] = frame
        if failed:
            log_failed_downloads(failed)
        return download_frame(per_ticker)

    def ticker(self, symbol):
        self.ticker_calls.append(symbol)
        return self.tickers.get(symbol, FakeTicker())
