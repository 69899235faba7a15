"""A child known to a school, the police and children's social care."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fullpicture.access.models import Role, UserAccount
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.people.models import Person
from tests.access.principals import link_record, make_agency, make_event, make_user


@dataclass
class World:
    school: Agency
    police: Agency
    csc: Agency
    child: Person
    teacher: UserAccount
    social_worker: UserAccount
    officer: UserAccount


def build(db_session: Session, suffix: str = "") -> World:
    school = make_agency(db_session, f"school-wf{suffix}", AgencyKind.SCHOOL)
    police = make_agency(db_session, f"police-wf{suffix}", AgencyKind.POLICE)
    csc = make_agency(db_session, f"csc-wf{suffix}", AgencyKind.CHILDRENS_SOCIAL_CARE)
    child = Person()
    db_session.add(child)
    db_session.flush()
    school_record = link_record(db_session, person=child, agency=school, record_ref="S1")
    police_record = link_record(db_session, person=child, agency=police, record_ref="P1")
    link_record(db_session, person=child, agency=csc, record_ref="C1")
    today = dt.date.today()
    make_event(db_session, record=school_record, event_date=today - dt.timedelta(days=30))
    make_event(
        db_session,
        record=police_record,
        concern_code="DOM-ABU",
        event_date=today - dt.timedelta(days=20),
    )
    return World(
        school=school,
        police=police,
        csc=csc,
        child=child,
        teacher=make_user(db_session, role=Role.DESIGNATED_LEAD, agency=school),
        social_worker=make_user(db_session, role=Role.SOCIAL_WORKER, agency=csc),
        officer=make_user(db_session, role=Role.PRACTITIONER, agency=police),
    )
