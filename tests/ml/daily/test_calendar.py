"""The exchange's trading calendar (ml/daily/calendar.py): holidays, the expected day, SPY's real days."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from helpers import SHARED_DATA

from ml.daily import calendar


def test_the_calendar_knows_the_exchange_holidays():
    closed_2025 = {
        "2025-01-01",
        "2025-01-09",  # national day of mourning (President Carter)
        "2025-01-20",
        "2025-02-17",
        "2025-04-18",
        "2025-05-26",
        "2025-06-19",
        "2025-07-04",
        "2025-09-01",
        "2025-11-27",
        "2025-12-25",
    }
    assert {day.isoformat() for day in calendar.holidays(2025)} == closed_2025
    # Weekend holidays move to the Friday before or the Monday after; New Year's Day on a Saturday is not moved.
    assert dt.date(2021, 12, 24) in calendar.holidays(2021) and dt.date(2021, 12, 31) not in calendar.holidays(2021)
    assert dt.date(2022, 6, 20) in calendar.holidays(2022) and dt.date(2021, 6, 18) not in calendar.holidays(2021)
    assert dt.date(2026, 7, 3) in calendar.holidays(2026)
    assert calendar.previous_trading_day(dt.date(2025, 11, 28)) == dt.date(2025, 11, 26)
    assert calendar.trading_day_on_or_before(dt.date(2025, 12, 27)) == dt.date(2025, 12, 26)


def test_the_expected_day_changes_when_the_days_prices_are_in():
    new_york = calendar.EXCHANGE_TIME_ZONE
    assert calendar.expected_trading_day(dt.datetime(2025, 12, 2, 17, 59, tzinfo=new_york)) == dt.date(2025, 12, 1)
    assert calendar.expected_trading_day(dt.datetime(2025, 12, 2, 18, 0, tzinfo=new_york)) == dt.date(2025, 12, 2)
    # 23:30 UTC on 2 December is 18:30 in New York; 03:00 UTC on the 3rd is still the evening of the 2nd there.
    assert calendar.expected_trading_day(dt.datetime(2025, 12, 3, 3, 0, tzinfo=dt.UTC)) == dt.date(2025, 12, 2)
    assert calendar.expected_trading_day(dt.datetime(2025, 12, 6, 12, 0)) == dt.date(2025, 12, 5)  # a Saturday
    assert calendar.expected_trading_day(dt.datetime(2025, 12, 25, 20, 0)) == dt.date(2025, 12, 24)


@pytest.mark.skipif(not (SHARED_DATA / "market_2009_2020").is_dir(), reason="../shared/data is not present")
def test_the_calendar_matches_the_days_spy_traded_2009_to_2020():
    traded = set(pd.to_datetime(pd.read_csv(SHARED_DATA / "market_2009_2020" / "SPY.csv")["Date"]).dt.date)
    assert set(calendar.trading_days(min(traded), max(traded))) == traded
