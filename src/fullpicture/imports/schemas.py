"""Feed rows as pydantic models: the input boundary of every import (docs/import-format.md).

Each model accepts a row as it comes from CSV (all text; list fields in their CSV notation),
JSON Lines or Parquet (native lists and values), normalises it, and either returns a row
ready to store or raises a ``ValidationError`` whose messages say what to fix.
``content_hash`` is the identity of a row's content: re-importing a row with the same hash
changes nothing, and a different hash becomes a new version.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from fullpicture.chronology.models import DatePrecision, InformationType, ParticipantRole
from fullpicture.chronology.taxonomy import Taxonomy, default_taxonomy
from fullpicture.people.models import RelationshipKind, Sex

TABLES = ("records", "relationships", "events")
"""The tables of a feed, in the order a batch imports them (events refer to records)."""

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_YEAR = re.compile(r"^\d{4}$")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


@dataclass(frozen=True)
class ValidationContext:
    """What a row is checked against besides itself."""

    today: dt.date
    taxonomy: Taxonomy

    @classmethod
    def current(cls) -> ValidationContext:
        return cls(today=dt.date.today(), taxonomy=default_taxonomy())


def _context(info: ValidationInfo) -> ValidationContext:
    context = info.context
    if isinstance(context, ValidationContext):
        return context
    return ValidationContext.current()


# --- identifiers --------------------------------------------------------------------------


def nhs_number_is_valid(digits: str) -> bool:
    """Modulus 11 check of a 10-digit NHS number: weights 10..2 over the first nine digits,
    check digit = 11 - (sum mod 11), where 11 means 0 and 10 means the number is invalid."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(
        int(digit) * weight for digit, weight in zip(digits[:9], range(10, 1, -1), strict=True)
    )
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


# DfE Unique Pupil Number: the check letter is sum(value x weight) mod 23 over characters
# 2-13 with weights 2..13, mapped 0->A ... 22->Z leaving out I, O and S. A temporary UPN
# ends in a letter, which counts as its position in the same alphabet (GDSC UPN v2.0).
UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn_check_letter(trailing: str) -> str:
    """The check letter for the 12 characters after it (11 digits, then a digit or a letter)."""
    if len(trailing) != 12 or not trailing[:11].isdigit():
        raise ValueError("a UPN has 11 digits and then a digit or letter after its check letter")
    last = trailing[11]
    if last.isdigit():
        last_value = int(last)
    elif last in UPN_ALPHABET:
        last_value = UPN_ALPHABET.index(last)
    else:
        raise ValueError(f"a temporary UPN cannot end in {last!r} (I, O and S are not used)")
    total = sum(
        int(char) * weight for char, weight in zip(trailing[:11], range(2, 13), strict=True)
    )
    total += last_value * 13
    return UPN_ALPHABET[total % 23]


def upn_is_valid(upn: str) -> bool:
    if len(upn) != 13:
        return False
    try:
        return upn_check_letter(upn[1:]) == upn[0]
    except ValueError:
        return False


