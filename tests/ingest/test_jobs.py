"""Source jobs end to end into a real DuckDB file, with Yahoo and EODHD faked at their call boundary."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest
from helpers import run_job
from yahoo_fakes import FakeTicker, FakeYahoo, earnings_dates, history

from ingest import jobs
from ingest.errors import SourceError, UnknownTickerError

D = dt.date
DAYS = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"]


def count(db_path, sql: str):
    with duckdb.connect(str(db_path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_yahoo_prices_and_earnings_load_then_fetch_incrementally(db_path):
    aapl = FakeTicker(
        earnings=earnings_dates(
            [("2024-01-04 16:30", 2.0, 2.2, 10.0), ("2024-04-30 16:30", 2.1, float("nan"), float("nan"))]
        ),
        analyst=None,
        insider=None,
    )
    client = FakeYahoo({"AAPL": history(DAYS[:3]), "SPY": history(DAYS[:3], base=400)}, tickers={"AAPL": aapl})
    first = run_job(
        jobs.ingest_yahoo, db_path, tickers=["AAPL", "SPY"], start=D(2024, 1, 1), end=D(2024, 1, 4), client=client
    )
    assert first.rows_read == first.rows_loaded + first.rows_rejected
    assert count(db_path, "select ticker, count(*) from raw.prices group by 1 order by 1") == [
        ("AAPL", 3),
        ("SPY", 3),
    ]
    assert count(db_path, "select ticker, announce_date, announce_timing from raw.earnings") == [
        ("AAPL", D(2024, 1, 4), "amc")
    ]
    assert client.ticker_calls == ["AAPL"]  # no events for ETFs

    client.histories = {"AAPL": history(DAYS), "SPY": history(DAYS, base=400)}
    client.download_calls.clear()
    second = run_job(
        jobs.ingest_yahoo, db_path, tickers=["AAPL", "SPY"], end=D(2024, 1, 8), include_events=False, client=client
    )
    # Both tickers resume at their last stored date (2024-01-04), in one bulk call.
    assert client.download_calls == [(["AAPL", "SPY"], D(2024, 1, 4), D(2024, 1, 9))]
    prices = next(d for d in second.datasets if d.dataset == "prices")
    assert (prices.rows_inserted, prices.rows_unchanged) == (4, 2)


def test_yahoo_empty_ticker_is_reported_in_the_notes(db_path):
    client = FakeYahoo({"AAPL": history(DAYS)})
    summary = run_job(
        jobs.ingest_yahoo,
        db_path,
        tickers=["AAPL", "HOOD"],
        start=D(2024, 1, 1),
        end=D(2024, 1, 8),
        include_events=False,
        client=client,
    )
    assert any("no data for 1 ticker(s): HOOD" in note for note in summary.notes)


def test_a_yahoo_run_where_every_ticker_failed_is_a_failed_run(db_path):
    """An outage is not a quiet day: the job raises (the command exits 1 with that sentence) and the run is
    recorded as failed, with nothing loaded; a run where some tickers failed still loads the others."""
    errors = {"AAPL": "ConnectionError('Connection reset by peer')", "SPY": "ConnectionError('timed out')"}
    with pytest.raises(SourceError, match=r"no ticker returned data and 2 of 2 failed .* AAPL: ConnectionError"):
        run_job(jobs.ingest_yahoo, db_path, tickers=["AAPL", "SPY"], end=D(2024, 1, 8), client=FakeYahoo(errors=errors))
    assert count(db_path, "select status, rows_loaded from raw.ingest_runs") == [("failed", None)]
    assert count(db_path, "select count(*) from raw.prices") == [(0,)]

    summary = run_job(
        jobs.ingest_yahoo,
        db_path,
        tickers=["AAPL", "SPY"],
        end=D(2024, 1, 8),
        include_events=False,
        client=FakeYahoo({"SPY": history(DAYS)}, errors={"AAPL": errors["AAPL"]}),
    )
    assert summary.rows_loaded == 5 and any("failed after retries: AAPL" in note for note in summary.notes)


def test_unknown_ticker_is_refused_unless_allowed(db_path):
    with pytest.raises(UnknownTickerError, match="ZZZZ"):
        run_job(jobs.ingest_yahoo, db_path, tickers=["ZZZZ"], client=FakeYahoo())
    summary = run_job(
        jobs.ingest_yahoo,
        db_path,
        tickers=["ZZZZ"],
        allow_unknown=True,
        start=D(2024, 1, 1),
        end=D(2024, 1, 8),
        include_events=False,
        client=FakeYahoo({"ZZZZ": history(DAYS)}),
    )
    assert summary.rows_loaded == 5


def test_sentiment_from_a_file_and_from_the_api(db_path, tmp_path, monkeypatch):
    path = tmp_path / "sentiment.csv"
    path.write_text("ticker,date,sentiment,count\nAAPL.US,2024-01-02,0.4,3\nAAPL.US,2024-01-03,1.7,3\n")
    summary = run_job(jobs.ingest_sentiment, db_path, file=str(path))
    assert (summary.rows_read, summary.rows_loaded, summary.rows_rejected) == (2, 1, 1)

    monkeypatch.setenv("EODHD_API_KEY", "secret-key")
    body = {"MSFT.US": [{"date": "2024-01-02", "count": 5, "normalized": -0.2}]}
    urls: list[str] = []

    def http_get(url: str) -> bytes:
        urls.append(url)
        return json.dumps(body).encode()

    summary = run_job(
        jobs.ingest_sentiment, db_path, tickers=["MSFT"], start=D(2024, 1, 1), end=D(2024, 1, 5), http_get=http_get
    )
    assert summary.rows_loaded == 1 and "s=MSFT.US" in urls[0]
    assert count(db_path, "select ticker, sentiment_score from raw.sentiment order by 1") == [
        ("AAPL", 0.4),
        ("MSFT", -0.2),
    ]


def test_a_readjusted_history_triggers_a_full_refresh_of_that_ticker(db_path):
    client = FakeYahoo({"AAPL": history(DAYS[:3]), "SPY": history(DAYS[:3], base=400)})
    run_job(
        jobs.ingest_yahoo,
        db_path,
        tickers=["AAPL", "SPY"],
        start=D(2024, 1, 1),
        end=D(2024, 1, 4),
        include_events=False,
        client=client,
    )
    dividend = history(DAYS)
    dividend["Adj Close"] = dividend["Close"] * 0.97  # a new dividend rescales every earlier adjusted close
    client.histories = {"AAPL": dividend, "SPY": history(DAYS, base=400)}
    client.download_calls.clear()
    summary = run_job(
        jobs.ingest_yahoo,
        db_path,
        tickers=["AAPL", "SPY"],
        start=D(2024, 1, 1),
        end=D(2024, 1, 8),
        include_events=False,
        client=client,
    )
    assert client.download_calls[-1] == (["AAPL"], D(2024, 1, 1), D(2024, 1, 9))
    assert any("full refresh after a dividend or split: AAPL" in note for note in summary.notes)
    factors = count(db_path, "select distinct round(adj_close / close, 6) from raw.prices where ticker = 'AAPL'")
    assert factors == [(0.97,)]
    prices = next(d for d in summary.datasets if d.dataset == "prices")
    assert prices.rows_updated == 3  # AAPL's three stored days were re-adjusted
