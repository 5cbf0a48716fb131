"""Values that parse but no market has: non-finite numbers, absurd magnitudes, one-day spikes, impossible
dates. Each is quarantined with `non_finite_value`, `implausible_value` or `unparseable_date` and a detail
that names the value and the limit; nothing is lost and nothing raises."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from helpers import price_input_rows

from ingest.validate import MAX_DAY_MOVE, MAX_PRICE, MAX_VOLUME, MIN_PRICE, validate

TODAY = dt.date(2024, 6, 28)


def rules_by_line(result) -> dict[int, str]:
    rejects = result.rejects.to_pylist()
    return {r["line_number"]: r["rule"] for r in rejects}


@pytest.mark.parametrize("text", ["inf", "-inf", "+inf", "Inf", "INFINITY", "-Infinity", "NaN", "nan", "NAN"])
@pytest.mark.parametrize("column", ["open", "high", "low", "close", "adj_close", "volume"])
def test_non_finite_text_in_any_price_column_is_quarantined(column, text):
    result = validate("prices", price_input_rows({}, {"trade_date": "2024-01-03", column: text}), today=TODAY)
    assert result.rows_accepted == 1 and result.rows_rejected == 1
    reject = result.rejects.to_pylist()[0]
    assert reject["rule"] == "non_finite_value"
    assert f"{column}={text}" in reject["detail"]


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"open": "1e308", "high": "1e308", "close": "1e308"}, f"open 1e+308 exceeds {MAX_PRICE:g}"),
        ({"adj_close": "2e9"}, f"adj_close 2000000000.0 exceeds {MAX_PRICE:g}"),
        ({"low": "1e-300", "open": "1e-300"}, f"is below {MIN_PRICE:g}"),
        ({"volume": "1e308"}, f"volume 1e+308 exceeds {MAX_VOLUME:g}"),
        ({"trade_date": "1200-01-01"}, "trade_date 1200-01-01 is before 1800-01-01"),
    ],
)
def test_absurd_magnitudes_are_implausible_and_the_detail_names_the_limit(change, detail):
    result = validate("prices", price_input_rows({"trade_date": "2024-01-03"}, change), today=TODAY)
    assert result.rows_accepted == 1
    reject = result.rejects.to_pylist()[0]
    assert reject["rule"] == "implausible_value"
    assert detail in reject["detail"]


def test_real_extremes_are_accepted():
    # BRK-A near 600,000 USD, a sub-penny stock, 20 billion shares in a day, an index without volume.
    rows = [
        {"open": "600000", "high": "610000", "low": "590000", "close": "605000", "adj_close": "605000"},
        {"ticker": "PENNY", "open": "0.0001", "high": "0.0002", "low": "0.0001", "close": "0.0001"},
        {"ticker": "HEAVY", "volume": "2e10"},
        {"ticker": "^IDX", "volume": "0", "adj_close": ""},
    ]
    result = validate("prices", price_input_rows(*rows), today=TODAY)
    assert result.rows_rejected == 0, result.rejects.to_pylist()


def series(closes: list[float], ticker: str = "AAA") -> pd.DataFrame:
    days = pd.bdate_range("2024-01-02", periods=len(closes))
    return price_input_rows(
        *[
            {
                "ticker": ticker,
                "trade_date": f"{day:%Y-%m-%d}",
                "open": repr(close),
                "high": repr(close * 1.01),
                "low": repr(close * 0.99),
                "close": repr(close),
                "adj_close": repr(close),
            }
            for day, close in zip(days, closes, strict=True)
        ]
    )


def test_a_one_day_spike_beyond_the_limit_is_implausible():
    spike = 10.0 * MAX_DAY_MOVE * 10
    result = validate("prices", series([10.0, 10.2, spike, 10.1, 10.3]), today=TODAY)
    assert rules_by_line(result) == {4: "implausible_value"}
    detail = result.rejects.to_pylist()[0]["detail"]
    assert "in one day" in detail and f"limit x{MAX_DAY_MOVE:g}" in detail


def test_a_spike_on_the_last_or_first_day_is_implausible():
    last = validate("prices", series([10.0, 10.2, 10.1, 1e7]), today=TODAY)
    assert rules_by_line(last) == {5: "implausible_value"}
    first = validate("prices", series([1e-5, 10.0, 10.2, 10.1]), today=TODAY)
    assert rules_by_line(first) == {2: "implausible_value"}


@pytest.mark.parametrize("ratio", [20.0, 250.0, 1 / 20, 1 / 250])
def test_real_splits_in_unadjusted_prices_are_accepted(ratio):
    # A 1:20 or 1:250 reverse split (or a forward split) moves the raw close that much for good: not a spike,
    # wherever in the series it falls, and below the limit even on the last day.
    middle = validate("prices", series([5.0, 5.1, 5.0 * ratio, 5.1 * ratio, 5.2 * ratio]), today=TODAY)
    assert middle.rows_rejected == 0, middle.rejects.to_pylist()
    last = validate("prices", series([5.0, 5.1, 5.2, 5.2 * ratio]), today=TODAY)
    assert last.rows_rejected == 0, last.rejects.to_pylist()


NOT_DAYS = ["-infinity", "infinity", "Infinity", "epoch", "0000-00-00", "2020-13-45", "99999-01-01", "-0044-03-15"]


@pytest.mark.parametrize("text", NOT_DAYS)
def test_dates_that_are_not_calendar_days_are_unparseable(text):
    result = validate("prices", price_input_rows({}, {"trade_date": text}), today=TODAY)
    assert rules_by_line(result) == {3: "unparseable_date"}
    assert text in result.rejects.to_pylist()[0]["detail"]


def test_non_finite_values_are_caught_in_every_dataset():
    inf = float("inf")
    sentiment = pd.DataFrame(
        {
            "ticker": ["AAA", "AAA", "AAA"],
            "trade_date": ["2024-01-02", "2024-01-03", "2024-01-04"],
            "sentiment_score": [0.5, inf, 0.1],
            "article_count": [3.0, 2.0, -inf],
            "source_file": "api",
            "line_number": [1, 2, 3],
        }
    )
    earnings = pd.DataFrame(
        {
            "ticker": ["AAA", "AAA"],
            "announce_date": ["2024-01-02", "2024-04-02"],
            "announce_timing": ["amc", "bmo"],
            "eps_estimate": [0.0, 1.0],
            "eps_actual": [0.1, 1.1],
            "surprise_pct": [inf, 10.0],  # (actual - estimate) / |estimate| with a zero estimate
            "source_file": "api",
            "line_number": [1, 2],
        }
    )
    insider = pd.DataFrame(
        {
            "ticker": ["AAA", "AAA"],
            "transaction_date": ["2024-01-02", "2024-01-03"],
            "announce_date": ["2024-01-04", "2024-01-05"],
            "insider": ["A. Person", "B. Person"],
            "position": ["CEO", "CFO"],
            "transaction": ["buy", "sell"],
            "shares": ["100", "Infinity"],
            "value": [1000.0, 2000.0],
            "source_file": "api",
            "line_number": [1, 2],
        }
    )
    for kind, frame, bad in [
        ("sentiment", sentiment, {2, 3}),
        ("earnings", earnings, {1}),
        ("insider_trades", insider, {2}),
    ]:
        result = validate(kind, frame, today=TODAY)
        assert rules_by_line(result) == dict.fromkeys(bad, "non_finite_value"), kind
        assert result.rows_read == result.rows_accepted + result.rows_rejected


def test_nan_in_a_typed_float_column_still_means_missing():
    # pandas marks a missing float as NaN: an API frame without an adjusted close is not a bad value.
    frame = price_input_rows({}).astype({"open": float, "high": float, "low": float, "close": float, "volume": float})
    frame["adj_close"] = np.nan
    result = validate("prices", frame, today=TODAY)
    assert result.rows_accepted == 1 and result.accepted.column("adj_close").to_pylist() == [None]
