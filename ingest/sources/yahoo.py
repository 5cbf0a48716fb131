"""Daily prices and corporate events from Yahoo Finance, through yfinance.

`fetch_yahoo` returns frames shaped as in `ingest.frames` and writes nothing. All network access goes
through a `YahooClient` (two calls: `yfinance.download` for bars, `yfinance.Ticker` for events), so tests
replace that one object with a fake returning frames in yfinance's shapes.

Rate limiting: yfinance does not retry HTTP 429. `download()` catches each ticker's exception and only
logs it (a "Failed download" summary on the 'yfinance' logger), while `Ticker` methods raise
`YFRateLimitError`. Both are detected here and retried with exponential backoff; what still fails is
reported in `YahooFetch.failed_tickers` / `YahooFetch.event_errors` rather than raised, so one bad
ticker does not cost the rest of the run.
"""

from __future__ import annotations

import ast
import contextlib
import datetime
import logging
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import yfinance
from pandas.tseries.holiday import USFederalHolidayCalendar
from yfinance.exceptions import YFRateLimitError

from ingest.errors import SourceError
from ingest.frames import ANALYST_COLUMNS, EARNINGS_COLUMNS, INSIDER_COLUMNS, PRICE_COLUMNS, empty_frame

PRICES_SOURCE = "yfinance:download"
EARNINGS_SOURCE = "yfinance:earnings_dates"
ANALYST_SOURCE = "yfinance:upgrades_downgrades"
INSIDER_SOURCE = "yfinance:insider_transactions"

#: The text of `yfinance.exceptions.YFRateLimitError`, as it appears in yfinance's log lines.
RATE_LIMIT_MESSAGE = "Too Many Requests. Rate limited"

#: History fetched for a ticker that has nothing stored yet.
DEFAULT_HISTORY_YEARS = 10

#: Rows asked of `Ticker.get_earnings_dates`; Yahoo caps it at 100 (about 25 years of quarters).
EARNINGS_LIMIT = 100

# Our price column -> yfinance's 'Price' level name (auto_adjust=False keeps both closes).
_PRICE_FIELDS = {
    "open": "Open",
    "high": "High",
    "low": "Low",
    "close": "Close",
    "adj_close": "Adj Close",
    "volume": "Volume",
}

# Yahoo's upgradeDowngradeHistory 'action' codes -> the vocabulary of ANALYST_COLUMNS.
_ACTIONS = {
    "up": "upgrade",
    "down": "downgrade",
    "init": "init",
    "main": "maintain",
    "reit": "reiterate",
}

# yfinance raises YFDataException with this text when a ticker simply has no rating history:
# an empty result, not a failure.
_NO_ANALYST_HISTORY = "No upgrade/downgrade history found"

# A "Failed download" line: "['AAPL', 'MSFT']: <error>" (multi.py groups tickers by error text).
_FAILED_LINE = re.compile(r"^(\[[^\]]*\]):\s(.*)$", re.DOTALL)

# multi.py records a raised exception as repr(e) ("ConnectionError('...')") and yfinance's own
# "no data" outcomes as a plain sentence ("possibly delisted; no price data found ..."); only the
# former is kept as a failure.
_EXCEPTION_REPR = re.compile(r"^[A-Za-z_][\w.]*\(.*\)$", re.DOTALL)

_FORM4_DEADLINE = pd.offsets.CustomBusinessDay(2, calendar=USFederalHolidayCalendar())

_BUY = re.compile(r"\b(purchase|buy)", re.IGNORECASE)
_SELL = re.compile(r"\b(sale|sell)", re.IGNORECASE)


class YahooError(SourceError):
    """Yahoo or yfinance failed in a way that retrying or skipping a ticker does not cover."""


