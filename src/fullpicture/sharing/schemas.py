"""Sharing decisions in and out (API, CLI and web render the same objects)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from fullpicture.sharing.models import SharingOutcome

_TEXT = Field(default=None, max_length=4000)


class EntryRef(BaseModel):
    """A chronology entry by its agency's own reference (the sharer's agency when left out)."""

    model_config = ConfigDict(extra="forbid")

    event_ref: str = Field(min_length=1, max_length=64)
    agency_code: str | None = Field(default=None, max_length=64)


class SharingDecisionCreate(BaseModel):
    """What a practitioner records when they share, or decide not to (golden rule 7)."""

    model_config = ConfigDict(extra="forbid")

    outcome: SharingOutcome
    to_agency_code: str = Field(min_length=1, max_length=64)
    recipient_role: str = Field(min_length=1, max_length=200)
    recipient_name: str | None = Field(default=None, max_length=200)
    purpose: str = Field(
        min_length=1, max_length=4000, description="why: what the recipient needs it for"
    )
    entries: list[EntryRef] = Field(default_factory=list, max_length=500)
    documents: list[str] = Field(default_factory=list, max_length=50)
    regime: str | None = Field(default=None, max_length=32)
    basis: str | None = Field(default=None, max_length=64)
    special_category: bool = False
    special_category_condition: str | None = Field(default=None, max_length=64)
    gateways: list[str] = Field(default_factory=list, max_length=10)
    detriment_test: str | None = _TEXT
    reason_not_shared: str | None = _TEXT
    family_informed: bool
    family_not_informed_reason: str | None = _TEXT
    decided_at: dt.datetime | None = Field(default=None, description="default now")
    shared_at: dt.datetime | None = Field(
        default=None, description="when the recipient received it; default the decision time"
    )


class SharedEntryRead(BaseModel):
    event_ref: str
    agency_code: str
    version: int
    event_date: dt.date
    concern_code: str


class SharingDecisionRead(BaseModel):
    id: str
    child_id: str
    outcome: SharingOutcome
    from_agency_code: str
    to_agency_code: str
    recipient_role: str
    recipient_name: str | None
    purpose: str
    regime: str | None
    basis: str | None
    basis_label: str | None
    special_category: bool
    special_category_condition: str | None
    gateways: list[str]
    detriment_test: str | None
    reason_not_shared: str | None
    family_informed: bool
    family_not_informed_reason: str | None
    documents: list[str]
    entries: list[SharedEntryRead]
    decided_at: dt.datetime
    shared_at: dt.datetime | None
    recorded_by: str
    rules_version: int
    warnings: list[str] = Field(default_factory=list)


class SharingRefusal(BaseModel):
    """Why a decision was not recorded; nothing was saved."""

    detail: str
    problems: list[str]


class EntrySharingRead(BaseModel):
    """One significant entry and one other agency working with the child."""

    event_ref: str
    from_agency_code: str
    concern_code: str
    severity: int
    event_date: dt.date
    recorded_on: dt.date
    to_agency_code: str | None = Field(
        description="None when the reader's agency may not be told which agency it is"
    )
    received_on: dt.date | None
    days: int | None = Field(description="calendar days from recording to receipt")
    decision_id: str | None


class UnsharedEntries(BaseModel):
    """A child's significant entries not yet received by another agency working with the child,
    as the reader may see them: how many (entry, agency) pairs, and the latest few."""

    total: int
    latest: list[EntrySharingRead] = Field(description="newest entry date first")
    note: str | None = None


class ChildSharingLatency(BaseModel):
    child_id: str
    significant_severity: int
    received: list[EntrySharingRead]
    unshared: list[EntrySharingRead]
    note: str | None = None
