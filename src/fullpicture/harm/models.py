"""Cumulative-harm alerts: what was raised for which child, why, to whom, and what was done."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fullpicture.core.database import Base, UTCDateTime, string_enum, utc_now
from fullpicture.people.models import Person, new_public_id


class AlertStatus(enum.StrEnum):
    """An alert is new until someone records a decision on it, and closed with its outcome."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class HarmAlert(Base):
    """One alert, raised once per episode: the unique key is (child, kind, day raised)."""

    __tablename__ = "harm_alert"
    __table_args__ = (
        UniqueConstraint("person_id", "kind", "raised_on"),
        Index("ix_harm_alert_status", "status"),
        # The need-to-know rule asks, on every read, which children have an alert routed to the
        # reader's agency (harm.repository.involved_through_alerts).
        Index("ix_harm_alert_routed_to_agency_person", "routed_to_agency_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    raised_on: Mapped[dt.date] = mapped_column(
        Date, comment="the day the evidence crossed the rule"
    )
    score: Mapped[float] = mapped_column(Float, comment="cumulative score on that day")
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(
        JSON, comment="{'event_ids': [...]}: the event versions behind the alert"
    )
    model_version: Mapped[str] = mapped_column(String(32))
    status: Mapped[AlertStatus] = mapped_column(
        string_enum(AlertStatus, 16), default=AlertStatus.NEW
    )
    routed_to_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    routing_reason: Mapped[str] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(Text)
    closed_by: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

    # Loaded by a second SELECT, so the row lock taken on an alert never spans a join.
    person: Mapped[Person] = relationship(lazy="selectin")

    @property
    def person_public_id(self) -> str:
        """The child's id as the child routes take it (``/children/{id}/…``)."""
        return self.person.public_id