@dataclass
class YahooFetch:
    """What one `fetch_yahoo` run got back.

    Attributes
    ----------
    prices, earnings, analyst_actions, insider_trades
        Frames with the columns of `ingest.frames` (PRICE_COLUMNS, EARNINGS_COLUMNS, ...).
    empty_tickers
        Requested tickers that came back with no rows (delisted, wrong symbol, nothing new): reported,
        not an error.
    failed_tickers
        Ticker -> the last error after retries ran out (rate limiting), or the exception yfinance
        caught for it. A ticker here has no price rows from this run.
    requests_made
        Calls made to the client (one per download chunk attempt, one per event call attempt).
    retries
        How many of those calls were repeats after a rate limit.
    event_errors
        Ticker -> why some or all of its events are missing; its prices are kept.
    """

    prices: pd.DataFrame
    earnings: pd.DataFrame
    analyst_actions: pd.DataFrame
    insider_trades: pd.DataFrame
    empty_tickers: list[str]
    failed_tickers: dict[str, str]
    requests_made: int
    retries: int
    event_errors: dict[str, str] = field(default_factory=dict)


class YahooClient:
    """The two places this module calls into yfinance; tests pass a fake with the same methods.

    Parameters
    ----------
    timeout
        Seconds yfinance waits for each HTTP response.
    """

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout

    def download(self, tickers: list[str], start: datetime.date, end: datetime.date) -> pd.DataFrame:
        """Daily bars of `tickers` from `start` (inclusive) to `end` (exclusive, as yfinance has it).

        Returns yfinance's frame unchanged: columns MultiIndex (Ticker, Price), Price in Open, High, Low,
        Close, Adj Close, Volume; index a tz-naive DatetimeIndex named 'Date', the union of all tickers'
        dates; a ticker without data has all-NaN columns. Per-ticker errors are logged by yfinance,
        not raised.
        """
        with warnings.catch_warnings():
            # yfinance 1.7 triggers pandas deprecation warnings on every call; they are its business.
            warnings.filterwarnings("ignore", module=r"yfinance(\.|$)")
            frame = yfinance.download(
                tickers,
                start=start.isoformat(),
                end=end.isoformat(),
                group_by="ticker",
                auto_adjust=False,
                actions=False,
                threads=True,
                progress=False,
                multi_level_index=True,
                timeout=self.timeout,
            )
        return frame if frame is not None else pd.DataFrame()

    def ticker(self, symbol: str) -> Any:
        """A `yfinance.Ticker`: `.get_earnings_dates(limit=...)`, `.upgrades_downgrades`,
        `.insider_transactions`. Creating it makes no request."""
        return yfinance.Ticker(symbol)


@dataclass
class _Counters:
    requests: int = 0
    retries: int = 0


class _RateLimitExhausted(Exception):
    """Still rate limited after `max_retries` retries."""


