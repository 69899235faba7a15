"""Source records (as each agency holds a person), persons (linked identities) and households.

A source record is never overwritten: a changed row from a feed is stored as a new version,
and linkage points records at a person from its own tables, not by editing the record.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from fullpicture.core.database import Base, UTCDateTime, string_enum, utc_now


class Sex(enum.StrEnum):
    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class RelationshipKind(enum.StrEnum):
    """How ``related`` stands to a person: ``related`` is the PARENT of the person, and so on."""

    PARENT = "parent"
    STEP_PARENT = "step_parent"
    PARTNER = "partner"  # partner of the person (for a child: a parent's partner)
    SIBLING = "sibling"
    GRANDPARENT = "grandparent"
    LODGER = "lodger"
    REGULAR_VISITOR = "regular_visitor"
    CHILD = "child"
    OTHER_RELATIVE = "other_relative"


class SourceRecord(Base):
    """One version of a person as one agency holds them."""

    __tablename__ = "source_record"
    __table_args__ = (
        # Its index also serves lookups by (agency_id, record_ref) (migration 0007).
        UniqueConstraint("agency_id", "record_ref", "version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    record_ref: Mapped[str] = mapped_column(
        String(64), comment="The agency's own id for the person"
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64))
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    other_names: Mapped[list[str]] = mapped_column(
        JSON, default=list, comment="aliases, known-as names"
    )
    previous_family_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    expected_date_of_delivery: Mapped[dt.date | None] = mapped_column(
        Date, comment="for the unborn"
    )
    sex: Mapped[Sex | None] = mapped_column(string_enum(Sex, 1))
    nhs_number: Mapped[str | None] = mapped_column(String(10), index=True)
    upn: Mapped[str | None] = mapped_column(String(13), comment="school unique pupil number")
    ethnicity: Mapped[str | None] = mapped_column(String(100))
    first_language: Mapped[str | None] = mapped_column(String(100))
    interpreter_needed: Mapped[bool | None] = mapped_column(Boolean)
    addresses: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, comment="address history: [{line, postcode, date_from, date_to}]"
    )
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    recorded_by: Mapped[str] = mapped_column(String(200))
    change_reason: Mapped[str | None] = mapped_column(Text)


class SourceRelationship(Base):
    """A relationship between two of one agency's records, as the agency holds it (versioned)."""

    __tablename__ = "source_relationship"
    __table_args__ = (
        UniqueConstraint(
            "agency_id", "record_ref", "related_record_ref", "relationship", "version"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    record_ref: Mapped[str] = mapped_column(String(64))
    related_record_ref: Mapped[str] = mapped_column(String(64))
    relationship: Mapped[RelationshipKind] = mapped_column(string_enum(RelationshipKind))
    lives_with: Mapped[bool | None] = mapped_column(
        Boolean, comment="shares the person's household"
    )
    date_from: Mapped[dt.date | None] = mapped_column(Date)
    date_to: Mapped[dt.date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    recorded_by: Mapped[str] = mapped_column(String(200))


def new_public_id() -> str:
    return str(uuid.uuid4())


class Person(Base):
    """A linked identity: the one child or adult that several source records describe."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Household(Base):
    """People living together over a period; membership is dated, so a household has a history."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class HouseholdMembership(Base):
    """A person's dated membership of a household, with how we know it."""

    __tablename__ = "household_membership"
    __table_args__ = (Index("ix_household_membership_person", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    role: Mapped[str] = mapped_column(
        String(32), comment="child, parent, step_parent, partner, lodger …"
    )
    date_from: Mapped[dt.date | None] = mapped_column(Date)
    date_to: Mapped[dt.date | None] = mapped_column(Date)
    basis: Mapped[str] = mapped_column(
        String(32), comment="feed relationship, shared address, practitioner"
    )
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class PersonRelationship(Base):
    """A relationship between two linked persons: ``related`` is the RELATIONSHIP of ``person``."""

    __tablename__ = "person_relationship"
    __table_args__ = (Index("ix_person_relationship_person", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    related_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    relationship: Mapped[RelationshipKind] = mapped_column(string_enum(RelationshipKind))
    date_from: Mapped[dt.date | None] = mapped_column(Date)
    date_to: Mapped[dt.date | None] = mapped_column(Date)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class PersonRecordLink(Base):
    """Points one agency record (all its versions) at the person it describes.

    Written by linkage (or a practitioner's confirmed decision); the source record itself is
    never edited. When a later run moves a record to another person, the old link is ended
    (``ended_at``) and a new one starts, so the history of who was linked to whom is kept.
    """

    __tablename__ = "person_record_link"
    __table_args__ = (
        Index("ix_person_record_link_record", "agency_id", "record_ref"),
        Index("ix_person_record_link_person", "person_id"),
        # Who a record is about now, answered from the index alone: find a child looks up the
        # person of every matched record (hundreds for a common surname); without it
        # PostgreSQL read every link to hash them (issue 14).
        Index(
            "ix_person_record_link_current_record",
            "agency_id",
            "record_ref",
            "person_id",
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    record_ref: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(32), comment="probabilistic, confirmed, singleton …")
    cluster_confidence: Mapped[float | None] = mapped_column(Float)
    linkage_run_ref: Mapped[str | None] = mapped_column(String(64))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