# --- field parsing shared by the row models ----------------------------------------------


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def parse_day(value: Any, *, field_label: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` date (or a date value from JSON/Parquet) that exists in the calendar."""
    value = _blank_to_none(value)
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _DAY.match(value):
        raise ValueError(f"{value!r} is not a date; write the {field_label} as YYYY-MM-DD")
    try:
        return dt.date(int(value[:4]), int(value[5:7]), int(value[8:]))
    except ValueError:
        raise ValueError(
            f"{value} is not a real date (check the day and month); write it as YYYY-MM-DD"
        ) from None


def _not_future(day: dt.date | None, info: ValidationInfo, what: str) -> dt.date | None:
    if day is not None and day > _context(info).today:
        raise ValueError(f"{what} {day.isoformat()} is in the future; give the date it happened")
    return day


def _split_pipes(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split("|") if part.strip()]
    return value


def _parse_bool(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"{value!r} is not true or false; write true or false")
    return value


def _json_list(value: Any, field_label: str) -> Any:
    value = _blank_to_none(value)
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


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def content_hash(values: tuple[Canonical, ...]) -> str:
    """SHA-256 of a row's normalised content in a fixed field order.

    Only text, numbers, booleans, None and tuples of them go in, so ``repr`` is a stable,
    unambiguous spelling of the content (and far cheaper than JSON per row).
    """
    return hashlib.sha256(repr(values).encode()).hexdigest()


_Id = Field(min_length=1, max_length=64)


class FeedRow(BaseModel):
    """Fields every feed row has."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    agency: str = Field(min_length=1, max_length=64)
    change_reason: str | None = None

    table: ClassVar[str]
    required: ClassVar[tuple[str, ...]]
    columns: ClassVar[tuple[str, ...]]

    @model_validator(mode="before")
    @classmethod
    def _strip_blanks(cls, data: Any) -> Any:
        # Blank means absent (import-format.md); runs before every field's own parsing.
        if isinstance(data, dict):
            cleaned = {}
            for key, value in data.items():
                if isinstance(value, str):
                    value = value.strip()
                    if value:
                        cleaned[key] = value
                elif value is not None:
                    cleaned[key] = value
            return cleaned
        return data

    def ref(self) -> str:
        """The row's id within its agency and table, as quarantine and versioning key it."""
        raise NotImplementedError

    def content_hash(self) -> str:
        raise NotImplementedError


# --- records ------------------------------------------------------------------------------


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line: str | None = Field(default=None, max_length=300)
    postcode: str | None = Field(default=None, max_length=10)
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @field_validator("line", "postcode", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        return value

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str | None) -> str | None:
        # Postcodes are compared across agencies; one spelling (upper case, one space) each.
        if value is None:
            return None
        compact = "".join(value.split()).upper()
        return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact

    @field_validator("date_from", "date_to", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> dt.date | None:
        return parse_day(value, field_label="address date")

    @model_validator(mode="after")
    def _in_order(self) -> Address:
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise ValueError("an address's date_to is before its date_from; swap or fix them")
        return self

    def as_json(self) -> dict[str, str | None]:
        return {
            "line": self.line,
            "postcode": self.postcode,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }


class RecordRow(FeedRow):
    """A person as one agency holds them."""

    table: ClassVar[str] = "records"
    required: ClassVar[tuple[str, ...]] = ("agency", "record_id")
    columns: ClassVar[tuple[str, ...]] = (
        "agency",
        "record_id",
        "given_name",
        "family_name",
        "other_names",
        "previous_family_names",
        "date_of_birth",
        "expected_date_of_delivery",
        "sex",
        "nhs_number",
        "upn",
        "ethnicity",
        "first_language",
        "interpreter_needed",
        "addresses",
        "change_reason",
    )

    record_id: str = _Id
    given_name: str | None = Field(default=None, max_length=100)
    family_name: str | None = Field(default=None, max_length=100)
    other_names: list[str] = Field(default_factory=list)
    previous_family_names: list[str] = Field(default_factory=list)
    date_of_birth: dt.date | None = None
    expected_date_of_delivery: dt.date | None = None
    sex: Sex | None = None
    nhs_number: str | None = None
    upn: str | None = None
    ethnicity: str | None = Field(default=None, max_length=100)
    first_language: str | None = Field(default=None, max_length=100)
    interpreter_needed: bool | None = None
    addresses: list[Address] = Field(default_factory=list)

    @field_validator("other_names", "previous_family_names", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        return _split_pipes(value)

    @field_validator("date_of_birth", mode="before")
    @classmethod
    def _date_of_birth(cls, value: Any, info: ValidationInfo) -> dt.date | None:
        day = parse_day(value, field_label="date of birth")
        return _not_future(day, info, "date of birth")

    @field_validator("expected_date_of_delivery", mode="before")
    @classmethod
    def _edd(cls, value: Any) -> dt.date | None:
        return parse_day(value, field_label="expected date of delivery")

    @field_validator("sex", mode="before")
    @classmethod
    def _sex(cls, value: Any) -> Any:
        if isinstance(value, str):
            upper = value.upper()
            if upper not in {"F", "M", "U"}:
                raise ValueError(f"{value!r} is not a sex code; use F, M or U")
            return upper
        return value

    @field_validator("nhs_number", mode="before")
    @classmethod
    def _nhs_number(cls, value: Any) -> str | None:
        if value is None:
            return None
        digits = "".join(str(value).split())
        if len(digits) != 10 or not digits.isdigit():
            raise ValueError(f"{value!r} is not an NHS number; an NHS number has 10 digits")
        if not nhs_number_is_valid(digits):
            raise ValueError(
                f"{value!r} fails the NHS number check digit (modulus 11); "
                "check it for a mistyped or swapped digit"
            )
        return digits

    @field_validator("upn", mode="before")
    @classmethod
    def _upn(cls, value: Any) -> str | None:
        if value is None:
            return None
        upn = "".join(str(value).split()).upper()
        if len(upn) != 13 or not upn[0].isalpha():
            raise ValueError(
                f"{value!r} is not a UPN; a UPN is a check letter and then 12 characters"
            )
        try:
            expected = upn_check_letter(upn[1:])
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a UPN: {exc}") from None
        if expected != upn[0]:
            raise ValueError(
                f"{value!r} has the wrong check letter (the DfE check gives {expected}); "
                "check it for a mistyped character"
            )
        return upn

    @field_validator("interpreter_needed", mode="before")
    @classmethod
    def _interpreter(cls, value: Any) -> Any:
        return _parse_bool(value)

    @field_validator("addresses", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        return _json_list(value, "addresses")

    def ref(self) -> str:
        return self.record_id

    def content_hash(self) -> str:
        return content_hash(
            (
                self.record_id,
                self.given_name,
                self.family_name,
                tuple(self.other_names),
                tuple(self.previous_family_names),
                _iso(self.date_of_birth),
                _iso(self.expected_date_of_delivery),
                self.sex.value if self.sex else None,
                self.nhs_number,
                self.upn,
                self.ethnicity,
                self.first_language,
                self.interpreter_needed,
                tuple(
                    (a.line, a.postcode, _iso(a.date_from), _iso(a.date_to)) for a in self.addresses
                ),
            )
        )


# --- relationships -------------------------------------------------------------------------


class RelationshipRow(FeedRow):
    """How the related record stands to ``record_id`` within one agency's records."""

    table: ClassVar[str] = "relationships"
    required: ClassVar[tuple[str, ...]] = (
        "agency",
        "record_id",
        "related_record_id",
        "relationship",
    )
    columns: ClassVar[tuple[str, ...]] = (
        "agency",
        "record_id",
        "related_record_id",
        "relationship",
        "lives_with",
        "date_from",
        "date_to",
    )

    record_id: str = _Id
    related_record_id: str = _Id
    relationship: RelationshipKind
    lives_with: bool | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @field_validator("relationship", mode="before")
    @classmethod
    def _relationship(cls, value: Any) -> Any:
        if isinstance(value, str):
            normalised = value.lower().replace("-", "_").replace(" ", "_")
            allowed = {kind.value for kind in RelationshipKind}
            if normalised not in allowed:
                raise ValueError(
                    f"{value!r} is not a relationship; use one of {', '.join(sorted(allowed))}"
                )
            return normalised
        return value

    @field_validator("lives_with", mode="before")
    @classmethod
    def _lives_with(cls, value: Any) -> Any:
        return _parse_bool(value)

    @field_validator("date_from", "date_to", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> dt.date | None:
        return parse_day(value, field_label="relationship date")

    @model_validator(mode="after")
    def _consistent(self) -> RelationshipRow:
        if self.record_id == self.related_record_id:
            raise ValueError("a record cannot be related to itself; check related_record_id")
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise ValueError("date_to is before date_from; swap or fix them")
        return self

    def ref(self) -> str:
        return relationship_ref(self.record_id, self.related_record_id, self.relationship.value)

    def content_hash(self) -> str:
        return content_hash(
            (
                self.record_id,
                self.related_record_id,
                self.relationship.value,
                self.lives_with,
                _iso(self.date_from),
                _iso(self.date_to),
            )
        )


def relationship_ref(record_id: str, related_record_id: str, relationship: str) -> str:
    """How a relationship row is keyed for versioning and quarantine."""
    return f"{record_id}>{related_record_id}:{relationship}"


# --- events --------------------------------------------------------------------------------


class Participant(BaseModel):
    """One person an event concerns, with their own role in it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    record_id: str = _Id
    role: ParticipantRole


def parse_people(value: Any) -> Any:
    """``C1:victim|C2:witness`` (CSV) or a list of ``{record_id, role}`` objects."""
    value = _blank_to_none(value)
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
            isinstance(value, str) and _DAY.match(value)
        ):
            day = parse_day(value, field_label="event date")
            assert day is not None
            return cls(day=day, precision=DatePrecision.DAY)
        if isinstance(value, str) and _MONTH.match(value):
            year, month = int(value[:4]), int(value[5:])
            if not 1 <= month <= 12 or year < 1:
                raise ValueError(f"{value} is not a real month; write it as YYYY-MM")
            last = calendar.monthrange(year, month)[1]
            return cls(day=dt.date(year, month, last), precision=DatePrecision.MONTH)
        if isinstance(value, str) and _YEAR.match(value) and int(value) >= 1:
            return cls(day=dt.date(int(value), 12, 31), precision=DatePrecision.YEAR)
        raise ValueError(
            f"{value!r} is not a date; write the event date as YYYY-MM-DD, or YYYY-MM or "
            "YYYY when only the month or year is known"
        )


class EventRow(FeedRow):
    """One chronology entry (research-notes §7): date or period, what happened, source,
    impact on the child, action taken; fact, report or opinion."""

    model_config = ConfigDict(extra="ignore", frozen=True, arbitrary_types_allowed=True)

    table: ClassVar[str] = "events"
    required: ClassVar[tuple[str, ...]] = (
        "agency",
        "event_id",
        "event_date",
        "concern_code",
        "summary",
        "information_type",
        "people",
    )
    columns: ClassVar[tuple[str, ...]] = (
        "agency",
        "event_id",
        "event_date",
        "date_recorded",
        "concern_code",
        "severity",
        "summary",
        "information_type",
        "impact_on_child",
        "action_taken",
        "practitioner",
        "people",
        "change_reason",
    )

    event_id: str = _Id
    event_date: EventDate
    date_recorded: dt.date | None = None
    concern_code: str
    severity: int | None = Field(default=None, ge=1, le=5)
    summary: str = Field(min_length=1)
    information_type: InformationType
    impact_on_child: str | None = None
    action_taken: str | None = None
    practitioner: str | None = Field(default=None, max_length=64)
    people: list[Participant] = Field(min_length=1)

    @field_validator("event_date", mode="before")
    @classmethod
    def _event_date(cls, value: Any, info: ValidationInfo) -> EventDate | None:
        if value is None:
            return None  # reported as missing by the field itself
        event_date = EventDate.parse(value)
        # A month or year that has begun is accepted: "2026-11" is a real period even
        # before it ends; a period that has not started is in the future.
        if event_date.period_start > _context(info).today:
            raise ValueError(
                f"the event date {event_date.as_feed_value()} is in the future; "
                "give the date it happened"
            )
        return event_date

    @field_validator("date_recorded", mode="before")
    @classmethod
    def _date_recorded(cls, value: Any, info: ValidationInfo) -> dt.date | None:
        day = parse_day(value, field_label="date recorded")
        return _not_future(day, info, "the date recorded")

    @field_validator("concern_code", mode="before")
    @classmethod
    def _concern_code(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        code = value.upper()
        if code not in _context(info).taxonomy:
            raise ValueError(
                f"{value!r} is not a code of the concern taxonomy "
                "(src/fullpicture/chronology/concern_taxonomy.yaml); use one of its codes"
            )
        return code

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.isdigit():
                raise ValueError(f"{value!r} is not a severity; use a whole number 1 to 5")
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    @field_validator("information_type", mode="before")
    @classmethod
    def _information_type(cls, value: Any) -> Any:
        if isinstance(value, str):
            lowered = value.lower()
            if lowered not in {"fact", "reported", "opinion"}:
                raise ValueError(
                    f"{value!r} is not an information type; use fact, reported or opinion"
                )
            return lowered
        return value

    @field_validator("people", mode="before")
    @classmethod
    def _people(cls, value: Any) -> Any:
        return parse_people(value)

    @field_validator("people")
    @classmethod
    def _one_role_each(cls, value: list[Participant]) -> list[Participant]:
        seen: set[str] = set()
        for person in value:
            if person.record_id in seen:
                raise ValueError(
                    f"record {person.record_id} is listed twice; give each person once, "
                    "with their own role"
                )
            seen.add(person.record_id)
        return sorted(value, key=lambda person: person.record_id)

    @model_validator(mode="after")
    def _recorded_after_event(self) -> EventRow:
        if self.date_recorded and self.date_recorded < self.event_date.period_start:
            raise ValueError(
                f"date_recorded {self.date_recorded.isoformat()} is before the event date "
                f"{self.event_date.as_feed_value()}; check both dates"
            )
        return self

    def ref(self) -> str:
        return self.event_id

    def content_hash(self) -> str:
        return self.normalised(agency_id=0).digest

    def normalised(self, *, agency_id: int) -> NormalisedEvent:
        """The row as it is stored and hashed."""
        return NormalisedEvent.build(
            agency_id=agency_id,
            event_id=self.event_id,
            event_date=self.event_date.day.isoformat(),
            precision=self.event_date.precision.value,
            date_recorded=_iso(self.date_recorded),
            concern_code=self.concern_code,
            severity=self.severity,
            summary=self.summary,
            information_type=self.information_type.value,
            impact_on_child=self.impact_on_child,
            action_taken=self.action_taken,
            practitioner=self.practitioner,
            people=tuple((person.record_id, person.role.value) for person in self.people),
            change_reason=self.change_reason,
        )


def event_digest(
    event_id: str,
    event_date: str,
    precision: str,
    date_recorded: str | None,
    concern_code: str,
    severity: int | None,
    summary: str,
    information_type: str,
    impact_on_child: str | None,
    action_taken: str | None,
    practitioner: str | None,
    people: tuple[tuple[str, str], ...],
) -> str:
    """The content hash of a normalised event (``change_reason`` is not content)."""
    return content_hash(
        (
            event_id,
            event_date,
            precision,
            date_recorded,
            concern_code,
            severity,
            summary,
            information_type,
            impact_on_child,
            action_taken,
            practitioner,
            people,
        )
    )


@dataclass(slots=True)
class NormalisedEvent:
    """A valid event row, normalised: what is stored, and its content hash.

    Built from a validated ``EventRow``, or directly by the vectorised check of plain CSV
    rows (``fast_events``), which must give the same values and hash (a property test
    holds the two to it)."""

    agency_id: int
    event_id: str
    event_date: str  # ISO date: the day, or the last day of the month or year
    precision: str
    date_recorded: str | None  # ISO date
    concern_code: str
    severity: int | None
    summary: str
    information_type: str
    impact_on_child: str | None
    action_taken: str | None
    practitioner: str | None
    people: tuple[tuple[str, str], ...]  # (record_id, role), sorted by record_id
    change_reason: str | None
    digest: str

    @classmethod
    def build(
        cls,
        *,
        agency_id: int,
        event_id: str,
        event_date: str,
        precision: str,
        date_recorded: str | None,
        concern_code: str,
        severity: int | None,
        summary: str,
        information_type: str,
        impact_on_child: str | None,
        action_taken: str | None,
        practitioner: str | None,
        people: tuple[tuple[str, str], ...],
        change_reason: str | None,
    ) -> NormalisedEvent:
        digest = event_digest(
            event_id,
            event_date,
            precision,
            date_recorded,
            concern_code,
            severity,
            summary,
            information_type,
            impact_on_child,
            action_taken,
            practitioner,
            people,
        )
        return cls(
            agency_id,
            event_id,
            event_date,
            precision,
            date_recorded,
            concern_code,
            severity,
            summary,
            information_type,
            impact_on_child,
            action_taken,
            practitioner,
            people,
            change_reason,
            digest,
        )


ROW_MODELS: dict[str, type[FeedRow]] = {
    "records": RecordRow,
    "relationships": RelationshipRow,
    "events": EventRow,
}


# --- reasons -------------------------------------------------------------------------------


class QuarantineReason(BaseModel):
    """One thing wrong with a row: which field, and what to do about it."""

    model_config = ConfigDict(frozen=True)

    field: str
    message: str


def reasons_from_error(error: ValidationError) -> list[QuarantineReason]:
    """Turn pydantic's errors into plain-English reasons, one per problem."""
    reasons: list[QuarantineReason] = []
    for detail in error.errors(include_url=False):
        reasons.append(QuarantineReason(field=_field_name(detail), message=_message(detail)))
    return reasons


def _field_name(detail: ErrorDetails) -> str:
    parts = [str(part) for part in detail["loc"]]
    return ".".join(parts) if parts else "row"


def _message(detail: ErrorDetails) -> str:
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    field = _field_name(detail).split(".")[0]
    if kind == "missing":
        return f"{field} is required and was blank or absent; fill it in"
    if kind == "value_error":
        return str(ctx.get("error", detail["msg"]))
    if kind in {"string_too_long", "too_long"}:
        return f"{field} is too long; at most {ctx.get('max_length')} characters"
    if kind in {"string_too_short", "too_short"}:
        if field == "people":
            return "people is empty; list each person the event concerns as record_id:role"
        return f"{field} is blank; fill it in"
    if kind in {"greater_than_equal", "less_than_equal", "int_parsing", "int_from_float"}:
        return f"{field} must be a whole number 1 to 5" if field == "severity" else detail["msg"]
    if kind == "enum":
        named = [part for part in detail["loc"] if isinstance(part, str)]
        return f"{detail['input']!r} is not a {named[-1] if named else field}; use {ctx.get('expected')}"
    if kind in {"string_type", "list_type", "dict_type", "model_type", "model_attributes_type"}:
        return f"{field} has the wrong kind of value ({detail['msg'].lower()})"
    if kind == "extra_forbidden":
        return f"{field} is not a field here; remove it"
    return f"{field}: {detail['msg']}"


# --- what an import reports -----------------------------------------------------------------

OUTCOMES = ("read", "new", "changed", "unchanged", "repeated", "quarantined")
"""How each row of a table ended up: stored as a new record/event, stored as a new version of
a changed one, already stored as it is, the same row again within the batch, or quarantined."""


class TableCounts(BaseModel):
    read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    repeated: int = 0
    quarantined: int = 0


class QuarantinedRowRead(BaseModel):
    """A quarantined row as shown to whoever must fix it."""

    model_config = ConfigDict(from_attributes=True)

    id: int | None = None
    table_name: str
    row_number: int
    agency_code: str | None
    row_ref: str | None
    raw: str
    reasons: list[QuarantineReason]
    status: str = "open"


class ImportBatchRead(BaseModel):
    """The summary of one import batch."""

    public_id: str
    status: str
    source_name: str
    file_format: str
    file_sha256: str
    imported_by: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    tables: dict[str, TableCounts]
    repaired: int
    failure: str | None = None


class ImportResult(BaseModel):
    """What an import did, with every row it quarantined and why."""

    batch: ImportBatchRead
    quarantined: list[QuarantinedRowRead]


def flatten_counts(tables: dict[str, TableCounts], repaired: int) -> dict[str, int]:
    """``{"events.new": 3, ..., "repaired": 1}``, as ``import_batch.counts`` stores them."""
    flat = {
        f"{table}.{outcome}": getattr(counts, outcome)
        for table, counts in tables.items()
        for outcome in OUTCOMES
    }
    flat["repaired"] = repaired
    return flat


def unflatten_counts(flat: dict[str, int]) -> tuple[dict[str, TableCounts], int]:
    tables: dict[str, dict[str, int]] = {}
    for key, value in flat.items():
        table, _, outcome = key.partition(".")
        if outcome:
            tables.setdefault(table, {})[outcome] = value
    return (
        {table: TableCounts(**values) for table, values in tables.items()},
        flat.get("repaired", 0),
    )
