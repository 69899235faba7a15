"""Reading feed values: blank means absent, dates that exist in the calendar (or a month or
year when only that is known), true/false, pipe lists, JSON lists, the people an event names;
and the hash that is the identity of a row's content."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import (
    ValidationInfo,
)

from fullpicture.chronology.models import DatePrecision
from fullpicture.chronology.taxonomy import Taxonomy, default_taxonomy
from fullpicture.imports.plausible_dates import DateField, check_plausible

DAY_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONTH_PATTERN = re.compile(r"^\d{4}-\d{2}$")
YEAR_PATTERN = re.compile(r"^\d{4}$")
TRUE_SPELLINGS = {"true", "t", "yes", "y", "1"}
FALSE_SPELLINGS = {"false", "f", "no", "n", "0"}


@dataclass(frozen=True)
class ValidationContext:
    """What a row is checked against besides itself."""

    today: dt.date
    taxonomy: Taxonomy

    @classmethod
    def current(cls) -> ValidationContext:
        return cls(today=dt.date.today(), taxonomy=default_taxonomy())


def validation_context(info: ValidationInfo) -> ValidationContext:
    context = info.context
    if isinstance(context, ValidationContext):
        return context
    return ValidationContext.current()


# --- field parsing shared by the row models ----------------------------------------------


def blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def parse_day(value: Any, *, field_label: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` date (or a date value from JSON/Parquet) that exists in the calendar."""
    value = blank_to_none(value)
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not DAY_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a date; write the {field_label} as YYYY-MM-DD")
    try:
        return dt.date(int(value[:4]), int(value[5:7]), int(value[8:]))
    except ValueError:
        raise ValueError(
            f"{value} is not a real date (check the day and month); write it as YYYY-MM-DD"
        ) from None


def not_future(day: dt.date | None, info: ValidationInfo, what: str) -> dt.date | None:
    if day is not None and day > validation_context(info).today:
        raise ValueError(f"{what} {day.isoformat()} is in the future; give the date it happened")
    return day


def plausible(
    day: dt.date | None, info: ValidationInfo, field: DateField, label: str
) -> dt.date | None:
    """``day`` if it lies in ``field``'s plausible range (plausible_dates.yaml)."""
    if day is not None:
        check_plausible(day, field, label=label, today=validation_context(info).today)
    return day


# Control characters (C0, DEL and C1): a NUL byte or an escape in an id or a name is a
# broken export or an attack, never part of how an agency spells someone (issue 12 finding 9).
_Text = TypeVar("_Text")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(value: _Text, what: str) -> _Text:
    """``value`` (text, or a list of text) if it holds no control character."""
    for text in value if isinstance(value, list) else [value]:
        if isinstance(text, str) and (found := _CONTROL.search(text)):
            raise ValueError(
                f"{what} holds a control character (U+{ord(found.group()):04X}"
                f"{', a NUL byte' if found.group() == chr(0) else ''}); ids and names are "
                "printable text: remove it and send the row again"
            )
    return value


def without_nul(value: _Text, what: str) -> _Text:
    """Free text may hold line breaks and tabs, never a NUL byte (PostgreSQL cannot store one;
    a broken export or an attack)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(f"{what} holds a NUL byte (U+0000); remove it and send the row again")
    return value


def split_pipes(value: Any) -> Any:
    value = blank_to_none(value)
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split("|") if part.strip()]
    return value


def parse_bool(value: Any) -> Any:
    value = blank_to_none(value)
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in TRUE_SPELLINGS:
            return True
        if lowered in FALSE_SPELLINGS:
            return False
        raise ValueError(f"{value!r} is not true or false; write true or false")
    return value


def json_list(value: Any, field_label: str) -> Any:
    value = blank_to_none(value)
    if value is None:
        return []
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(
                f"{field_label} must be a JSON array, e.g. "
                '[{"line": "1 High St", "postcode": "CR0 1AA", "date_from": "2024-01-01"}]'
            ) from None
    return value


Canonical = str | int | bool | None | tuple["Canonical", ...]


def iso_day(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def content_hash(values: tuple[Canonical, ...]) -> str:
    """SHA-256 of a row's normalised content in a fixed field order.

    Only text, numbers, booleans, None and tuples of them go in, so ``repr`` is a stable,
    unambiguous spelling of the content (and far cheaper than JSON per row).
    """
    return hashlib.sha256(repr(values).encode()).hexdigest()


def parse_people(value: Any) -> Any:
    """``C1:victim|C2:witness`` (CSV) or a list of ``{record_id, role}`` objects."""
    value = blank_to_none(value)
    if value is None:
        return []
    if isinstance(value, str):
        people: list[dict[str, str]] = []
        for part in value.split("|"):
            part = part.strip()
            if not part:
                continue
            record_id, separator, role = part.rpartition(":")
            if not separator or not record_id.strip():
                raise ValueError(
                    f"{part!r} does not say the person's role; write record_id:role, "
                    "e.g. C123:victim|A77:alleged_perpetrator"
                )
            people.append({"record_id": record_id.strip(), "role": _role_spelling(role)})
        return people
    if isinstance(value, list):
        return [
            {**person, "role": _role_spelling(person["role"])}
            if isinstance(person, dict) and isinstance(person.get("role"), str)
            else person
            for person in value
        ]
    return value


def named_record_ids(value: Any) -> list[str]:
    """The record ids a ``people`` value names, as far as it can be read: it may come from a
    quarantined row, malformed anywhere."""
    try:
        people = parse_people(value)
    except ValueError:
        return []
    if not isinstance(people, list):
        return []
    return [
        person["record_id"].strip()
        for person in people
        if isinstance(person, dict)
        and isinstance(person.get("record_id"), str)
        and person["record_id"].strip()
    ]


def _role_spelling(role: str) -> str:
    return role.strip().lower().replace("-", "_").replace(" ", "_")


@dataclass(frozen=True, slots=True)
class EventDate:
    """The date of an event, as exactly as it is known."""

    day: dt.date
    precision: DatePrecision

    @property
    def period_start(self) -> dt.date:
        if self.precision is DatePrecision.DAY:
            return self.day
        if self.precision is DatePrecision.MONTH:
            return self.day.replace(day=1)
        return self.day.replace(month=1, day=1)

    def as_feed_value(self) -> str:
        if self.precision is DatePrecision.DAY:
            return self.day.isoformat()
        if self.precision is DatePrecision.MONTH:
            return self.day.isoformat()[:7]
        return self.day.isoformat()[:4]

    @classmethod
    def parse(cls, value: Any) -> EventDate:
        """``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``; a month or year is kept as its last day."""
        if isinstance(value, EventDate):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, dt.date | dt.datetime) or (
            isinstance(value, str) and DAY_PATTERN.match(value)
        ):
            day = parse_day(value, field_label="event date")
            assert day is not None
            return cls(day=day, precision=DatePrecision.DAY)
        if isinstance(value, str) and MONTH_PATTERN.match(value):
            year, month = int(value[:4]), int(value[5:])
            if not 1 <= month <= 12 or year < 1:
                raise ValueError(f"{value} is not a real month; write it as YYYY-MM")
            last = calendar.monthrange(year, month)[1]
            return cls(day=dt.date(year, month, last), precision=DatePrecision.MONTH)
        if isinstance(value, str) and YEAR_PATTERN.match(value) and int(value) >= 1:
            return cls(day=dt.date(int(value), 12, 31), precision=DatePrecision.YEAR)
        raise ValueError(
            f"{value!r} is not a date; write the event date as YYYY-MM-DD, or YYYY-MM or "
            "YYYY when only the month or year is known"
        )
