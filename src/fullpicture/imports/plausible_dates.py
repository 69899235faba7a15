"""The plausible range of each date of a feed row (``plausible_dates.yaml``), and the check
that quarantines a date outside it with the file's reason."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fullpicture.core.rule_files import load_rules_file

RULES_FILE = Path(__file__).with_name("plausible_dates.yaml")

DateField = Literal[
    "date_of_birth",
    "expected_date_of_delivery",
    "event_date",
    "date_recorded",
    "address_date",
    "relationship_date",
]


class DateRange(BaseModel):
    """Where one field's dates may lie, relative to the day of the import, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    earliest_date: dt.date | None = None
    earliest_years_before_today: int | None = Field(default=None, ge=0, le=200)
    latest_days_after_today: int | None = Field(default=None, ge=0, le=3660)
    reason: str = Field(min_length=10)

    @model_validator(mode="after")
    def _has_a_lower_bound(self) -> DateRange:
        if self.earliest_date is None and self.earliest_years_before_today is None:
            raise ValueError("give earliest_date or earliest_years_before_today")
        return self

    def earliest(self, today: dt.date) -> dt.date:
        bounds = [self.earliest_date] if self.earliest_date else []
        if self.earliest_years_before_today is not None:
            year = today.year - self.earliest_years_before_today
            try:
                bounds.append(today.replace(year=year))
            except ValueError:  # 29 February, in a year that has none
                bounds.append(today.replace(year=year, day=28))
        return max(bounds)

    def latest(self, today: dt.date) -> dt.date | None:
        if self.latest_days_after_today is None:
            return None
        return today + dt.timedelta(days=self.latest_days_after_today)


class PlausibleDates(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    fields: dict[DateField, DateRange]

    @model_validator(mode="after")
    def _every_field(self) -> PlausibleDates:
        missing = set(get_args(DateField)) - set(self.fields)
        if missing:
            raise ValueError(f"plausible_dates.yaml lacks {', '.join(sorted(missing))}")
        return self


@lru_cache(maxsize=1)
def plausible_dates() -> PlausibleDates:
    return PlausibleDates.model_validate(load_rules_file(RULES_FILE))


def check_plausible(day: dt.date, field: DateField, *, label: str, today: dt.date) -> None:
    """Raise ``ValueError`` saying why, when ``day`` lies outside ``field``'s range."""
    rule = plausible_dates().fields[field]
    earliest = rule.earliest(today)
    if day < earliest:
        raise ValueError(
            f"{label} {day.isoformat()} is before {earliest.isoformat()}, the earliest "
            f"plausible {label}: {rule.reason}; check it, and leave it blank if it is unknown"
        )
    latest = rule.latest(today)
    if latest is not None and day > latest:
        raise ValueError(
            f"{label} {day.isoformat()} is after {latest.isoformat()}, the latest plausible "
            f"{label}: {rule.reason}; check it"
        )
