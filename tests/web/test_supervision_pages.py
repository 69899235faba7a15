"""The supervision page: a designated lead sees the children a practitioner of their agency
leads, with counts and reflective prompts from the record, and saves a dated record with its
decisions and actions; bad dates and missing text come back in the error summary with nothing
saved; another agency's supervisor and a role without the scope are refused."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.workflow.models import SupervisionRecord
from tests.access.principals import make_agency
from tests.web.pages import BROWSER, csrf_of, sign_in
from tests.workflow.test_supervision import _school_led_case
from tests.workflow.world import build


def test_a_designated_lead_supervises_through_the_page(
    app_client: TestClient, db_session: Session
) -> None:
    world = build(db_session, "-sup-page")
    _school_led_case(db_session, world, "class.teacher.page")
    lead = sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=world.school)
    listing = app_client.get("/supervision", headers=BROWSER)
    assert 'href="/supervision/class.teacher.page"' in listing.text
    url = "/supervision/class.teacher.page"
    page = app_client.get(url, headers=BROWSER)
    assert page.status_code == 200
    assert f'href="/children/{world.child.public_id}"' in page.text
    assert "What is life like for this child?" in page.text
    assert "3 days ago" in page.text
    assert "Significant entries not yet shared" in page.text
    typed = {
        "csrf_token": csrf_of(page.text),
        "held_on": "6 December",
        "child_id": world.child.public_id,
        "reflections": "we have not heard from the child",
        "decisions": "",
        "action-1-what": "speak to the child alone",
        "action-1-owner": "class.teacher.page",
        "action-1-due": "next week",
    }
    refused = app_client.post(url, data=typed, headers=BROWSER)
    assert refused.status_code == 422 and "There is a problem" in refused.text
    assert 'href="#held_on"' in refused.text and 'href="#decisions"' in refused.text
    assert 'href="#action-1-due"' in refused.text
    assert "we have not heard from the child" in refused.text
    assert db_session.scalar(select(func.count()).select_from(SupervisionRecord)) == 0
    saved = app_client.post(
        url,
        data=typed
        | {"held_on": "2026-12-01", "decisions": "share the injury", "action-1-due": "2026-12-11"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    record = db_session.scalars(select(SupervisionRecord)).one()
    assert record.supervisor_user_id == lead.id
    assert record.actions == [
        {
            "action": "speak to the child alone",
            "owner": "class.teacher.page",
            "due_on": "2026-12-11",
        }
    ]
    page = app_client.get(url, headers=BROWSER)
    assert "01 Dec 2026" in page.text and "speak to the child alone" in page.text


def test_the_page_is_refused_to_other_agencies_and_roles(
    app_client: TestClient, db_session: Session
) -> None:
    world = build(db_session, "-sup-page")
    _school_led_case(db_session, world, "class.teacher.page")
    url = "/supervision/class.teacher.page"
    for role, agency, refused in (
        (Role.DESIGNATED_LEAD, make_agency(db_session), 404),
        (Role.DESIGNATED_LEAD, world.police, 404),
        (Role.PRACTITIONER, world.school, 403),
        (Role.AUDITOR, None, 403),
    ):
        app_client.cookies.clear()
        sign_in(app_client, db_session, role=role, agency=agency)
        assert app_client.get(url, headers=BROWSER).status_code == refused
        token = csrf_of(app_client.get("/account").text)
        posted = app_client.post(
            url,
            data={
                "csrf_token": token,
                "held_on": "2026-12-01",
                "reflections": "seen",
                "decisions": "none",
            },
        )
        assert posted.status_code == refused
    assert db_session.scalar(select(func.count()).select_from(SupervisionRecord)) == 0
