"""Sharing decisions' queries, and what they add to the need-to-know rule.

A recorded share (outcome ``shared``) gives the receiving agency exactly the chronology
entries it covered (``shared_entries_for``) and, through them, an involvement with the child
(so the child can be opened at all). A decision not to share gives nothing. The access layer
reads these through the hooks ``access.repository`` provides; this module never decides access
on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, Select, bindparam, false, func, or_, select
from sqlalchemy.orm import Session

from fullpicture.access.repository import sees_all_agencies
from fullpicture.access.subject import AuthSubject, Moment
from fullpicture.agencies.models import Agency
from fullpicture.chronology.models import Event
from fullpicture.chronology.visibility import event_visibility
from fullpicture.core.database import UTCDateTime
from fullpicture.sharing.models import SharedEntry, SharingDecision, SharingOutcome


def shared_entries_for(subject: AuthSubject, now: Moment) -> Select[int, int]:
    """(person_id, event_id) of every entry shared with the subject's agency by ``now``."""
    if subject.agency_id is None:
        return select(SharingDecision.person_id, SharedEntry.event_id).where(false())
    return (
        select(SharingDecision.person_id, SharedEntry.event_id)
        .join(SharedEntry, SharedEntry.decision_id == SharingDecision.id)
        .where(
            SharingDecision.to_agency_id == subject.agency_id,
            SharingDecision.outcome == SharingOutcome.SHARED,
            SharingDecision.shared_at <= now,
        )
    )


def decisions_giving_access(
    db_session: Session, subject: AuthSubject, person_id: int, now: dt.datetime
) -> dict[str, Any]:
    """For the audit of a read: the shares to the reader's agency that the read may show."""
    if subject.agency_id is None:
        return {}
    values = {"read_person": person_id, "read_by_agency": subject.agency_id, "read_at": now}
    ids = list(db_session.scalars(_DECISIONS_GIVING_ACCESS, values))
    return {"sharing_decisions": ids} if ids else {}


# Asked on every audited read of a child; built once (issue 14).
_DECISIONS_GIVING_ACCESS = (
    select(SharingDecision.public_id)
    .where(
        SharingDecision.person_id == bindparam("read_person", type_=Integer()),
        SharingDecision.to_agency_id == bindparam("read_by_agency", type_=Integer()),
        SharingDecision.outcome == SharingOutcome.SHARED,
        SharingDecision.shared_at <= bindparam("read_at", type_=UTCDateTime()),
    )
    .order_by(SharingDecision.id)
)


def agency_by_code(db_session: Session, code: str) -> Agency | None:
    return db_session.scalars(select(Agency).where(Agency.code == code)).first()


def latest_event_version(
    db_session: Session,
    *,
    subject: AuthSubject,
    person_id: int,
    now: dt.datetime,
    agency_id: int,
    event_ref: str,
) -> Event | None:
    """The latest version of an agency's entry, if the subject may see it in the child's
    picture (``chronology.visibility.event_visibility``); None as for an unknown entry."""
    latest = (
        select(func.max(Event.version))
        .where(Event.agency_id == agency_id, Event.event_ref == event_ref)
        .scalar_subquery()
    )
    return db_session.scalars(
        select(Event).where(
            Event.agency_id == agency_id,
            Event.event_ref == event_ref,
            Event.version == latest,
            event_visibility(subject, now, person=person_id),
        )
    ).first()


def decisions_about(
    db_session: Session, *, subject: AuthSubject, person_id: int
) -> Sequence[SharingDecision]:
    """Decisions about the child that the subject's agency made or received (every decision
    for the pooled front-door view)."""
    statement = (
        select(SharingDecision)
        .where(SharingDecision.person_id == person_id)
        .order_by(SharingDecision.decided_at, SharingDecision.id)
    )
    if not sees_all_agencies(subject):
        if subject.agency_id is None:
            return []
        statement = statement.where(
            or_(
                SharingDecision.from_agency_id == subject.agency_id,
                SharingDecision.to_agency_id == subject.agency_id,
            )
        )
    return db_session.scalars(statement).all()
