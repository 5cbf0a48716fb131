"""Tests of ingest.sources.yahoo against fakes shaped like yfinance 1.7's output.

The fake client stands in for the two yfinance calls (`download`, `Ticker`). Its frames are built the
way yfinance builds them (multi.py: per-ticker frames aligned on the union of dates, a failed ticker as
`utils.empty_df()`, concatenated under a (Ticker, Price) MultiIndex; errors logged as "Failed download"
lines on the 'yfinance' logger). One test runs the real `yfinance.download` with only `Ticker.history`
faked, to pin down that the log format the rate-limit detection reads is the one yfinance writes.
"""

from __future__ import annotations

import datetime
import logging

import numpy as np
import pandas as pd
import pytest
import yfinance
import yfinance.multi
from yahoo_fakes import (
    FakeTicker,
    FakeYahoo,
    earnings_dates,
    empty_history,
    epoch,
    history,
    insider_transactions,
    upgrades_downgrades,
)
from yfinance.exceptions import YFDataException, YFRateLimitError

from ingest.frames import ANALYST_COLUMNS, EARNINGS_COLUMNS, INSIDER_COLUMNS, PRICE_COLUMNS
from ingest.sources.yahoo import YahooClient, YahooError, fetch_yahoo

D = datetime.date
WEEK = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"]


def run(client, tickers, **kwargs):
    kwargs.setdefault("start", D(2024, 1, 1))
    kwargs.setdefault("end", D(2024, 1, 31))
    kwargs.setdefault("include_events", False)
    sleeps: list[float] = kwargs.pop("sleeps", [])
    return fetch_yahoo(tickers, client=client, sleep=sleeps.append, **kwargs)


# --- prices -----------------------------------------------------------------------------------------


def test_tickers_are_downloaded_in_chunks_of_chunk_size():
    symbols = ["AAA", "BBB", "CCC", "DDD", "EEE"]
    client = FakeYahoo({symbol: history(WEEK, base=10.0 * (i + 1)) for i, symbol in enumerate(symbols)})
    calls = []

    result = run(client, symbols, chunk_size=2, progress=lambda *args: calls.append(args))

    assert [len(tickers) for tickers, _, _ in client.download_calls] == [2, 2, 1]
    assert calls == [("prices", 1, 3), ("prices", 2, 3), ("prices", 3, 3)]
    assert result.requests_made == 3
    assert list(result.prices.columns) == list(PRICE_COLUMNS)
    assert len(result.prices) == 25
    assert result.prices["line_number"].tolist() == list(range(1, 26))
    assert set(result.prices["source_file"]) == {"yfinance:download"}


def test_prices_keep_raw_and_adjusted_close_and_dates_as_dates():
    client = FakeYahoo({"AAPL": history(WEEK, base=100.0)})

    prices = run(client, ["AAPL"]).prices

    first = prices.iloc[0]
    assert first["trade_date"] == D(2024, 1, 2)
    assert isinstance(first["trade_date"], datetime.date)
    assert (first["open"], first["high"], first["low"]) == (99.5, 101.0, 99.0)
    assert first["close"] == 100.0
    assert first["adj_close"] == pytest.approx(98.0)
    assert first["volume"] == 1000


def test_incremental_fetch_starts_each_ticker_at_its_last_stored_date():
    histories = {symbol: history(WEEK) for symbol in ["AAA", "BBB", "CCC", "NEW"]}
    client = FakeYahoo(histories)
    last = {"AAA": D(2024, 1, 4), "BBB": D(2024, 1, 4), "CCC": D(2024, 1, 5)}

    result = run(client, ["AAA", "NEW", "BBB", "CCC"], last_dates=last, start=D(2023, 6, 1), end=D(2024, 1, 8))

    # One call per distinct start; yfinance's end is exclusive, so it gets the day after ours.
    assert client.download_calls == [
        (["NEW"], D(2023, 6, 1), D(2024, 1, 9)),
        (["AAA", "BBB"], D(2024, 1, 4), D(2024, 1, 9)),
        (["CCC"], D(2024, 1, 5), D(2024, 1, 9)),
    ]
    dates = result.prices.groupby("ticker")["trade_date"].min().to_dict()
    # The last stored day is fetched again, so a revised bar replaces it.
    assert dates == {"AAA": D(2024, 1, 4), "BBB": D(2024, 1, 4), "CCC": D(2024, 1, 5), "NEW": D(2024, 1, 2)}


