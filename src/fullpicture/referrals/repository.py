"""Queries of the referral capability: referral versions, and the record a referral is checked against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Date,
    Integer,
    Result,
    Select,
    String,
    and_,
    bindparam,
    exists,
    false,
    literal,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.orm import Session, aliased, selectinload
from sqlalchemy.sql.elements import True_

from fullpicture.access import repository as access_repository
from fullpicture.access.subject import AuthSubject, Reader, SystemPrincipal
from fullpicture.agencies.models import Agency
from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.chronology.visibility import event_visibility
from fullpicture.people.models import HouseholdMembership, Person, PersonRecordLink
from fullpicture.people.repository import link_is_current, membership_covers
from fullpicture.referrals.models import Referral, ReferralChild, ReferralStatus


def drafts_created_by(
    db_session: Session, *, author: AuthSubject, limit: int
) -> Sequence[Referral]:
    """The latest version of each referral still in draft that ``author`` started."""
    return db_session.scalars(
        select(Referral)
        .where(Referral.created_by == author.actor, Referral.status == ReferralStatus.DRAFT)
        .order_by(Referral.updated_at.desc())
        .limit(limit)
    ).all()


def _made_by_readers_agency(
    reader: AuthSubject, referral_ref: str | ColumnElement[str]
) -> ColumnElement[bool]:
    """Some version of the referral names the reader's agency as the referrer's."""
    if reader.agency_id is None:
        return false()
    made = aliased(Referral)
    return exists(
        select(literal(1)).where(
            made.referral_ref == referral_ref, made.referrer_agency_id == reader.agency_id
        )
    )


def versions(
    db_session: Session, *, reader: AuthSubject, referral_ref: str, now: dt.datetime
) -> Sequence[Referral]:
    """Every version of a referral, oldest first, if the reader may read it: their own agency
    made it (the referrer's agency of any version), or its linked children — in every
    version — are all people they may see (``access.repository.readable_person_ids``);
    otherwise none, as for an unknown referral."""
    readable = access_repository.readable_person_ids(reader, now).subquery("referral_reader")
    version = aliased(Referral)  # any version, not correlated with the row being returned
    linked = (
        select(literal(1))
        .select_from(ReferralChild)
        .join(version, version.id == ReferralChild.referral_id)
        .where(version.referral_ref == referral_ref, ReferralChild.person_id.is_not(None))
    )
    children_all_readable = and_(
        exists(linked),
        ~exists(linked.where(ReferralChild.person_id.not_in(select(readable.c.person_id)))),
    )
    return db_session.scalars(
        select(Referral)
        .where(
            Referral.referral_ref == referral_ref,
            or_(_made_by_readers_agency(reader, referral_ref), children_all_readable),
        )
        .options(selectinload(Referral.children))
        .order_by(Referral.version)
    ).all()


def linked_public_ids(
    db_session: Session, *, reader: AuthSubject, referral: Referral, now: dt.datetime
) -> dict[int, str]:
    """Public ids of the referral's linked children, by person id, as ``versions`` lets the
    reader read them: all of them for the agency that made it, else those they may see."""
    person_ids = sorted({c.person_id for c in referral.children if c.person_id is not None})
    if not person_ids:
        return {}
    readable = access_repository.readable_person_ids(reader, now).subquery("referral_child_reader")
    rows = db_session.execute(
        select(Person.id, Person.public_id).where(
            Person.id.in_(person_ids),
            or_(
                _made_by_readers_agency(reader, referral.referral_ref),
                Person.id.in_(select(readable.c.person_id)),
            ),
        )
    )
    return {person_id: public_id for person_id, public_id in rows}


def version_number(db_session: Session, *, referral_id: int | None) -> int | None:
    if referral_id is None:
        return None
    return db_session.scalar(select(Referral.version).where(Referral.id == referral_id))


def readable_people(
    db_session: Session, *, reader: Reader, public_ids: Sequence[str], now: dt.datetime
) -> dict[str, Person]:
    """The people with these public ids that the reader may see (an audited job: all)."""
    if not public_ids:
        return {}
    statement = select(Person).where(Person.public_id.in_(sorted(set(public_ids))))
    if not isinstance(reader, SystemPrincipal):
        readable = access_repository.readable_person_ids(reader, now).subquery("referral_person")
        statement = statement.where(Person.id.in_(select(readable.c.person_id)))
    return {person.public_id: person for person in db_session.scalars(statement)}


def readable_person_id(
    db_session: Session, *, reader: Reader, public_id: str, now: dt.datetime
) -> int | None:
    """The id of the person with this public id, when the reader may see them (an audited
    job: anyone). A column, not the person: checking a referral needs only the id, and
    loading an ORM object costs more than the query (bench/referrals.py latency)."""
    if isinstance(reader, SystemPrincipal):
        return db_session.scalar(_person_id_by_public_id(), {"public_id": public_id})
    readable = access_repository.readable_person_ids(reader, now).subquery("referral_person")
    return db_session.scalar(
        select(Person.id).where(
            Person.public_id == public_id, Person.id.in_(select(readable.c.person_id))
        )
    )


@lru_cache(maxsize=1)
def _person_id_by_public_id() -> Select[int]:
    return select(Person.id).where(Person.public_id == bindparam("public_id", type_=String))


def readable_people_by_id(
    db_session: Session, *, reader: Reader, person_ids: Sequence[int], now: dt.datetime
) -> list[Person]:
    """The people with these ids that the reader may see (an audited job: all)."""
    if not person_ids:
        return []
    statement = select(Person).where(Person.id.in_(sorted(set(person_ids))))
    if not isinstance(reader, SystemPrincipal):
        readable = access_repository.readable_person_ids(reader, now).subquery("referral_person")
        statement = statement.where(Person.id.in_(select(readable.c.person_id)))
    return list(db_session.scalars(statement.order_by(Person.id)))


def agency_by_code(db_session: Session, *, code: str) -> Agency | None:
    return db_session.scalar(select(Agency).where(Agency.code == code))


def household_adults(
    person_id: int | ColumnElement[int], as_of: dt.date | ColumnElement[dt.date]
) -> Select[int]:
    """People who share a household with the child on ``as_of`` and are not children there."""
    mine = aliased(HouseholdMembership)
    theirs = aliased(HouseholdMembership)
    return (
        select(theirs.person_id)
        .join(mine, mine.household_id == theirs.household_id)
        .where(
            mine.person_id == person_id,
            theirs.person_id != person_id,
            theirs.role.notin_(("child", "sibling")),
            membership_covers(date_from=mine.date_from, date_to=mine.date_to, day=as_of),
            membership_covers(date_from=theirs.date_from, date_to=theirs.date_to, day=as_of),
        )
    )


@dataclass(frozen=True)
class RecordEventRow:
    """A current chronology event on one of a person's currently linked records."""

    person_id: int
    person_public_id: str
    agency_id: int
    agency_code: str
    agency_name: str
    agency_kind: str
    event_ref: str
    version: int
    event_date: dt.date
    concern_code: str
    summary: str
    visible: bool = True


def current_events_for_child_and_household(
    db_session: Session,
    *,
    reader: Reader,
    child_id: int,
    as_of: dt.date,
    now: dt.datetime,
) -> list[RecordEventRow]:
    """Current events for the child and the child's household adults on ``as_of`` (one query),
    each marked ``visible`` when the reader may see it (``chronology.visibility.event_visibility``
    in the SQL; an audited job sees them all)."""
    visible = event_visibility(reader, now, person=child_id)
    statement = (
        _child_and_household_events_all_visible()
        if isinstance(visible, True_)
        else _child_and_household_events().add_columns(visible.label("visible"))
    )
    return _record_event_rows(db_session.execute(statement, {"child_id": child_id, "as_of": as_of}))


@lru_cache(maxsize=1)
def _child_and_household_events_all_visible() -> Select[*tuple[Any, ...]]:
    """The statement when the visibility rule lets the reader see every entry (an audited job):
    built once, as a new statement's cache key costs about a third of running it."""
    return _child_and_household_events().add_columns(true().label("visible"))


@lru_cache(maxsize=1)
def _child_and_household_events() -> Select[*tuple[Any, ...]]:
    """The statement behind ``current_events_for_child_and_household``, built once per process
    with the child and the day as bound parameters: building it costs more than running it
    against one child's record (bench/referrals.py latency)."""
    child_id = bindparam("child_id", type_=Integer)
    as_of = bindparam("as_of", type_=Date)
    people: CompoundSelect[int] = union(select(child_id), household_adults(child_id, as_of))
    return _current_events(person_ids=people, on_or_before=as_of)


def _current_events(
    *,
    person_ids: Sequence[int] | CompoundSelect[int],
    on_or_before: dt.date | ColumnElement[dt.date],
) -> Select[*tuple[Any, ...]]:
    """Current versions of events in which any of ``person_ids`` takes part through a currently
    linked agency record, newest first (the reader's ``visible`` column is added by the caller).

    An event's current version is its highest version per (agency, event_ref); participants are
    matched by the recording agency's own record reference (chronology/models.py); a link counts
    while its ``ended_at`` is NULL (people/models.py).
    """
    newer = aliased(Event)
    return (
        select(
            PersonRecordLink.person_id,
            Person.public_id,
            Agency.id,
            Agency.code,
            Agency.name,
            Agency.kind,
            Event.event_ref,
            Event.version,
            Event.event_date,
            Event.concern_code,
            Event.summary,
        )
        .join(EventParticipant, EventParticipant.event_id == Event.id)
        .join(
            PersonRecordLink,
            and_(
                PersonRecordLink.agency_id == Event.agency_id,
                PersonRecordLink.record_ref == EventParticipant.record_ref,
                link_is_current(),
            ),
        )
        .join(Person, Person.id == PersonRecordLink.person_id)
        .join(Agency, Agency.id == Event.agency_id)
        .where(
            PersonRecordLink.person_id.in_(person_ids),
            Event.event_date <= on_or_before,
            ~exists(
                select(newer.id).where(
                    newer.agency_id == Event.agency_id,
                    newer.event_ref == Event.event_ref,
                    newer.version > Event.version,
                )
            ),
        )
        .order_by(Event.event_date.desc(), Agency.code, Event.event_ref)
    )


def _record_event_rows(result: Result[*tuple[Any, ...]]) -> list[RecordEventRow]:
    rows: list[RecordEventRow] = []
    seen: set[tuple[int, int, str]] = set()
    for row in result:
        key = (row[0], row[2], row[6])
        if key in seen:  # one person on two records of the same agency in one event
            continue
        seen.add(key)
        rows.append(
            RecordEventRow(
                person_id=row[0],
                person_public_id=row[1],
                agency_id=row[2],
                agency_code=row[3],
                agency_name=row[4],
                agency_kind=row[5].value if hasattr(row[5], "value") else str(row[5]),
                event_ref=row[6],
                version=row[7],
                event_date=row[8],
                concern_code=row[9],
                summary=row[10],
                visible=bool(row[11]),
            )
        )
    return rows
