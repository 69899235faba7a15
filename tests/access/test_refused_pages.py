"""A signed-in browser refused a page gets a page saying what happened and whom to ask, with
the same status code an API client gets (403, 404); API clients, and anything that is not a
browser opening a page, keep the JSON answer."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.auth import Principal
from fullpicture.access.models import Role, UserAccount
from fullpicture.people.models import Person
from tests.access.principals import (
    authorise_client,
    make_agency,
    make_person,
    make_user,
    strong_password,
)

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _sign_in(client: TestClient, db_session: Session, *, role: Role) -> UserAccount:
    password = strong_password()
    user = make_user(db_session, role=role, agency=make_agency(db_session), password=password)
    form = client.get("/sign-in", headers=BROWSER)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf
    response = client.post(
        "/sign-in",
        data={"username": user.username, "password": password, "csrf_token": csrf.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return user


def _assert_a_plain_page(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("text/html")
    assert "<script" not in response.text and "style=" not in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert 'href="/account"' in response.text
    return response.text


@pytest.fixture
def child(db_session: Session) -> Person:
    return make_person(db_session, held_by=[make_agency(db_session)])


def test_a_page_the_users_role_does_not_open_is_a_403_page(
    app_client: TestClient, db_session: Session, child: Person
) -> None:
    practitioner = _sign_in(app_client, db_session, role=Role.PRACTITIONER)

    response = app_client.get(f"/people/{child.public_id}/access-log", headers=BROWSER)

    assert response.status_code == 403
    page = _assert_a_plain_page(response)
    assert "You do not have access to this page" in page
    assert "needs the access_log:read permission" in page
    assert "designated safeguarding lead" in page and "administrator" in page
    assert f"{practitioner.username} (practitioner)" in page
    assert child.public_id not in page.replace(f"/people/{child.public_id}/", "")


def test_api_clients_and_non_html_requests_keep_the_json_403(
    app_client: TestClient, db_session: Session, child: Person
) -> None:
    _sign_in(app_client, db_session, role=Role.PRACTITIONER)
    page = f"/people/{child.public_id}/access-log"

    for response in (
        app_client.get(page),  # Accept: */*
        app_client.get(page, headers={"accept": "application/json"}),
        app_client.get(f"/api/v1{page}", headers=BROWSER),  # the API, even from a browser
    ):
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/json"
        assert "access_log:read" in response.json()["detail"]

    app_client.cookies.clear()
    authorise_client(app_client, db_session, role=Role.PRACTITIONER)
    with_token = app_client.get(page, headers=BROWSER)
    assert with_token.status_code == 403
    assert with_token.headers["content-type"] == "application/json"


def test_an_address_that_is_no_page_is_a_404_page_for_a_browser(
    app_client: TestClient, db_session: Session
) -> None:
    _sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD)

    response = app_client.get("/account/<b>tokens</b>", headers=BROWSER)

    assert response.status_code == 404
    page = _assert_a_plain_page(response)
    assert "Not shown" in page and "Check the address" in page
    assert "<b>" not in page and "&lt;b&gt;tokens&lt;/b&gt;" in page
    api = app_client.get("/account/tokens")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    ("refusal", "status_code"),
    [
        (access_service.PersonNotVisible("no such person, or your agency is not involved"), 404),
        (access_service.AccessError("This needs children:write"), 403),
    ],
)
def test_a_refusal_from_the_service_layer_is_a_page_too(
    app_client: TestClient,
    db_session: Session,
    refusal: access_service.AccessError,
    status_code: int,
) -> None:
    app = app_client.app
    assert isinstance(app, FastAPI)

    def refusing_page(subject: Principal) -> None:
        raise refusal

    app.add_api_route("/test-refusing-page", refusing_page, methods=["GET"])
    _sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD)

    response = app_client.get("/test-refusing-page", headers=BROWSER)

    assert response.status_code == status_code
    page = _assert_a_plain_page(response)
    assert f"{refusal!s}." in page
    api = app_client.get("/test-refusing-page")
    assert api.status_code == status_code and api.json() == {"detail": str(refusal)}
