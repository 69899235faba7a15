"""Chronology entries: one significant event as one agency recorded it (research-notes §7).

Recorded events are never edited or deleted in place. A correction is a new version of the
same (agency, event_ref) with who changed it and why; earlier versions stay visible, so the
record can stand up in court.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fullpicture.core.database import Base, UTCDateTime, string_enum, utc_now


class DatePrecision(enum.StrEnum):
    """How exactly the date of an event is known. A month or year is stored as its last day."""

    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class InformationType(enum.StrEnum):
    """Whether an entry records what was seen, what someone said, or a professional opinion."""

    FACT = "fact"
    REPORTED = "reported"
    OPINION = "opinion"


class ParticipantRole(enum.StrEnum):
    """Each person's own role in an event: one incident about several children never gives one
    child another's role."""

    SUBJECT = "subject"
    VICTIM = "victim"
    ALLEGED_PERPETRATOR = "alleged_perpetrator"
    WITNESS = "witness"
    HOUSEHOLD_MEMBER = "household_member"


class Event(Base):
    """One version of one chronology entry."""

    __tablename__ = "event"
    __table_args__ = (
        # Its index also serves lookups by (agency_id, event_ref): no separate index
        # (migration 0007, which dropped one for import speed).
        UniqueConstraint("agency_id", "event_ref", "version"),
        Index("ix_event_date", "event_date"),
        # Versions count from 1, so every later version of an entry is above 1 and in the
        # small index below: "is this the latest version?" asks it, not the unique index
        # (chronology.versions; migration 0071).
        CheckConstraint("version >= 1", name="version_from_one"),
        Index(
            "ix_event_later_version",
            "agency_id",
            "event_ref",
            "version",
            postgresql_where=text("version > 1"),
            sqlite_where=text("version > 1"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    event_ref: Mapped[str] = mapped_column(String(64), comment="The agency's own id for the event")
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64))
    event_date: Mapped[dt.date] = mapped_column(Date)
    date_precision: Mapped[DatePrecision] = mapped_column(string_enum(DatePrecision, 8))
    date_recorded: Mapped[dt.date | None] = mapped_column(
        Date, comment="when the agency recorded it"
    )
    concern_code: Mapped[str] = mapped_column(String(16), index=True)
    severity: Mapped[int | None] = mapped_column(
        SmallInteger, comment="practitioner's severity 1-5; blank means the taxonomy default"
    )
    summary: Mapped[str] = mapped_column(Text)
    information_type: Mapped[InformationType] = mapped_column(string_enum(InformationType, 16))
    impact_on_child: Mapped[str | None] = mapped_column(Text)
    action_taken: Mapped[str | None] = mapped_column(Text)
    practitioner_ref: Mapped[str | None] = mapped_column(String(64))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    recorded_by: Mapped[str] = mapped_column(String(200))
    change_reason: Mapped[str | None] = mapped_column(Text)

    participants: Mapped[list[EventParticipant]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventParticipant.id"
    )


class EventParticipant(Base):
    """A person an event concerns, by the recording agency's record id, with their own role."""

    __tablename__ = "event_participant"
    __table_args__ = (
        UniqueConstraint("event_id", "record_ref"),
        Index("ix_event_participant_record", "record_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))
    record_ref: Mapped[str] = mapped_column(String(64))
    role: Mapped[ParticipantRole] = mapped_column(string_enum(ParticipantRole))

    event: Mapped[Event] = relationship(back_populates="participants")
