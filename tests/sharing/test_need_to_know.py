"""A recorded share widens the receiving agency's access to exactly the entries shared, no
further, and every read under it names the decision in the audit (both backends)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.models import AuditEntry, Role
from fullpicture.chronology import visibility as chronology_visibility
from fullpicture.chronology.models import Event, EventParticipant, ParticipantRole
from fullpicture.core.database import utc_now
from fullpicture.sharing import service
from fullpicture.sharing.models import SharingOutcome
from tests.access.principals import make_agency, make_user, subject_of
from tests.sharing.scenario import a_share, build


def _readable_event_ids(db_session: Session, user: object, person_id: int) -> set[int]:
    subject = subject_of(user)  # type: ignore[arg-type]
    now = utc_now()
    by_rule = set(
        db_session.scalars(
            select(Event.id).where(
                chronology_visibility.event_visibility(subject, now, person=person_id)
            )
        )
    )
    by_statement = {
        e.id
        for e in db_session.scalars(
            chronology_visibility.readable_events(subject, now, person_id=person_id)
        )
    }
    assert by_rule == by_statement  # the two forms of the rule agree
    return by_rule


def test_a_share_widens_access_to_exactly_the_shared_entries(db_session: Session) -> None:
    world = build(db_session)
    first, second, third = world.school_events
    assert _readable_event_ids(db_session, world.gp_doctor, world.child.id) == set()

    decision = service.record_decision(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
        decision_in=a_share(world.gp, first.event_ref, third.event_ref),
    )

    assert _readable_event_ids(db_session, world.gp_doctor, world.child.id) == {
        first.id,
        third.id,
    }
    # Not the school's other entry, not the police's, and no other agency gains anything.
    assert _readable_event_ids(db_session, world.officer, world.child.id) == {world.police_event.id}
    # The GP's own record stays the only record it reads (identities are not shared wholesale).
    links = db_session.execute(
        access_repository.readable_record_links(subject_of(world.gp_doctor), utc_now())
    ).all()
    assert {(agency_id, ref) for _, agency_id, ref in links} == {(world.gp.id, "G1")}
    assert second.id not in _readable_event_ids(db_session, world.gp_doctor, world.child.id)
    assert decision.outcome is SharingOutcome.SHARED


def test_a_share_makes_the_child_visible_to_an_agency_holding_no_record(
    db_session: Session,
) -> None:
    world = build(db_session)
    housing = make_agency(db_session, "housing-sh")
    officer = make_user(db_session, role=Role.PRACTITIONER, agency=housing)
    subject = subject_of(officer)
    assert not access_repository.can_read_person(
        db_session, subject=subject, person_id=world.child.id, now=utc_now()
    )
    service.record_decision(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
        decision_in=a_share(housing, world.school_events[0].event_ref),
    )
    assert access_repository.can_read_person(
        db_session, subject=subject, person_id=world.child.id, now=utc_now()
    )
    assert _readable_event_ids(db_session, officer, world.child.id) == {world.school_events[0].id}


def test_a_decision_not_to_share_widens_nothing(db_session: Session) -> None:
    world = build(db_session)
    service.record_decision(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
        decision_in=a_share(
            world.gp,
            outcome=SharingOutcome.NOT_SHARED,
            basis=None,
            regime=None,
            reason_not_shared="the GP has no role in this concern (golden rule 6)",
        ),
    )
    assert _readable_event_ids(db_session, world.gp_doctor, world.child.id) == set()


def test_a_later_correction_of_a_shared_entry_is_not_shared(db_session: Session) -> None:
    world = build(db_session)
    first = world.school_events[0]
    service.record_decision(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
        decision_in=a_share(world.gp, first.event_ref),
    )
    correction = Event(
        agency_id=first.agency_id,
        event_ref=first.event_ref,
        version=2,
        content_hash="corrected",
        event_date=first.event_date,
        date_precision=first.date_precision,
        concern_code=first.concern_code,
        summary="corrected after the share",
        information_type=first.information_type,
        recorded_by="test",
        change_reason="typo",
        participants=[EventParticipant(record_ref="S1", role=ParticipantRole.SUBJECT)],
    )
    db_session.add(correction)
    db_session.flush()
    assert _readable_event_ids(db_session, world.gp_doctor, world.child.id) == {first.id}


def test_a_share_dated_later_gives_nothing_before_it(db_session: Session) -> None:
    world = build(db_session)
    service.record_decision(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
        decision_in=a_share(world.gp, world.school_events[0].event_ref),
    )
    subject = subject_of(world.gp_doctor)
    before = utc_now() - dt.timedelta(days=1)
    ids = set(
        db_session.scalars(
            select(Event.id).where(
                chronology_visibility.event_visibility(subject, before, person=world.child.id)
            )
        )
    )
    assert ids == set()


def test_each_read_under_a_share_names_the_decision_in_the_audit(db_session: Session) -> None:
    world = build(db_session)
    decision = service.record_decision(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
        decision_in=a_share(world.gp, world.school_events[0].event_ref),
    )
    access_service.open_person(
        db_session=db_session,
        subject=subject_of(world.gp_doctor),
        person_public_id=world.child.public_id,
        purpose="chronology",
    )
    access_service.open_person(
        db_session=db_session,
        subject=subject_of(world.officer),
        person_public_id=world.child.public_id,
        purpose="chronology",
    )
    db_session.flush()
    reads = db_session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "person.read", AuditEntry.person_id == world.child.id
        )
    ).all()
    by_actor = {entry.actor: entry.detail for entry in reads}
    assert by_actor[f"user:{world.gp_doctor.username}"]["sharing_decisions"] == [decision.public_id]
    assert "sharing_decisions" not in by_actor[f"user:{world.officer.username}"]
    recorded = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "sharing.decision")
    ).one()
    assert recorded.actor == f"user:{world.teacher.username}"
    assert recorded.target == f"sharing_decision:{decision.public_id}"
