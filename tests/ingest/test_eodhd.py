"""Tests of ingest.sources.eodhd with a fake HTTP GET answering in EODHD's documented JSON shape."""

from __future__ import annotations

import datetime
import gzip
import io
import json
import traceback
import urllib.error
import urllib.parse

import numpy as np
import pytest

from ingest.frames import SENTIMENT_COLUMNS
from ingest.sources.eodhd import SentimentSourceError, fetch_eodhd_sentiment, read_sentiment_file

KEY = "s3cr3t-eodhd-token"
D = datetime.date

# GET /api/sentiments?s=...: an object keyed by EODHD symbol, each a list of days.
EODHD_DAYS = {
    "AAPL.US": [
        {"date": "2024-01-03", "count": 11, "normalized": 0.5},
        {"date": "2024-01-02", "count": 4, "normalized": -0.2},
    ],
    "MSFT.US": [{"date": "2024-01-02", "count": 7, "normalized": 0.91}],
    "VOD.LSE": [{"date": "2024-01-02", "count": 2, "normalized": 0.1}],
}


class FakeEodhd:
    """Answers each URL with the requested symbols' days; the first `rate_limits` calls get HTTP 429."""

    def __init__(self, rate_limits: int = 0, status: int | None = None):
        self.rate_limits = rate_limits
        self.status = status
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        if self.status is not None:
            raise urllib.error.HTTPError(url, self.status, "Unauthorized", {}, io.BytesIO(b""))
        if self.rate_limits > 0:
            self.rate_limits -= 1
            raise urllib.error.HTTPError(url, 429, "Too Many Requests", {}, io.BytesIO(b""))
        symbols = self.params(len(self.urls) - 1)["s"].split(",")
        return json.dumps({symbol: EODHD_DAYS.get(symbol, []) for symbol in symbols}).encode()

    def params(self, call: int) -> dict[str, str]:
        query = urllib.parse.urlparse(self.urls[call]).query
        return dict(urllib.parse.parse_qsl(query))


def fetch(tickers, http_get, **kwargs):
    kwargs.setdefault("api_key", KEY)
    return fetch_eodhd_sentiment(tickers, start=D(2024, 1, 1), end=D(2024, 1, 31), http_get=http_get, **kwargs)


def test_api_rows_map_symbols_and_fields():
    http_get = FakeEodhd()

    frame = fetch(["AAPL", "MSFT", "VOD.LSE"], http_get, chunk_size=2)

    assert len(http_get.urls) == 2
    first = http_get.params(0)
    assert first["s"] == "AAPL.US,MSFT.US"
    assert (first["from"], first["to"], first["fmt"], first["api_token"]) == (
        "2024-01-01",
        "2024-01-31",
        "json",
        KEY,
    )
    assert http_get.params(1)["s"] == "VOD.LSE"  # a symbol with an exchange is sent as it is
    assert list(frame.columns) == list(SENTIMENT_COLUMNS)
    assert frame["ticker"].tolist() == ["AAPL", "AAPL", "MSFT", "VOD.LSE"]
    assert frame["trade_date"].tolist() == ["2024-01-03", "2024-01-02", "2024-01-02", "2024-01-02"]
    assert frame["sentiment_score"].tolist() == [0.5, -0.2, 0.91, 0.1]
    assert frame["article_count"].tolist() == [11, 4, 7, 2]
    assert set(frame["source_file"]) == {"eodhd:sentiments"}
    assert frame["line_number"].tolist() == [1, 2, 3, 4]


def test_ticker_without_sentiment_gives_no_rows():
    frame = fetch(["ZZZZ"], FakeEodhd())

    assert frame.empty
    assert list(frame.columns) == list(SENTIMENT_COLUMNS)


def test_http_429_is_retried_with_exponential_backoff():
    http_get = FakeEodhd(rate_limits=2)
    sleeps: list[float] = []

    frame = fetch(["MSFT"], http_get, sleep=sleeps.append, backoff_seconds=2.0)

    assert sleeps == [2.0, 4.0]
    assert len(http_get.urls) == 3
    assert frame["sentiment_score"].tolist() == [0.91]


