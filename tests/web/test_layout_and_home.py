"""The shared layout (GOV.UK Frontend from npm, fullpicture's own header) and the home page:
each section shows only what the signed-in user's services return for them."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.agencies.models import AgencyKind
from fullpicture.core.settings import get_settings
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.referrals.models import Referral, ReferralStatus
from fullpicture.web import templating
from fullpicture.workflow import service as workflow_service
from fullpicture.workflow.models import CaseKind
from fullpicture.workflow.schemas import CaseOpen, LeadIn, StepIn
from tests.access.principals import make_agency, make_user, subject_of
from tests.web.pages import BROWSER, named_child, sign_in


def test_govuk_frontend_is_served_from_the_installed_package(app_client: TestClient) -> None:
    page = app_client.get("/sign-in", headers=BROWSER)
    css = re.search(r'href="(/static/govuk-frontend/govuk-frontend\.min\.css)"', page.text)
    assert css, "the layout links GOV.UK Frontend's stylesheet"
    sheet = app_client.get(css.group(1))
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")
    # The stylesheet asks for its fonts under /assets: they are served too.
    font = re.search(r"url\((/assets/fonts/[^)]+\.woff2)\)", sheet.text)
    assert font and app_client.get(font.group(1)).status_code == 200
    assert app_client.get("/static/govuk-frontend/govuk-frontend.min.js").status_code == 200


def test_the_header_is_fullpictures_own_never_govuks(app_client: TestClient) -> None:
    page = app_client.get("/sign-in", headers=BROWSER).text
    assert "govuk-generic-header" in page and ">\n        fullpicture\n" in page
    for govuk_branding in ("govuk-logo", "crown", "GOV.UK", "Crown copyright"):
        assert govuk_branding not in page
    assert 'class="govuk-skip-link"' in page and 'href="#main-content"' in page
    assert 'id="main-content"' in page and 'class="govuk-footer"' in page


def test_the_app_refuses_to_start_without_govuk_frontend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FULLPICTURE_FRONTEND_PACKAGES_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        with pytest.raises(templating.FrontendPackagesMissing, match="npm ci"):
            templating.govuk_frontend_dir()
    finally:
        get_settings.cache_clear()


def test_sign_in_refusal_is_a_govuk_error_summary(app_client: TestClient) -> None:
    form = app_client.get("/sign-in", headers=BROWSER)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf
    refused = app_client.post(
        "/sign-in",
        data={"username": "nobody.here", "password": "wrong", "csrf_token": csrf.group(1)},
    )
    assert refused.status_code == 401
    assert 'class="govuk-error-summary"' in refused.text
    assert '<a href="#username" id="sign-in-refusal">' in refused.text
    assert "<title>Error: Sign in" in refused.text
    assert 'value="nobody.here"' in refused.text  # what was typed is kept


def test_home_needs_sign_in(app_client: TestClient) -> None:
    response = app_client.get("/home", headers=BROWSER, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fhome"


def test_home_shows_my_agencys_children_alerts_and_my_drafts_and_nothing_else(
    app_client: TestClient, db_session: Session
) -> None:
    school = make_agency(db_session, "school-home")
    other_school = make_agency(db_session, "school-home-other")
    csc = make_agency(db_session, "csc-home", kind=AgencyKind.CHILDRENS_SOCIAL_CARE)
    ours, _ = named_child(
        db_session, held_by=[school, csc], given_name="Amelia", family_name="Okafor"
    )
    theirs, _ = named_child(
        db_session, held_by=[other_school], given_name="Bartholomew", family_name="Quist"
    )
    named_child(
        db_session,
        held_by=[school],
        given_name="Grown",
        family_name="Up",
        date_of_birth=dt.date(1980, 1, 1),
    )
    today = dt.date.today()
    for person, agency, reason in (
        (ours, school, "Neglect indicators from two agencies"),
        (theirs, other_school, "Alert about a child the school does not know"),
    ):
        db_session.add(
            HarmAlert(
                person_id=person.id,
                kind="threshold",
                raised_on=today,
                score=12.5,
                reason=reason,
                evidence={"event_ids": []},
                model_version="test",
                status=AlertStatus.NEW,
                routed_to_agency_id=agency.id,
                routing_reason="test",
            )
        )
    db_session.flush()
    user = sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=school)
    db_session.add(
        Referral(
            referral_ref="REF-HOME-1",
            version=1,
            status=ReferralStatus.DRAFT,
            destination="front door",
            created_by=f"user:{user.username}",
            household=[],
            agencies_involved=[],
            attachments=[],
        )
    )
    db_session.flush()
    page = app_client.get("/home")
    assert page.status_code == 200, page.text
    assert "Amelia Okafor" in page.text
    assert f"/children/{ours.public_id}" in page.text
    assert "Neglect indicators from two agencies" in page.text
    assert "REF-HOME-1" in page.text
    for unseen in ("Bartholomew", "Quist", theirs.public_id, "does not know", "Grown Up"):
        assert unseen not in page.text
    # The navigation offers what the role may do, and marks where the user is.
    assert 'href="/children"' in page.text and 'href="/linkage/review"' not in page.text
    assert "OFFICIAL-SENSITIVE" in page.text


def test_home_says_what_is_overdue_in_my_agencys_cases_and_not_in_another_agencys(
    app_client: TestClient, db_session: Session
) -> None:
    """Children's social care opened a case whose conference is overdue; the school may see
    the child (it holds a record) but the case is not in its care, so the school's home lists
    nothing overdue while the social worker's lists the step, the visit and the alert."""
    school = make_agency(db_session, "school-overdue")
    csc = make_agency(db_session, "csc-overdue", kind=AgencyKind.CHILDRENS_SOCIAL_CARE)
    child, _ = named_child(
        db_session, held_by=[school, csc], given_name="Oluwaseun", family_name="Adeyemi"
    )
    today = dt.date.today()
    alert = HarmAlert(
        person_id=child.id,
        kind="threshold",
        raised_on=today - dt.timedelta(days=14),
        # Shown on the day it was raised: the acknowledgement clock starts then.
        created_at=dt.datetime.combine(today - dt.timedelta(days=14), dt.time(9), tzinfo=dt.UTC),
        score=30.0,
        reason="Concerns from two agencies",
        evidence={"event_ids": []},
        model_version="test",
        status=AlertStatus.NEW,
        routed_to_agency_id=csc.id,
        routing_reason="test",
    )
    db_session.add(alert)
    social_worker = make_user(db_session, role=Role.SOCIAL_WORKER, agency=csc)
    case = workflow_service.open_case(
        db_session=db_session,
        subject=subject_of(social_worker),
        person_public_id=child.public_id,
        case_in=CaseOpen(
            kind=CaseKind.CHILD_PROTECTION,
            opened_on=today - dt.timedelta(days=60),
            level_of_need=4,
            level_reason="section 47 enquiry",
            lead=LeadIn(username=social_worker.username),
            lead_reason="allocated",
        ),
    )
    workflow_service.record_step(
        db_session=db_session,
        subject=subject_of(social_worker),
        case_public_id=case.public_id,
        step_in=StepIn(kind="strategy_discussion", occurred_on=today - dt.timedelta(days=60)),
    )
    db_session.flush()

    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=school)
    school_home = app_client.get("/home")
    assert school_home.status_code == 200, school_home.text
    assert (
        'id="home-no-overdue"' in school_home.text and 'id="home-overdue"' not in school_home.text
    )
    assert "Oluwaseun Adeyemi" in school_home.text  # the school does see the child

    sign_in(app_client, db_session, role=Role.SOCIAL_WORKER, agency=csc)
    csc_home = app_client.get("/home").text
    table = csc_home[csc_home.index('id="home-overdue"') : csc_home.index("</table>")]
    for said in (
        "Statutory step overdue",
        "Hold the initial child protection conference",
        "No recorded contact with the child",
        "Alert not acknowledged",
        f'href="/alerts/{alert.public_id}"',
        f'href="/children/{child.public_id}"',
        "Oluwaseun Adeyemi",
    ):
        assert said in table, said
    assert table.index("Statutory step overdue") < table.index("Alert not acknowledged")


