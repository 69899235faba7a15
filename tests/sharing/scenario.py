"""A child known to a school, a GP and the police, each with entries of its own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fullpicture.access.models import Role, UserAccount
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.chronology.models import Event
from fullpicture.people.models import Person
from fullpicture.sharing.models import SharingOutcome
from fullpicture.sharing.schemas import EntryRef, SharingDecisionCreate
from tests.access.principals import (
    front_door_with_a_routed_alert,
    link_record,
    make_agency,
    make_event,
    make_user,
)


@dataclass
class Scenario:
    school: Agency
    gp: Agency
    police: Agency
    child: Person
    school_events: list[Event]
    police_event: Event
    teacher: UserAccount
    gp_doctor: UserAccount
    officer: UserAccount


def build(db_session: Session, suffix: str = "") -> Scenario:
    school = make_agency(db_session, f"school-sh{suffix}", AgencyKind.SCHOOL)
    gp = make_agency(db_session, f"gp-sh{suffix}", AgencyKind.GP)
    police = make_agency(db_session, f"police-sh{suffix}", AgencyKind.POLICE)
    child = Person()
    db_session.add(child)
    db_session.flush()
    school_record = link_record(db_session, person=child, agency=school, record_ref="S1")
    link_record(db_session, person=child, agency=gp, record_ref="G1")
    police_record = link_record(db_session, person=child, agency=police, record_ref="P1")
    school_events = [
        make_event(
            db_session,
            record=school_record,
            summary=f"School entry {n}",
            event_date=dt.date(2026, 3, n + 1),
        )
        for n in range(3)
    ]
    police_event = make_event(db_session, record=police_record, summary="Police entry")
    return Scenario(
        school=school,
        gp=gp,
        police=police,
        child=child,
        school_events=school_events,
        police_event=police_event,
        teacher=make_user(db_session, role=Role.DESIGNATED_LEAD, agency=school),
        gp_doctor=make_user(db_session, role=Role.PRACTITIONER, agency=gp),
        officer=make_user(db_session, role=Role.PRACTITIONER, agency=police),
    )


def a_share(to: Agency, *event_refs: str, **changes: object) -> SharingDecisionCreate:
    fields: dict[str, object] = {
        "outcome": SharingOutcome.SHARED,
        "to_agency_code": to.code,
        "recipient_role": "named GP",
        "purpose": "bruising seen at school; the GP is treating the child",
        "entries": [EntryRef(event_ref=ref) for ref in event_refs],
        "regime": "uk_gdpr",
        "basis": "public_task",
        "family_informed": True,
    }
    fields.update(changes)
    return SharingDecisionCreate.model_validate(fields)


def front_door_without_a_record(db_session: Session, world: Scenario, suffix: str = "") -> Agency:
    """The front door, holding no record of the scenario's child, reading its pooled page."""
    return front_door_with_a_routed_alert(db_session, world.child, f"csc-sh{suffix}")
