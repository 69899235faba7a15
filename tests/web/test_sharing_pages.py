"""Recording a sharing decision in the web app: the golden rules beside the form, refusals in
a GOV.UK error summary with nothing saved, the decision attributed to the signed-in user."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.agencies.models import AgencyKind
from fullpicture.sharing import service as sharing_service
from fullpicture.sharing.models import SharingDecision
from tests.access.principals import (
    front_door_with_a_routed_alert,
    link_record,
    make_agency,
    subject_of,
)
from tests.sharing.scenario import a_share, build
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
    # Both agencies by name, as the rest of the page (and the escalation's own page) gives them;
    # the GP's name though the school reads none of the GP's records.
    escalations = page.text[
        page.text.index('id="child-escalations"') : page.text.index(
            "</ul>", page.text.index('id="child-escalations"')
        )
    ]
    assert f"between {world.school.name} and {world.gp.name} since" in escalations
    assert world.school.code not in escalations.replace(f"Agency {world.school.code}", "")
    assert world.gp.code not in escalations.replace(f"Agency {world.gp.code}", "")
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


def test_the_form_names_each_entry_as_the_chronology_does(
    app_client: TestClient, db_session: Session
) -> None:
    """Last session's screenshots: each entry offered was its agency's code and its concern
    code ("2026-03-01 school-sh-names PHY-INJ: …"); it is the agency's name and what the entry
    is, as the child's chronology shows them, the summary beneath."""
    world = build(db_session, "-names")
    world.school.name = "Rowan Primary School"
    db_session.flush()
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=world.school)
    form = app_client.get(f"/children/{world.child.public_id}/sharing/new", headers=BROWSER)
    assert form.status_code == 200
    labels = re.findall(
        r'class="govuk-label govuk-checkboxes__label" for="entry-\d+">([^<]*)<', form.text
    )
    assert labels == [
        f"2026-03-0{n + 1}, Rowan Primary School: Physical injury (PHY-INJ)" for n in range(3)
    ]
    assert "School entry 0" in form.text  # the summary, as the entry's hint
    # The code stays what the form sends, never what it shows.
    assert f'value="{world.school.code}:{world.school_events[0].event_ref}"' in form.text
    assert not [label for label in labels if world.school.code in label]


def test_the_form_offers_only_the_agencys_own_entries(
    app_client: TestClient, db_session: Session
) -> None:
    """The service shares only the deciding agency's own entries (sharing.service, golden
    rules 6-7); the form had still offered an entry another agency shared with it, which could
    only be refused."""
    world = build(db_session, "-own")
    sharing_service.record_decision(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
        decision_in=a_share(world.gp, world.school_events[0].event_ref),
    )
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=world.gp)
    form = app_client.get(f"/children/{world.child.public_id}/sharing/new", headers=BROWSER)
    assert form.status_code == 200
    assert "School entry 0" not in form.text
    assert f'value="{world.school.code}:' not in form.text
    assert "Your agency has recorded no entries about this child to share." in form.text
    # The school, whose entry it is, is still offered it.
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=world.school)
    own = app_client.get(f"/children/{world.child.public_id}/sharing/new", headers=BROWSER)
    assert f'value="{world.school.code}:{world.school_events[0].event_ref}"' in own.text


def test_a_sharing_decision_is_offered_only_to_an_agency_holding_a_record_of_the_child(
    app_client: TestClient, db_session: Session
) -> None:
    """Last session's screenshots: the front door, reading a child's pooled page through an
    alert routed to it, was offered "Record a sharing decision", and the form listed other
    agencies' entries and none of its own. A decision to share, or not to, is about what the
    agency holds (docs/sharing.md): with no record of the child, it is told so plainly."""
    world = build(db_session, "-mash")
    csc = front_door_with_a_routed_alert(db_session, world.child, "csc-sh-mash")
    child_url = f"/children/{world.child.public_id}"
    url = f"{child_url}/sharing/new"
    sign_in(app_client, db_session, role=Role.FRONT_DOOR, agency=csc)
    page = app_client.get(child_url, headers=BROWSER)
    assert page.status_code == 200, page.text
    assert "School entry 0" in page.text  # the pooled view: every agency's entries
    assert url not in page.text
    assert "cannot record an entry or a sharing decision about them here" in page.text
    # A professional disagreement is not about what the agency holds: still offered.
    assert f"{child_url}/escalations/new" in page.text

    form = app_client.get(url, headers=BROWSER)
    assert form.status_code == 200
    assert 'id="no-own-record"' in form.text
    assert "so it has no information about them to share, or to decide not to share" in form.text
    assert 'id="decision"' not in form.text and "School entry" not in form.text
    # Sent anyway (an old tab, a crafted post): the same words, and nothing saved.
    token = csrf_of(app_client.get(f"{child_url}/escalations/new", headers=BROWSER).text)
    posted = app_client.post(
        url,
        data={
            "csrf_token": token,
            "outcome": "shared",
            "to_agency_code": world.gp.code,
            "recipient_role": "named GP",
            "purpose": "the front door's view",
            "entries": [f"{world.school.code}:{world.school_events[0].event_ref}"],
            "regime": "uk_gdpr",
            "basis": "public_task",
            "family_informed": "yes",
        },
        headers=BROWSER,
        follow_redirects=False,
    )
    assert posted.status_code == 422
    assert "Nothing has been recorded" in posted.text and 'id="no-own-record"' in posted.text
    assert db_session.scalar(select(func.count()).select_from(SharingDecision)) == 0

    # Once its agency holds a record of the child, the front door is offered the form.
    link_record(db_session, person=world.child, agency=csc, record_ref="C1")
    page = app_client.get(child_url, headers=BROWSER)
    assert url in page.text
    form = app_client.get(url, headers=BROWSER)
    assert 'id="decision"' in form.text and 'id="no-own-record"' not in form.text