def test_a_role_without_children_read_gets_a_home_without_children(
    app_client: TestClient, db_session: Session
) -> None:
    sign_in(app_client, db_session, role=Role.AUDITOR, agency=None)
    page = app_client.get("/home")
    assert page.status_code == 200
    assert 'id="no-children"' in page.text and 'href="/children"' not in page.text


def test_the_api_docs_get_the_sessions_csrf_token_for_their_writes(
    app_client: TestClient, db_session: Session
) -> None:
    assert app_client.get("/api/docs/csrf-token").status_code == 401
    # Not signed in: told writes need signing in or a token, not that they are made as you.
    visitor = app_client.get("/api/docs").text
    assert "You are not signed in" in visitor and "API token" in visitor
    assert "made as you" not in visitor and 'href="/sign-in?next=/api/docs"' in visitor
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=make_agency(db_session))
    token = app_client.get("/api/docs/csrf-token", headers={"accept": "application/json"})
    assert token.status_code == 200
    csrf = token.json()["csrf_token"]
    assert csrf and f'value="{csrf}"' in app_client.get("/account").text
    # What the docs page then sends: a write with the header is accepted, without it refused.
    body = {"text": "Amelia has bruises.", "child_id": None}
    refused = app_client.post("/api/v1/referrals/check", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.text
    accepted = app_client.post("/api/v1/referrals/check", json=body, headers={"x-csrf-token": csrf})
    assert accepted.status_code == 200, accepted.text
    docs = app_client.get("/api/docs").text
    assert "writes carry your session's CSRF token" in docs and "made as you" in docs
    assert "You are not signed in" not in docs


def test_a_form_posted_after_the_session_ended_goes_back_to_it_through_sign_in(
    app_client: TestClient,
) -> None:
    """The form's page restores the draft kept in the tab (keep-drafts.js); the redirect is
    what brings the practitioner back to it rather than to a JSON refusal."""
    response = app_client.post(
        "/referrals/new",
        data={"concern_narrative": "typed before the session ended"},
        headers={**BROWSER, "referer": "http://testserver/referrals/new?child=abc"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Freferrals%2Fnew%3Fchild%3Dabc"
    elsewhere = app_client.post(
        "/referrals/new",
        data={"concern_narrative": "x"},
        headers={**BROWSER, "referer": "https://evil.example/referrals/new"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == "/sign-in?next=%2Fhome"
    named = app_client.post(
        "/referrals/new",
        data={"concern_narrative": "x", "return_to": "/referrals/abc"},
        headers=BROWSER,
        follow_redirects=False,
    )
    assert named.headers["location"] == "/sign-in?next=%2Freferrals%2Fabc"
    api = app_client.post("/referrals/new", data={"concern_narrative": "x"})
    assert api.status_code == 401  # not a browser page: the plain refusal
