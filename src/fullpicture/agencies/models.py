"""Agencies and practitioners."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fullpicture.core.database import Base, UTCDateTime, string_enum, utc_now


class AgencyKind(enum.StrEnum):
    """The kinds of agency around a child (research-notes §2.2 safeguarding partners and relevant agencies)."""

    SCHOOL = "school"
    NURSERY = "nursery"
    GP = "gp"
    HEALTH_VISITING = "health_visiting"
    MIDWIFERY = "midwifery"
    HOSPITAL = "hospital"  # includes the emergency department
    CAMHS = "camhs"
    POLICE = "police"
    PROBATION = "probation"
    HOUSING = "housing"
    CHILDRENS_SOCIAL_CARE = "childrens_social_care"
    EARLY_HELP = "early_help"
    VOLUNTARY_SECTOR = "voluntary_sector"


class Agency(Base):
    """One organisation that holds records about children or adults (e.g. one school, one GP practice)."""

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[AgencyKind] = mapped_column(string_enum(AgencyKind))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

    practitioners: Mapped[list[Practitioner]] = relationship(back_populates="agency")


class Practitioner(Base):
    """A member of an agency's staff, identified in feeds by the agency's own staff reference."""

    __tablename__ = "practitioner"
    __table_args__ = (UniqueConstraint("agency_id", "staff_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    staff_ref: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

    agency: Mapped[Agency] = relationship(back_populates="practitioners")
