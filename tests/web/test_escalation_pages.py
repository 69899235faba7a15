"""Escalation pages: raise a professional disagreement from the child's page, the agency raised
with responds, the raising agency escalates, then it is resolved; a form that fails its checks
comes back in the error summary with nothing saved; another agency and a role without the
scope are refused, and each action is attributed to the signed-in user."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.workflow.models import Escalation, EscalationStatus
from tests.access.principals import make_agency
from tests.web.pages import BROWSER, csrf_of, sign_in
from tests.workflow.world import build


def test_raise_respond_escalate_resolve_through_the_pages(
    app_client: TestClient, db_session: Session
) -> None:
    world = build(db_session, "-esc-page")
    lead = sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=world.school)
    child = app_client.get(f"/children/{world.child.public_id}", headers=BROWSER)
    url = f"/children/{world.child.public_id}/escalations/new"
    assert f'href="{url}"' in child.text
    form = app_client.get(url, headers=BROWSER)
    assert form.status_code == 200 and "Raise at stage 1" in form.text
    typed = {
        "csrf_token": csrf_of(form.text),
        "with_agency_code": world.csc.code,
        "raised_with": "",
        "disagreement": "The referral was closed with no further action despite the bruising.",
    }
    refused = app_client.post(url, data=typed, headers=BROWSER)
    assert refused.status_code == 422
    assert "There is a problem" in refused.text and "Raised with" in refused.text
    assert "despite the bruising" in refused.text
    assert db_session.scalar(select(func.count()).select_from(Escalation)) == 0
    own = app_client.post(
        url, data=typed | {"raised_with": "x y", "with_agency_code": world.school.code}
    )
    assert own.status_code == 422 and "within your agency" in own.text
    raised = app_client.post(
        url, data=typed | {"raised_with": "Sam Jones, duty SW"}, follow_redirects=False
    )
    assert raised.status_code == 303, raised.text
    page_url = raised.headers["location"]
    escalation = db_session.scalars(select(Escalation)).one()
    assert page_url == f"/escalations/{escalation.public_id}"
    assert escalation.stages[0].raised_by == f"user:{lead.username}"
    child = app_client.get(f"/children/{world.child.public_id}", headers=BROWSER)
    assert f'href="{page_url}"' in child.text  # the open escalation links to its page
    page = app_client.get(page_url, headers=BROWSER)
    assert "Escalate to stage 2" in page.text and "Record the response" not in page.text
    # Who raised it and with whom, by the agencies' names (the read model carries codes).
    summary = page.text[: page.text.index("Stages")]
    assert f">{world.school.name}</dd>" in summary and f">{world.csc.name}</dd>" in summary
    assert f">{world.school.code}</dd>" not in summary

    app_client.cookies.clear()
    worker = sign_in(app_client, db_session, role=Role.SOCIAL_WORKER, agency=world.csc)
    page = app_client.get(page_url, headers=BROWSER)
    assert "Record the response" in page.text and "Escalate to stage" not in page.text
    token = csrf_of(page.text)
    empty = app_client.post(
        f"{page_url}/respond", data={"csrf_token": token, "respond-response": ""}
    )
    assert empty.status_code == 422 and 'href="#respond-response"' in empty.text
    answered = app_client.post(
        f"{page_url}/respond",
        data={"csrf_token": token, "respond-response": "We will review the decision."},
        follow_redirects=False,
    )
    assert answered.status_code == 303
    db_session.expire_all()
    assert escalation.stages[0].responded_by == f"user:{worker.username}"

    app_client.cookies.clear()
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=world.school)
    page = app_client.get(page_url, headers=BROWSER)
    token = csrf_of(page.text)
    moved = app_client.post(
        f"{page_url}/escalate",
        data={
            "csrf_token": token,
            "escalate-reason": "The review did not happen.",
            "escalate-raised_with": "Team manager",
        },
        follow_redirects=False,
    )
    assert moved.status_code == 303
    page = app_client.get(page_url, headers=BROWSER)
    assert re.search(r"stage 2 \((in)?formal\), open", page.text)
    done = app_client.post(
        f"{page_url}/resolve",
        data={"csrf_token": token, "resolve-outcome": "Strategy discussion agreed."},
        follow_redirects=False,
    )
    assert done.status_code == 303
    db_session.expire_all()
    assert escalation.status is EscalationStatus.RESOLVED
    page = app_client.get(page_url, headers=BROWSER)
    assert "Strategy discussion agreed." in page.text and "resolve-outcome" not in page.text


def test_the_pages_are_refused_to_other_agencies_and_roles(
    app_client: TestClient, db_session: Session
) -> None:
    world = build(db_session, "-esc-page")
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=world.school)
    form = app_client.get(f"/children/{world.child.public_id}/escalations/new")
    raised = app_client.post(
        f"/children/{world.child.public_id}/escalations/new",
        data={
            "csrf_token": csrf_of(form.text),
            "with_agency_code": world.csc.code,
            "raised_with": "duty SW",
            "disagreement": "no further action despite the bruising",
        },
        follow_redirects=False,
    )
    page_url = raised.headers["location"]
    for role, agency, refused in (
        (Role.DESIGNATED_LEAD, make_agency(db_session), 404),  # cannot see the child
        (Role.PRACTITIONER, world.police, 404),  # sees the child, not party to it
        (Role.AUDITOR, None, 403),  # no children:read
    ):
        app_client.cookies.clear()
        sign_in(app_client, db_session, role=role, agency=agency)
        assert app_client.get(page_url).status_code == refused
        token = csrf_of(app_client.get("/account").text)
        posted = app_client.post(
            f"{page_url}/resolve", data={"csrf_token": token, "resolve-outcome": "closed"}
        )
        assert posted.status_code == refused
    assert app_client.get(f"/children/{world.child.public_id}/escalations/new").status_code == 403
    db_session.expire_all()
    assert db_session.scalars(select(Escalation)).one().status is EscalationStatus.OPEN
