"""Test data for chronology and harm tests: agencies, linked persons, households, events."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy.orm import Session

from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.chronology.models import (
    DatePrecision,
    Event,
    EventParticipant,
    InformationType,
    ParticipantRole,
)
from fullpicture.people.models import Household, HouseholdMembership, Person, PersonRecordLink


def agency(db_session: Session, code: str, kind: AgencyKind, name: str | None = None) -> Agency:
    found = Agency(code=code, name=name or code.replace("-", " ").title(), kind=kind)
    db_session.add(found)
    db_session.flush()
    return found


def person(db_session: Session, *records: tuple[Agency, str]) -> Person:
    """A linked person whose records at each agency are ``records`` (current links)."""
    found = Person()
    db_session.add(found)
    db_session.flush()
    for owner, record_ref in records:
        db_session.add(
            PersonRecordLink(
                person_id=found.id,
                agency_id=owner.id,
                record_ref=record_ref,
                method="confirmed",
                evidence={},
            )
        )
    db_session.flush()
    return found


def household(
    db_session: Session, *members: tuple[Person, str, dt.date | None, dt.date | None]
) -> Household:
    found = Household()
    db_session.add(found)
    db_session.flush()
    for member, role, date_from, date_to in members:
        db_session.add(
            HouseholdMembership(
                household_id=found.id,
                person_id=member.id,
                role=role,
                date_from=date_from,
                date_to=date_to,
                basis="practitioner",
                evidence=[],
            )
        )
    db_session.flush()
    return found


def event(
    db_session: Session,
    owner: Agency,
    event_ref: str,
    day: dt.date,
    code: str,
    people: list[tuple[str, ParticipantRole]],
    *,
    summary: str = "Entry",
    version: int = 1,
    severity: int | None = None,
    precision: DatePrecision = DatePrecision.DAY,
    information_type: InformationType = InformationType.FACT,
    impact: str | None = None,
    action: str | None = None,
) -> Event:
    found = Event(
        agency_id=owner.id,
        event_ref=event_ref,
        version=version,
        content_hash=hashlib.sha256(f"{event_ref}{version}{summary}".encode()).hexdigest(),
        event_date=day,
        date_precision=precision,
        concern_code=code,
        severity=severity,
        summary=summary,
        information_type=information_type,
        impact_on_child=impact,
        action_taken=action,
        recorded_by="test",
    )
    found.participants = [EventParticipant(record_ref=r, role=role) for r, role in people]
    db_session.add(found)
    db_session.flush()
    return found