def fetch_yahoo(
    tickers: list[str],
    *,
    last_dates: dict[str, datetime.date] | None = None,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    chunk_size: int = 50,
    include_events: bool = True,
    skip_events: set[str] | None = None,
    max_retries: int = 5,
    backoff_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str, int, int], None] | None = None,
    client: YahooClient | None = None,
) -> YahooFetch:
    """Download daily bars (and, optionally, earnings, analyst actions and insider trades) from Yahoo.

    Parameters
    ----------
    tickers
        Yahoo symbols. Duplicates are fetched once.
    last_dates
        Ticker -> last trade date already stored. Such a ticker is fetched from that date, inclusive,
        so that a bar Yahoo revised since (the last day is often a partial, intraday bar) replaces the
        stored one. Tickers with the same start share download calls. A ticker whose last date is
        after `end` is up to date and not requested.
    start
        First date for tickers not in `last_dates`; default `end` minus 10 years.
    end
        Last date wanted, inclusive; default today.
    chunk_size
        Tickers per `download` call.
    include_events
        Also fetch events for every ticker that got prices, except indices, crypto and futures
        (symbols starting with '^' or containing '-' or '=') and those in `skip_events`.
    max_retries, backoff_seconds, sleep
        A rate-limited call is retried up to `max_retries` times, waiting
        ``backoff_seconds * 2**attempt`` seconds (attempt = 0, 1, ...) through `sleep`.
    progress
        Called as ``progress(stage, done, total)`` after each price chunk (stage 'prices') and after
        each ticker's events (stage 'events').
    client
        The yfinance boundary; default a `YahooClient`.

    Returns
    -------
    YahooFetch
        The frames, plus what came back empty or failed. Bad values are passed through for the loader
        to quarantine; no row is invented.

    Raises
    ------
    ValueError
        For arguments that cannot work (start after end, chunk_size < 1, max_retries < 0).
    YahooError
        When a whole download call fails outside yfinance's per-ticker error handling.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}.")
    if max_retries < 0:
        raise ValueError(f"max_retries must be 0 or more, got {max_retries}.")
    end = end or datetime.date.today()
    start = start or _years_before(end, DEFAULT_HISTORY_YEARS)
    if start > end:
        raise ValueError(f"start {start} is after end {end}: pass a start on or before the end date.")
    client = client or YahooClient()
    counters = _Counters()
    retry = _Retry(max_retries=max_retries, backoff_seconds=backoff_seconds, sleep=sleep, counters=counters)

    requested = list(dict.fromkeys(tickers))
    chunks = _plan_chunks(requested, last_dates or {}, start, end, chunk_size)
    # yfinance's end is exclusive; ours is inclusive.
    end_exclusive = end + datetime.timedelta(days=1)

    bars: dict[str, pd.DataFrame] = {}
    empty: set[str] = set()
    failed: dict[str, str] = {}
    for done, (chunk_start, chunk) in enumerate(chunks, start=1):
        _fetch_chunk(client, chunk, chunk_start, end_exclusive, retry, bars, empty, failed)
        if progress is not None:
            progress("prices", done, len(chunks))

    prices = _prices_frame([(ticker, bars[ticker]) for ticker in requested if ticker in bars])
    events: dict[str, list[dict[str, Any]]] = {"earnings": [], "analyst": [], "insider": []}
    event_errors: dict[str, str] = {}
    if include_events:
        skip = set(skip_events or ())
        event_tickers = [t for t in requested if t in bars and t not in skip and not _is_non_equity(t)]
        gave_up = False
        for done, ticker in enumerate(event_tickers, start=1):
            if gave_up:
                # Once Yahoo kept refusing through every retry, each further ticker would only wait
                # out the same backoff; report them instead.
                event_errors[ticker] = "not fetched: Yahoo was still rate limiting; run again later."
            else:
                gave_up = _fetch_events(client, ticker, retry, events, event_errors)
            if progress is not None:
                progress("events", done, len(event_tickers))

    return YahooFetch(
        prices=prices,
        earnings=_frame(events["earnings"], EARNINGS_COLUMNS, "earnings"),
        analyst_actions=_frame(events["analyst"], ANALYST_COLUMNS, "analyst_actions"),
        insider_trades=_frame(events["insider"], INSIDER_COLUMNS, "insider_trades"),
        empty_tickers=[ticker for ticker in requested if ticker in empty],
        failed_tickers={ticker: failed[ticker] for ticker in requested if ticker in failed},
        requests_made=counters.requests,
        retries=counters.retries,
        event_errors=event_errors,
    )


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _plan_chunks(
    tickers: list[str],
    last_dates: dict[str, datetime.date],
    start: datetime.date,
    end: datetime.date,
    chunk_size: int,
) -> list[tuple[datetime.date, list[str]]]:
    """Group tickers by their start date, then cut each group into chunks of `chunk_size`."""
    groups: dict[datetime.date, list[str]] = {}
    for ticker in tickers:
        first = last_dates.get(ticker, start)
        if isinstance(first, datetime.datetime):
            first = first.date()
        if first > end:
            continue
        groups.setdefault(first, []).append(ticker)
    return [
        (first, groups[first][offset : offset + chunk_size])
        for first in sorted(groups)
        for offset in range(0, len(groups[first]), chunk_size)
    ]


@dataclass
class _Retry:
    max_retries: int
    backoff_seconds: float
    sleep: Callable[[float], None]
    counters: _Counters

    def wait(self, attempt: int) -> None:
        self.sleep(self.backoff_seconds * 2**attempt)
        self.counters.retries += 1

    def call(self, function: Callable[[], Any]) -> Any:
        """Call `function`, retrying on rate limits; raise `_RateLimitExhausted` when they run out."""
        attempt = 0
        while True:
            self.counters.requests += 1
            try:
                return function()
            except Exception as error:
                if not _is_rate_limit(error):
                    raise
                if attempt >= self.max_retries:
                    raise _RateLimitExhausted(
                        f"rate limited by Yahoo (Too Many Requests) after {self.max_retries} retries; run again later."
                    ) from error
                self.wait(attempt)
                attempt += 1


def _is_rate_limit(error: BaseException | str) -> bool:
    if isinstance(error, YFRateLimitError):
        return True
    text = str(error)
    return RATE_LIMIT_MESSAGE in text or "YFRateLimitError" in text


def _fetch_chunk(
    client: YahooClient,
    chunk: list[str],
    chunk_start: datetime.date,
    end_exclusive: datetime.date,
    retry: _Retry,
    bars: dict[str, pd.DataFrame],
    empty: set[str],
    failed: dict[str, str],
) -> None:
    """Download one chunk, re-asking only for the tickers that were rate limited."""
    pending = list(chunk)
    attempt = 0
    while pending:
        retry.counters.requests += 1
        frame, errors, unattributed_rate_limit = _download_once(client, pending, chunk_start, end_exclusive)
        limited: dict[str, str] = {}
        for ticker in pending:
            ticker_bars = _ticker_bars(frame, ticker, only_ticker=len(pending) == 1)
            if ticker_bars is not None:
                bars[ticker] = ticker_bars
                continue
            error = errors.get(ticker.upper())
            if (error is not None and _is_rate_limit(error)) or (error is None and unattributed_rate_limit):
                limited[ticker] = error or RATE_LIMIT_MESSAGE
                continue
            empty.add(ticker)
            if error is not None and _EXCEPTION_REPR.match(error):
                failed[ticker] = error
        if not limited:
            return
        if attempt >= retry.max_retries:
            for ticker, error in limited.items():
                failed[ticker] = (
                    f"rate limited by Yahoo (Too Many Requests) after {retry.max_retries} retries; "
                    f"run again later or lower chunk_size. Last error: {error}"
                )
            return
        retry.wait(attempt)
        attempt += 1
        pending = list(limited)


def _download_once(
    client: YahooClient, tickers: list[str], start: datetime.date, end_exclusive: datetime.date
) -> tuple[pd.DataFrame, dict[str, str], bool]:
    """One download call: the frame, upper-case ticker -> error text yfinance logged, and whether a
    rate-limit message was logged that could not be tied to tickers."""
    with _capture_yfinance_errors() as log:
        try:
            frame = client.download(tickers, start, end_exclusive)
        except YFRateLimitError as error:
            return pd.DataFrame(), {ticker.upper(): repr(error) for ticker in tickers}, False
        except Exception as error:
            raise YahooError(
                f"yfinance.download failed for {len(tickers)} ticker(s) starting {tickers[0]} "
                f"({start} to {end_exclusive}): {error!r}. Check the network and the yfinance version, "
                "or run again with fewer tickers."
            ) from error
    errors, unattributed = _parse_failed_downloads(log.messages)
    return frame, errors, unattributed


class _FailedDownloadLog(logging.Handler):
    """Keeps the error lines yfinance logs from the calling thread during one download."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        # download() logs its "Failed download" summary from the caller's thread; other threads may be
        # running their own downloads at the same time.
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return
        try:
            self.messages.append(record.getMessage())
        except Exception:  # a malformed record must not break the download
            self.messages.append(str(record.msg))


