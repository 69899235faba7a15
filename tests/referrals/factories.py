"""Build a child's record directly: agencies, persons, record links, household memberships and
versioned chronology events (as linkage and imports would leave them)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.chronology.models import (
    DatePrecision,
    Event,
    EventParticipant,
    InformationType,
    ParticipantRole,
)
from fullpicture.core.database import utc_now
from fullpicture.people.models import Household, HouseholdMembership, Person, PersonRecordLink


@dataclass
class ChildRecord:
    """A child, their household adult, and the agencies that hold records on them."""

    child: Person
    adult: Person
    agencies: dict[str, Agency] = field(default_factory=dict)
    refs: dict[tuple[str, int], str] = field(
        default_factory=dict
    )  # (agency code, person id) -> record_ref


def add_agency(db_session: Session, code: str, name: str, kind: AgencyKind) -> Agency:
    agency = Agency(code=f"{code}-{uuid.uuid4().hex[:6]}", name=name, kind=kind)
    db_session.add(agency)
    db_session.flush()
    return agency


def link(
    db_session: Session, record: ChildRecord, person: Person, agency: Agency, *, ended: bool = False
) -> str:
    ref = f"{agency.code}-{person.id}-{uuid.uuid4().hex[:4]}"
    db_session.add(
        PersonRecordLink(
            person_id=person.id,
            agency_id=agency.id,
            record_ref=ref,
            method="confirmed",
            evidence={},
            ended_at=utc_now() if ended else None,
        )
    )
    db_session.flush()
    if not ended:
        record.refs[(agency.code, person.id)] = ref
    return ref


def add_event(
    db_session: Session,
    *,
    agency: Agency,
    record_ref: str,
    event_date: dt.date,
    code: str,
    summary: str,
    event_ref: str | None = None,
    version: int = 1,
    role: ParticipantRole = ParticipantRole.SUBJECT,
) -> Event:
    event = Event(
        agency_id=agency.id,
        event_ref=event_ref or f"ev-{uuid.uuid4().hex[:10]}",
        version=version,
        content_hash=hashlib.sha256(f"{summary}{version}".encode()).hexdigest(),
        event_date=event_date,
        date_precision=DatePrecision.DAY,
        concern_code=code,
        summary=summary,
        information_type=InformationType.FACT,
        recorded_by="test",
    )
    event.participants.append(EventParticipant(record_ref=record_ref, role=role))
    db_session.add(event)
    db_session.flush()
    return event


def build_child_record(db_session: Session, *, as_of: dt.date) -> ChildRecord:
    """A child with a school, GP and police record; mother's partner in the household with a
    police record of domestic abuse; earlier referral, a plan, and recent school concerns."""
    child, adult = Person(), Person()
    household = Household()
    db_session.add_all([child, adult, household])
    db_session.flush()
    db_session.add_all(
        [
            HouseholdMembership(
                household_id=household.id,
                person_id=child.id,
                role="child",
                date_from=as_of - dt.timedelta(days=2000),
                basis="practitioner",
                evidence=[],
            ),
            HouseholdMembership(
                household_id=household.id,
                person_id=adult.id,
                role="partner",
                date_from=as_of - dt.timedelta(days=400),
                basis="practitioner",
                evidence=[],
            ),
        ]
    )
    record = ChildRecord(child=child, adult=adult)
    school = add_agency(db_session, "school", "Oakfield Primary School", AgencyKind.SCHOOL)
    gp = add_agency(db_session, "gp", "Ashdown Surgery", AgencyKind.GP)
    police = add_agency(db_session, "police", "Metropolitan Police", AgencyKind.POLICE)
    housing = add_agency(db_session, "housing", "Croydon Housing Needs", AgencyKind.HOUSING)
    record.agencies = {"school": school, "gp": gp, "police": police, "housing": housing}
    school_ref = link(db_session, record, child, school)
    gp_ref = link(db_session, record, child, gp)
    police_adult_ref = link(db_session, record, adult, police)
    housing_ref = link(db_session, record, child, housing)
    days = dt.timedelta
    add_event(
        db_session,
        agency=school,
        record_ref=school_ref,
        event_date=as_of - days(40),
        code="EDU-ATT",
        summary="Attendance 84% this half term",
    )
    add_event(
        db_session,
        agency=school,
        record_ref=school_ref,
        event_date=as_of - days(20),
        code="NEG-BAS",
        summary="Came to school hungry; no lunch",
    )
    add_event(
        db_session,
        agency=gp,
        record_ref=gp_ref,
        event_date=as_of - days(300),
        code="WNB",
        summary="Not brought to asthma review",
    )
    add_event(
        db_session,
        agency=school,
        record_ref=school_ref,
        event_date=as_of - days(500),
        code="PRC-REF",
        summary="Referral to children's social care about neglect",
    )
    add_event(
        db_session,
        agency=school,
        record_ref=school_ref,
        event_date=as_of - days(2000),
        code="PLN-CIN",
        summary="Child in need plan started",
    )
    add_event(
        db_session,
        agency=school,
        record_ref=school_ref,
        event_date=as_of - days(1500),
        code="EDU-ATT",
        summary="Old attendance concern, outside the window",
    )
    add_event(
        db_session,
        agency=police,
        record_ref=police_adult_ref,
        event_date=as_of - days(90),
        code="DOM-ABU",
        summary="Called to the address; partner arrested for assault on mother",
        role=ParticipantRole.ALLEGED_PERPETRATOR,
    )
    add_event(
        db_session,
        agency=housing,
        record_ref=housing_ref,
        event_date=as_of - days(60),
        code="HOU-INS",
        summary="Family placed in temporary accommodation",
    )
    return record