def test_ticker_already_past_end_is_not_requested():
    client = FakeYahoo({"AAA": history(WEEK), "BBB": history(WEEK)})

    result = run(client, ["AAA", "BBB"], last_dates={"BBB": D(2024, 2, 1)}, end=D(2024, 1, 31))

    assert [tickers for tickers, _, _ in client.download_calls] == [["AAA"]]
    assert result.empty_tickers == []


def test_default_window_is_ten_years_up_to_end_inclusive():
    client = FakeYahoo({"AAA": history(WEEK)})

    fetch_yahoo(["AAA"], end=D(2024, 2, 29), include_events=False, client=client)

    assert client.download_calls == [(["AAA"], D(2014, 2, 28), D(2024, 3, 1))]


def test_start_after_end_is_refused():
    with pytest.raises(ValueError, match="start 2024-02-01 is after end 2024-01-01"):
        fetch_yahoo(["AAA"], start=D(2024, 2, 1), end=D(2024, 1, 1), client=FakeYahoo())


def test_empty_and_missing_tickers_are_reported_without_rows():
    client = FakeYahoo({"AAPL": history(WEEK)}, absent={"GONE"})

    result = run(client, ["AAPL", "DEAD", "GONE"])

    assert result.empty_tickers == ["DEAD", "GONE"]
    assert set(result.prices["ticker"]) == {"AAPL"}
    # "possibly delisted" is yfinance's plain no-data outcome, not an exception: not a failure.
    assert result.failed_tickers == {}


def test_alignment_padding_is_dropped_but_partial_nan_rows_are_kept():
    short = history(WEEK[:2], base=50.0)
    short.loc[short.index[1], "Close"] = np.nan  # Yahoo sent this bar without a close
    client = FakeYahoo({"LONG": history(WEEK), "SHORT": short})

    prices = run(client, ["LONG", "SHORT"]).prices

    short_rows = prices[prices["ticker"] == "SHORT"]
    # The shared index has 5 dates; SHORT's 3 padded all-NaN days are not records.
    assert short_rows["trade_date"].tolist() == [D(2024, 1, 2), D(2024, 1, 3)]
    assert np.isnan(short_rows["close"].iloc[1])
    assert short_rows["open"].iloc[1] == 50.5


def test_ticker_case_is_matched_to_yfinance_upper_case_columns():
    client = FakeYahoo({"BRK.B": history(WEEK)})

    result = run(client, ["brk.b"])

    assert set(result.prices["ticker"]) == {"brk.b"}
    assert len(result.prices) == 5


def test_exception_caught_by_yfinance_is_kept_as_failure():
    client = FakeYahoo({"AAPL": history(WEEK)}, errors={"BAD": "ConnectionError('Connection reset by peer')"})

    result = run(client, ["AAPL", "BAD"])

    assert result.empty_tickers == ["BAD"]
    assert result.failed_tickers == {"BAD": "ConnectionError('Connection reset by peer')"}
    assert result.retries == 0


def test_rate_limited_tickers_are_retried_with_exponential_backoff():
    client = FakeYahoo({"AAPL": history(WEEK), "MSFT": history(WEEK)}, rate_limited={"MSFT": 2})
    sleeps: list[float] = []

    result = run(client, ["AAPL", "MSFT"], sleeps=sleeps, backoff_seconds=2.0)

    assert sleeps == [2.0, 4.0]
    # Only the rate-limited ticker is asked for again.
    assert [tickers for tickers, _, _ in client.download_calls] == [["AAPL", "MSFT"], ["MSFT"], ["MSFT"]]
    assert result.retries == 2
    assert result.requests_made == 3
    assert result.failed_tickers == {}
    assert result.empty_tickers == []
    assert result.prices.groupby("ticker").size().to_dict() == {"AAPL": 5, "MSFT": 5}


def test_rate_limit_that_never_clears_ends_in_failed_tickers():
    client = FakeYahoo({"AAPL": history(WEEK), "MSFT": history(WEEK)}, rate_limited={"MSFT": 100})
    sleeps: list[float] = []

    result = run(client, ["AAPL", "MSFT"], sleeps=sleeps, max_retries=3, backoff_seconds=1.5)

    assert sleeps == [1.5, 3.0, 6.0]
    assert len(client.download_calls) == 4
    assert list(result.failed_tickers) == ["MSFT"]
    assert "rate limited" in result.failed_tickers["MSFT"]
    assert "after 3 retries" in result.failed_tickers["MSFT"]
    assert "MSFT" not in result.empty_tickers
    assert set(result.prices["ticker"]) == {"AAPL"}