@contextlib.contextmanager
def _capture_yfinance_errors() -> Iterator[_FailedDownloadLog]:
    logger = logging.getLogger("yfinance")
    handler = _FailedDownloadLog()
    level, propagate = logger.level, logger.propagate
    silenced = logger.getEffectiveLevel() > logging.ERROR
    if silenced:
        # A user who silenced yfinance would also blind the rate-limit check: let ERROR records reach
        # our handler, but not the user's handlers, which had asked not to see them.
        logger.setLevel(logging.ERROR)
        logger.propagate = False
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        if silenced:
            logger.setLevel(level)
            logger.propagate = propagate


def _parse_failed_downloads(messages: list[str]) -> tuple[dict[str, str], bool]:
    errors: dict[str, str] = {}
    unattributed_rate_limit = False
    for message in messages:
        match = _FAILED_LINE.match(message.strip())
        symbols: object = None
        if match:
            try:
                symbols = ast.literal_eval(match.group(1))
            except (ValueError, SyntaxError):
                symbols = None
        if match and isinstance(symbols, list):
            for symbol in symbols:
                errors[str(symbol).upper()] = match.group(2).strip()
        elif _is_rate_limit(message):
            unattributed_rate_limit = True
    return errors, unattributed_rate_limit


def _ticker_bars(frame: pd.DataFrame, ticker: str, *, only_ticker: bool) -> pd.DataFrame | None:
    """The rows Yahoo sent for `ticker`, or None when it sent none."""
    if frame is None or frame.shape[1] == 0:
        return None
    if isinstance(frame.columns, pd.MultiIndex):
        # yfinance upper-cases every symbol it is given.
        keys = {str(key).upper(): key for key in frame.columns.get_level_values(0).unique()}
        key = keys.get(ticker.upper())
        if key is None:
            return None
        ticker_frame = frame[key]
    elif only_ticker:
        ticker_frame = frame  # multi_level_index=False with one ticker: plain Price columns
    else:
        return None
    fields = [name for name in _PRICE_FIELDS.values() if name in ticker_frame.columns]
    if not fields:
        return None
    # yfinance aligns all tickers on the union of their dates and pads each ticker's missing days
    # with NaN in every field: those rows are alignment, not records Yahoo sent, so they go. A row
    # with only some fields NaN is a record and is kept for the loader to quarantine.
    ticker_frame = ticker_frame.dropna(how="all", subset=fields)
    return ticker_frame if len(ticker_frame) else None


