"""Working-day arithmetic: weekends and England & Wales bank holidays off (research-notes §2.2)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fullpicture.workflow.working_days import (
    add_months,
    add_working_days,
    is_working_day,
    last_working_day_on_or_before,
    working_days_between,
)

days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2060, 12, 31))
counts = st.integers(min_value=0, max_value=400)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # Christmas 2026: Fri 25, Sat 26, Mon 28 (Boxing Day observed) off.
        (dt.date(2026, 12, 24), 1, dt.date(2026, 12, 29)),
        (dt.date(2026, 12, 23), 2, dt.date(2026, 12, 29)),
        # Christmas 2027 falls on a Saturday: Mon 27 and Tue 28 are the substitute days.
        (dt.date(2027, 12, 24), 1, dt.date(2027, 12, 29)),
        # Easter 2026: Good Friday 3 April, Easter Monday 6 April.
        (dt.date(2026, 4, 2), 1, dt.date(2026, 4, 7)),
        # A referral on a Saturday: the next working day.
        (dt.date(2026, 3, 7), 1, dt.date(2026, 3, 9)),
        (dt.date(2026, 3, 9), 0, dt.date(2026, 3, 9)),
        # Leap year: 28 Feb 2028 is a Monday; 29 Feb is a working Tuesday.
        (dt.date(2028, 2, 28), 1, dt.date(2028, 2, 29)),
        # 45 working days from Mon 2 Nov 2026 crosses Christmas (3 bank holidays).
        (dt.date(2026, 11, 2), 45, dt.date(2027, 1, 7)),
    ],
)
def test_known_dates(start: dt.date, n: int, expected: dt.date) -> None:
    assert add_working_days(start, n) == expected


def test_months_clamp_to_the_month_end_in_leap_and_common_years() -> None:
    assert add_months(dt.date(2028, 1, 31), 1) == dt.date(2028, 2, 29)
    assert add_months(dt.date(2027, 1, 31), 1) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2027, 11, 30), 3) == dt.date(2028, 2, 29)
    assert add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)
    # A calendar deadline on Christmas Day comes back to the last working day before it.
    assert last_working_day_on_or_before(dt.date(2026, 12, 28)) == dt.date(2026, 12, 24)


@given(days, st.integers(min_value=1, max_value=400))
def test_adding_working_days_never_lands_on_a_weekend_or_bank_holiday(
    start: dt.date, n: int
) -> None:
    end = add_working_days(start, n)
    assert end > start
    assert is_working_day(end)
    assert end.weekday() < 5


@given(days, counts, counts)
def test_adding_is_monotonic_in_the_count(start: dt.date, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert add_working_days(start, low) <= add_working_days(start, high)


@given(days, days, st.integers(min_value=1, max_value=200))
def test_adding_is_monotonic_in_the_start(a: dt.date, b: dt.date, n: int) -> None:
    early, late = sorted((a, b))
    assert add_working_days(early, n) <= add_working_days(late, n)


@given(days, counts)
def test_between_inverts_adding(start: dt.date, n: int) -> None:
    assert working_days_between(start, add_working_days(start, n)) == n


@given(days, st.integers(min_value=0, max_value=120))
def test_months_keep_the_day_or_clamp(start: dt.date, months: int) -> None:
    later = add_months(start, months)
    assert later >= start
    assert later.day == start.day or (
        later.day < start.day and ((later + dt.timedelta(days=1)).month != later.month)
    )