def test_rate_limit_raised_by_the_whole_download_is_retried():
    class RaisingOnce(FakeYahoo):
        def download(self, tickers, start, end):
            if not self.download_calls:
                self.download_calls.append((list(tickers), start, end))
                raise YFRateLimitError()
            return super().download(tickers, start, end)

    client = RaisingOnce({"AAPL": history(WEEK), "MSFT": history(WEEK)})
    sleeps: list[float] = []

    result = run(client, ["AAPL", "MSFT"], sleeps=sleeps)

    assert sleeps == [2.0]
    assert [tickers for tickers, _, _ in client.download_calls] == [["AAPL", "MSFT"], ["AAPL", "MSFT"]]
    assert len(result.prices) == 10


def test_other_failure_of_the_whole_download_raises_yahoo_error():
    class Broken(FakeYahoo):
        def download(self, tickers, start, end):
            raise RuntimeError("curl: (6) Could not resolve host")

    with pytest.raises(YahooError, match="Could not resolve host"):
        run(Broken(), ["AAPL"])


def test_rate_limit_is_detected_when_the_user_silenced_yfinance_logging(caplog):
    logger = logging.getLogger("yfinance")
    before = logger.level
    logger.setLevel(logging.CRITICAL)
    caplog.set_level(logging.DEBUG)  # the root logger: the user's own handlers
    try:
        client = FakeYahoo({"AAPL": history(WEEK)}, rate_limited={"AAPL": 1})
        sleeps: list[float] = []

        result = run(client, ["AAPL"], sleeps=sleeps)

        assert sleeps == [2.0]
        assert len(result.prices) == 5
        assert logger.level == logging.CRITICAL
        assert logger.propagate
        # What the user silenced stays out of their handlers.
        assert [record for record in caplog.records if record.name == "yfinance"] == []
    finally:
        logger.setLevel(before)


def test_real_yfinance_download_output_is_read(monkeypatch):
    """Runs yfinance.download itself, with only Ticker.history faked, through YahooClient."""
    calls: dict[str, int] = {}

    class PriceHistory:
        _last_error = None

    class HistoryOnlyTicker:
        def __init__(self, ticker, session=None):
            self.ticker = ticker.upper()
            self._price_history = PriceHistory()

        def history(self, **kwargs):
            calls[self.ticker] = calls.get(self.ticker, 0) + 1
            if self.ticker == "MSFT" and calls["MSFT"] == 1:
                raise YFRateLimitError()
            if self.ticker == "DEAD":
                self._price_history._last_error = "possibly delisted; no price data found"
                return empty_history()
            days = WEEK if self.ticker == "AAPL" else WEEK[2:]
            frame = history(days)
            frame.index = frame.index.tz_localize("America/New_York")
            return frame

    monkeypatch.setattr(yfinance.multi, "Ticker", HistoryOnlyTicker)
    sleeps: list[float] = []

    result = fetch_yahoo(
        ["AAPL", "msft", "DEAD"],
        start=D(2024, 1, 1),
        end=D(2024, 1, 31),
        include_events=False,
        sleep=sleeps.append,
        client=YahooClient(),
    )

    assert sleeps == [2.0]
    assert calls == {"AAPL": 1, "MSFT": 2, "DEAD": 1}
    assert result.empty_tickers == ["DEAD"]
    assert result.failed_tickers == {}
    assert result.prices.groupby("ticker").size().to_dict() == {"AAPL": 5, "msft": 3}
    assert result.prices["trade_date"].iloc[0] == D(2024, 1, 2)


# --- events -----------------------------------------------------------------------------------------


def grade(day: str, hour: int, firm: str, from_grade: str, to_grade: str, action: str) -> dict:
    """One entry of Yahoo's upgradeDowngradeHistory JSON."""
    return {
        "epochGradeDate": epoch(day, hour),
        "firm": firm,
        "toGrade": to_grade,
        "fromGrade": from_grade,
        "action": action,
        "priceTargetAction": "Maintains",
    }


