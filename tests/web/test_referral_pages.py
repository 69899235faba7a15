"""Write a referral in the browser: the check (20 elements, vague phrases with their questions,
cross-checks with the child's record) and submit, as the signed-in user."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.referrals.models import Referral, ReferralStatus
from tests.web.pages import csrf_of, sign_in
from tests.web.picture import Picture, build_picture


@pytest.fixture
def picture(db_session: Session) -> Picture:
    return build_picture(db_session, "referrals")


def _form(page: str, child_id: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_of(page),
        "child_id": child_id,
        "child_given_name": "Amelia",
    } | fields


def test_the_checker_improves_a_referral_which_is_then_submitted_as_the_user(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    user = sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=picture.school)
    new = app_client.get("/referrals/new", params={"child": picture.child.public_id})
    assert new.status_code == 200
    assert 'value="Amelia"' in new.text and 'value="Okafor"' in new.text
    # The child's chronology is beside the form (only what the school may see).
    assert "Not brought to the school nurse" in new.text
    assert "Untreated tooth decay" not in new.text
    vague = _form(
        new.text,
        picture.child.public_id,
        concern_narrative="Mum seemed a bit off today.",
        action="check",
        created_by="someone else",
    )
    saved = app_client.post("/referrals/new", data=vague, follow_redirects=False)
    assert saved.status_code == 303
    ref = saved.headers["location"].split("/referrals/")[1].split("#")[0]
    page = app_client.get(f"/referrals/{ref}")
    assert page.status_code == 200
    assert 'class="fp-vague"' in page.text and "What did you see or hear" in page.text
    assert "R1 Referrer identity and relationship" in page.text
    first_score = int(re.search(r'id="check-score"><strong>(\d+)', page.text).group(1))
    better = _form(
        page.text,
        picture.child.public_id,
        concern_narrative=(
            "On 3 March at 08:50 Amelia arrived with a 3 cm bruise on her left cheek. "
            'She said "Dad hit me with his belt last night".'
        ),
        child_voice='Amelia said "Dad hit me with his belt last night".',
        immediate_safety="Amelia is in school today; she is afraid to go home.",
        request="Please consider a strategy discussion today.",
        parents_awareness="not_informed",
        action="check",
    )
    app_client.post(f"/referrals/{ref}", data=better)
    improved = app_client.get(f"/referrals/{ref}")
    second_score = int(re.search(r'id="check-score"><strong>(\d+)', improved.text).group(1))
    assert second_score > first_score
    submitted = app_client.post(
        f"/referrals/{ref}", data=better | {"action": "submit"}, follow_redirects=False
    )
    assert submitted.status_code == 303
    stored = db_session.query(Referral).filter_by(referral_ref=ref).one()
    assert stored.status is ReferralStatus.SUBMITTED
    assert stored.created_by == f"user:{user.username}"
    assert stored.submitted_by == f"user:{user.username}"
    done = app_client.get(submitted.headers["location"])
    assert "Referral submitted" in done.text and "Submit to the front door" not in done.text
    # The panel's reference is markup, not markup shown as text.
    assert f'<strong id="referral-ref">{stored.referral_ref}</strong>' in done.text
    assert "&lt;strong" not in done.text


def test_the_live_check_answers_with_the_panel(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.school)
    new = app_client.get("/referrals/new")
    panel = app_client.post(
        "/referrals/check",
        data=_form(new.text, "", concern_narrative="There were some concerns about hygiene."),
    )
    assert panel.status_code == 200
    assert panel.text.lstrip().startswith('<div id="referral-check-panel">')
    assert "fp-vague" in panel.text
    assert app_client.post("/referrals/check", data={"concern_narrative": "x"}).status_code == 403


def test_the_panel_says_where_the_learned_adjustment_changed_a_status(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.school)
    new = app_client.get("/referrals/new")
    # A dated account with nothing seen: the rules' R5 is partial, the shipped model's present.
    dated = _form(
        new.text,
        "",
        concern_narrative=(
            "I am the class teacher at Selsdon Primary. On 23/11/2026 Leo, aged 7, told me his "
            "dad hit him. Mum said he fell."
        ),
    )
    panel = app_client.post("/referrals/check", data=dated)
    assert panel.status_code == 200
    r5 = re.search(r'<li class="fp-element[^"]*">\s*<strong>R5 .*?</li>', panel.text, re.S)
    assert r5 is not None
    assert 'class="govuk-body-s fp-element-adjusted"' in r5.group(0)
    assert "The rules read this as partial; the learned adjustment (version" in r5.group(0)
    assert "reads it as present, mainly because of a dated event" in r5.group(0)
    assert "The rules' question, still worth asking:" in r5.group(0)
    # Where the model agrees with the rules, the panel says nothing of it.
    plain = app_client.post(
        "/referrals/check",
        data=_form(new.text, "", concern_narrative="There were some concerns about hygiene."),
    )
    assert "fp-element-adjusted" not in plain.text


def test_another_agency_and_a_role_without_the_scope_are_refused(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.school)
    new = app_client.get("/referrals/new", params={"child": picture.child.public_id})
    saved = app_client.post(
        "/referrals/new",
        data=_form(new.text, picture.child.public_id, concern_narrative="Bruise seen today."),
        follow_redirects=False,
    )
    ref = saved.headers["location"].split("/referrals/")[1].split("#")[0]
    app_client.cookies.clear()
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=picture.stranger)
    assert app_client.get(f"/referrals/{ref}").status_code == 404
    refused = app_client.get("/referrals/new", params={"child": picture.child.public_id})
    assert refused.status_code == 404 and "Okafor" not in refused.text
    app_client.cookies.clear()
    sign_in(app_client, db_session, role=Role.AUDITOR, agency=None)
    assert app_client.get("/referrals/new").status_code == 403
    assert app_client.get(f"/referrals/{ref}").status_code == 403
