"""The need-to-know rule applied to chronology entries, as SQL.

An agency's entry is readable when the record it is about is: ``access.repository`` decides
which agency records a subject may read (``readable_record_links``, break-glass grants, the
pooled front-door view, shares), and these functions turn that into conditions over ``Event``
so the chronology, the harm evidence, the referral cross-checks and subject access all apply
the one rule. Entries shared one by one (``register_shared_event_source``) are added too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from fullpicture.access import repository as access_repository
from fullpicture.access.subject import AuthSubject, Moment, Reader, SystemPrincipal
from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.core.database import among_parameter, is_postgresql


def _shared_event_condition(
    subject: AuthSubject,
    now: Moment,
    person: int | ColumnElement[int] | InstrumentedAttribute[int] | None,
) -> list[ColumnElement[bool]]:
    """One condition per shared-entry source: this ``Event`` version was shared with the
    subject's agency (about ``person``, when given)."""
    parts: list[ColumnElement[bool]] = []
    for source in access_repository.shared_event_sources():
        shared = source(subject, now).subquery("shared_event")
        conditions = [shared.c.event_id == Event.id]
        if person is not None:
            conditions.append(shared.c.person_id == person)
        parts.append(exists(select(literal(1)).where(and_(*conditions))))
    return parts


def readable_events(
    subject: AuthSubject, now: dt.datetime, *, person_id: int | None = None
) -> Select[Event]:
    """Event versions the subject may read: recorded by an agency whose record of a
    participant the subject may read (optionally only events about one person)."""
    links = access_repository.readable_record_links(subject, now).subquery("readable_event_link")
    conditions = [
        EventParticipant.event_id == Event.id,
        links.c.agency_id == Event.agency_id,
        links.c.record_ref == EventParticipant.record_ref,
    ]
    if person_id is not None:
        conditions.append(links.c.person_id == person_id)
    visible: list[ColumnElement[bool]] = [
        exists(select(literal(1)).select_from(EventParticipant).where(and_(*conditions)))
    ]
    if access_repository.reads_children(subject):
        visible.extend(_shared_event_condition(subject, now, person_id))
    return select(Event).where(or_(*visible))


def event_visibility(
    subject: Reader,
    now: Moment,
    *,
    person: int | ColumnElement[int] | InstrumentedAttribute[int],
) -> ColumnElement[bool]:
    """The need-to-know rule for one person's picture, as a condition over ``Event``.

    ``person`` is whose picture it is (a child's id, or a column such as the linked person in a
    household view). True when the subject may see the person at all and either holds the
    pooled view (``chronology:all_agencies``, or a live break-glass grant for the person), or
    the event was recorded by the subject's agency, or a record of one of its participants was
    shared with the subject's agency. Entries about household adults shown in a child's
    picture follow the child: pass the child's id. Given the moment's parameter (building an
    ``access.repository.kept_statement``), the condition takes its values at execution.
    """
    if isinstance(subject, SystemPrincipal):
        return true()  # an audited job reading the whole record (access.service.system_principal)
    if not access_repository.reads_children(subject):
        return false()
    readable = access_repository.readable_person_ids(subject, now).subquery("visible_person")
    may_see_person = exists(select(literal(1)).where(readable.c.person_id == person))
    if access_repository.sees_all_agencies(subject):
        return may_see_person
    grants = access_repository.break_glass_person_ids(subject, now).subquery("visible_grant")
    parts: list[ColumnElement[bool]] = [
        exists(select(literal(1)).where(grants.c.person_id == person))
    ]
    if subject.agency_id is not None:
        parts.append(Event.agency_id == subject.agency_id)
    for source in access_repository.shared_record_sources():
        shared = source(subject, now).subquery("visible_shared")
        parts.append(
            exists(
                select(literal(1))
                .select_from(EventParticipant)
                .where(
                    EventParticipant.event_id == Event.id,
                    shared.c.agency_id == Event.agency_id,
                    shared.c.record_ref == EventParticipant.record_ref,
                )
            )
        )
    parts.extend(_shared_event_condition(subject, now, person))
    return and_(may_see_person, or_(*parts))


def visible_event_ids(
    db_session: Session,
    *,
    subject: AuthSubject,
    now: dt.datetime,
    person_id: int,
    event_ids: Sequence[int],
) -> set[int]:
    """Which of these events (from one person's picture) the subject may see."""
    if not event_ids:
        return set()

    def build(moment: ColumnElement[dt.datetime]) -> Select[int]:
        return select(Event.id).where(
            among_parameter(
                postgresql=is_postgresql(db_session), column=Event.id, name="candidate_events"
            ),
            event_visibility(subject, moment, person=bindparam("visible_person", type_=Integer())),
        )

    statement = access_repository.kept_statement(db_session, "visible_event_ids", subject, build)
    values = {
        **access_repository.need_to_know_values(now),
        "candidate_events": sorted(set(event_ids)),
        "visible_person": person_id,
    }
    return set(db_session.scalars(statement, values))


def agency_count(db_session: Session, *, event_ids: Sequence[int]) -> int:
    """How many agencies recorded these events (to say how many others hold entries)."""
    if not event_ids:
        return 0
    return (
        db_session.scalar(
            select(func.count(func.distinct(Event.agency_id))).where(
                Event.id.in_(sorted(set(event_ids)))
            )
        )
        or 0
    )