def trade(day: str, name: str, relation: str, shares: int, value: int | None, kind: str) -> dict:
    """One entry of Yahoo's insiderTransactions JSON, after yfinance unwraps {'raw': ...} values.

    Yahoo leaves 'value' out for awards and gifts.
    """
    record = {
        "shares": shares,
        "value": value,
        "filerUrl": "",
        "transactionText": f"{kind} at price 0.00 per share.",
        "filerName": name,
        "filerRelation": relation,
        "moneyText": "",
        "startDate": epoch(day),
        "ownership": "D",
    }
    if value is None:
        del record["value"]
    return record


def apple_events() -> FakeTicker:
    earnings = earnings_dates(
        [
            ("2024-04-25 16:00", 1.50, np.nan, np.nan),  # scheduled, not reported yet
            ("2024-02-01 16:00", 2.10, 2.18, 3.81),  # after the close
            ("2023-11-02 06:00", 1.39, 1.46, 5.04),  # before the open
            ("2023-08-03 00:00", 1.19, 1.26, 5.88),  # no time given
            ("2023-05-04 11:00", 1.43, 1.52, 6.29),  # during the session
        ]
    )
    analyst = upgrades_downgrades(
        [
            grade("2024-01-10", 13, "Morgan Stanley", "Equal-Weight", "Overweight", "up"),
            grade("2024-01-09", 12, "Barclays", "Equal-Weight", "Underweight", "down"),
            grade("2024-01-08", 14, "Loop", "", "Buy", "init"),
            grade("2024-01-05", 1, "UBS", "Neutral", "Neutral", "main"),
            grade("2024-01-04", 15, "Wedbush", "Outperform", "Outperform", "reit"),
        ]
    )
    insider = insider_transactions(
        [
            trade("2024-03-08", "COOK TIMOTHY D", "Chief Executive Officer", 100000, 18500000, "Sale"),  # Fri
            # 4 July falls in the two business days after this one.
            trade("2024-07-03", "LEVINSON ARTHUR D", "Director", 5000, 900000, "Purchase"),
            trade("2024-04-01", "ADAMS KATHERINE L", "General Counsel", 20000, None, "Stock Award(Grant)"),
        ]
    )
    return FakeTicker(earnings=earnings, analyst=analyst, insider=insider)


def test_events_are_parsed_into_the_frame_shapes():
    events = apple_events()
    client = FakeYahoo({"AAPL": history(WEEK)}, tickers={"AAPL": events})
    progress = []

    result = run(client, ["AAPL"], include_events=True, progress=lambda *args: progress.append(args))

    assert ("events", 1, 1) in progress
    assert events.earnings_limits == [100]
    assert result.event_errors == {}

    earnings = result.earnings
    assert list(earnings.columns) == list(EARNINGS_COLUMNS)
    # The scheduled announcement without a reported EPS is not an event yet.
    assert earnings["announce_date"].tolist() == [D(2024, 2, 1), D(2023, 11, 2), D(2023, 8, 3), D(2023, 5, 4)]
    assert earnings["announce_timing"].tolist() == ["amc", "bmo", "unknown", "unknown"]
    assert earnings.iloc[0][["eps_estimate", "eps_actual", "surprise_pct"]].tolist() == [2.10, 2.18, 3.81]
    assert earnings["line_number"].tolist() == [1, 2, 3, 4]
    assert set(earnings["source_file"]) == {"yfinance:earnings_dates"}

    analyst = result.analyst_actions
    assert list(analyst.columns) == list(ANALYST_COLUMNS)
    assert analyst["action"].tolist() == ["upgrade", "downgrade", "init", "maintain", "reiterate"]
    assert analyst["action_date"].tolist() == [
        D(2024, 1, 10),
        D(2024, 1, 9),
        D(2024, 1, 8),
        D(2024, 1, 5),
        D(2024, 1, 4),
    ]
    assert analyst.iloc[0][["firm", "from_grade", "to_grade"]].tolist() == [
        "Morgan Stanley",
        "Equal-Weight",
        "Overweight",
    ]

    insider = result.insider_trades
    assert list(insider.columns) == list(INSIDER_COLUMNS)
    assert insider["transaction"].tolist() == ["sell", "buy", "other"]
    assert insider["transaction_date"].tolist() == [D(2024, 3, 8), D(2024, 7, 3), D(2024, 4, 1)]
    # Two business days: Friday -> Tuesday; 3 July -> 8 July (the 4th is a federal holiday).
    assert insider["announce_date"].tolist() == [D(2024, 3, 12), D(2024, 7, 8), D(2024, 4, 3)]
    assert insider.iloc[0][["insider", "position", "shares", "value"]].tolist() == [
        "COOK TIMOTHY D",
        "Chief Executive Officer",
        100000,
        18500000,
    ]
    assert np.isnan(insider["value"].iloc[2])


