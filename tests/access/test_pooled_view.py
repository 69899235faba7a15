"""The pooled multi-agency picture (``chronology:all_agencies``): who holds it, what it opens,
and that everything else sees its own agency's entries plus what was shared with it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.access.roles import Scope, role_book
from fullpicture.access.schemas import BreakGlassRequest, HeldElsewhere
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.chronology import visibility as chronology_visibility
from fullpicture.chronology.models import Event
from fullpicture.core.database import utc_now
from fullpicture.people.models import Person, PersonRecordLink
from tests.access.principals import link_record, make_agency, make_event, make_person, make_user
from tests.access.principals import subject_of as subject_for_user

POOLED = {Role.FRONT_DOOR, Role.SOCIAL_WORKER, Role.TEAM_MANAGER}


def test_the_front_door_roles_and_only_they_hold_the_pooled_view() -> None:
    holders = {
        role for role in Role if Scope.CHRONOLOGY_ALL_AGENCIES in role_book().policy(role).scopes
    }
    assert holders == POOLED


def _family(db_session: Session) -> tuple[Agency, Agency, Agency, Person, dict[str, Event]]:
    csc = make_agency(db_session, kind=AgencyKind.CHILDRENS_SOCIAL_CARE)
    school = make_agency(db_session, kind=AgencyKind.SCHOOL)
    police = make_agency(db_session, kind=AgencyKind.POLICE)
    child = make_person(db_session)
    records = {
        a.code: link_record(db_session, person=child, agency=a) for a in (csc, school, police)
    }
    events = {
        "csc": make_event(db_session, record=records[csc.code], summary="strategy discussion"),
        "school": make_event(db_session, record=records[school.code], summary="bruise"),
        "police": make_event(db_session, record=records[police.code], summary="call-out"),
    }
    return csc, school, police, child, events


def _visible(db_session: Session, role: Role, agency: Agency, child: Person) -> set[int]:
    subject = subject_for_user(make_user(db_session, role=role, agency=agency))
    now = utc_now()
    through_events = {
        e.id
        for e in db_session.scalars(
            chronology_visibility.readable_events(subject, now, person_id=child.id)
        )
    }
    through_condition = set(
        db_session.scalars(
            select(Event.id).where(
                chronology_visibility.event_visibility(subject, now, person=child.id)
            )
        )
    )
    # The two spellings of the rule agree.
    assert through_events == through_condition
    return through_condition


@pytest.mark.parametrize("role", sorted(POOLED))
def test_a_pooled_role_sees_every_agencys_entries(db_session: Session, role: Role) -> None:
    csc, _school, _police, child, events = _family(db_session)
    assert _visible(db_session, role, csc, child) == {e.id for e in events.values()}


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.DESIGNATED_LEAD])
def test_a_partner_agency_role_sees_only_its_own_agencys_entries(
    db_session: Session, role: Role
) -> None:
    csc, school, _police, child, events = _family(db_session)
    assert _visible(db_session, role, school, child) == {events["school"].id}
    assert _visible(db_session, role, csc, child) == {events["csc"].id}


def test_the_pooled_view_never_widens_who_is_seen(db_session: Session) -> None:
    csc, school, _police, child, _events = _family(db_session)
    elsewhere = make_person(db_session, held_by=[school])
    subject = subject_for_user(make_user(db_session, role=Role.FRONT_DOOR, agency=csc))
    now = utc_now()
    people = set(db_session.scalars(access_repository.readable_person_ids(subject, now)))
    assert child.id in people and elsewhere.id not in people
    assert not set(
        db_session.scalars(
            chronology_visibility.readable_events(subject, now, person_id=elsewhere.id)
        )
    )
    assert not chronology_visibility.visible_event_ids(
        db_session,
        subject=subject,
        now=now,
        person_id=elsewhere.id,
        event_ids=[
            e.id for e in db_session.scalars(select(Event).where(Event.agency_id == school.id))
        ],
    )


def test_archived_records_stay_out_of_the_pooled_records(db_session: Session) -> None:
    from fullpicture.access.models import ArchivedRecord

    csc, _school, police, child, _events = _family(db_session)
    police_ref = db_session.scalar(
        select(PersonRecordLink.record_ref).where(
            PersonRecordLink.person_id == child.id, PersonRecordLink.agency_id == police.id
        )
    )
    assert police_ref is not None
    db_session.add(
        ArchivedRecord(
            agency_id=police.id, record_ref=police_ref, closed_on=dt.date(2020, 1, 1), rule="test"
        )
    )
    db_session.flush()
    subject = subject_for_user(make_user(db_session, role=Role.SOCIAL_WORKER, agency=csc))
    links = set(db_session.execute(access_repository.readable_record_links(subject, utc_now())))
    assert (child.id, police.id, police_ref) not in links
    assert any(agency == csc.id for _person, agency, _ref in links)


def test_break_glass_opens_the_pooled_view_of_one_child_until_it_expires(
    db_session: Session,
) -> None:
    _csc, _school, _police, child, events = _family(db_session)
    gp = make_agency(db_session, kind=AgencyKind.GP)
    subject = subject_for_user(make_user(db_session, role=Role.PRACTITIONER, agency=gp))
    condition = select(Event.id)
    start = utc_now()
    assert not set(
        db_session.scalars(
            condition.where(chronology_visibility.event_visibility(subject, start, person=child.id))
        )
    )
    access_service.break_glass(
        db_session=db_session,
        subject=subject,
        request=BreakGlassRequest(
            person_id=child.public_id, reason="Out-of-hours emergency at the surgery", minutes=30
        ),
        now=start,
    )
    during = start + dt.timedelta(minutes=10)
    after = start + dt.timedelta(minutes=31)
    seen = set(
        db_session.scalars(
            condition.where(
                chronology_visibility.event_visibility(subject, during, person=child.id)
            )
        )
    )
    assert seen == {e.id for e in events.values()}
    assert not set(
        db_session.scalars(
            condition.where(chronology_visibility.event_visibility(subject, after, person=child.id))
        )
    )


def test_the_notice_counts_without_naming() -> None:
    assert HeldElsewhere.of(entries=0, agencies=0, what="x") is None
    one = HeldElsewhere.of(entries=1, agencies=1, what="contributed to this score")
    assert one is not None and one.message.startswith("1 further entry held by 1 other agency")
    many = HeldElsewhere.of(entries=3, agencies=2, what="contributed to this score")
    assert many is not None
    assert many.message.startswith("3 further entries held by 2 other agencies contributed")


def test_the_notice_agrees_its_verb_with_the_entries_counted() -> None:
    # "1 further entry ... are behind this alert" was shown on the child's page.
    one = HeldElsewhere.of(entries=1, agencies=1, what="{are} behind this alert")
    many = HeldElsewhere.of(entries=2, agencies=1, what="{were} not checked against this referral")
    assert one is not None and one.message.startswith(
        "1 further entry held by 1 other agency is behind this alert;"
    )
    assert many is not None and many.message.startswith(
        "2 further entries held by 1 other agency were not checked against this referral;"
    )
    assert "front door" in many.message
