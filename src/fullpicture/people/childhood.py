"""Who is a child: under the adult age in ``childhood.yaml`` (18, Working Together 2023), by
calendar birthdays. Households, the harm score and the pages all ask here."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from fullpicture.core.rule_files import load_rules_file

CHILDHOOD_FILE = Path(__file__).with_name("childhood.yaml")


class Childhood(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    adult_age_years: int = Field(ge=1, le=25)
    source: str = Field(min_length=1)


@lru_cache(maxsize=1)
def childhood() -> Childhood:
    return Childhood.model_validate(load_rules_file(CHILDHOOD_FILE))


ADULT_AGE = childhood().adult_age_years


def age_on(born: dt.date, day: dt.date) -> int:
    """Whole years from ``born`` to ``day`` (birthdays by the calendar)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def adults_born_by(day: dt.date) -> dt.date:
    """The latest date of birth of someone who is an adult on ``day``: born after it, a child."""
    try:
        return day.replace(year=day.year - ADULT_AGE)
    except ValueError:  # 29 February
        return day.replace(year=day.year - ADULT_AGE, day=28)


def is_child_on(born: dt.date, day: dt.date) -> bool:
    return born <= day and age_on(born, day) < ADULT_AGE


def date_of_birth_from_records(dates: Iterable[dt.date | None]) -> dt.date | None:
    """One person's date of birth from the dates their current records give: the date most of
    them give, and where they split evenly, the latest of the most-given dates.

    The latest wins a tie because a child must not drop out of view when one agency's date is
    mistyped by a century (2015 keyed as 1915): counted as an adult, they would be scored by
    no one. Treating a person as younger when the records cannot say is the safer mistake,
    and it shows in the record's evidence for a practitioner to correct."""
    counts = Counter(date for date in dates if date is not None)
    if not counts:
        return None
    return max(counts, key=lambda date: (counts[date], date))
