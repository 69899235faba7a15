"""The need-to-know rule: agency involvement, own records plus shared, break-glass, roles."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.models import AccessNotification, AuditEntry, Role
from fullpicture.access.roles import Scope
from fullpicture.access.schemas import BreakGlassRequest
from fullpicture.agencies.models import AgencyKind
from fullpicture.chronology import visibility as chronology_visibility
from fullpicture.core.database import utc_now
from fullpicture.people.models import PersonRecordLink
from tests.access.principals import (
    CHILD_ROLES,
    link_record,
    make_agency,
    make_event,
    make_person,
    make_user,
    subject_of,
)


class TestReadablePeople:
    @pytest.mark.parametrize("role", CHILD_ROLES)
    def test_sees_only_children_their_agency_is_involved_with(
        self, db_session: Session, role: Role
    ) -> None:
        school, gp = make_agency(db_session), make_agency(db_session, kind=AgencyKind.GP)
        ours = make_person(db_session, held_by=[school, gp])
        theirs = make_person(db_session, held_by=[gp])
        subject = subject_of(make_user(db_session, role=role, agency=school))
        readable = set(
            db_session.scalars(access_repository.readable_person_ids(subject, utc_now()))
        )
        assert ours.id in readable
        assert theirs.id not in readable

    def test_an_ended_link_no_longer_counts(self, db_session: Session) -> None:
        school = make_agency(db_session)
        person = make_person(db_session, held_by=[school])
        for link in db_session.scalars(
            select(PersonRecordLink).where(PersonRecordLink.person_id == person.id)
        ):
            link.ended_at = utc_now()
        subject = subject_of(make_user(db_session, agency=school))
        assert not access_repository.can_read_person(
            db_session, subject=subject, person_id=person.id, now=utc_now()
        )

    @pytest.mark.parametrize("role", [Role.PARTNERSHIP_ANALYST, Role.AUDITOR, Role.ADMINISTRATOR])
    def test_roles_without_child_data_see_no_one(self, db_session: Session, role: Role) -> None:
        make_person(db_session, held_by=[make_agency(db_session)])
        subject = subject_of(make_user(db_session, role=role))
        assert (
            list(db_session.scalars(access_repository.readable_person_ids(subject, utc_now())))
            == []
        )
        with pytest.raises(access_service.AccessError):
            access_service.require_scopes(subject, Scope.CHILDREN_READ)

    @pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.SOCIAL_WORKER])
    def test_a_kept_narrowed_statement_answers_for_each_list_of_people(
        self, db_session: Session, role: Role
    ) -> None:
        # Narrowed to a list of people (people_among), the rule's statement is kept per
        # subject and given each read's people as a value: one subject asking about different
        # lists, in turn, gets each list's answer, and never someone not on the list.
        school, gp = make_agency(db_session), make_agency(db_session, kind=AgencyKind.GP)
        ours = [make_person(db_session, held_by=[school, gp]) for _ in range(3)]
        theirs = make_person(db_session, held_by=[gp])
        subject = subject_of(make_user(db_session, role=role, agency=school))
        now = utc_now()
        everyone = [p.id for p in [*ours, theirs]]
        for asked in ([ours[0].id], [ours[1].id, theirs.id], everyone, [theirs.id], [ours[0].id]):
            assert access_repository.readable_among(
                db_session, subject=subject, person_ids=asked, now=now
            ) == {pid for pid in asked if pid != theirs.id}
            links = set(
                db_session.execute(
                    access_repository.readable_record_links(
                        subject, now, only=access_repository.people_among(db_session, asked)
                    )
                ).tuples()
            )
            assert {person_id for person_id, _agency, _ref in links} == {
                pid for pid in asked if pid != theirs.id
            }
            # The pooled view reads the GP's records too; everyone else their own agency's.
            expected_agencies = {school.id, gp.id} if role == Role.SOCIAL_WORKER else {school.id}
            assert {agency for _person, agency, _ref in links} <= expected_agencies
            if links:
                assert {agency for _person, agency, _ref in links} == expected_agencies
        first = access_repository.readable_person_ids(
            subject, now, only=access_repository.people_among(db_session, [ours[0].id])
        )
        second = access_repository.readable_person_ids(
            subject, now, only=access_repository.people_among(db_session, everyone)
        )
        assert str(first) == str(second)


class TestReadableRecords:
    def test_within_a_shared_child_only_own_agency_records_and_events(
        self, db_session: Session
    ) -> None:
        school, police = make_agency(db_session), make_agency(db_session, kind=AgencyKind.POLICE)
        person = make_person(db_session)
        school_record = link_record(db_session, person=person, agency=school)
        police_record = link_record(db_session, person=person, agency=police)
        school_event = make_event(db_session, record=school_record)
        police_event = make_event(db_session, record=police_record, summary="domestic incident")
        subject = subject_of(make_user(db_session, agency=school))
        now = utc_now()
        records = set(
            db_session.scalars(
                access_repository.readable_source_records(subject, now, person_id=person.id)
            )
        )
        events = set(
            db_session.scalars(
                chronology_visibility.readable_events(subject, now, person_id=person.id)
            )
        )
        assert records == {school_record}
        assert events == {school_event}
        assert police_event not in events

    def test_shared_records_widen_the_window_through_the_registry(
        self, db_session: Session
    ) -> None:
        school, police = make_agency(db_session), make_agency(db_session, kind=AgencyKind.POLICE)
        person = make_person(db_session)
        link_record(db_session, person=person, agency=school)
        police_record = link_record(db_session, person=person, agency=police)
        subject = subject_of(make_user(db_session, agency=school))

        def shared_with_school(_subject: object, _now: dt.datetime):  # type: ignore[no-untyped-def]
            return select(
                PersonRecordLink.person_id, PersonRecordLink.agency_id, PersonRecordLink.record_ref
            ).where(PersonRecordLink.record_ref == police_record.record_ref)

        access_repository.register_shared_record_source(shared_with_school)
        try:
            records = set(
                db_session.scalars(access_repository.readable_source_records(subject, utc_now()))
            )
        finally:
            access_repository._shared_record_sources.remove(shared_with_school)
        assert police_record in records


class TestOpenPerson:
    def test_reading_is_audited_and_refusal_does_not_reveal_existence(
        self, db_session: Session
    ) -> None:
        school, gp = make_agency(db_session), make_agency(db_session, kind=AgencyKind.GP)
        ours = make_person(db_session, held_by=[school])
        theirs = make_person(db_session, held_by=[gp])
        subject = subject_of(make_user(db_session, agency=school))
        access_service.open_person(
            db_session=db_session,
            subject=subject,
            person_public_id=ours.public_id,
            purpose="chronology",
        )
        entry = db_session.scalars(
            select(AuditEntry).where(
                AuditEntry.person_id == ours.id, AuditEntry.action == "person.read"
            )
        ).one()
        assert entry.actor == subject.actor and entry.target == "chronology"
        with pytest.raises(access_service.PersonNotVisible) as refused_known:
            access_service.open_person(
                db_session=db_session,
                subject=subject,
                person_public_id=theirs.public_id,
                purpose="x",
            )
        with pytest.raises(access_service.PersonNotVisible) as refused_unknown:
            access_service.open_person(
                db_session=db_session,
                subject=subject,
                person_public_id="00000000-0000-0000-0000-000000000000",
                purpose="x",
            )
        assert str(refused_known.value) == str(refused_unknown.value)


class TestBreakGlass:
    def test_grant_opens_the_person_notifies_leads_and_expires(self, db_session: Session) -> None:
        hospital, school = (
            make_agency(db_session, kind=AgencyKind.HOSPITAL),
            make_agency(db_session),
        )
        person = make_person(db_session, held_by=[school])
        lead = make_user(db_session, role=Role.DESIGNATED_LEAD, agency=school)
        doctor = subject_of(make_user(db_session, agency=hospital))
        now = utc_now()
        assert not access_repository.can_read_person(
            db_session, subject=doctor, person_id=person.id, now=now
        )
        grant, notifications = access_service.break_glass(
            db_session=db_session,
            subject=doctor,
            request=BreakGlassRequest(
                person_id=person.public_id,
                reason="Child in ED unconscious, need known allergies and carers",
                minutes=30,
            ),
            now=now,
        )
        assert [n.recipient_user_id for n in notifications] == [lead.id]
        assert db_session.get(AccessNotification, notifications[0].id) is not None
        later = now + dt.timedelta(minutes=10)
        assert access_repository.can_read_person(
            db_session, subject=doctor, person_id=person.id, now=later
        )
        # Break-glass shows every agency's records about that one person.
        assert (
            len(
                list(
                    db_session.scalars(
                        access_repository.readable_source_records(
                            doctor, later, person_id=person.id
                        )
                    )
                )
            )
            == 1
        )
        access_service.open_person(
            db_session=db_session,
            subject=doctor,
            person_public_id=person.public_id,
            purpose="ed",
            now=later,
        )
        read = db_session.scalars(
            select(AuditEntry).where(
                AuditEntry.person_id == person.id, AuditEntry.action == "person.read"
            )
        ).one()
        assert read.reason == grant.reason
        assert read.detail["break_glass_grant_id"] == grant.id
        assert not access_repository.can_read_person(
            db_session, subject=doctor, person_id=person.id, now=now + dt.timedelta(minutes=31)
        )

    def test_the_kept_statement_is_judged_at_each_reads_own_moment(
        self, db_session: Session
    ) -> None:
        # The need-to-know statement is built once per subject and reused with each read's
        # moment (access.repository._involved_person_ids): the same subject, asking at
        # moments inside, after and again inside a grant's window, gets each moment's answer.
        hospital, school = (
            make_agency(db_session, kind=AgencyKind.HOSPITAL),
            make_agency(db_session),
        )
        person = make_person(db_session, held_by=[school])
        make_user(db_session, role=Role.DESIGNATED_LEAD, agency=school)
        doctor = subject_of(make_user(db_session, agency=hospital))
        now = utc_now()
        access_service.break_glass(
            db_session=db_session,
            subject=doctor,
            request=BreakGlassRequest(
                person_id=person.public_id, reason="Child in ED, need known carers", minutes=30
            ),
            now=now,
        )
        answers = [
            access_repository.can_read_person(
                db_session, subject=doctor, person_id=person.id, now=now + dt.timedelta(minutes=m)
            )
            for m in (-1, 10, 31, 10, 60, 29)
        ]
        assert answers == [False, True, False, True, False, True]
        early, late = now - dt.timedelta(days=1), now + dt.timedelta(days=1)
        first = access_repository.readable_person_ids(doctor, early)
        second = access_repository.readable_person_ids(doctor, late)
        assert str(first) == str(second)
        assert access_repository.NEED_TO_KNOW_MOMENT in first.compile().params
        assert first.compile().params[access_repository.NEED_TO_KNOW_MOMENT] == early
        assert second.compile().params[access_repository.NEED_TO_KNOW_MOMENT] == late

    @pytest.mark.parametrize("reason", ["", "   ", "because"])
    def test_a_reason_is_required(self, db_session: Session, reason: str) -> None:
        person = make_person(db_session, held_by=[make_agency(db_session)])
        doctor = subject_of(make_user(db_session))
        with pytest.raises((access_service.AccessError, ValueError)):
            access_service.break_glass(
                db_session=db_session,
                subject=doctor,
                request=BreakGlassRequest.model_construct(
                    person_id=person.public_id, reason=reason, minutes=30
                ),
            )

    def test_longer_than_the_limit_is_refused(self, db_session: Session) -> None:
        person = make_person(db_session, held_by=[make_agency(db_session)])
        doctor = subject_of(make_user(db_session))
        with pytest.raises(access_service.AccessError, match="at most"):
            access_service.break_glass(
                db_session=db_session,
                subject=doctor,
                request=BreakGlassRequest(
                    person_id=person.public_id, reason="an emergency of some kind", minutes=600
                ),
            )

    def test_roles_without_child_data_cannot_break_glass(self, db_session: Session) -> None:
        person = make_person(db_session, held_by=[make_agency(db_session)])
        admin = subject_of(make_user(db_session, role=Role.ADMINISTRATOR))
        with pytest.raises(access_service.AccessError, match="break_glass"):
            access_service.break_glass(
                db_session=db_session,
                subject=admin,
                request=BreakGlassRequest(
                    person_id=person.public_id,
                    reason="I am the administrator, let me in",
                    minutes=30,
                ),
            )


def test_who_has_looked_lists_reads_for_the_lead(db_session: Session) -> None:
    school = make_agency(db_session)
    person = make_person(db_session, held_by=[school])
    reader = subject_of(make_user(db_session, agency=school))
    lead = subject_of(make_user(db_session, role=Role.DESIGNATED_LEAD, agency=school))
    other_lead = subject_of(make_user(db_session, role=Role.DESIGNATED_LEAD))
    access_service.open_person(
        db_session=db_session,
        subject=reader,
        person_public_id=person.public_id,
        purpose="chronology",
    )
    looked = access_service.who_has_looked(
        db_session=db_session, subject=lead, person_public_id=person.public_id
    )
    assert [(e.actor, e.action) for e in looked] == [(reader.actor, "person.read")]
    with pytest.raises(access_service.PersonNotVisible):
        access_service.who_has_looked(
            db_session=db_session, subject=other_lead, person_public_id=person.public_id
        )
