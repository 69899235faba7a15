"""Probe of the pages and workflow that landed on 2026-12-06 (docs/security.md, "Probe of the
new pages and workflow"): what an uninvolved agency, a partner agency that does not own a case,
and roles without children:read can do with another child's ids."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.sharing.models import SharingDecision
from fullpicture.web.app import create_app
from tests.access.principals import authorise_client, make_agency
from tests.sharing.scenario import build as build_sharing
from tests.web.picture import build_picture
from tests.workflow.world import build

TODAY = dt.date.today()
OPEN = {
    "kind": "child_in_need",
    "opened_on": str(TODAY - dt.timedelta(days=10)),
    "level_of_need": 4,
    "level_reason": "assessment under s17",
}
CASE_WRITES = [
    ("lead", {"lead": {"name": "Pat Probe", "agency_code": "{stranger}"}, "reason": "probe"}),
    ("level", {"level": 1, "reason": "probe lowers it"}),
    ("steps", {"kind": "referral", "occurred_on": str(TODAY)}),
    ("close", {"reason": "probe closes it"}),
]


@pytest.mark.parametrize(("step", "body"), CASE_WRITES, ids=[s for s, _ in CASE_WRITES])
def test_a_partner_agency_cannot_change_a_case_another_agency_holds(
    app_client: TestClient, db_session: Session, step: str, body: dict[str, object]
) -> None:
    """The school may see the child (it holds a record) and so may read children's social
    care's case; it must not change it: not name another lead (which would make an agency of
    the school's choosing involved with the child), lower its level, record its steps or close
    it. Before the fix each of these answered 200 to the school."""
    world = build(db_session, "-probe")
    stranger = make_agency(db_session, "police-probe-stranger")
    authorise_client(app_client, db_session, role=Role.SOCIAL_WORKER, agency=world.csc)
    case_id = app_client.post(f"/api/v1/children/{world.child.public_id}/cases", json=OPEN)
    assert case_id.status_code == 201, case_id.text
    url = f"/api/v1/cases/{case_id.json()['id']}"
    payload = eval_placeholders(body, stranger=stranger.code)
    for role in (Role.DESIGNATED_LEAD, Role.PRACTITIONER):
        authorise_client(app_client, db_session, role=role, agency=world.school)
        assert app_client.get(url).status_code == 200  # may read it
        response = app_client.post(f"{url}/{step}", json=payload)
        assert response.status_code == 403, (role, response.text)
    authorise_client(app_client, db_session, role=Role.PRACTITIONER, agency=stranger)
    assert app_client.get(f"/api/v1/children/{world.child.public_id}/cases").status_code == 404
    authorise_client(app_client, db_session, role=Role.SOCIAL_WORKER, agency=world.csc)
    assert app_client.post(f"{url}/{step}", json=payload).status_code == 200


def test_the_lead_practitioners_agency_may_change_the_case(
    app_client: TestClient, db_session: Session
) -> None:
    """The agency a case's lead works for works the case too (a lead handed over to the police
    records the steps), so the ownership rule is opening agency or current lead's agency."""
    world = build(db_session, "-probe-lead")
    authorise_client(app_client, db_session, role=Role.SOCIAL_WORKER, agency=world.csc)
    created = app_client.post(f"/api/v1/children/{world.child.public_id}/cases", json=OPEN)
    url = f"/api/v1/cases/{created.json()['id']}"
    handed = app_client.post(
        f"{url}/lead",
        json={"lead": {"name": "DC Lead", "agency_code": world.police.code}, "reason": "handover"},
    )
    assert handed.status_code == 200, handed.text
    authorise_client(app_client, db_session, role=Role.PRACTITIONER, agency=world.police)
    step = app_client.post(f"{url}/steps", json={"kind": "referral", "occurred_on": str(TODAY)})
    assert step.status_code == 200, step.text


def eval_placeholders(body: dict[str, object], **values: str) -> dict[str, object]:
    def fill(value: object) -> object:
        if isinstance(value, str):
            return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], value)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    return {k: fill(v) for k, v in body.items()}


# --- every route that takes an id, as someone with no need to know ---------------------------

UNINVOLVED = [
    (Role.PRACTITIONER, True),
    (Role.DESIGNATED_LEAD, True),
    (Role.SOCIAL_WORKER, True),
    (Role.PARTNERSHIP_ANALYST, False),
    (Role.AUDITOR, False),
    (Role.ADMINISTRATOR, False),
]


def _routes_with_ids() -> list[tuple[str, str]]:
    app = create_app()
    found: list[tuple[str, str]] = []
    for route in iter_route_contexts(app.routes):
        if "{" not in route.path or "{agency}" in route.path:
            continue
        for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, str(route.path)))
    return found


ROUTES_WITH_IDS = _routes_with_ids()
#: Reviewed: who has looked at a person is the auditor's job (audit:read) and shows no child
#: data; the check for the child's name, birth date and record ids still applies to it.
AUDITORS_OWN_READS = {
    (Role.AUDITOR, "/api/v1/people/{person_id}/access-log"),
    (Role.AUDITOR, "/people/{person_id}/access-log"),
}


