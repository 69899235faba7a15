"""Linkage's own tables: saved models, runs, the linkage index, scored pairs and the review queue.

A record is named here by its record key, ``"<agency_id>:<record_ref>"``: decisions and pairs
follow the agency's record across versions, as ``PersonRecordLink`` does.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fullpicture.core.database import Base, UTCDateTime, string_enum, utc_now
from fullpicture.people.models import new_public_id

RECORD_KEY_LENGTH = 96


class ReviewStatus(enum.StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"  # same person: always linked from now on
    REJECTED = "rejected"  # different people: never linked from now on


class ReviewAction(enum.StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"
    UNDO = "undo"


class LinkageModelVersion(Base):
    """A trained model (splink JSON), numbered; every run says which version it used."""

    __tablename__ = "linkage_model_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    model: Mapped[dict[str, Any]] = mapped_column(JSON)
    checksum: Mapped[str] = mapped_column(String(64), comment="sha256 of the model JSON")
    rules_version: Mapped[int] = mapped_column(Integer)
    engine: Mapped[str] = mapped_column(String(16))
    trained_on_records: Mapped[int] = mapped_column(Integer)
    trained_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    file_path: Mapped[str | None] = mapped_column(String(500), comment="where the JSON was saved")


class LinkageRun(Base):
    """One batch or incremental linkage run and what it changed."""

    __tablename__ = "linkage_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_ref: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    kind: Mapped[str] = mapped_column(String(16), comment="batch or incremental")
    engine: Mapped[str] = mapped_column(String(16))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("linkage_model_version.id"))
    rules_version: Mapped[int] = mapped_column(Integer)
    started_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LinkageRecord(Base):
    """The linkage index: the standardised values of each agency record's current version,
    kept so a new record can find its candidates without re-reading the population."""

    __tablename__ = "linkage_record"
    __table_args__ = (UniqueConstraint("record_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_key: Mapped[str] = mapped_column(String(RECORD_KEY_LENGTH))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    record_ref: Mapped[str] = mapped_column(String(64))
    source_record_id: Mapped[int] = mapped_column(ForeignKey("source_record.id"))
    given_name: Mapped[str | None] = mapped_column(String(100), index=True)
    given_name_canonical: Mapped[str | None] = mapped_column(String(100), index=True)
    given_name_canonicals: Mapped[str] = mapped_column(Text)
    given_name_phonetic: Mapped[str | None] = mapped_column(String(8), index=True)
    given_names_all: Mapped[str] = mapped_column(Text)
    family_name: Mapped[str | None] = mapped_column(String(100), index=True)
    family_name_phonetic: Mapped[str | None] = mapped_column(String(8), index=True)
    family_names_all: Mapped[str] = mapped_column(Text)
    date_of_birth: Mapped[str | None] = mapped_column(String(10), index=True)
    date_of_birth_transposed: Mapped[str | None] = mapped_column(String(10))
    sex: Mapped[str | None] = mapped_column(String(1))
    postcode: Mapped[str | None] = mapped_column(String(10), index=True)
    postcode_sector: Mapped[str | None] = mapped_column(String(10))
    postcode_district: Mapped[str | None] = mapped_column(String(10))
    postcodes_all: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(300))
    addresses_all: Mapped[str] = mapped_column(Text)
    nhs_number: Mapped[str | None] = mapped_column(String(10), index=True)
    upn: Mapped[str | None] = mapped_column(String(13), index=True)


class NameKind(enum.StrEnum):
    """Which of a record's ``|``-delimited lists a ``LinkageNameKey`` comes from."""

    GIVEN_OTHER = "given_other"  # given_names_all: middle names and other names
    GIVEN_VARIANT = "given_variant"  # given_name_canonicals beyond given_name_canonical
    FAMILY_OTHER = "family_other"  # family_names_all beyond family_name: parts, previous
    POSTCODE_OTHER = "postcode_other"  # postcodes_all beyond postcode: previous addresses


class LinkageNameKey(Base):
    """One of the other names (or postcodes) an index record is also known by, one row each:
    the tokens of its ``|``-delimited lists that its own columns do not hold, so "is among
    their other names" is an index lookup, on either database, not a scan of every record.
    Kept with the record by ``repository.upsert_index``."""

    __tablename__ = "linkage_name_key"
    __table_args__ = (Index("ix_linkage_name_key_kind_name", "kind", "name", "record_key"),)

    record_key: Mapped[str] = mapped_column(String(RECORD_KEY_LENGTH), primary_key=True)
    kind: Mapped[NameKind] = mapped_column(string_enum(NameKind, 16), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), primary_key=True)


class PairwiseLink(Base):
    """A scored pair of records, with the match weight and the comparison levels behind it."""

    __tablename__ = "pairwise_link"
    __table_args__ = (
        UniqueConstraint("record_key_l", "record_key_r"),
        Index("ix_pairwise_link_record_key_r", "record_key_r"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_key_l: Mapped[str] = mapped_column(String(RECORD_KEY_LENGTH))
    record_key_r: Mapped[str] = mapped_column(String(RECORD_KEY_LENGTH))
    match_weight: Mapped[float] = mapped_column(Float)
    match_probability: Mapped[float] = mapped_column(Float)
    comparison_levels: Mapped[dict[str, Any]] = mapped_column(JSON)
    linkage_run_id: Mapped[int] = mapped_column(ForeignKey("linkage_run.id"))


class ReviewItem(Base):
    """An uncertain pair waiting for (or carrying) a practitioner's decision."""

    __tablename__ = "review_item"
    __table_args__ = (UniqueConstraint("record_key_l", "record_key_r"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    record_key_l: Mapped[str] = mapped_column(String(RECORD_KEY_LENGTH))
    record_key_r: Mapped[str] = mapped_column(String(RECORD_KEY_LENGTH))
    match_weight: Mapped[float] = mapped_column(Float)
    match_probability: Mapped[float] = mapped_column(Float)
    comparison_levels: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[ReviewStatus] = mapped_column(
        string_enum(ReviewStatus, 16), default=ReviewStatus.OPEN, index=True
    )
    queued_by_run_id: Mapped[int | None] = mapped_column(ForeignKey("linkage_run.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class ReviewDecision(Base):
    """Who decided what about a pair, why and when; append-only (an undo is a new row)."""

    __tablename__ = "review_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_item_id: Mapped[int] = mapped_column(ForeignKey("review_item.id"), index=True)
    action: Mapped[ReviewAction] = mapped_column(string_enum(ReviewAction, 16))
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    undoes_decision_id: Mapped[int | None] = mapped_column(ForeignKey("review_decision.id"))


class HouseholdAddress(Base):
    """The address that defines a derived household, so rebuilding keeps the same household."""

    __tablename__ = "household_address"
    __table_args__ = (UniqueConstraint("address_key"), UniqueConstraint("household_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    address_key: Mapped[str] = mapped_column(String(320), comment="postcode|address line")
    postcode: Mapped[str | None] = mapped_column(String(10))
    address_line: Mapped[str | None] = mapped_column(String(300))