def _prices_frame(per_ticker: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    if not per_ticker:
        return empty_frame("prices")
    parts = []
    for ticker, bars in per_ticker:
        dates = pd.DatetimeIndex(bars.index)
        part = pd.DataFrame({"ticker": [ticker] * len(bars), "trade_date": list(dates.date)})
        for column, name in _PRICE_FIELDS.items():
            part[column] = bars[name].to_numpy() if name in bars.columns else float("nan")
        parts.append(part)
    prices = pd.concat(parts, ignore_index=True)
    prices["source_file"] = PRICES_SOURCE
    prices["line_number"] = range(1, len(prices) + 1)
    return prices.loc[:, list(PRICE_COLUMNS)]


def _is_non_equity(ticker: str) -> bool:
    # '^VIX' (index), 'BTC-USD' (crypto), 'CL=F' / 'EURUSD=X' (futures, FX): Yahoo has no events for
    # them. Share classes written with a dash (BRK-B) fall here too: pass them explicitly if wanted.
    return ticker.startswith("^") or "-" in ticker or "=" in ticker


def _fetch_events(
    client: YahooClient,
    ticker: str,
    retry: _Retry,
    events: dict[str, list[dict[str, Any]]],
    event_errors: dict[str, str],
) -> bool:
    """Fetch one ticker's three event kinds into `events`; return True when rate limiting won."""
    handle = client.ticker(ticker)
    calls: list[tuple[str, Callable[[], Any], Callable[[str, Any], list[dict[str, Any]]]]] = [
        ("earnings", lambda: handle.get_earnings_dates(limit=EARNINGS_LIMIT), _earnings_rows),
        ("analyst", lambda: handle.upgrades_downgrades, _analyst_rows),
        ("insider", lambda: handle.insider_transactions, _insider_rows),
    ]
    problems: list[str] = []
    rate_limited = False
    for kind, call, parse in calls:
        try:
            raw = retry.call(call)
        except _RateLimitExhausted as error:
            problems.append(f"{kind}: {error}")
            rate_limited = True
            break
        except Exception as error:
            if kind == "analyst" and _NO_ANALYST_HISTORY in str(error):
                raw = None
            else:
                problems.append(f"{kind}: {type(error).__name__}: {error}")
                continue
        try:
            events[kind].extend(parse(ticker, raw))
        except YahooError as error:
            problems.append(f"{kind}: {error}")
    if problems:
        event_errors[ticker] = "; ".join(problems)
    return rate_limited


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise YahooError(
            f"yfinance {what} has no column(s) {', '.join(missing)} "
            f"(found: {', '.join(map(str, frame.columns))}); "
            "the yfinance version may have changed its output."
        )


def _is_empty(frame: Any) -> bool:
    return frame is None or not isinstance(frame, pd.DataFrame) or len(frame) == 0


def _announce_timing(when: pd.Timestamp) -> str:
    clock = when.time()
    if clock == datetime.time(0, 0):
        # Yahoo shows midnight when the company gave no time; calling that 'bmo' would make the
        # surprise usable a session too early.
        return "unknown"
    if clock >= datetime.time(16, 0):
        return "amc"
    if clock < datetime.time(9, 30):
        return "bmo"
    return "unknown"


def _earnings_rows(ticker: str, frame: Any) -> list[dict[str, Any]]:
    if _is_empty(frame):
        return []  # get_earnings_dates returns None when Yahoo has no table for the symbol
    if "Earnings Date" in frame.columns:
        frame = frame.set_index("Earnings Date")
    _require(frame, ["EPS Estimate", "Reported EPS"], "get_earnings_dates()")
    surprise = next((c for c in ("Surprise(%)", "Surprise (%)") if c in frame.columns), None)
    rows = []
    for when, record in zip(frame.index, frame.to_dict("records"), strict=True):
        if pd.isna(record["Reported EPS"]):
            continue  # a scheduled announcement: not an event yet
        when = pd.Timestamp(when)
        known = not pd.isna(when)
        rows.append(
            {
                "ticker": ticker,
                # The timestamp's own (exchange) time zone: the date the numbers were published there.
                "announce_date": when.date() if known else None,
                "announce_timing": _announce_timing(when) if known else "unknown",
                "eps_estimate": record["EPS Estimate"],
                "eps_actual": record["Reported EPS"],
                "surprise_pct": record[surprise] if surprise else float("nan"),
                "source_file": EARNINGS_SOURCE,
            }
        )
    return rows


def _analyst_rows(ticker: str, frame: Any) -> list[dict[str, Any]]:
    if _is_empty(frame):
        return []
    if "GradeDate" in frame.columns:
        frame = frame.set_index("GradeDate")
    _require(frame, ["Firm", "ToGrade", "FromGrade", "Action"], "upgrades_downgrades")
    rows = []
    for when, record in zip(frame.index, frame.to_dict("records"), strict=True):
        when = pd.Timestamp(when)
        action = record["Action"]
        if isinstance(action, str):
            # An unknown code is passed through unchanged for the loader to quarantine.
            action = _ACTIONS.get(action.strip().lower(), action)
        rows.append(
            {
                "ticker": ticker,
                # GradeDate is a UTC epoch: an evening (US) note lands on the next day, which is late,
                # never early, for point-in-time use.
                "action_date": None if pd.isna(when) else when.date(),
                "firm": record["Firm"],
                "action": action,
                "from_grade": record["FromGrade"],
                "to_grade": record["ToGrade"],
                "source_file": ANALYST_SOURCE,
            }
        )
    return rows


def _insider_transaction(text: Any, transaction: Any) -> str:
    words = " ".join(value for value in (text, transaction) if isinstance(value, str))
    buy, sell = bool(_BUY.search(words)), bool(_SELL.search(words))
    if buy and not sell:
        return "buy"
    if sell and not buy:
        return "sell"
    return "other"  # awards, gifts, option exercises, or text naming both


def _insider_rows(ticker: str, frame: Any) -> list[dict[str, Any]]:
    if _is_empty(frame):
        return []
    _require(frame, ["Start Date", "Insider", "Position", "Shares"], "insider_transactions")
    rows = []
    for record in frame.to_dict("records"):
        when = pd.Timestamp(record["Start Date"])
        known = not pd.isna(when)
        rows.append(
            {
                "ticker": ticker,
                "transaction_date": when.date() if known else None,
                # Yahoo gives only the transaction date. A Form 4 is due by the end of the second
                # business day after it (SEC, Exchange Act section 16(a)), so the trade is public by
                # then at the latest. SEC business days skip federal holidays.
                "announce_date": (when.normalize() + _FORM4_DEADLINE).date() if known else None,
                "insider": record["Insider"],
                "position": record["Position"],
                "transaction": _insider_transaction(record.get("Text"), record.get("Transaction")),
                "shares": record["Shares"],
                "value": record.get("Value", float("nan")),
                "source_file": INSIDER_SOURCE,
            }
        )
    return rows


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...], kind: str) -> pd.DataFrame:
    if not rows:
        return empty_frame(kind)
    frame = pd.DataFrame(rows)
    frame["line_number"] = range(1, len(frame) + 1)
    return frame.loc[:, list(columns)]
