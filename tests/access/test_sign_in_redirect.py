"""A signed-out browser opening a page is sent to sign in and brought back to the page after;
API clients still get a 401 in JSON. The page to come back to must be a path on this site, so
the sign-in form cannot be used to send someone elsewhere (an open redirect)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from tests.access.principals import make_agency, make_person, make_user, strong_password

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the form"
    return match.group(1)


def _next_field(html: str) -> str:
    match = re.search(r'name="next" value="([^"]*)"', html)
    assert match, "no next field in the form"
    return match.group(1)


def _sign_in_at(client: TestClient, sign_in_url: str, username: str, password: str) -> str:
    """Fill in the sign-in form reached at ``sign_in_url``; returns where it sends the browser."""
    form = client.get(sign_in_url, headers=BROWSER)
    assert form.status_code == 200, form.text
    response = client.post(
        "/sign-in",
        data={
            "username": username,
            "password": password,
            "csrf_token": _csrf_from(form.text),
            "next": _next_field(form.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]


@pytest.mark.parametrize("path", ["/account", "/people/access-log?person_id=abc"])
def test_a_signed_out_browser_is_sent_to_sign_in_and_back(
    app_client: TestClient, db_session: Session, path: str
) -> None:
    password = strong_password()
    lead = make_user(db_session, role=Role.DESIGNATED_LEAD, password=password)

    response = app_client.get(path, headers=BROWSER, follow_redirects=False)

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/sign-in" and not location.netloc
    assert parse_qs(location.query) == {"next": [path]}
    assert _sign_in_at(app_client, response.headers["location"], lead.username, password) == path


def test_the_access_log_page_comes_back_after_sign_in(
    app_client: TestClient, db_session: Session
) -> None:
    school = make_agency(db_session)
    child = make_person(db_session, held_by=[school])
    password = strong_password()
    lead = make_user(db_session, role=Role.DESIGNATED_LEAD, agency=school, password=password)
    page = f"/people/{child.public_id}/access-log"

    response = app_client.get(page, headers=BROWSER, follow_redirects=False)
    assert response.status_code == 303

    back_to = _sign_in_at(app_client, response.headers["location"], lead.username, password)
    assert back_to == page
    shown = app_client.get(back_to, headers=BROWSER)
    assert shown.status_code == 200 and "Who has looked" in shown.text


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/account", {"accept": "application/json"}),
        ("GET", "/account", {}),  # no Accept at all, as curl and most HTTP libraries send
        ("GET", "/api/v1/me", BROWSER),  # the API answers in JSON even to a browser
        ("GET", "/account", {**BROWSER, "authorization": "Bearer fpt_not-a-token"}),
        ("POST", "/sign-out", BROWSER),  # only page visits are redirected
    ],
)
def test_api_clients_still_get_a_401_in_json(
    app_client: TestClient, method: str, path: str, headers: dict[str, str]
) -> None:
    response = app_client.request(method, path, headers=headers, follow_redirects=False)

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "/\t/evil.example/",  # a browser drops the tab and reads //evil.example
        "/\n/evil.example/",
        "/\r\nLocation: https://evil.example/",
        "javascript:alert(1)",
        "http:/evil.example",
        " /account",
    ],
)
def test_next_cannot_send_the_browser_to_another_site(
    app_client: TestClient, db_session: Session, next_path: str
) -> None:
    password = strong_password()
    user = make_user(db_session, role=Role.AUDITOR, password=password)
    form = app_client.get("/sign-in", params={"next": next_path}, headers=BROWSER)
    assert _next_field(form.text) == "/home"

    response = app_client.post(
        "/sign-in",
        data={
            "username": user.username,
            "password": password,
            "csrf_token": _csrf_from(form.text),
            "next": next_path,
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/home"
