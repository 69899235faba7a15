"""Referrals to the children's social care front door (research-notes §3.2 field list).

A draft may be edited; once submitted a referral version is immutable. A correction is a new
version of the same ``referral_ref`` that says which version it corrects and why, so what was
sent, when and by whom can always be shown.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    event,
    insert,
    inspect,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from fullpicture.core.database import Base, UTCDateTime, string_enum, utc_now

FRONT_DOOR = "childrens_social_care_front_door"


class ReferralStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class ParentsAwareness(enum.StrEnum):
    """Whether the parents know of the referral (research-notes §3.1 MARF questions)."""

    AWARE_AND_AGREE = "aware_and_agree"
    AWARE_AND_DISAGREE = "aware_and_disagree"
    AWARE = "aware"
    NOT_INFORMED = "not_informed"
    UNKNOWN = "unknown"


class LawfulBasis(enum.StrEnum):
    """UK GDPR Art 6 bases named in the information-sharing advice (research-notes §2.1)."""

    CONSENT = "consent"
    PUBLIC_TASK = "public_task"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"


class RequestedResponse(enum.StrEnum):
    """What the referrer asks for (research-notes §3.2 item 3; referral-standard R16)."""

    INFORMATION = "information"
    ADVICE = "advice"
    EARLY_HELP = "early_help"
    ASSESSMENT_S17 = "assessment_s17"
    STRATEGY_DISCUSSION_S47 = "strategy_discussion_s47"
    IMMEDIATE_PROTECTION = "immediate_protection"


class ReferralImmutableError(RuntimeError):
    """Something tried to change a submitted referral; corrections are new versions."""


def new_referral_ref() -> str:
    return str(uuid.uuid4())


class Referral(Base):
    """One version of a referral."""

    __tablename__ = "referral"
    __table_args__ = (
        UniqueConstraint("referral_ref", "version"),
        Index("ix_referral_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_ref: Mapped[str] = mapped_column(
        String(36), default=new_referral_ref, comment="stable across versions"
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[ReferralStatus] = mapped_column(
        string_enum(ReferralStatus, 16), default=ReferralStatus.DRAFT
    )
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"))
    correction_reason: Mapped[str | None] = mapped_column(Text)
    destination: Mapped[str] = mapped_column(
        String(64), default=FRONT_DOOR, comment="where a submitted referral goes"
    )
    referrer_name: Mapped[str | None] = mapped_column(String(200))
    referrer_role: Mapped[str | None] = mapped_column(String(200))
    referrer_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    referrer_phone: Mapped[str | None] = mapped_column(String(50))
    referrer_email: Mapped[str | None] = mapped_column(String(254))
    relationship_to_child: Mapped[str | None] = mapped_column(Text)
    household: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, comment="household members and significant adults"
    )
    child_location: Mapped[str | None] = mapped_column(Text)
    immediate_safety: Mapped[str | None] = mapped_column(Text)
    concern_narrative: Mapped[str | None] = mapped_column(Text)
    child_voice: Mapped[str | None] = mapped_column(Text)
    referrer_analysis: Mapped[str | None] = mapped_column(Text)
    request: Mapped[str | None] = mapped_column(Text)
    requested_response: Mapped[RequestedResponse | None] = mapped_column(
        string_enum(RequestedResponse, 32)
    )
    level_of_need: Mapped[int | None] = mapped_column(SmallInteger)
    parents_awareness: Mapped[ParentsAwareness | None] = mapped_column(
        string_enum(ParentsAwareness, 32)
    )
    reason_not_informed: Mapped[str | None] = mapped_column(Text)
    lawful_basis: Mapped[LawfulBasis | None] = mapped_column(string_enum(LawfulBasis, 32))
    lawful_basis_reason: Mapped[str | None] = mapped_column(Text)
    agencies_involved: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    professional_disagreement: Mapped[str | None] = mapped_column(Text)
    communication_needs: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, comment="[{filename, description, sha256}]"
    )
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    submitted_by: Mapped[str | None] = mapped_column(String(200))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    check_score: Mapped[float | None] = mapped_column(
        Float, comment="checker score at submission; never a gate"
    )
    check_result: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, comment="the full check (elements, spans, questions, cross-checks) at submission"
    )

    children: Mapped[list[ReferralChild]] = relationship(
        back_populates="referral", cascade="all, delete-orphan", order_by="ReferralChild.id"
    )


class ReferralChild(Base):
    """A child a referral is about, linked to a ``Person`` where known."""

    __tablename__ = "referral_child"
    __table_args__ = (Index("ix_referral_child_person", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    other_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    expected_date_of_delivery: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    address: Mapped[str | None] = mapped_column(Text)
    school_or_nursery: Mapped[str | None] = mapped_column(String(200))
    gp_practice: Mapped[str | None] = mapped_column(String(200))

    referral: Mapped[Referral] = relationship(back_populates="children")


class ReferralElementStatus(Base):
    """One element's status (R1-R20: present, partial or absent) in a submitted referral's
    check, as ``check_result["elements"]`` holds it: written with the check at submission, so
    the partnership's figures count elements in a narrow table rather than reading every
    check's JSON (``partnership.dashboard.referral_quality``; migration 0501 backfilled it).
    Written when a referral is stored as submitted, however it is stored
    (``_keep_element_statuses``)."""

    __tablename__ = "referral_element_status"

    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id"), primary_key=True)
    element: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str | None] = mapped_column(
        String(16), comment="as the check gave it; none when the check gave none"
    )


def element_statuses(check_result: dict[str, Any] | None) -> list[tuple[str, str | None]]:
    """(element, status) of each element a stored check holds, in its order."""
    elements = (check_result or {}).get("elements") or {}
    return [
        (str(element), finding.get("status") if isinstance(finding, dict) else None)
        for element, finding in elements.items()
    ]


def _was_submitted(target: Referral) -> bool:
    history = inspect(target).attrs.status.history
    before = [*history.unchanged, *history.deleted]
    return ReferralStatus.SUBMITTED in before


@event.listens_for(Referral, "before_update")
def _refuse_changing_submitted(
    _mapper: Mapper[Referral], _conn: Connection, target: Referral
) -> None:
    # Defence in depth: the service refuses first, with a clear message; this stops any
    # other code path from editing what was sent to the front door.
    if _was_submitted(target):
        raise ReferralImmutableError(
            f"referral {target.referral_ref} v{target.version} was submitted and cannot change; "
            "make a correction (a new version) instead"
        )


@event.listens_for(Referral, "before_delete")
def _refuse_deleting_submitted(
    _mapper: Mapper[Referral], _conn: Connection, target: Referral
) -> None:
    if _was_submitted(target):
        raise ReferralImmutableError(
            f"referral {target.referral_ref} v{target.version} was submitted"
        )


@event.listens_for(Referral, "after_insert")
@event.listens_for(Referral, "after_update")
def _keep_element_statuses(
    _mapper: Mapper[Referral], connection: Connection, target: Referral
) -> None:
    # A submitted referral never changes (above), so it reaches here as submitted once: when
    # it is submitted, or stored already submitted.
    if target.status is not ReferralStatus.SUBMITTED:
        return
    rows = [
        {"referral_id": target.id, "element": element, "status": status}
        for element, status in element_statuses(target.check_result)
    ]
    if rows:
        connection.execute(insert(ReferralElementStatus), rows)


@event.listens_for(ReferralChild, "before_update")
@event.listens_for(ReferralChild, "before_delete")
def _refuse_changing_submitted_child(
    _mapper: Mapper[ReferralChild], _conn: Connection, target: ReferralChild
) -> None:
    if target.referral is not None and target.referral.status is ReferralStatus.SUBMITTED:
        raise ReferralImmutableError("the children of a submitted referral cannot change")
