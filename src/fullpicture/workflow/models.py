"""Cases: the open piece of work around a child, its lead practitioner and level of need
(each with the history of changes and the reason for each) and its dated steps.

Due and overdue are never stored: they are computed from the dated steps and the timescales
file each time they are read (``workflow.timescales``), so they cannot go stale.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import JSON, Date, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fullpicture.core.database import Base, UTCDateTime, string_enum, utc_now


class CaseKind(enum.StrEnum):
    """The plan or piece of work (research-notes §2.2, §4)."""

    EARLY_HELP = "early_help"
    CHILD_IN_NEED = "child_in_need"
    CHILD_PROTECTION = "child_protection"
    REFERRAL = "referral"  # at the front door, before a plan


def _public_id() -> str:
    return str(uuid.uuid4())


class Case(Base):
    __tablename__ = "workflow_case"
    __table_args__ = (Index("ix_workflow_case_person", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=_public_id)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    kind: Mapped[CaseKind] = mapped_column(string_enum(CaseKind))
    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agency.id"), comment="the agency that opened the case"
    )
    opened_on: Mapped[dt.date] = mapped_column(Date)
    review_by: Mapped[dt.date | None] = mapped_column(Date, comment="the plan's next review")
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    recorded_by: Mapped[str] = mapped_column(String(200))

    leads: Mapped[list[LeadPractitionerAssignment]] = relationship(
        back_populates="case", order_by="LeadPractitionerAssignment.id"
    )
    levels: Mapped[list[LevelOfNeedChange]] = relationship(
        back_populates="case", order_by="LevelOfNeedChange.id"
    )
    steps: Mapped[list[CaseStep]] = relationship(
        back_populates="case", order_by="(CaseStep.occurred_on, CaseStep.id)"
    )


class LeadPractitionerAssignment(Base):
    """Who leads the case from when (research-notes §2.2 "Early help and the lead practitioner")."""

    __tablename__ = "lead_practitioner_assignment"
    __table_args__ = (Index("ix_lead_practitioner_case", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("workflow_case.id"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id"), comment="the lead's account, for their inbox"
    )
    name: Mapped[str | None] = mapped_column(String(200), comment="None: no lead from this day")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    recorded_by: Mapped[str] = mapped_column(String(200))

    case: Mapped[Case] = relationship(back_populates="leads")


class LevelOfNeedChange(Base):
    """The case's level of need from a day, and why (research-notes §4)."""

    __tablename__ = "level_of_need_change"
    __table_args__ = (Index("ix_level_of_need_case", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("workflow_case.id"))
    level: Mapped[int] = mapped_column(SmallInteger)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    recorded_by: Mapped[str] = mapped_column(String(200))

    case: Mapped[Case] = relationship(back_populates="levels")


class CaseStep(Base):
    """A dated step (a referral, a strategy discussion, a conference, a visit …)."""

    __tablename__ = "case_step"
    __table_args__ = (Index("ix_case_step_case", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("workflow_case.id"))
    kind: Mapped[str] = mapped_column(String(32), comment="a step of timescales.yaml")
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    case: Mapped[Case] = relationship(back_populates="steps")


class EscalationStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Escalation(Base):
    """A professional disagreement about a child, raised by one agency with another
    (research-notes §5: record each stage, who was contacted, the outcome and date)."""

    __tablename__ = "escalation"
    __table_args__ = (
        Index("ix_escalation_person", "person_id"),
        Index("ix_escalation_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=_public_id)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_case.id"))
    raised_by_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    with_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    disagreement: Mapped[str] = mapped_column(Text)
    status: Mapped[EscalationStatus] = mapped_column(string_enum(EscalationStatus, 16))
    outcome: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    rules_version: Mapped[int] = mapped_column(comment="escalation.yaml version")

    stages: Mapped[list[EscalationStage]] = relationship(
        back_populates="escalation", order_by="EscalationStage.id"
    )


class EscalationStage(Base):
    """One stage of an escalation: who raised it with whom, the response and the outcome."""

    __tablename__ = "escalation_stage"
    __table_args__ = (Index("ix_escalation_stage_escalation", "escalation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalation.id"))
    stage: Mapped[int] = mapped_column(SmallInteger)
    raised_by: Mapped[str] = mapped_column(
        String(200), comment="user:<name>, or system:escalation when it escalated itself"
    )
    raised_with: Mapped[str] = mapped_column(Text, comment="who it was raised with (name, role)")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    escalated_itself: Mapped[bool] = mapped_column(default=False)
    response: Mapped[str | None] = mapped_column(Text)
    responded_by: Mapped[str | None] = mapped_column(String(200))
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    escalation: Mapped[Escalation] = relationship(back_populates="stages")


class Notification(Base):
    """One message in a user's in-app inbox (seen elsewhere, overdue steps, escalations,
    alerts). ``dedupe_key`` makes raising it idempotent; an e-mail, when SMTP is configured,
    carries a link to the inbox only, never the message."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_recipient", "recipient_user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=_public_id)
    recipient_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(300), comment="a path on this site")
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SupervisionRecord(Base):
    """A dated supervision session between a manager or designated lead and a practitioner,
    with the decisions and actions agreed (reflective supervision: research-notes §6.10;
    ../shared/domain/README.md theme "reflective supervision")."""

    __tablename__ = "supervision_record"
    __table_args__ = (Index("ix_supervision_record_supervisee", "supervisee_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=_public_id)
    supervisee_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    supervisor_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id"), comment="the child discussed, when one"
    )
    held_on: Mapped[dt.date] = mapped_column(Date)
    reflections: Mapped[str] = mapped_column(Text)
    decisions: Mapped[str] = mapped_column(Text)
    actions: Mapped[list[dict[str, str]]] = mapped_column(
        JSON, default=list, comment="[{action, owner, due_on}]"
    )
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
