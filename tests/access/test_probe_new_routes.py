"""Probe of the pages and workflow that landed on 2026-12-06 (docs/security.md, "Probe of the
new pages and workflow"): what an uninvolved agency, a partner agency that does not own a case,
and roles without children:read can do with another child's ids."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from tests.access.principals import authorise_client, make_agency
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
