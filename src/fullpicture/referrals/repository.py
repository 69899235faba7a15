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
    and_,
    bindparam,
    exists,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.orm import Session, aliased, selectinload

from fullpicture.agencies.models import Agency
from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.people.models import HouseholdMembership, Person, PersonRecordLink
from fullpicture.referrals.models import Referral, ReferralStatus


def latest_version(db_session: Session, *, referral_ref: str) -> Referral | None:
    return db_session.scalars(
        select(Referral)
        .where(Referral.referral_ref == referral_ref)
        .options(selectinload(Referral.children))
        .order_by(Referral.version.desc())
        .limit(1)
    ).first()


def drafts_created_by(db_session: Session, *, created_by: str, limit: int) -> Sequence[Referral]:
    """The latest version of each referral still in draft that ``created_by`` started."""
    return db_session.scalars(
        select(Referral)
        .where(Referral.created_by == created_by, Referral.status == ReferralStatus.DRAFT)
        .order_by(Referral.updated_at.desc())
        .limit(limit)
    ).all()


def versions(db_session: Session, *, referral_ref: str) -> Sequence[Referral]:
    return db_session.scalars(
        select(Referral)
        .where(Referral.referral_ref == referral_ref)
        .options(selectinload(Referral.children))
        .order_by(Referral.version)
    ).all()


def version_number(db_session: Session, *, referral_id: int | None) -> int | None:
    if referral_id is None:
        return None
    return db_session.scalar(select(Referral.version).where(Referral.id == referral_id))


def person_by_public_id(db_session: Session, *, public_id: str) -> Person | None:
    return db_session.scalar(select(Person).where(Person.public_id == public_id))


def persons_by_public_id(db_session: Session, *, public_ids: Sequence[str]) -> dict[str, Person]:
    if not public_ids:
        return {}
    rows = db_session.scalars(select(Person).where(Person.public_id.in_(public_ids))).all()
    return {person.public_id: person for person in rows}


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
            or_(mine.date_from.is_(None), mine.date_from <= as_of),
            or_(mine.date_to.is_(None), mine.date_to >= as_of),
            or_(theirs.date_from.is_(None), theirs.date_from <= as_of),
            or_(theirs.date_to.is_(None), theirs.date_to >= as_of),
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
    child_id: int,
    as_of: dt.date,
    visible: ColumnElement[bool] | None = None,
) -> list[RecordEventRow]:
    """Current events for the child and the child's household adults on ``as_of`` (one query);
    ``visible`` (``chronology.visibility.event_visibility``) marks the ones the reader may see."""
    statement = _child_and_household_events().add_columns(
        (true() if visible is None else visible).label("visible")
    )
    return _record_event_rows(db_session.execute(statement, {"child_id": child_id, "as_of": as_of}))


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
                PersonRecordLink.ended_at.is_(None),
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