def test_http_429_that_never_clears_raises_without_the_key():
    sleeps: list[float] = []

    with pytest.raises(SentimentSourceError, match="rate limiting") as caught:
        fetch(["MSFT"], FakeEodhd(rate_limits=100), sleep=sleeps.append, max_retries=3, backoff_seconds=1.0)

    assert sleeps == [1.0, 2.0, 4.0]
    assert KEY not in str(caught.value)


@pytest.mark.parametrize("status", [401, 403])
def test_refused_key_is_reported_without_the_key(status):
    with pytest.raises(SentimentSourceError, match="refused the API key") as caught:
        fetch(["AAPL"], FakeEodhd(status=status))

    assert f"HTTP {status}" in str(caught.value)
    assert KEY not in str(caught.value)
    # The HTTPError carries the URL, hence the key: it must not be chained into the traceback.
    assert KEY not in "".join(traceback.format_exception(caught.value))


def test_network_error_naming_the_url_is_scrubbed():
    def unreachable(url: str) -> bytes:
        raise urllib.error.URLError(f"timed out fetching {url}")

    with pytest.raises(SentimentSourceError, match="Could not reach EODHD") as caught:
        fetch(["AAPL"], unreachable)

    assert KEY not in str(caught.value)
    assert "***" in str(caught.value)
    assert KEY not in "".join(traceback.format_exception(caught.value))


def test_response_that_is_not_json_is_an_error():
    with pytest.raises(SentimentSourceError, match="not JSON"):
        fetch(["AAPL"], lambda url: b"<html>Service Unavailable</html>")


def test_error_object_instead_of_days_is_an_error():
    with pytest.raises(SentimentSourceError, match="list of days"):
        fetch(["AAPL"], lambda url: json.dumps({"AAPL.US": {"error": "no access"}}).encode())


def test_missing_api_key_says_what_to_do(monkeypatch):
    monkeypatch.delenv("EODHD_API_KEY", raising=False)

    with pytest.raises(SentimentSourceError) as caught:
        fetch(["AAPL"], FakeEodhd(), api_key=None)

    assert str(caught.value) == (
        "No EODHD API key: set EODHD_API_KEY or pass --file to load sentiment from a CSV file."
    )


def test_api_key_defaults_to_the_environment(monkeypatch):
    monkeypatch.setenv("EODHD_API_KEY", "from-env")
    http_get = FakeEodhd()

    fetch(["AAPL"], http_get, api_key=None)

    assert http_get.params(0)["api_token"] == "from-env"


# --- files ------------------------------------------------------------------------------------------


def test_file_columns_are_matched_case_insensitively(tmp_path):
    path = tmp_path / "sentiment.csv"
    path.write_text("Symbol,DATE,Normalized,News_Count\nAAPL.US,2024-01-02,0.5,11\n\nMSFT,2024-01-02,not-a-number,\n")

    frame = read_sentiment_file(path)

    assert list(frame.columns) == list(SENTIMENT_COLUMNS)
    assert frame["ticker"].tolist() == ["AAPL", "MSFT"]
    assert frame["trade_date"].tolist() == ["2024-01-02", "2024-01-02"]
    # Values stay as read: the loader casts and quarantines.
    assert frame["sentiment_score"].tolist() == ["0.5", "not-a-number"]
    assert frame["article_count"].iloc[0] == "11"
    assert np.isnan(frame["article_count"].iloc[1])
    # Header is line 1; the blank line 3 is skipped but still counted.
    assert frame["line_number"].tolist() == [2, 4]
    assert set(frame["source_file"]) == {str(path)}


def test_gzip_file_without_count_column(tmp_path):
    path = tmp_path / "sentiment.csv.gz"
    path.write_bytes(gzip.compress(b"ticker,trade_date,sentiment_score\nAAPL,2024-01-02,0.25\n"))

    frame = read_sentiment_file(str(path))

    assert frame["sentiment_score"].tolist() == ["0.25"]
    assert np.isnan(frame["article_count"].iloc[0])
    assert frame["source_file"].tolist() == [str(path)]


def test_file_missing_required_columns_names_them_and_the_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("ticker,count\nAAPL,3\n")

    with pytest.raises(SentimentSourceError) as caught:
        read_sentiment_file(path)

    message = str(caught.value)
    assert str(path) in message
    assert "trade_date" in message and "sentiment_score" in message
    assert "ticker (" not in message  # present columns are not reported missing


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")

    with pytest.raises(SentimentSourceError, match="empty"):
        read_sentiment_file(path)
