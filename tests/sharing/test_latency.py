"""Sharing latency and unshared significant entries, on both backends, as each reader may see
them; the route and command are refused for other agencies and roles without the scope."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.access.subject import AuthSubject
from fullpicture.agencies.models import AgencyKind
from fullpicture.chronology.models import ParticipantRole
from fullpicture.chronology.repository import Viewer, child_record
from fullpicture.core.database import utc_now
from fullpicture.harm.harm_model import default_harm_model
from fullpicture.people.models import Person
from fullpicture.sharing import latency, service
from tests.access.principals import (
    authorise_client,
    link_record,
    make_agency,
    make_event,
    make_user,
    subject_of,
)
from tests.chronology import factories as make
from tests.sharing.scenario import Scenario, a_share, build

UTC = dt.UTC


def _world(db_session: Session) -> Scenario:
    world = build(db_session, "-lat")
    first, minor, third = world.school_events
    first.date_recorded = dt.date(2026, 3, 2)
    minor.severity = 2  # below the threshold: never listed
    third.date_recorded = dt.date(2026, 3, 10)
    world.police_event.date_recorded = dt.date(2026, 3, 5)
    db_session.flush()
    service.record_decision(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
        decision_in=a_share(
            world.gp, first.event_ref, shared_at=dt.datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
        ),
    )
    return world


def test_latency_per_entry_and_agency_and_the_unshared(db_session: Session) -> None:
    world = _world(db_session)
    first, _, third = world.school_events
    rows = latency.entry_sharing(db_session, person_ids=[world.child.id])
    table = {(r.event_ref, r.to_agency_code): (r.received_on, r.days) for r in rows}
    assert table == {
        (first.event_ref, world.gp.code): (dt.date(2026, 3, 4), 2),
        (first.event_ref, world.police.code): (None, None),
        (third.event_ref, world.gp.code): (None, None),
        (third.event_ref, world.police.code): (None, None),
        (world.police_event.event_ref, world.school.code): (None, None),
        (world.police_event.event_ref, world.gp.code): (None, None),
    }
    assert len(latency.unshared(rows)) == 5


def test_the_school_sees_its_own_entries_and_does_not_learn_who_else_holds_records(
    db_session: Session,
) -> None:
    world = _world(db_session)
    view = service.child_sharing_latency(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
    )
    assert [(r.event_ref, r.to_agency_code, r.days) for r in view.received] == [
        (world.school_events[0].event_ref, world.gp.code, 2)
    ]
    assert {r.from_agency_code for r in view.unshared} == {world.school.code}
    assert {r.to_agency_code for r in view.unshared} == {None}
    assert len(view.unshared) == 3 and view.note is not None


def test_the_gp_sees_what_it_received_and_the_front_door_sees_every_row(
    db_session: Session,
) -> None:
    world = _world(db_session)
    gp_view = service.child_sharing_latency(
        db_session=db_session,
        subject=subject_of(world.gp_doctor),
        person_public_id=world.child.public_id,
    )
    assert [r.event_ref for r in gp_view.received] == [world.school_events[0].event_ref]
    assert gp_view.unshared == []

    csc = make_agency(db_session, "csc-lat", AgencyKind.CHILDRENS_SOCIAL_CARE)
    link_record(db_session, person=world.child, agency=csc, record_ref="C1")
    mash = make_user(db_session, role=Role.FRONT_DOOR, agency=csc)
    pooled = service.child_sharing_latency(
        db_session=db_session, subject=subject_of(mash), person_public_id=world.child.public_id
    )
    assert len(pooled.received) == 1 and len(pooled.unshared) == 8  # csc now works with her too
    assert pooled.note is None


def test_a_later_correction_still_counts_as_received(db_session: Session) -> None:
    from fullpicture.chronology.models import Event, EventParticipant, ParticipantRole

    world = _world(db_session)
    first = world.school_events[0]
    db_session.add(
        Event(
            agency_id=first.agency_id,
            event_ref=first.event_ref,
            version=2,
            content_hash="v2",
            event_date=first.event_date,
            date_precision=first.date_precision,
            concern_code=first.concern_code,
            summary="corrected",
            information_type=first.information_type,
            recorded_by="test",
            participants=[EventParticipant(record_ref="S1", role=ParticipantRole.SUBJECT)],
        )
    )
    db_session.flush()
    rows = latency.entry_sharing(db_session, person_ids=[world.child.id])
    received = [r for r in rows if r.received_on is not None]
    assert [(r.event_ref, r.recorded_on, r.days) for r in received] == [
        (first.event_ref, dt.date(2026, 3, 2), 2)
    ]


@pytest.mark.parametrize(
    ("role", "involved", "expected"),
    [
        (Role.DESIGNATED_LEAD, False, 404),
        (Role.AUDITOR, False, 403),
        (Role.PARTNERSHIP_ANALYST, False, 403),
        (Role.DESIGNATED_LEAD, True, 200),
    ],
)
def test_the_route_is_refused_to_other_agencies_and_roles_without_the_scope(
    app_client: TestClient, db_session: Session, role: Role, involved: bool, expected: int
) -> None:
    world = _world(db_session)
    agency = world.school if involved else make_agency(db_session, "housing-lat")
    sees_children = role not in (Role.AUDITOR, Role.PARTNERSHIP_ANALYST)
    authorise_client(app_client, db_session, role=role, agency=agency if sees_children else None)
    response = app_client.get(f"/api/v1/children/{world.child.public_id}/sharing-latency")
    assert response.status_code == expected, response.text
    if expected != 200:
        assert world.school_events[0].event_ref not in response.text


def _tied_world(db_session: Session) -> tuple[Scenario, list[AuthSubject]]:
    """``_world`` with entries from every agency on shared dates (ties on the date the page
    orders by), a corrected entry, one below the threshold, and a front door working with the
    child: (the world, a reader of each kind)."""
    from sqlalchemy import select

    from fullpicture.chronology.models import Event, EventParticipant, ParticipantRole
    from fullpicture.people.models import SourceRecord

    world = _world(db_session)
    records = {
        r.agency_id: r
        for r in db_session.scalars(
            select(SourceRecord).where(SourceRecord.record_ref.in_(["S1", "G1", "P1"]))
        )
        if r.agency_id in {world.school.id, world.gp.id, world.police.id}
    }
    for day, agency, code in [
        (dt.date(2026, 3, 3), world.gp, "PHY-INJ"),
        (dt.date(2026, 3, 3), world.police, "DOM-ABU"),
        (dt.date(2026, 3, 3), world.school, "PHY-INJ"),
        (dt.date(2026, 2, 1), world.gp, "PHY-INJ"),
        (dt.date(2026, 3, 9), world.gp, "WNB"),  # below the threshold by default
    ]:
        make_event(db_session, record=records[agency.id], event_date=day, concern_code=code)
    corrected = world.school_events[2]
    db_session.add(
        Event(
            agency_id=corrected.agency_id,
            event_ref=corrected.event_ref,
            version=2,
            content_hash="v2-tied",
            event_date=dt.date(2026, 3, 3),
            date_precision=corrected.date_precision,
            concern_code=corrected.concern_code,
            summary="corrected date",
            information_type=corrected.information_type,
            recorded_by="test",
            participants=[EventParticipant(record_ref="S1", role=ParticipantRole.SUBJECT)],
        )
    )
    csc = make_agency(db_session, "csc-tied", AgencyKind.CHILDRENS_SOCIAL_CARE)
    link_record(db_session, person=world.child, agency=csc, record_ref="C1")
    mash = make_user(db_session, role=Role.FRONT_DOOR, agency=csc)
    db_session.flush()
    readers = [subject_of(user) for user in (world.teacher, world.gp_doctor, world.officer, mash)]
    return world, readers


@pytest.mark.parametrize("latest", [0, 1, 2, 4, 10, 50])
def test_the_child_pages_unshared_entries_are_the_full_lists_latest(
    db_session: Session, latest: int
) -> None:
    """What the child's page lists (counted and cut in SQL) is what it listed when it sorted
    every reader's unshared rows by date itself: the same total, rows, order and note."""
    world, readers = _tied_world(db_session)
    person = db_session.get(Person, world.child.id)
    assert person is not None
    # An adult of the household with a significant entry: in the child's chronology, not in
    # what the child's own record has not shared.
    partner = make.person(db_session, (world.police, "P-PARTNER"))
    make.household(db_session, (person, "child", None, None), (partner, "partner", None, None))
    make.event(db_session, world.police, "p-partner", dt.date(2026, 3, 4), "DOM-ABU",
               [("P-PARTNER", ParticipantRole.ALLEGED_PERPETRATOR)], severity=5)  # fmt: skip
    totals = []
    for reader in readers:
        full = service.sharing_latency_of(db_session=db_session, subject=reader, person=person)
        page = service.unshared_entries_of(
            db_session=db_session, subject=reader, person=person, latest=latest
        )
        expected = sorted(full.unshared, key=lambda r: r.event_date, reverse=True)[:latest]
        assert page.total == len(full.unshared)
        assert page.latest == expected
        assert page.note == full.note
        # The same from the chronology the child's page has read for this reader.
        record = child_record(
            db_session=db_session,
            person_id=person.id,
            model=default_harm_model(),
            viewer=Viewer(reader, utc_now()),
        )
        assert (
            service.unshared_entries_of(
                db_session=db_session, subject=reader, person=person, latest=latest, record=record
            )
            == page
        )
        totals.append(page.total)
    # The school: its 3 significant entries (one corrected) each to the GP, the police and the
    # front door, less the one the GP received; the GP and the police their 2 each to the other
    # three; the front door every agency's pairs.
    assert totals == [8, 6, 6, 20]
