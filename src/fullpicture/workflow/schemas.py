"""Cases, lead practitioners, levels of need and steps, in and out (API, CLI and web)."""

from __future__ import annotations

import datetime as dt
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fullpicture.workflow.models import CaseKind
from fullpicture.workflow.timescales import StepStatus

_REASON = Field(min_length=3, max_length=4000, description="why: kept in the history")


class LeadIn(BaseModel):
    """The lead practitioner: a user of the system, or a named person at an agency."""

    model_config = ConfigDict(extra="forbid")

    username: str | None = Field(default=None, max_length=150)
    name: str | None = Field(default=None, max_length=200)
    agency_code: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _who(self) -> Self:
        if self.username is None and (self.name is None or self.agency_code is None):
            raise ValueError("name the lead practitioner: a username, or a name and agency code")
        return self


class CaseOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: CaseKind
    opened_on: dt.date | None = Field(default=None, description="default today")
    level_of_need: int = Field(ge=1, le=4)
    level_reason: str = _REASON
    lead: LeadIn | None = None
    lead_reason: str | None = Field(default=None, max_length=4000)
    review_by: dt.date | None = None


class LeadChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead: LeadIn | None = Field(description="None: the case has no lead from this day")
    starts_on: dt.date | None = None
    reason: str = _REASON


class LevelChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: int = Field(ge=1, le=4)
    starts_on: dt.date | None = None
    reason: str = _REASON


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=32)
    occurred_on: dt.date
    note: str | None = Field(default=None, max_length=4000)


class CaseClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    closed_on: dt.date | None = None
    reason: str = _REASON


class LeadRead(BaseModel):
    name: str | None
    agency_code: str | None
    username: str | None
    starts_on: dt.date
    reason: str
    recorded_by: str


class LevelRead(BaseModel):
    level: int
    label: str
    starts_on: dt.date
    reason: str
    recorded_by: str


class StepRead(BaseModel):
    id: int
    kind: str
    occurred_on: dt.date
    note: str | None
    recorded_by: str


class ClockRead(BaseModel):
    """A timescale's clock, computed when read (never stored)."""

    timescale: str
    label: str
    within: str
    started_on: dt.date
    due_on: dt.date
    met_on: dt.date | None
    status: StepStatus
    source: str


class CaseRead(BaseModel):
    id: str
    child_id: str
    kind: CaseKind
    agency_code: str
    opened_on: dt.date
    review_by: dt.date | None
    closed_on: dt.date | None
    closed_reason: str | None
    lead: LeadRead | None
    lead_history: list[LeadRead]
    level_of_need: LevelRead | None
    level_history: list[LevelRead]
    steps: list[StepRead]
    clocks: list[ClockRead]
    flags: list[str]


class OwnershipFlag(BaseModel):
    """A case with no lead practitioner, or a child with concerns from several agencies and
    no case: owned by nobody (issue 15 item 3)."""

    kind: str
    child_id: str
    case_id: str | None
    message: str
    evidence: dict[str, object]


class EscalationRaise(BaseModel):
    model_config = ConfigDict(extra="forbid")

    with_agency_code: str = Field(min_length=1, max_length=64)
    raised_with: str = Field(min_length=2, max_length=400, description="name and role")
    disagreement: str = Field(min_length=3, max_length=4000)
    case_id: str | None = Field(default=None, max_length=36)


class EscalationRespond(BaseModel):
    model_config = ConfigDict(extra="forbid")

    response: str = Field(min_length=2, max_length=4000)


class EscalationEscalate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=4000, description="why the last stage failed")
    raised_with: str = Field(min_length=2, max_length=400)


class EscalationResolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(min_length=3, max_length=4000)


class EscalationStageRead(BaseModel):
    stage: int
    name: str
    formal: bool
    raised_by: str
    raised_with: str
    started_at: dt.datetime
    due_on: dt.date = Field(description="computed from escalation.yaml when read")
    escalated_itself: bool
    response: str | None
    responded_by: str | None
    responded_at: dt.datetime | None
    outcome: str | None
    ended_at: dt.datetime | None
    overdue: bool


class EscalationRead(BaseModel):
    id: str
    child_id: str
    case_id: str | None
    raised_by_agency_code: str
    with_agency_code: str
    disagreement: str
    status: str
    outcome: str | None
    opened_at: dt.datetime
    resolved_at: dt.datetime | None
    current_stage: int
    formal: bool
    stages: list[EscalationStageRead]


class NotificationRead(BaseModel):
    id: str
    kind: str
    title: str
    body: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None