@pytest.mark.parametrize(("role", "has_agency"), UNINVOLVED, ids=[r.value for r, _ in UNINVOLVED])
def test_an_uninvolved_user_learns_nothing_from_any_route_with_the_childs_ids(
    app_client: TestClient, db_session: Session, role: Role, has_agency: bool
) -> None:
    """Every route (API and page, read and write) that takes an id, tried with the ids of a
    child the caller's agency holds nothing about — the child, its case, escalation, sharing
    decision, alert, referral, entries — answers as if the id were unknown or refuses, and no
    answer names the child, gives the date of birth or a record id."""
    picture = build_picture(db_session, f"probe-{role.value}")
    school = picture.school
    authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=school)
    child = picture.child.public_id
    case = app_client.post(f"/api/v1/children/{child}/cases", json=OPEN)
    assert case.status_code == 201, case.text
    escalation = app_client.post(
        f"/api/v1/children/{child}/escalations",
        json={"with_agency_code": picture.gp.code, "raised_with": "GP", "disagreement": "probe"},
    )
    assert escalation.status_code == 201, escalation.text
    referral = app_client.post(
        "/api/v1/referrals",
        json={
            "concern_narrative": "Amelia Okafor seen with a bruise.",
            "children": [{"person_id": child, "given_name": "Amelia"}],
        },
    )
    assert referral.status_code == 201, referral.text
    ids = {
        "person_id": child,
        "person_public_id": child,
        "case_id": case.json()["id"],
        "escalation_id": escalation.json()["id"],
        "alert_id": picture.alert.public_id,
        "referral_ref": referral.json()["referral_ref"],
        "event_ref": picture.school_events[0].event_ref,
    }
    secrets = [
        "Amelia",
        "Okafor",
        "2016-03-14",
        "14 March 2016",
        picture.school_record.record_ref,
        picture.gp_record.record_ref,
        picture.school_events[0].event_ref,
        "hearing check",
        "tooth decay",
    ]
    # The control: the school's designated lead is shown the child on the API and the page,
    # so the same checks below can see a leak when there is one.
    for control, known in (
        (f"/api/v1/children/{child}/chronology", "hearing check"),
        (f"/children/{child}", "Okafor"),
    ):
        shown = app_client.get(control)
        assert shown.status_code == 200 and known in shown.text, control
    authorise_client(
        app_client, db_session, role=role, agency=picture.stranger if has_agency else None
    )
    leaks: list[str] = []
    tried = 0
    for method, path in ROUTES_WITH_IDS:
        names = re.findall(r"\{(\w+)\}", path)
        if not set(names) <= set(ids):
            continue
        url = path.format(**{n: ids[n] for n in names})
        tried += 1
        response = app_client.request(method, url, json={}, follow_redirects=False)
        if response.status_code >= 500:
            leaks.append(f"{method} {path}: {response.status_code}")
        elif (
            response.status_code < 300
            and method == "GET"
            and (role, path) not in AUDITORS_OWN_READS
        ):
            leaks.append(f"{method} {path}: {response.status_code} for an uninvolved user")
        shown = [s for s in secrets if s in response.text]
        if shown:
            leaks.append(f"{method} {path}: {response.status_code} shows {shown}")
    assert tried >= 30
    assert leaks == []


# --- the partnership dashboard: aggregates only --------------------------------------------


def test_the_dashboard_never_shows_what_a_practitioner_wrote(
    app_client: TestClient, db_session: Session
) -> None:
    picture = build_picture(db_session, "probe-dash")
    authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=picture.school)
    alert_url = f"/api/v1/alerts/{picture.alert.public_id}"
    acknowledged = app_client.post(f"{alert_url}/acknowledge", json={"decision": "Discussed"})
    assert acknowledged.status_code == 200, acknowledged.text
    closed = app_client.post(
        f"{alert_url}/close",
        json={"outcome": "Amelia Okafor placed with her grandmother in Leeds"},
    )
    assert closed.status_code == 200, closed.text
    authorise_client(app_client, db_session, role=Role.PARTNERSHIP_ANALYST)
    for url in ("/api/v1/dashboard", "/api/v1/dashboard/alert_outcomes.csv", "/dashboard"):
        response = app_client.get(url)
        assert response.status_code == 200
        assert "Okafor" not in response.text and "Leeds" not in response.text, url


# --- sharing: what a received entry allows --------------------------------------------------


def test_a_received_entry_is_not_passed_on_by_the_recipient(
    app_client: TestClient, db_session: Session
) -> None:
    """A share gives the recipient exactly the entries named, to read: a sharing decision is
    the holder's (golden rules 6-7), so the recipient may not record a decision passing the
    recording agency's entry on to a third agency (onward disclosure, once "for review" in
    docs/security.md); it asks the recording agency. Refused 422 with the reason, nothing
    saved, whether or not the entry was shared with it."""
    world = build_sharing(db_session, "-probe-onward")
    school_entry = world.school_events[1]
    url = f"/api/v1/children/{world.child.public_id}/sharing-decisions"
    body = {
        "outcome": "shared",
        "recipient_role": "named GP",
        "purpose": "probe",
        "regime": "uk_gdpr",
        "basis": "public_task",
        "family_informed": True,
    }
    entries = [{"event_ref": school_entry.event_ref, "agency_code": world.school.code}]
    authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=world.school)
    first = app_client.post(url, json={**body, "to_agency_code": world.gp.code, "entries": entries})
    assert first.status_code == 201, first.text
    authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=world.gp)
    before = db_session.scalar(select(func.count()).select_from(SharingDecision))
    for named in (school_entry, world.school_events[0]):  # shared with the GP, and not
        onward = app_client.post(
            url,
            json={
                **body,
                "to_agency_code": world.police.code,
                "entries": [{"event_ref": named.event_ref, "agency_code": world.school.code}],
            },
        )
        assert onward.status_code == 422, onward.text
        assert onward.json()["detail"]["problems"] == [
            f"Entry {world.school.code}:{named.event_ref} is not your agency's: a sharing "
            "decision shares only entries your agency recorded; ask that agency to record its "
            "own decision."
        ]
    assert db_session.scalar(select(func.count()).select_from(SharingDecision)) == before
