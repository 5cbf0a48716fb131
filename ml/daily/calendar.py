"""The New York Stock Exchange's trading days: which day's prices a daily run should find in the store.

Full-day closures follow the exchange's holiday rules: New Year's Day, Martin Luther King Jr. Day, Washington's
Birthday, Good Friday, Memorial Day, Juneteenth (from 2022), Independence Day, Labor Day, Thanksgiving and
Christmas, each moved to the Friday before when it falls on a Saturday (except New Year's Day, which then is
not observed) and to the Monday after when it falls on a Sunday; plus the unscheduled closures listed in
`SPECIAL_CLOSURES`. Half days are trading days. The rules hold from 1998 (when MLK Day was added).

`expected_trading_day(now)` is the last trading day whose prices a run at `now` can expect: today when the
exchange traded today and `DATA_READY` (New York time) has passed, else the trading day before.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

from dateutil.easter import easter

EXCHANGE_TIME_ZONE = ZoneInfo("America/New_York")
#: When a day's closing prices are expected to be available from the data vendors (New York time): two hours
#: after the 16:00 close. A run earlier in the evening expects the previous trading day.
DATA_READY = dt.time(18, 0)
#: Days the exchange closed outside its holiday rules (national mourning, weather, 9/11).
SPECIAL_CLOSURES = frozenset(
    dt.date.fromisoformat(day)
    for day in (
        "2001-09-11",
        "2001-09-12",
        "2001-09-13",
        "2001-09-14",
        "2004-06-11",
        "2007-01-02",
        "2012-10-29",
        "2012-10-30",
        "2018-12-05",
        "2025-01-09",
    )
)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The `n`-th `weekday` (Monday 0) of the month; n = -1 for the last."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    """A fixed-date holiday on a weekend is observed on the Friday before or the Monday after."""
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


@cache
def holidays(year: int) -> frozenset[dt.date]:
    """The exchange's full-day holidays of `year` (rules in the module docstring), special closures included."""
    days = {
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        easter(year) - dt.timedelta(days=2),  # Good Friday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _observed(dt.date(year, 7, 4)),
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _observed(dt.date(year, 12, 25)),
    }
    new_year = dt.date(year, 1, 1)
    if new_year.weekday() != 5:  # on a Saturday it is not observed (the Friday before is the year's last day)
        days.add(_observed(new_year))
    if year >= 2022:
        days.add(_observed(dt.date(year, 6, 19)))  # Juneteenth
    days |= {day for day in SPECIAL_CLOSURES if day.year == year}
    return frozenset(days)


def is_trading_day(day: dt.date) -> bool:
    """Whether the exchange traded (or will trade) on `day`."""
    return day.weekday() < 5 and day not in holidays(day.year)


def previous_trading_day(day: dt.date) -> dt.date:
    """The last trading day strictly before `day`."""
    day -= dt.timedelta(days=1)
    while not is_trading_day(day):
        day -= dt.timedelta(days=1)
    return day


def trading_day_on_or_before(day: dt.date) -> dt.date:
    """`day` when it is a trading day, else the trading day before it."""
    return day if is_trading_day(day) else previous_trading_day(day)


def trading_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """The trading days from `start` to `end`, both included."""
    days, day = [], start
    while day <= end:
        if is_trading_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def expected_trading_day(now: dt.datetime | None = None) -> dt.date:
    """The last trading day whose closing prices a run at `now` (default: the clock; a naive time is taken as
    New York time) can expect to find (module docstring)."""
    now = dt.datetime.now(EXCHANGE_TIME_ZONE) if now is None else now
    local = now.replace(tzinfo=EXCHANGE_TIME_ZONE) if now.tzinfo is None else now.astimezone(EXCHANGE_TIME_ZONE)
    today = local.date()
    if is_trading_day(today) and local.time() >= DATA_READY:
        return today
    return previous_trading_day(today)
