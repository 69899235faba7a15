"""Each API read is judged afresh: the token, the user behind it, its scopes and the
need-to-know rule are read from the database on every request, and each read of a child is one
entry in the hash-chained audit log.

The API's statements are built once and kept (``access.repository.kept_statement``, issue 14);
these tests hold that what is kept is only the shape of the SQL, never a decision: a change in
the tables is seen by the very next request.
"""

from __future__ import annotations

import datetime as dt
import itertools

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access import service as access_service
from fullpicture.access.models import ApiToken, AuditEntry, BreakGlassGrant
from fullpicture.access.roles import Scope
from fullpicture.core.database import utc_now
from tests.access.principals import (
    bearer_token,
    link_record,
    make_agency,
    make_event,
    make_person,
    make_user,
)


def _reads_of(db_session: Session, person_id: int) -> list[AuditEntry]:
    return list(
        db_session.scalars(
            select(AuditEntry)
            .where(AuditEntry.person_id == person_id, AuditEntry.action == "person.read")
            .order_by(AuditEntry.position)
        )
    )


def _audit_length(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(AuditEntry)) or 0


class TestTokenEveryRequest:
    def test_a_revoked_token_is_refused_on_the_very_next_request(
        self, app_client: TestClient, db_session: Session
    ) -> None:
        user = make_user(db_session)
        plain = bearer_token(db_session, user)
        headers = {"Authorization": f"Bearer {plain}"}
        assert app_client.get("/api/v1/me", headers=headers).status_code == 200
        assert app_client.get("/api/v1/alerts", headers=headers).status_code == 200
        token = db_session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
        access_service.revoke_api_token(db_session=db_session, token=token, actor="test")
        db_session.flush()
        for path in ("/api/v1/me", "/api/v1/alerts"):
            refused = app_client.get(path, headers=headers)
            assert refused.status_code == 401, path
            assert "revoked" in refused.json()["detail"]

    def test_a_deactivated_user_s_token_is_refused_on_the_next_request(
        self, app_client: TestClient, db_session: Session
    ) -> None:
        user = make_user(db_session)
        headers = {"Authorization": f"Bearer {bearer_token(db_session, user)}"}
        assert app_client.get("/api/v1/me", headers=headers).status_code == 200
        user.is_active = False
        db_session.flush()
        assert app_client.get("/api/v1/me", headers=headers).status_code == 401

    def test_an_expired_token_is_refused(self, app_client: TestClient, db_session: Session) -> None:
        user = make_user(db_session)
        headers = {"Authorization": f"Bearer {bearer_token(db_session, user)}"}
        assert app_client.get("/api/v1/me", headers=headers).status_code == 200
        token = db_session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
        token.expires_at = utc_now() - dt.timedelta(seconds=1)
        db_session.flush()
        assert app_client.get("/api/v1/me", headers=headers).status_code == 401

    def test_who_am_i_answers_from_the_token_s_user_as_stored_now(
        self, app_client: TestClient, db_session: Session
    ) -> None:
        user = make_user(db_session)
        headers = {"Authorization": f"Bearer {bearer_token(db_session, user)}"}
        me = app_client.get("/api/v1/me", headers=headers).json()
        assert me["display_name"] == "Test User" and me["method"] == "token"
        user.display_name = "Renamed User"
        db_session.flush()
        me = app_client.get("/api/v1/me", headers=headers).json()
        assert me["display_name"] == "Renamed User"

    def test_a_token_without_children_read_is_refused_a_child_and_nothing_is_audited(
        self, app_client: TestClient, db_session: Session
    ) -> None:
        school = make_agency(db_session)
        child = make_person(db_session, held_by=[school])
        user = make_user(db_session, agency=school)
        narrow = bearer_token(db_session, user, frozenset({Scope.REFERRALS_WRITE}))
        headers = {"Authorization": f"Bearer {narrow}"}
        before = _audit_length(db_session)
        for path in (
            f"/api/v1/children/{child.public_id}/chronology",
            f"/api/v1/children/{child.public_id}/harm",
            "/api/v1/alerts",
        ):
            refused = app_client.get(path, headers=headers)
            assert refused.status_code == 403, path
            assert Scope.CHILDREN_READ.value in refused.json()["detail"]
        assert _audit_length(db_session) == before


