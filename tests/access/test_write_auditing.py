"""Writes over the API are in the audit log when they commit, and only then (a real request
session per request, committing as in production)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from fullpicture.access import audit
from fullpicture.access.models import AuditEntry
from fullpicture.core.database import session_factory, unit_of_work
from fullpicture.web.app import create_app
from tests.access.principals import bearer_token, make_agency, make_person, make_user
from tests.conftest import TestDatabase


def test_committed_writes_are_audited_and_refused_ones_are_not(
    runtime_database: TestDatabase,
) -> None:
    factory = session_factory(runtime_database.engine)
    with unit_of_work(factory) as session:
        person = make_person(session, held_by=[make_agency(session, "school-writes")])
        doctor = make_user(session, agency=make_agency(session, "hospital-writes"))
        token = bearer_token(session, doctor)
        person_id, doctor_id = person.public_id, doctor.id
    client = TestClient(create_app(), headers={"Authorization": f"Bearer {token}"})
    granted = client.post(
        "/api/v1/break-glass",
        json={"person_id": person_id, "reason": "Unconscious in ED; need carers now"},
    )
    assert granted.status_code == 201, granted.text
    refused = client.post(
        "/api/v1/break-glass",
        json={"person_id": person_id, "reason": "Longer than allowed, on purpose", "minutes": 999},
    )
    assert refused.status_code == 403
    with unit_of_work(factory) as session:
        writes = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "request.write", AuditEntry.actor_user_id == doctor_id
            )
        ).all()
        verdict = audit.verify_chain(db_session=session)
    assert [w.target for w in writes] == ["POST /api/v1/break-glass"]
    assert verdict.intact, verdict.problem
