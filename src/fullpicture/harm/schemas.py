"""Pydantic shapes at the harm capability's boundaries: case files, replay results, alerts."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fullpicture.access.schemas import HeldElsewhere
from fullpicture.harm.models import AlertStatus


class CaseChild(BaseModel):
    model_config = ConfigDict(extra="ignore")

    date_of_birth: dt.date
    sex: Literal["F", "M", "U"] = "U"


class CaseEvent(BaseModel):
    """One event of a case file (extra fields such as ``source_type`` are ignored)."""

    model_config = ConfigDict(extra="ignore")

    date: dt.date
    agency: str = Field(min_length=1)
    concern_code: str = ""
    summary: str = ""


class CaseFile(BaseModel):
    """A child's events, as ``fullpicture replay`` reads them; ``outcome`` is never read."""

    model_config = ConfigDict(extra="ignore")

    child: CaseChild
    events: list[CaseEvent]


class EntryRead(BaseModel):
    """How an entry's words were read before scoring (harm_model.yaml ``entry_reading``)."""

    event: int = Field(description="index of the case file's event")
    scored_as: str | None = Field(description="the code scored, or None when it is not scored")
    severity: int | None = Field(description="the severity its words support; None: the default")
    rule: str | None = Field(description="the entry-reading rule that decided, if any")
    words: list[str] = Field(description="the entry's words the decision rests on")
    note: str


class ReplayAlert(BaseModel):
    date: dt.date
    kind: str
    score: float
    reason: str
    evidence: list[int] = Field(description="indexes of the case file's events")
    evidence_read: list[EntryRead] = Field(
        default_factory=list,
        description="for each evidence event, the code and severity scored and the words behind them",
    )


class ReplayView(BaseModel):
    first_alert_date: dt.date | None
    alerts: list[ReplayAlert]


class ReplayWarning(BaseModel):
    event: int | None = Field(description="index of the event the warning is about")
    problem: str


class CodeInference(BaseModel):
    event: int
    summary: str
    treated_as: str = Field(description="the code used, or 'process' when none was inferred")
    method: str
    spans: list[str] = Field(default_factory=list)


class ReplayResult(BaseModel):
    """What the engine would have raised, day by day, combined and per agency."""

    combined: ReplayView
    by_agency: dict[str, ReplayView]
    model_version: str
    taxonomy_version: str
    warnings: list[ReplayWarning]
    blank_codes: list[CodeInference]
    agency_kinds: dict[str, str] = Field(description="each case agency name's AgencyKind")
    readings: list[EntryRead] = Field(
        default_factory=list,
        description="entries whose words changed how they were scored, and the rule that did",
    )


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    public_id: str
    person_id: int
    person_public_id: str = Field(description="the child's id in the /children/{id}/… routes")
    kind: str
    raised_on: dt.date
    score: float
    reason: str
    evidence: dict[str, list[int]]
    model_version: str
    status: AlertStatus
    routed_to_agency_id: int | None
    routing_reason: str
    decision: str | None
    decided_by: str | None
    decided_at: dt.datetime | None = None
    outcome: str | None
    closed_by: str | None
    closed_at: dt.datetime | None = None
    withheld: HeldElsewhere | None = Field(
        default=None,
        description="entries behind the alert your role may not see: counted, not shown; the "
        "alert's kind, reason, decision and outcome are then withheld too",
    )


class AlertAcknowledge(BaseModel):
    """A decision on a new alert. It is recorded as the signed-in user's: a body that names
    someone (``by``, ``decided_by``…) is refused with a 422, never stored."""

    model_config = ConfigDict(extra="forbid")

    decision: str = Field(min_length=3, description="what was decided, and why")


class AlertClose(BaseModel):
    """An alert's outcome, recorded as the signed-in user's (a ``by`` field is a 422)."""

    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(min_length=3, description="what happened for the child")


class ContributionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    day: dt.date
    agencies: list[str]
    refs: list[int | str] = Field(description="the event ids behind the incident")
    base_severity: int
    severity: int
    modifiers: list[str]
    points: float
    decay: float
    contribution: float


class EntryReadingRead(BaseModel):
    """How one entry's words decided what was scored (harm_model.yaml ``entry_reading``)."""

    ref: int = Field(description="the event id")
    scored_as: str | None = Field(description="the code scored, or None when it was not scored")
    severity: int | None
    rule: str
    words: list[str] = Field(description="the entry's words the rule relied on")
    note: str


class RaisedAlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    day: dt.date
    score: float
    reason: str
    evidence: list[int | str] = Field(description="the event ids behind the alert")


class ChildHarmRead(BaseModel):
    """One child's score as of a day, the incidents in it the caller may see, and every alert
    raised so far. The score rests on the whole record; ``held_elsewhere`` counts the entries
    behind it that the caller's role may not see."""

    as_of: dt.date
    score: float
    concern_points: float
    agencies: list[str] = Field(description="agencies whose entries you may see")
    triangulation_multiplier: float
    contributions: list[ContributionRead]
    strengths: list[ContributionRead]
    strength_weight: float
    strength_note: str
    alerts: list[RaisedAlertRead]
    model_version: str
    held_elsewhere: HeldElsewhere | None = Field(
        default=None, description="entries behind the score your role may not see"
    )
    entries_read: list[EntryReadingRead] = Field(
        default_factory=list,
        description="entries you may see whose words decided how they were scored: the rule "
        "and the words (a follow-up, an attendance figure, an explained accident …)",
    )
