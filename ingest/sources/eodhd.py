"""Daily news sentiment from EODHD's sentiment API, or from a CSV file in the same spirit.

`fetch_eodhd_sentiment` calls ``GET https://eodhd.com/api/sentiments?s=AAPL.US,MSFT.US&from=...&to=...``,
which answers ``{"AAPL.US": [{"date": "2022-04-22", "count": 11, "normalized": 0.5}, ...], ...}``:
`normalized` is the day's sentiment in [-1, 1] and `count` the number of articles behind it.
`read_sentiment_file` reads the same data from a CSV, for users without an API key.

Both return frames with `ingest.frames.SENTIMENT_COLUMNS` and write nothing. The API key travels in the
query string (EODHD's design), so it is never logged and never put in an error message.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import io
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ingest.errors import SourceError
from ingest.frames import SENTIMENT_COLUMNS, empty_frame

API_URL = "https://eodhd.com/api/sentiments"
API_KEY_ENV_VAR = "EODHD_API_KEY"
API_SOURCE = "eodhd:sentiments"
HTTP_TIMEOUT_SECONDS = 30

# EODHD writes US listings as 'AAPL.US'; the warehouse uses the bare symbol.
_US_SUFFIX = ".US"

# Accepted file header names (compared lower-case), in order of preference.
_FILE_COLUMNS = {
    "ticker": ("ticker", "symbol"),
    "trade_date": ("date", "trade_date"),
    "sentiment_score": ("sentiment", "normalized", "sentiment_score", "score"),
    "article_count": ("count", "article_count", "news_count"),
}
_OPTIONAL_FILE_COLUMNS = {"article_count"}


class SentimentSourceError(SourceError):
    """A sentiment source cannot be read: no or refused API key, bad response, unusable file."""


def fetch_eodhd_sentiment(
    tickers: list[str],
    *,
    start: datetime.date,
    end: datetime.date,
    api_key: str | None = None,
    chunk_size: int = 20,
    http_get: Callable[[str], bytes] | None = None,
    max_retries: int = 5,
    backoff_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> pd.DataFrame:
    """Daily sentiment of `tickers` from `start` to `end` (both inclusive) from EODHD.

    Parameters
    ----------
    tickers
        Warehouse symbols. A symbol without a dot is asked for as 'SYMBOL.US'; one with a dot is sent
        as it is. Rows come back under the symbol as given.
    start, end
        Date range, inclusive.
    api_key
        EODHD API token; default the environment variable EODHD_API_KEY.
    chunk_size
        Symbols per request.
    http_get
        Fetches a URL and returns the body; raises `urllib.error.HTTPError` on an HTTP error status.
        Default: urllib with a 30 s timeout.
    max_retries, backoff_seconds, sleep
        An HTTP 429 is retried up to `max_retries` times, waiting ``backoff_seconds * 2**attempt``
        seconds (attempt = 0, 1, ...) through `sleep`.

    Returns
    -------
    pandas.DataFrame
        SENTIMENT_COLUMNS; `sentiment_score` = normalized, `article_count` = count, values as EODHD sent
        them; source_file 'eodhd:sentiments', line_number 1..n in response order.

    Raises
    ------
    SentimentSourceError
        No API key, key refused (401/403), quota or plan exhausted (402), still rate limited after the
        retries, other HTTP or network failure, or a response that is not the documented JSON.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}.")
    if start > end:
        raise ValueError(f"start {start} is after end {end}: pass a start on or before the end date.")
    key = api_key or os.environ.get(API_KEY_ENV_VAR)
    if not key:
        raise SentimentSourceError(
            "No EODHD API key: set EODHD_API_KEY or pass --file to load sentiment from a CSV file."
        )
    get = http_get or _urllib_get

    requested = list(dict.fromkeys(tickers))
    rows: list[dict[str, Any]] = []
    for offset in range(0, len(requested), chunk_size):
        chunk = requested[offset : offset + chunk_size]
        symbols = {_to_eodhd(ticker).upper(): ticker for ticker in chunk}
        query = urllib.parse.urlencode(
            {
                "s": ",".join(_to_eodhd(ticker) for ticker in chunk),
                "from": start.isoformat(),
                "to": end.isoformat(),
                "api_token": key,
                "fmt": "json",
            },
            safe=",",
        )
        body = _get_with_retry(get, f"{API_URL}?{query}", key, max_retries, backoff_seconds, sleep)
        rows.extend(_parse_response(body, symbols, key))

    if not rows:
        return empty_frame("sentiment")
    frame = pd.DataFrame(rows)
    frame["source_file"] = API_SOURCE
    frame["line_number"] = range(1, len(frame) + 1)
    return frame.loc[:, list(SENTIMENT_COLUMNS)]


def _to_eodhd(ticker: str) -> str:
    return ticker if "." in ticker else f"{ticker}{_US_SUFFIX}"


def _from_eodhd(symbol: str) -> str:
    return symbol[: -len(_US_SUFFIX)] if symbol.upper().endswith(_US_SUFFIX) else symbol


def _urllib_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_SECONDS) as response:
        return response.read()


def _scrub(text: str, key: str) -> str:
    return text.replace(key, "***")


