"""OpenID Connect sign-in against a stub issuer running in-process."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.access.schemas import UserCreate
from fullpicture.access.service import create_user
from fullpicture.core.settings import Settings, get_settings
from fullpicture.web import sign_in

ISSUER = "http://127.0.0.1:9999"
CLIENT_ID = "fullpicture"
CLIENT_SECRET = "stub-client-secret"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def stub_issuer(subject: str, *, tamper_nonce: bool = False) -> FastAPI:
    """A minimal OpenID provider: discovery, authorise (auto-approves), token with PKCE."""
    stub = FastAPI()
    codes: dict[str, dict[str, str]] = {}

    @stub.get("/.well-known/openid-configuration")
    def configuration() -> dict[str, str]:
        return {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token",
        }

    @stub.get("/authorize")
    def authorize(
        client_id: str, redirect_uri: str, state: str, nonce: str, code_challenge: str
    ) -> RedirectResponse:
        assert client_id == CLIENT_ID
        code = secrets.token_urlsafe(12)
        codes[code] = {"nonce": nonce, "challenge": code_challenge, "redirect_uri": redirect_uri}
        return RedirectResponse(f"{redirect_uri}?code={code}&state={state}", status_code=302)

    @stub.post("/token")
    def token(
        request: Request,
        code: str = Form(),
        code_verifier: str = Form(),
        redirect_uri: str = Form(),
    ) -> dict[str, str]:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != expected:
            raise HTTPException(401)
        issued = codes.pop(code, None)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if (
            issued is None
            or issued["challenge"] != challenge
            or issued["redirect_uri"] != redirect_uri
        ):
            raise HTTPException(400, "invalid_grant")
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "sub": subject,
            "nonce": "other" if tamper_nonce else issued["nonce"],
            "iat": now,
            "exp": now + 300,
        }
        return {"id_token": f"{_b64({'alg': 'RS256'})}.{_b64(claims)}.c2ln", "token_type": "Bearer"}

    return stub


@pytest.fixture
def oidc_settings() -> Settings:
    return Settings(
        oidc_issuer=ISSUER,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=SecretStr(CLIENT_SECRET),
        oidc_redirect_url="http://testserver/sign-in/oidc/callback",
    )


def _wire(app_client: TestClient, settings: Settings, stub: FastAPI) -> TestClient:
    issuer_client = TestClient(stub, base_url=ISSUER, follow_redirects=False)

    def client() -> Iterator[TestClient]:
        yield issuer_client

    app: FastAPI = app_client.app  # type: ignore[assignment]
    app.dependency_overrides[sign_in.oidc_http_client] = client
    app.dependency_overrides[get_settings] = lambda: settings
    return issuer_client


def _journey(app_client: TestClient, issuer_client: TestClient) -> Any:
    start = app_client.get("/sign-in/oidc", params={"next": "/account"}, follow_redirects=False)
    assert start.status_code == 303
    location = urlsplit(start.headers["location"])
    assert location.path == "/authorize"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["code_challenge_method"] == "S256" and query["nonce"] and query["state"]
    back = issuer_client.get("/authorize", params=query)
    callback = urlsplit(back.headers["location"])
    return app_client.get(f"{callback.path}?{callback.query}", follow_redirects=False)


def _linked_user(db_session: Session, subject: str) -> None:
    create_user(
        db_session=db_session,
        user_in=UserCreate(
            username="oidc.user",
            display_name="Oidc User",
            role=Role.AUDITOR,
            oidc_subject=f"{ISSUER}|{subject}",
        ),
        actor="test",
    )


def test_a_linked_account_signs_in(
    app_client: TestClient, db_session: Session, oidc_settings: Settings
) -> None:
    _linked_user(db_session, "alice-at-idp")
    issuer_client = _wire(app_client, oidc_settings, stub_issuer("alice-at-idp"))
    done = _journey(app_client, issuer_client)
    assert done.status_code == 303 and done.headers["location"] == "/account"
    assert app_client.get("/api/v1/me").json()["username"] == "oidc.user"


def test_an_unlinked_identity_is_refused(
    app_client: TestClient, db_session: Session, oidc_settings: Settings
) -> None:
    _linked_user(db_session, "alice-at-idp")
    issuer_client = _wire(app_client, oidc_settings, stub_issuer("mallory-at-idp"))
    done = _journey(app_client, issuer_client)
    assert done.status_code == 401 and "No fullpicture account" in done.text
    assert app_client.get("/api/v1/me").status_code == 401


def test_a_replayed_or_foreign_token_is_refused(
    app_client: TestClient, db_session: Session, oidc_settings: Settings
) -> None:
    _linked_user(db_session, "alice-at-idp")
    issuer_client = _wire(app_client, oidc_settings, stub_issuer("alice-at-idp", tamper_nonce=True))
    done = _journey(app_client, issuer_client)
    assert done.status_code == 401 and "nonce" in done.text


def test_a_forged_state_is_refused(
    app_client: TestClient, db_session: Session, oidc_settings: Settings
) -> None:
    _wire(app_client, oidc_settings, stub_issuer("alice-at-idp"))
    app_client.get("/sign-in/oidc", follow_redirects=False)
    response = app_client.get("/sign-in/oidc/callback?code=abc&state=forged")
    assert response.status_code == 401


def test_oidc_routes_are_off_without_configuration(app_client: TestClient) -> None:
    assert app_client.get("/sign-in/oidc", follow_redirects=False).status_code == 404
