"""Subject access export (child-abuse-data exemption) and retention archiving."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.models import ArchivedRecord, AuditEntry, Role
from fullpicture.agencies.models import AgencyKind
from fullpicture.core.database import utc_now
from fullpicture.governance import retention
from fullpicture.governance.subject_access import (
    Requester,
    SubjectAccessRequest,
    export_person_data,
    subject_access_rules,
)
from tests.access.principals import (
    authorise_client,
    link_record,
    make_agency,
    make_event,
    make_person,
    make_user,
    subject_of,
)


def _child_with_history(db_session: Session):  # type: ignore[no-untyped-def]
    school, police = make_agency(db_session), make_agency(db_session, kind=AgencyKind.POLICE)
    person = make_person(db_session)
    record = link_record(db_session, person=person, agency=school)
    police_record = link_record(db_session, person=person, agency=police)
    abuse = make_event(db_session, record=record, concern_code="SEX-ABU", summary="disclosure")
    routine = make_event(db_session, record=record, concern_code="STR-ATT", summary="attends")
    make_event(db_session, record=police_record, concern_code="DOM-ABU", summary="police call")
    lead = subject_of(make_user(db_session, role=Role.DESIGNATED_LEAD, agency=school))
    return person, lead, abuse, routine


class TestSubjectAccess:
    def test_a_parent_s_request_withholds_child_abuse_data(self, db_session: Session) -> None:
        person, lead, abuse, routine = _child_with_history(db_session)
        export = export_person_data(
            db_session=db_session,
            subject=lead,
            person_public_id=person.public_id,
            request=SubjectAccessRequest(requester=Requester.PARENT_FOR_CHILD),
        )
        assert [e["event_ref"] for e in export.events] == [routine.event_ref]
        assert [w.event_ref for w in export.withheld] == [abuse.event_ref]
        assert "Schedule 3 Part 5" in export.withheld[0].exemption
        assert all(r["agency_code"] != "police" for r in export.records)
        assert "police call" not in export.model_dump_json()  # another agency's record
        assert len(export.records) == 1

    def test_the_subject_s_own_request_or_a_reasoned_release_discloses_all(
        self, db_session: Session
    ) -> None:
        person, lead, abuse, routine = _child_with_history(db_session)
        own = export_person_data(
            db_session=db_session,
            subject=lead,
            person_public_id=person.public_id,
            request=SubjectAccessRequest(requester=Requester.DATA_SUBJECT),
        )
        assert {e["event_ref"] for e in own.events} == {abuse.event_ref, routine.event_ref}
        released = export_person_data(
            db_session=db_session,
            subject=lead,
            person_public_id=person.public_id,
            request=SubjectAccessRequest(
                requester=Requester.PARENT_FOR_CHILD,
                release_child_abuse_data=True,
                best_interests_reason="Parent is the protective carer; reviewed with the DSL",
            ),
        )
        assert released.withheld == []
        entry = db_session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "person.export", AuditEntry.person_id == person.id)
            .order_by(AuditEntry.position.desc())
        ).first()
        assert entry is not None and entry.reason and "protective carer" in entry.reason

    def test_release_needs_a_reason_and_practitioners_cannot_export(
        self, db_session: Session
    ) -> None:
        with pytest.raises(ValidationError, match="best-interests"):
            SubjectAccessRequest(
                requester=Requester.PARENT_FOR_CHILD, release_child_abuse_data=True
            )
        person, _lead, _abuse, _routine = _child_with_history(db_session)
        practitioner = subject_of(make_user(db_session))
        with pytest.raises(access_service.AccessError):
            export_person_data(
                db_session=db_session,
                subject=practitioner,
                person_public_id=person.public_id,
                request=SubjectAccessRequest(requester=Requester.DATA_SUBJECT),
            )

    def test_every_exempt_code_is_in_the_taxonomy(self) -> None:
        from fullpicture.chronology.taxonomy import load_taxonomy

        known = {code.code for code in load_taxonomy().codes}
        assert subject_access_rules().child_abuse_concern_codes <= known

    def test_export_over_the_api(self, app_client: TestClient, db_session: Session) -> None:
        school = make_agency(db_session)
        person = make_person(db_session, held_by=[school])
        authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=school)
        response = app_client.post(
            f"/api/v1/people/{person.public_id}/subject-access-export",
            json={"requester": "parent_for_child"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["person_id"] == person.public_id
        authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD)  # another agency
        refused = app_client.post(
            f"/api/v1/people/{person.public_id}/subject-access-export",
            json={"requester": "data_subject"},
        )
        assert refused.status_code == 404


class TestRetention:
    def test_records_closed_longer_than_the_period_are_archived_once(
        self, db_session: Session
    ) -> None:
        school = make_agency(db_session)
        person = make_person(db_session)
        old_closed = link_record(db_session, person=person, agency=school)
        recent_closed = link_record(db_session, person=person, agency=school)
        reopened = link_record(db_session, person=person, agency=school)
        today = dt.date(2026, 11, 25)
        long_ago = today - dt.timedelta(days=7 * 366)
        make_event(db_session, record=old_closed, concern_code="PLN-END", event_date=long_ago)
        make_event(db_session, record=recent_closed, concern_code="PLN-END", event_date=today)
        make_event(db_session, record=reopened, concern_code="PLN-END", event_date=long_ago)
        make_event(
            db_session,
            record=reopened,
            concern_code="PHY-INJ",
            event_date=long_ago + dt.timedelta(days=5),
        )
        now = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
        before = {
            (a, r)
            for a, r in db_session.execute(
                select(ArchivedRecord.agency_id, ArchivedRecord.record_ref)
            )
        }
        dry = retention.archive_closed_records(
            db_session=db_session, actor="test", now=now, dry_run=True
        )
        outcome = retention.archive_closed_records(db_session=db_session, actor="test", now=now)
        assert dry.archived == outcome.archived
        archived = {
            (a, r)
            for a, r in db_session.execute(
                select(ArchivedRecord.agency_id, ArchivedRecord.record_ref)
            )
        } - before
        assert archived == {(school.id, old_closed.record_ref)}
        again = retention.archive_closed_records(db_session=db_session, actor="test", now=now)
        assert again.archived == 0
        # The archived record leaves the everyday need-to-know window.
        subject = subject_of(make_user(db_session, agency=school))
        readable = set(
            db_session.scalars(
                access_repository.readable_source_records(subject, utc_now(), person_id=person.id)
            )
        )
        assert old_closed not in readable and recent_closed in readable
