"""The case API: each route as the owning agency, another agency's user and roles without the scope."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.access.roles import Scope
from fullpicture.workflow.models import Case, CaseStep
from tests.access.principals import authorise_client, make_agency
from tests.workflow.world import build

TODAY = dt.date.today()
OPEN = {
    "kind": "child_in_need",
    "opened_on": str(TODAY - dt.timedelta(days=10)),
    "level_of_need": 4,
    "level_reason": "assessment under s17",
}


def test_open_change_step_close_and_flags(app_client: TestClient, db_session: Session) -> None:
    world = build(db_session, "-api")
    authorise_client(app_client, db_session, role=Role.SOCIAL_WORKER, agency=world.csc)
    child = world.child.public_id
    assert [f["kind"] for f in app_client.get("/api/v1/workflow/ownership-flags").json()] == [
        "child_without_case"
    ]
    response = app_client.post(f"/api/v1/children/{child}/cases", json=OPEN)
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["flags"] == ["No lead practitioner: name who leads this case."]
    url = f"/api/v1/cases/{case['id']}"
    lead = app_client.post(
        f"{url}/lead",
        json={
            "lead": {"name": "A Social Worker", "agency_code": world.csc.code},
            "reason": "allocated",
        },
    )
    assert lead.status_code == 200 and lead.json()["lead"]["name"] == "A Social Worker"
    step = app_client.post(
        f"{url}/steps", json={"kind": "referral", "occurred_on": str(TODAY - dt.timedelta(days=9))}
    )
    clocks = {c["timescale"]: c["status"] for c in step.json()["clocks"]}
    assert clocks["referral_decision"] == "overdue" and clocks["assessment"] == "due"
    bad = app_client.post(f"{url}/level", json={"level": 5, "reason": "off the scale"})
    assert bad.status_code == 422
    refused = app_client.post(f"{url}/steps", json={"kind": "picnic", "occurred_on": str(TODAY)})
    assert refused.status_code == 422 and "is not a step" in refused.text
    listed = app_client.get(f"/api/v1/children/{child}/cases").json()
    assert [c["id"] for c in listed] == [case["id"]]
    closed = app_client.post(f"{url}/close", json={"reason": "no further action"})
    assert closed.json()["closed_on"] == str(TODAY)
    assert (
        app_client.post(
            f"{url}/steps", json={"kind": "icpc", "occurred_on": str(TODAY)}
        ).status_code
        == 422
    )


ROUTES = [
    ("post", "/api/v1/children/{child}/cases", OPEN),
    ("get", "/api/v1/children/{child}/cases", None),
    ("get", "/api/v1/cases/{case}", None),
    ("post", "/api/v1/cases/{case}/lead", {"lead": None, "reason": "left the service"}),
    ("post", "/api/v1/cases/{case}/level", {"level": 2, "reason": "stepped down"}),
    ("post", "/api/v1/cases/{case}/steps", {"kind": "icpc", "occurred_on": str(TODAY)}),
    ("post", "/api/v1/cases/{case}/close", {"reason": "closed"}),
]


def _case(app_client: TestClient, db_session: Session, world: object) -> str:
    authorise_client(app_client, db_session, role=Role.SOCIAL_WORKER, agency=world.csc)  # type: ignore[attr-defined]
    response = app_client.post(f"/api/v1/children/{world.child.public_id}/cases", json=OPEN)  # type: ignore[attr-defined]
    return str(response.json()["id"])


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_another_agencys_user_gets_404_and_nothing_changes(
    app_client: TestClient, db_session: Session, method: str, path: str, body: object
) -> None:
    world = build(db_session, "-api")
    case_id = _case(app_client, db_session, world)
    authorise_client(
        app_client, db_session, role=Role.SOCIAL_WORKER, agency=make_agency(db_session)
    )
    url = path.format(child=world.child.public_id, case=case_id)
    response = app_client.request(method.upper(), url, json=body)
    assert response.status_code == 404, response.text
    assert db_session.scalar(select(func.count()).select_from(Case)) == 1
    assert db_session.scalar(select(func.count()).select_from(CaseStep)) == 0


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize("role", [Role.AUDITOR, Role.PARTNERSHIP_ANALYST])
def test_roles_without_the_scope_get_403(
    app_client: TestClient, db_session: Session, method: str, path: str, body: object, role: Role
) -> None:
    world = build(db_session, "-api")
    case_id = _case(app_client, db_session, world)
    authorise_client(app_client, db_session, role=role)
    url = path.format(child=world.child.public_id, case=case_id)
    assert app_client.request(method.upper(), url, json=body).status_code == 403


def test_a_read_only_token_cannot_write(app_client: TestClient, db_session: Session) -> None:
    world = build(db_session, "-api")
    case_id = _case(app_client, db_session, world)
    authorise_client(
        app_client,
        db_session,
        role=Role.SOCIAL_WORKER,
        agency=world.csc,
        scopes=frozenset({Scope.CHILDREN_READ}),
    )
    assert app_client.get(f"/api/v1/cases/{case_id}").status_code == 200
    response = app_client.post(f"/api/v1/cases/{case_id}/close", json={"reason": "closed"})
    assert response.status_code == 403
    assert app_client.get("/api/v1/workflow/ownership-flags").status_code == 200
