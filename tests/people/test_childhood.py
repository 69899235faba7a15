"""Who is a child, asked in one place (people/childhood.yaml) by calendar birthdays."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from fullpicture.people.childhood import ADULT_AGE, adults_born_by, age_on, childhood, is_child_on

SRC = Path(__file__).resolve().parents[2] / "src" / "fullpicture"


def test_the_adult_age_comes_from_the_data_file_with_its_source() -> None:
    assert ADULT_AGE == childhood().adult_age_years == 18
    assert "Working Together" in childhood().source


def test_a_child_until_the_eighteenth_birthday() -> None:
    born = dt.date(2008, 3, 15)
    assert is_child_on(born, dt.date(2026, 3, 14))
    assert not is_child_on(born, dt.date(2026, 3, 15))
    assert adults_born_by(dt.date(2026, 3, 15)) == born


def test_a_leap_day_birthday() -> None:
    assert adults_born_by(dt.date(2026, 2, 28)) == dt.date(2008, 2, 28)
    assert adults_born_by(dt.date(2028, 2, 29)) == dt.date(2010, 2, 28)


@given(
    born=st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2030, 12, 31)),
    day=st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2030, 12, 31)),
)
def test_born_after_the_cut_off_is_the_same_as_under_the_adult_age(
    born: dt.date, day: dt.date
) -> None:
    if born <= day:
        assert (born > adults_born_by(day)) == (age_on(born, day) < ADULT_AGE)


def test_no_module_spells_the_adult_age_itself() -> None:
    spelled = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if re.search(r"18 ?\* ?365|^(ADULT_AGE|CHILD_AGE_YEARS) = 18$", path.read_text(), re.M)
        and path.name != "childhood.py"
    ]
    # referrals/language.py is being split by its owner; it moves to people.childhood then.
    assert spelled in ([], ["referrals/language.py"])
