"""Sharing decisions: what a practitioner shared about a child with another agency, or decided
not to share, with the lawful basis and the reasons (research-notes §2.1, golden rule 7).

A decision is never edited: it is the record of what was decided and why at the time. The
entries shared are kept as the exact chronology versions shared, so the receiving agency sees
what it was given, not later corrections it was never sent.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fullpicture.core.database import Base, UTCDateTime, string_enum, utc_now


class SharingOutcome(enum.StrEnum):
    SHARED = "shared"
    NOT_SHARED = "not_shared"


def _public_id() -> str:
    return str(uuid.uuid4())


class SharingDecision(Base):
    """One decision to share (or not) information about one child with one agency."""

    __tablename__ = "sharing_decision"
    __table_args__ = (
        Index("ix_sharing_decision_person", "person_id"),
        Index("ix_sharing_decision_to_agency", "to_agency_id", "outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=_public_id)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    outcome: Mapped[SharingOutcome] = mapped_column(string_enum(SharingOutcome, 16))
    from_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    to_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    recipient_role: Mapped[str] = mapped_column(
        String(200), comment="the role of the person told, e.g. designated safeguarding lead"
    )
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text, comment="why: what the recipient needs it for")
    regime: Mapped[str | None] = mapped_column(String(32), comment="lawful_bases.yaml regime")
    basis: Mapped[str | None] = mapped_column(String(64), comment="lawful_bases.yaml basis")
    special_category: Mapped[bool] = mapped_column(Boolean, default=False)
    special_category_condition: Mapped[str | None] = mapped_column(String(64))
    gateways: Mapped[list[str]] = mapped_column(JSON, default=list)
    detriment_test: Mapped[str | None] = mapped_column(
        Text, comment="s.16LA: why disclosure would (not) be more detrimental than not disclosing"
    )
    reason_not_shared: Mapped[str | None] = mapped_column(Text)
    family_informed: Mapped[bool] = mapped_column(Boolean)
    family_not_informed_reason: Mapped[str | None] = mapped_column(Text)
    documents: Mapped[list[str]] = mapped_column(
        JSON, default=list, comment="documents shared outside the chronology, described"
    )
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    shared_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(), comment="when the recipient received it (None when not shared)"
    )
    rules_version: Mapped[int] = mapped_column(comment="lawful_bases.yaml version used")
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    entries: Mapped[list[SharedEntry]] = relationship(
        back_populates="decision", cascade="all, delete-orphan", order_by="SharedEntry.id"
    )


class SharedEntry(Base):
    """One chronology entry (the exact version) a decision covers."""

    __tablename__ = "shared_entry"
    __table_args__ = (
        UniqueConstraint("decision_id", "event_id"),
        Index("ix_shared_entry_event", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("sharing_decision.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))

    decision: Mapped[SharingDecision] = relationship(back_populates="entries")


class EntryReceipt(Base):
    """When an agency first received an entry about a child: the earliest ``shared_at`` of the
    shares naming any version of the entry (``agency_id``, ``event_ref``) to that agency.

    Derived from the decisions, kept as each share is recorded (``sharing.receipts``) so that
    sharing latency over a whole authority reads one row per receipt rather than grouping every
    shared entry on every count. Decisions are never edited or withdrawn, and a correction of
    the entry keeps its agency and ref, so a first receipt only ever moves earlier.
    """

    __tablename__ = "entry_receipt"
    __table_args__ = (
        PrimaryKeyConstraint("person_id", "from_agency_id", "event_ref", "to_agency_id"),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    from_agency_id: Mapped[int] = mapped_column(
        ForeignKey("agency.id"), comment="the agency that recorded the entry"
    )
    event_ref: Mapped[str] = mapped_column(String(64))
    to_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    first_shared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
