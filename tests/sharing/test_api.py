"""The sharing API: record and list decisions, refused for other agencies and other roles."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.access.roles import Scope
from fullpicture.sharing.models import SharingDecision
from tests.access.principals import authorise_client, make_agency
from tests.sharing.scenario import build


def _body(to: str, *refs: str, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "outcome": "shared",
        "to_agency_code": to,
        "recipient_role": "named GP",
        "purpose": "bruising seen at school",
        "entries": [{"event_ref": ref} for ref in refs],
        "regime": "uk_gdpr",
        "basis": "public_task",
        "family_informed": True,
    }
    body.update(changes)
    return body


def test_record_then_the_recipient_lists_and_reads_the_shared_entry(
    app_client: TestClient, db_session: Session
) -> None:
    world = build(db_session, "-api")
    shared = world.school_events[1]
    authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=world.school)
    url = f"/api/v1/children/{world.child.public_id}/sharing-decisions"
    response = app_client.post(url, json=_body(world.gp.code, shared.event_ref))
    assert response.status_code == 201, response.text
    decision = response.json()
    assert decision["from_agency_code"] == world.school.code
    assert decision["entries"] == [
        {
            "event_ref": shared.event_ref,
            "agency_code": world.school.code,
            "version": 1,
            "event_date": shared.event_date.isoformat(),
            "concern_code": shared.concern_code,
        }
    ]
    assert decision["recorded_by"].startswith("user:")

    authorise_client(app_client, db_session, role=Role.PRACTITIONER, agency=world.gp)
    listed = app_client.get(url)
    assert listed.status_code == 200 and [d["id"] for d in listed.json()] == [decision["id"]]
    chronology = app_client.get(f"/api/v1/children/{world.child.public_id}/chronology").json()
    summaries = {entry["summary"] for entry in chronology["entries"]}
    assert summaries == {"School entry 1"}

    rules = app_client.get("/api/v1/sharing/rules").json()
    assert len(rules["golden_rules"]["rules"]) == 7
    assert {b["code"] for b in rules["lawful_bases"]["bases"]} >= {"public_task"}


def test_a_refused_decision_is_a_422_naming_every_problem_and_saves_nothing(
    app_client: TestClient, db_session: Session
) -> None:
    world = build(db_session, "-api")
    authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=world.school)
    response = app_client.post(
        f"/api/v1/children/{world.child.public_id}/sharing-decisions",
        json=_body(world.gp.code, outcome="not_shared", basis=None, regime=None),
    )
    assert response.status_code == 422
    problems = response.json()["detail"]["problems"]
    assert any("needs its reason" in p for p in problems)
    assert any("lists no entries" in p for p in problems) is False  # no entries were named
    assert db_session.scalar(select(func.count()).select_from(SharingDecision)) == 0


@pytest.mark.parametrize("method", ["post", "get"])
def test_another_agencys_user_is_refused_as_if_the_child_were_unknown(
    app_client: TestClient, db_session: Session, method: str
) -> None:
    world = build(db_session, "-api")
    stranger = make_agency(db_session, "housing-api")
    authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=stranger)
    url = f"/api/v1/children/{world.child.public_id}/sharing-decisions"
    response = app_client.request(
        method.upper(), url, json=_body(world.gp.code, world.school_events[0].event_ref)
    )
    assert response.status_code == 404
    assert "School entry" not in response.text
    assert db_session.scalar(select(func.count()).select_from(SharingDecision)) == 0


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.PARTNERSHIP_ANALYST, Role.ADMINISTRATOR])
@pytest.mark.parametrize("method", ["post", "get"])
def test_a_role_without_the_scope_is_refused(
    app_client: TestClient, db_session: Session, role: Role, method: str
) -> None:
    world = build(db_session, "-api")
    authorise_client(app_client, db_session, role=role)
    response = app_client.request(
        method.upper(),
        f"/api/v1/children/{world.child.public_id}/sharing-decisions",
        json=_body(world.gp.code, world.school_events[0].event_ref),
    )
    assert response.status_code == 403


def test_a_read_only_token_cannot_record_a_decision(
    app_client: TestClient, db_session: Session
) -> None:
    world = build(db_session, "-api")
    authorise_client(
        app_client,
        db_session,
        role=Role.DESIGNATED_LEAD,
        agency=world.school,
        scopes=frozenset({Scope.CHILDREN_READ}),
    )
    url = f"/api/v1/children/{world.child.public_id}/sharing-decisions"
    response = app_client.post(url, json=_body(world.gp.code, world.school_events[0].event_ref))
    assert response.status_code == 403
    assert app_client.get(url).status_code == 200