def test_unknown_analyst_action_is_passed_through_for_the_loader():
    analyst = upgrades_downgrades(
        [
            {
                "epochGradeDate": epoch("2024-01-10"),
                "firm": "X",
                "toGrade": "Buy",
                "fromGrade": "Hold",
                "action": "??",
            }
        ]
    )
    client = FakeYahoo({"AAPL": history(WEEK)}, tickers={"AAPL": FakeTicker(analyst=analyst)})

    result = run(client, ["AAPL"], include_events=True)

    assert result.analyst_actions["action"].tolist() == ["??"]


def test_events_are_not_fetched_for_indices_crypto_skipped_or_priceless_tickers():
    client = FakeYahoo({symbol: history(WEEK) for symbol in ["AAPL", "^VIX", "BTC-USD", "SPY"]})

    result = run(client, ["AAPL", "^VIX", "BTC-USD", "SPY", "DEAD"], include_events=True, skip_events={"SPY"})

    assert client.ticker_calls == ["AAPL"]
    assert result.empty_tickers == ["DEAD"]


def test_rate_limited_event_calls_are_retried_with_backoff():
    events = apple_events()
    events.rate_limits = 2
    client = FakeYahoo({"AAPL": history(WEEK)}, tickers={"AAPL": events})
    sleeps: list[float] = []

    result = run(client, ["AAPL"], include_events=True, sleeps=sleeps, backoff_seconds=0.5)

    assert sleeps == [0.5, 1.0]
    assert len(result.earnings) == 4
    assert result.retries == 2
    # 1 download + 3 earnings attempts + 1 analyst + 1 insider
    assert result.requests_made == 6
    assert result.event_errors == {}


def test_event_rate_limit_that_never_clears_stops_event_fetching():
    client = FakeYahoo(
        {"AAA": history(WEEK), "BBB": history(WEEK)},
        tickers={"AAA": FakeTicker(rate_limits=100), "BBB": apple_events()},
    )
    sleeps: list[float] = []

    result = run(client, ["AAA", "BBB"], include_events=True, sleeps=sleeps, max_retries=2)

    assert sleeps == [2.0, 4.0]
    assert "rate limited" in result.event_errors["AAA"]
    assert "BBB" in result.event_errors
    assert client.ticker_calls == ["AAA"]
    assert set(result.prices["ticker"]) == {"AAA", "BBB"}


def test_failing_event_call_keeps_prices_and_other_events():
    events = apple_events()
    events._insider = RuntimeError("Yahoo returned HTML")
    client = FakeYahoo({"AAPL": history(WEEK)}, tickers={"AAPL": events})

    result = run(client, ["AAPL"], include_events=True)

    assert result.event_errors == {"AAPL": "insider: RuntimeError: Yahoo returned HTML"}
    assert len(result.prices) == 5
    assert len(result.earnings) == 4
    assert len(result.analyst_actions) == 5
    assert result.insider_trades.empty
    assert result.failed_tickers == {}


def test_no_rating_history_and_no_earnings_table_are_empty_not_errors():
    events = FakeTicker(
        earnings=None,  # get_earnings_dates returns None when Yahoo has no table
        analyst=YFDataException("No upgrade/downgrade history found for TINY"),
        insider=pd.DataFrame(),
    )
    client = FakeYahoo({"TINY": history(WEEK)}, tickers={"TINY": events})

    result = run(client, ["TINY"], include_events=True)

    assert result.event_errors == {}
    assert result.earnings.empty and result.analyst_actions.empty and result.insider_trades.empty
    assert list(result.earnings.columns) == list(EARNINGS_COLUMNS)


def test_changed_event_shape_is_reported_not_guessed():
    events = FakeTicker(earnings=pd.DataFrame({"EPS": [1.0]}, index=pd.DatetimeIndex(["2024-01-01"])))
    client = FakeYahoo({"AAPL": history(WEEK)}, tickers={"AAPL": events})

    result = run(client, ["AAPL"], include_events=True)

    assert "Reported EPS" in result.event_errors["AAPL"]
    assert result.earnings.empty
