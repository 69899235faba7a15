"""Recording a sharing decision in the web app: the golden rules beside the form, refusals in
a GOV.UK error summary with nothing saved, the decision attributed to the signed-in user."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.agencies.models import AgencyKind
from fullpicture.sharing.models import SharingDecision
from tests.access.principals import link_record, make_agency
from tests.sharing.scenario import build
from tests.web.pages import BROWSER, csrf_of, sign_in


def test_record_a_share_through_the_page(app_client: TestClient, db_session: Session) -> None:
    world = build(db_session, "-page")
    user = sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=world.school)
    url = f"/children/{world.child.public_id}/sharing/new"
    form = app_client.get(url, headers=BROWSER)
    assert form.status_code == 200
    assert "The seven golden rules of information sharing (2024)" in form.text
    assert "Record the reasons for your information-sharing decision" in form.text
    assert "School entry 0" in form.text and "Police entry" not in form.text
    entry = f"{world.school.code}:{world.school_events[0].event_ref}"
    typed = {
        "csrf_token": csrf_of(form.text),
        "outcome": "shared",
        "to_agency_code": world.gp.code,
        "recipient_role": "named GP",
        "purpose": "bruising seen at school",
        "entries": [entry],
        "family_informed": "yes",
    }
    refused = app_client.post(url, data=typed, headers=BROWSER)
    assert refused.status_code == 422
    assert "There is a problem" in refused.text
    assert "A decision to share needs its lawful basis" in refused.text
    assert "bruising seen at school" in refused.text  # what was typed is kept
    assert db_session.scalar(select(func.count()).select_from(SharingDecision)) == 0
    saved = app_client.post(
        url,
        data=typed | {"regime": "uk_gdpr", "basis": "public_task"},
        headers=BROWSER,
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    decision = db_session.scalars(select(SharingDecision)).one()
    assert decision.recorded_by == f"user:{user.username}"


def test_the_page_is_refused_to_other_agencies_and_roles(
    app_client: TestClient, db_session: Session
) -> None:
    world = build(db_session, "-page")
    url = f"/children/{world.child.public_id}/sharing/new"
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=make_agency(db_session))
    assert app_client.get(url, headers=BROWSER).status_code == 404
    app_client.cookies.clear()
    sign_in(app_client, db_session, role=Role.AUDITOR, agency=None)
    assert app_client.get(url, headers=BROWSER).status_code == 403


def test_the_child_page_lists_unshared_entries_and_open_escalations(
    app_client: TestClient, db_session: Session
) -> None:
    from fullpicture.workflow import escalation
    from fullpicture.workflow.schemas import EscalationRaise
    from tests.access.principals import subject_of

    world = build(db_session, "-page")
    escalation.raise_escalation(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
        raise_in=EscalationRaise(
            with_agency_code=world.gp.code,
            raised_with="named GP",
            disagreement="the GP sees no concern in the bruising",
        ),
    )
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=world.school)
    page = app_client.get(f"/children/{world.child.public_id}", headers=BROWSER)
    assert page.status_code == 200
    assert 'id="unshared-entries"' in page.text and "not yet received by an agency" in page.text
    assert "the GP sees no concern in the bruising" in page.text
    assert f"/children/{world.child.public_id}/sharing/new" in page.text
    app_client.cookies.clear()
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=world.police)
    police = app_client.get(f"/children/{world.child.public_id}", headers=BROWSER)
    assert police.status_code == 200
    assert "the GP sees no concern" not in police.text  # not a party to it
    # The pooled view names the agencies on each side by name, as the rest of the page does.
    app_client.cookies.clear()
    csc = make_agency(db_session, "csc-sh-page", AgencyKind.CHILDRENS_SOCIAL_CARE)
    link_record(db_session, person=world.child, agency=csc, record_ref="C1")
    sign_in(app_client, db_session, role=Role.SOCIAL_WORKER, agency=csc)
    pooled = app_client.get(f"/children/{world.child.public_id}", headers=BROWSER).text
    listed = pooled[
        pooled.index('id="unshared-entries"') : pooled.index(
            "</ul>", pooled.index('id="unshared-entries"')
        )
    ]
    assert f"{world.school.name}, " in listed and f"not yet received by {world.gp.name}" in listed
    # (The test agencies are named "Agency <code>": the code alone must not stand for one.)
    assert f"received by {world.gp.code}" not in listed
    assert f"2026 {world.school.code}" not in listed
