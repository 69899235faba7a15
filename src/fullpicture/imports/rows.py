"""Feed rows as pydantic models: the input boundary of every import (docs/import-format.md).

Each model accepts a row as it comes from CSV (all text; list fields in their CSV notation),
JSON Lines or Parquet (native lists and values), normalises it, and either returns a row
ready to store or raises a ``ValidationError`` whose messages say what to fix.
``content_hash`` is the identity of a row's content: re-importing a row with the same hash
changes nothing, and a different hash becomes a new version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fullpicture.chronology.models import InformationType, ParticipantRole
from fullpicture.imports.identifiers import nhs_number_is_valid, upn_check_letter
from fullpicture.imports.parsing import (
    EventDate,
    blank_to_none,
    content_hash,
    iso_day,
    json_list,
    not_future,
    parse_bool,
    parse_day,
    parse_people,
    plausible,
    printable,
    split_pipes,
    validation_context,
    without_nul,
)
from fullpicture.people.models import RelationshipKind, Sex

TABLES = ("records", "relationships", "events")

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

    @field_validator("agency", mode="after")
    @classmethod
    def _printable_agency(cls, value: str) -> str:
        return printable(value, "agency")

    @field_validator("change_reason", mode="after")
    @classmethod
    def _change_reason_text(cls, value: str | None) -> str | None:
        return without_nul(value, "change_reason")

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
        value = blank_to_none(value)
        return value

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str | None) -> str | None:
        # Postcodes are compared across agencies; one spelling (upper case, one space) each.
        if value is None:
            return None
        compact = "".join(value.split()).upper()
        return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact

    @field_validator("line", "postcode", mode="after")
    @classmethod
    def _printable_text(cls, value: str | None, info: ValidationInfo) -> str | None:
        return printable(value, f"the address's {info.field_name}")

    @field_validator("date_from", "date_to", mode="before")
    @classmethod
    def _dates(cls, value: Any, info: ValidationInfo) -> dt.date | None:
        day = parse_day(value, field_label="address date")
        return plausible(day, info, "address_date", "address date")

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
        return split_pipes(value)

    @field_validator(
        "record_id",
        "given_name",
        "family_name",
        "other_names",
        "previous_family_names",
        "ethnicity",
        "first_language",
        mode="after",
    )
    @classmethod
    def _printable_names(cls, value: Any, info: ValidationInfo) -> Any:
        return printable(value, str(info.field_name))

    @field_validator("date_of_birth", mode="before")
    @classmethod
    def _date_of_birth(cls, value: Any, info: ValidationInfo) -> dt.date | None:
        day = not_future(parse_day(value, field_label="date of birth"), info, "date of birth")
        return plausible(day, info, "date_of_birth", "date of birth")

    @field_validator("expected_date_of_delivery", mode="before")
    @classmethod
    def _edd(cls, value: Any, info: ValidationInfo) -> dt.date | None:
        day = parse_day(value, field_label="expected date of delivery")
        return plausible(day, info, "expected_date_of_delivery", "expected date of delivery")

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
        return parse_bool(value)

    @field_validator("addresses", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        return json_list(value, "addresses")

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
                iso_day(self.date_of_birth),
                iso_day(self.expected_date_of_delivery),
                self.sex.value if self.sex else None,
                self.nhs_number,
                self.upn,
                self.ethnicity,
                self.first_language,
                self.interpreter_needed,
                tuple(
                    (a.line, a.postcode, iso_day(a.date_from), iso_day(a.date_to))
                    for a in self.addresses
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
        return parse_bool(value)

    @field_validator("record_id", "related_record_id", mode="after")
    @classmethod
    def _printable_ids(cls, value: str, info: ValidationInfo) -> str:
        return printable(value, str(info.field_name))

    @field_validator("date_from", "date_to", mode="before")
    @classmethod
    def _dates(cls, value: Any, info: ValidationInfo) -> dt.date | None:
        day = parse_day(value, field_label="relationship date")
        return plausible(day, info, "relationship_date", "relationship date")

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
                iso_day(self.date_from),
                iso_day(self.date_to),
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

    @field_validator("record_id", mode="after")
    @classmethod
    def _printable_id(cls, value: str) -> str:
        return printable(value, "a record id in people")


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
        if event_date.period_start > validation_context(info).today:
            raise ValueError(
                f"the event date {event_date.as_feed_value()} is in the future; "
                "give the date it happened"
            )
        plausible(event_date.period_start, info, "event_date", "event date")
        return event_date

    @field_validator("date_recorded", mode="before")
    @classmethod
    def _date_recorded(cls, value: Any, info: ValidationInfo) -> dt.date | None:
        day = not_future(parse_day(value, field_label="date recorded"), info, "the date recorded")
        return plausible(day, info, "date_recorded", "date recorded")

    @field_validator("event_id", "practitioner", mode="after")
    @classmethod
    def _printable_ids(cls, value: str | None, info: ValidationInfo) -> str | None:
        return printable(value, str(info.field_name))

    @field_validator("summary", "impact_on_child", "action_taken", mode="after")
    @classmethod
    def _free_text(cls, value: str | None, info: ValidationInfo) -> str | None:
        return without_nul(value, str(info.field_name))

    @field_validator("concern_code", mode="before")
    @classmethod
    def _concern_code(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        code = value.upper()
        if code not in validation_context(info).taxonomy:
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
            date_recorded=iso_day(self.date_recorded),
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