def _get_with_retry(
    get: Callable[[str], bytes],
    url: str,
    key: str,
    max_retries: int,
    backoff_seconds: float,
    sleep: Callable[[float], None],
) -> bytes:
    attempt = 0
    while True:
        try:
            return get(url)
        except urllib.error.HTTPError as error:
            status = error.code
            if status == 429 and attempt < max_retries:
                sleep(backoff_seconds * 2**attempt)
                attempt += 1
                continue
            message = _http_error_message(status, max_retries)
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            message = (
                f"Could not reach EODHD ({_scrub(str(error), key)}). "
                "Check the network, or pass --file to load sentiment from a CSV file."
            )
        # Raised outside the except clauses and `from None`: the original exception carries the URL,
        # and with it the key, so it must not be chained into the traceback.
        raise SentimentSourceError(message) from None


def _http_error_message(status: int, max_retries: int) -> str:
    if status in (401, 403):
        return (
            f"EODHD refused the API key (HTTP {status}): check EODHD_API_KEY and that your plan "
            "includes the sentiment API."
        )
    if status == 402:
        return "EODHD says the API quota or plan is exhausted (HTTP 402): wait for the daily reset or upgrade."
    if status == 429:
        return (
            f"EODHD is still rate limiting (HTTP 429) after {max_retries} retries: run again later "
            "or with fewer tickers."
        )
    return f"EODHD answered HTTP {status}: try again later, or pass --file to load sentiment from a CSV file."


def _parse_response(body: bytes, symbols: dict[str, str], key: str) -> list[dict[str, Any]]:
    try:
        payload = json.loads(body)
    except ValueError:
        snippet = _scrub(body[:200].decode("utf-8", errors="replace"), key)
        raise SentimentSourceError(f"EODHD sent a response that is not JSON: {snippet!r}") from None
    if not isinstance(payload, dict):
        raise SentimentSourceError(f"EODHD sent {type(payload).__name__} where an object keyed by symbol was expected.")
    rows = []
    for symbol, records in payload.items():
        if not isinstance(records, list):
            raise SentimentSourceError(
                f"EODHD sent {type(records).__name__} for {symbol} where a list of days was expected: "
                f"{_scrub(str(records)[:200], key)}"
            )
        ticker = symbols.get(str(symbol).upper(), _from_eodhd(str(symbol)))
        for record in records:
            record = record if isinstance(record, dict) else {}
            rows.append(
                {
                    "ticker": ticker,
                    "trade_date": record.get("date"),
                    "sentiment_score": record.get("normalized"),
                    "article_count": record.get("count"),
                }
            )
    return rows


def read_sentiment_file(path: str | Path) -> pd.DataFrame:
    """Read daily sentiment from a CSV file (gzip-compressed is fine).

    Header names are matched case-insensitively: ticker or symbol; date or trade_date; sentiment,
    normalized, sentiment_score or score; and optionally count, article_count or news_count (absent:
    NaN). EODHD symbols such as 'AAPL.US' become 'AAPL'. Values are kept as the strings read (an empty
    cell is NaN); the loader casts them and quarantines what does not parse.

    Returns
    -------
    pandas.DataFrame
        SENTIMENT_COLUMNS; source_file is `path` as given, line_number the row's line in the file
        (the header is line 1).

    Raises
    ------
    SentimentSourceError
        The file cannot be read, is empty, or lacks a required column.
    """
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise SentimentSourceError(f"Cannot read sentiment file {source}: {error.strerror or error}.") from error
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8-sig")
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise SentimentSourceError(
            f"Cannot read sentiment file {source}: {error}. Expected UTF-8 CSV text, optionally gzip-compressed."
        ) from error
    # The csv module rather than pandas: it reports each record's line in the file, including after
    # blank lines and quoted line breaks, which is what a quarantined row must point back to.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header:
            raise SentimentSourceError(f"Sentiment file {source} is empty: expected a header line.")
        positions = _match_columns(header, source)
        rows = []
        previous_end = reader.line_num
        for record in reader:
            line_number = previous_end + 1
            previous_end = reader.line_num
            if not record:
                continue  # a blank line is not a record
            values: dict[str, Any] = {}
            for column in _FILE_COLUMNS:
                position = positions.get(column)
                value = record[position] if position is not None and position < len(record) else ""
                values[column] = value if value != "" else float("nan")
            if isinstance(values["ticker"], str):
                values["ticker"] = _from_eodhd(values["ticker"])
            values["source_file"] = source
            values["line_number"] = line_number
            rows.append(values)
    except csv.Error as error:
        raise SentimentSourceError(
            f"Sentiment file {source} is not valid CSV near line {reader.line_num}: {error}."
        ) from error
    if not rows:
        return empty_frame("sentiment")
    return pd.DataFrame(rows).loc[:, list(SENTIMENT_COLUMNS)]


def _match_columns(header: list[str], source: str) -> dict[str, int]:
    names = [name.strip().lower() for name in header]
    positions: dict[str, int] = {}
    missing = []
    for column, accepted in _FILE_COLUMNS.items():
        position = next((names.index(name) for name in accepted if name in names), None)
        if position is not None:
            positions[column] = position
        elif column not in _OPTIONAL_FILE_COLUMNS:
            missing.append(f"{column} ({' or '.join(accepted)})")
    if missing:
        raise SentimentSourceError(
            f"Sentiment file {source} is missing required column(s): {', '.join(missing)} "
            f"(found: {', '.join(header) or 'none'})."
        )
    return positions
