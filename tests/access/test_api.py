"""Sign-in, sessions, CSRF, security headers, API tokens and access routes over HTTP."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access.models import AuditEntry, Role, UserAccount
from fullpicture.access.roles import Scope
from fullpicture.agencies.models import AgencyKind
from tests.access.principals import (
    authorise_client,
    bearer_token,
    make_agency,
    make_person,
    make_user,
    strong_password,
)


def _csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the form"
    return match.group(1)


def _sign_in(client: TestClient, username: str, password: str) -> None:
    form = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": _csrf_from(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


class TestSignIn:
    def test_sign_in_sets_a_hardened_session_cookie_and_opens_the_account(
        self, app_client: TestClient, db_session: Session
    ) -> None:
        password = strong_password()
        user = make_user(db_session, role=Role.AUDITOR, password=password)
        form = app_client.get("/sign-in")
        assert form.status_code == 200 and "<script" not in form.text
        response = app_client.post(
            "/sign-in",
            data={
                "username": user.username,
                "password": password,
                "csrf_token": _csrf_from(form.text),
                "next": "//evil.example/",
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/home"  # no open redirect
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("fp_session=")
        )
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # plain http in tests; see the TLS test below
        account = app_client.get("/account")
        assert account.status_code == 200 and user.username in account.text

    def test_session_cookie_is_secure_over_tls(
        self, app_client: TestClient, db_session: Session
    ) -> None:
        password = strong_password()
        user = make_user(db_session, role=Role.AUDITOR, password=password)
        app_client.base_url = app_client.base_url.copy_with(scheme="https")
        form = app_client.get("/sign-in")
        assert "max-age=31536000" in form.headers["strict-transport-security"]
        response = app_client.post(
            "/sign-in",
            data={
                "username": user.username,
                "password": password,
                "csrf_token": _csrf_from(form.text),
            },
            follow_redirects=False,
        )
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("fp_session=")
        )
        assert "Secure" in cookie

    def test_wrong_password_is_refused_and_counted(
        self, app_client: TestClient, db_session: Session
    ) -> None:
        user = make_user(db_session)
        form = app_client.get("/sign-in")
        response = app_client.post(
            "/sign-in",
            data={
                "username": user.username,
                "password": "not-the-password",
                "csrf_token": _csrf_from(form.text),
            },
        )
        assert response.status_code == 401
        assert "wrong" in response.text
        db_session.refresh(user)
        assert user.failed_sign_ins == 1

    def test_sign_in_form_without_its_csrf_cookie_is_refused(
        self, app_client: TestClient, db_session: Session
    ) -> None:
        password = strong_password()
        user = make_user(db_session, password=password)
        response = app_client.post(
            "/sign-in",
            data={"username": user.username, "password": password, "csrf_token": "forged"},
        )
        assert response.status_code == 403
        assert "fp_session" not in app_client.cookies

    def test_unsafe_requests_with_a_session_need_the_csrf_token(
        self, app_client: TestClient, db_session: Session
    ) -> None:
        password = strong_password()
        user = make_user(db_session, role=Role.AUDITOR, password=password)
        _sign_in(app_client, user.username, password)
        assert app_client.post("/sign-out", data={}).status_code == 403
        assert app_client.post("/sign-out", data={"csrf_token": "wrong"}).status_code == 403
        token = _csrf_from(app_client.get("/account").text)
        out = app_client.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
        assert out.status_code == 303
        assert app_client.get("/account").status_code == 401


class TestHeaders:
    def test_every_response_carries_the_security_headers(self, app_client: TestClient) -> None:
        for path in ("/healthz", "/sign-in", "/api/v1/me", "/api/docs"):
            headers = app_client.get(path).headers
            csp = headers["content-security-policy"]
            assert (
                "script-src 'self'" in csp
                and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
            )
            assert "frame-ancestors 'none'" in csp
            assert headers["x-frame-options"] == "DENY"
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "no-referrer"
            assert "strict-transport-security" not in headers  # not over TLS here


class TestTokens:
    def test_bearer_token_authenticates_and_no_credentials_get_401(
        self, app_client: TestClient, db_session: Session
    ) -> None:
        assert app_client.get("/api/v1/me").status_code == 401
        user = authorise_client(app_client, db_session, role=Role.AUDITOR)
        me = app_client.get("/api/v1/me")
        assert me.status_code == 200 and me.json()["username"] == user.username
        assert me.json()["method"] == "token"

    @pytest.mark.parametrize(
        "header", ["Bearer fpt_not-a-real-token", "Basic abc", "Bearer", "Bearer ' OR 1=1 --"]
    )
    def test_bad_credentials_are_401(self, app_client: TestClient, header: str) -> None:
        response = app_client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    def test_a_narrow_token_cannot_use_its_role_s_other_scopes(
        self, app_client: TestClient, db_session: Session
    ) -> None:
        user = make_user(db_session, role=Role.AUDITOR)
        token = bearer_token(db_session, user, frozenset({Scope.ACCESS_LOG_READ}))
        response = app_client.get(
            "/api/v1/audit/verify", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 403 and "audit:read" in response.json()["detail"]


class TestAccessRoutes:
    def test_audit_verify_for_auditors_only(
        self, app_client: TestClient, db_session: Session
    ) -> None:
        authorise_client(app_client, db_session, role=Role.PRACTITIONER)
        assert app_client.get("/api/v1/audit/verify").status_code == 403
        authorise_client(app_client, db_session, role=Role.AUDITOR)
        verdict = app_client.get("/api/v1/audit/verify")
        assert verdict.status_code == 200 and verdict.json()["intact"] is True

    def test_break_glass_over_the_api_is_audited_and_leads_notified(
        self, app_client: TestClient, db_session: Session
    ) -> None:
        school = make_agency(db_session)
        person = make_person(db_session, held_by=[school])
        lead = make_user(db_session, role=Role.DESIGNATED_LEAD, agency=school)
        doctor = authorise_client(
            app_client, db_session, agency=make_agency(db_session, kind=AgencyKind.HOSPITAL)
        )
        refused = app_client.post(
            "/api/v1/break-glass", json={"person_id": person.public_id, "reason": "", "minutes": 30}
        )
        assert refused.status_code == 422
        granted = app_client.post(
            "/api/v1/break-glass",
            json={
                "person_id": person.public_id,
                "reason": "Unconscious in ED; need carers",
                "minutes": 30,
            },
        )
        assert granted.status_code == 201, granted.text
        assert granted.json()["notified_user_ids"] == [lead.id]
        entry = db_session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "break_glass.granted", AuditEntry.actor_user_id == doctor.id
            )
        ).one()
        assert entry.reason == "Unconscious in ED; need carers"
        lead_token = bearer_token(db_session, db_session.get(UserAccount, lead.id))  # type: ignore[arg-type]
        notes = app_client.get(
            "/api/v1/notifications", headers={"Authorization": f"Bearer {lead_token}"}
        ).json()
        assert notes and "break-glass" in notes[0]["message"]

    def test_access_log_rejects_malformed_ids_and_unknown_people_alike(
        self, app_client: TestClient, db_session: Session
    ) -> None:
        authorise_client(app_client, db_session, role=Role.AUDITOR)
        for bad in ("1' OR '1'='1", "..%2F..%2Fetc%2Fpasswd", "x" * 300):
            assert app_client.get(f"/api/v1/people/{bad}/access-log").status_code in (404, 422)
        unknown = app_client.get("/api/v1/people/00000000-0000-0000-0000-000000000000/access-log")
        assert unknown.status_code == 404


def test_oversized_json_body_is_413(app_client: TestClient, db_session: Session) -> None:
    authorise_client(app_client, db_session)
    huge = "x" * (2 * 1024 * 1024)
    response = app_client.post(
        "/api/v1/break-glass",
        content=b'{"person_id": "a", "reason": "' + huge.encode() + b'"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