class TestChildReadsOverTheApi:
    def test_each_read_of_a_child_is_one_chained_audit_entry(
        self, app_client: TestClient, db_session: Session
    ) -> None:
        school = make_agency(db_session)
        child = make_person(db_session)
        record = link_record(db_session, person=child, agency=school)
        make_event(db_session, record=record)
        user = make_user(db_session, agency=school)
        headers = {"Authorization": f"Bearer {bearer_token(db_session, user)}"}
        paths = [
            f"/api/v1/children/{child.public_id}/chronology",
            f"/api/v1/children/{child.public_id}/harm",
            f"/api/v1/children/{child.public_id}/chronology",
        ]
        for path in paths:
            assert app_client.get(path, headers=headers).status_code == 200, path
        assert app_client.get("/api/v1/me", headers=headers).status_code == 200
        reads = _reads_of(db_session, child.id)
        assert [r.target for r in reads] == ["chronology", "harm score", "chronology"]
        assert {r.actor for r in reads} == {f"user:{user.username}"}
        assert [r.detail["method"] for r in reads] == ["token"] * 3
        assert [b.position - a.position for a, b in itertools.pairwise(reads)] == [1, 1]
        assert audit.verify_chain(db_session=db_session).intact

    def test_the_rule_is_judged_at_each_request_for_each_subject(
        self, app_client: TestClient, db_session: Session
    ) -> None:
        """One user's statement, kept, is given that request's moment and person; another
        user's is their own: a grant made between two requests opens the child at once and
        ending it closes the child at once, and a third user never sees the child."""
        school, clinic, college = (make_agency(db_session) for _ in range(3))
        child = make_person(db_session)
        record = link_record(db_session, person=child, agency=school)
        make_event(db_session, record=record, summary="seen at school")
        teacher = make_user(db_session, agency=school)
        nurse = make_user(db_session, agency=clinic)
        lecturer = make_user(db_session, agency=college)
        as_teacher, as_nurse, as_lecturer = (
            {"Authorization": f"Bearer {bearer_token(db_session, u)}"}
            for u in (teacher, nurse, lecturer)
        )
        chronology = f"/api/v1/children/{child.public_id}/chronology"
        harm = f"/api/v1/children/{child.public_id}/harm"

        def summaries(headers: dict[str, str]) -> list[str] | int:
            answer = app_client.get(chronology, headers=headers)
            if answer.status_code != 200:
                return answer.status_code
            return [e["summary"] for e in answer.json()["entries"]]

        assert summaries(as_teacher) == ["seen at school"]
        assert summaries(as_nurse) == 404
        assert app_client.get(harm, headers=as_nurse).status_code == 404
        grant = BreakGlassGrant(
            user_id=nurse.id,
            person_id=child.id,
            reason="unconscious child in clinic",
            granted_at=utc_now() - dt.timedelta(minutes=1),
            expires_at=utc_now() + dt.timedelta(hours=1),
        )
        db_session.add(grant)
        db_session.flush()
        assert summaries(as_nurse) == ["seen at school"]
        assert app_client.get(harm, headers=as_nurse).status_code == 200
        assert summaries(as_lecturer) == 404
        grant.ended_at = utc_now()
        db_session.flush()
        assert summaries(as_nurse) == 404
        assert app_client.get(harm, headers=as_nurse).status_code == 404
        assert summaries(as_teacher) == ["seen at school"]
        assert [r.actor for r in _reads_of(db_session, child.id)] == [
            f"user:{teacher.username}",
            f"user:{nurse.username}",
            f"user:{nurse.username}",
            f"user:{teacher.username}",
        ]
