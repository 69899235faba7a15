"""The "who has looked at this child" page: for a designated lead of an involved agency (and
auditors), server-rendered with no inline script; everyone else gets a clear 401/403/404 that
does not say whether the child exists. Asking is audited, as it is over the API."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.models import AuditEntry, Role
from fullpicture.people.models import Person
from tests.access.principals import make_agency, make_person, make_user, strong_password, subject_of

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def _sign_in(client: TestClient, db_session: Session, *, role: Role, agency: object = None) -> str:
    password = strong_password()
    user = make_user(db_session, role=role, agency=agency, password=password)  # type: ignore[arg-type]
    form = client.get("/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf
    response = client.post(
        "/sign-in",
        data={"username": user.username, "password": password, "csrf_token": csrf.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return user.username


@pytest.fixture
def looked_at(db_session: Session) -> tuple[Person, str]:
    """A child held by a school, opened once by a teacher there; returns the child and teacher."""
    school = make_agency(db_session, "school-log-page")
    child = make_person(db_session, held_by=[school])
    teacher = make_user(db_session, agency=school)
    access_service.open_person(
        db_session=db_session,
        subject=subject_of(teacher),
        person_public_id=child.public_id,
        purpose="chronology",
    )
    return child, teacher.username


def test_a_designated_lead_sees_who_has_looked(
    app_client: TestClient, db_session: Session, looked_at: tuple[Person, str]
) -> None:
    child, teacher = looked_at
    school = make_agency(db_session, "school-log-page")
    lead = _sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=school)
    page = app_client.get(f"/people/{child.public_id}/access-log")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "Who has looked at this person" in page.text
    assert f"user:{teacher}" in page.text and "person.read" in page.text
    assert "chronology" in page.text
    counted = re.search(r"(\d+) (entry|entries)</caption>", page.text)
    assert counted is not None and (counted[1] == "1") == (counted[2] == "entry")
    assert (
        "<script" not in page.text
        and "script-src 'self'" in page.headers["content-security-policy"]
    )
    asked = db_session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "access_log.read", AuditEntry.actor == f"user:{lead}"
        )
    ).all()
    assert [e.person_id for e in asked] == [child.id]


def test_the_account_page_leads_there(
    app_client: TestClient, db_session: Session, looked_at: tuple[Person, str]
) -> None:
    child, _teacher = looked_at
    _sign_in(
        app_client,
        db_session,
        role=Role.DESIGNATED_LEAD,
        agency=make_agency(db_session, "school-log-page"),
    )
    assert 'action="/people/access-log"' in app_client.get("/account").text
    found = app_client.get(
        "/people/access-log",
        params={"person_id": f" {child.public_id.upper()} "},
        follow_redirects=False,
    )
    assert found.status_code == 303
    assert found.headers["location"] == f"/people/{child.public_id}/access-log"
    bad = app_client.get("/people/access-log", params={"person_id": "Mia Thompson"})
    assert bad.status_code == 422 and "not a person id" in bad.text


def test_an_auditor_sees_anyone(
    app_client: TestClient, db_session: Session, looked_at: tuple[Person, str]
) -> None:
    child, teacher = looked_at
    _sign_in(app_client, db_session, role=Role.AUDITOR)
    page = app_client.get(f"/people/{child.public_id}/access-log")
    assert page.status_code == 200 and f"user:{teacher}" in page.text


def test_a_lead_elsewhere_gets_the_same_404_as_for_an_unknown_child(
    app_client: TestClient, db_session: Session, looked_at: tuple[Person, str]
) -> None:
    child, teacher = looked_at
    _sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=make_agency(db_session))
    refused = app_client.get(f"/people/{child.public_id}/access-log")
    unknown = app_client.get(f"/people/{UNKNOWN}/access-log")
    assert refused.status_code == unknown.status_code == 404
    assert "not involved" in refused.text
    assert refused.text.replace(child.public_id, UNKNOWN) == unknown.text
    assert teacher not in refused.text
    assert app_client.get("/people/not-a-uuid/access-log").status_code == 422


def test_without_access_log_read_it_is_403_and_signed_out_401(
    app_client: TestClient, db_session: Session, looked_at: tuple[Person, str]
) -> None:
    child, _teacher = looked_at
    path = f"/people/{child.public_id}/access-log"
    assert app_client.get(path).status_code == 401
    _sign_in(
        app_client,
        db_session,
        role=Role.PRACTITIONER,
        agency=make_agency(db_session, "school-log-page"),
    )
    refused = app_client.get(path)
    assert refused.status_code == 403 and "access_log:read" in refused.text
    assert 'action="/people/access-log"' not in app_client.get("/account").text
