"""Working days in England and Wales: weekends and bank holidays off (research-notes §2.2,
"Working days must exclude weekends and England & Wales bank holidays").

Bank holidays come from the maintained ``holidays`` package (England's list; Wales has the
same bank holidays), including substitute days such as a Boxing Day that falls on a Sunday.
"""

from __future__ import annotations

import calendar
import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

# The clock the working days are counted on: a time stored in UTC belongs to the day it was
# in England (a 23:30 UTC alert in summer was raised the next morning there).
ENGLAND = ZoneInfo("Europe/London")


@lru_cache(maxsize=256)
def _bank_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The ``days``-th working day after ``start`` (``start`` itself when ``days`` is 0).

    "Within 1 working day of a referral on Friday" is the next Monday, or Tuesday after a
    bank holiday Monday; ``start`` need not be a working day itself.
    """
    if days < 0:
        raise ValueError("count working days forwards only")
    day = start
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` <= ``start``)."""
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


def last_working_day_on_or_before(day: dt.date) -> dt.date:
    while not is_working_day(day):
        day -= dt.timedelta(days=1)
    return day


def add_months(start: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, or the month's last day when it has no such day
    (31 January + 1 month is 28 or 29 February)."""
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
