"""Every write route × every role × whose object it is, generated from the OpenAPI document
(issue 12: object-level authorisation for writes as well as reads), beside the read
enumeration in ``test_route_access.py``.

* Each write operation (POST/PUT/PATCH/DELETE) in the OpenAPI document has a reviewed
  object-owner rule in ``OWNER_RULES``; a new write route without one fails here.
* Role × route: every role, through an API token, is refused (403, naming the scope) by every
  write route whose scopes its role lacks, and gets past the scope check of the others.
* Object owner: for each rule, a behavioural check that the owning agency may write and
  another agency may not (``test_*_owner_*`` below), or the capability's own test of it,
  named in the table and checked to exist.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access.auth import route_access
from fullpicture.access.models import Role
from fullpicture.access.roles import Scope, role_book
from fullpicture.agencies.models import AgencyKind
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.people.models import SourceRecord
from fullpicture.web.app import create_app
from tests.access.principals import authorise_client, make_agency, make_person
from tests.imports.feeds import GP, SCHOOL, record, register_agencies, write_csv

TESTS = Path(__file__).resolve().parents[1]
WRITE_METHODS = {"post", "put", "patch", "delete"}


@dataclass(frozen=True)
class OwnerRule:
    """Whose object a write changes, and the test that holds the rule."""

    owner: str
    test: str  # "path/to/test_file.py::test_name" under tests/


HERE = "access/test_write_matrix.py"
OWNER_RULES: dict[tuple[str, str], OwnerRule] = {
    ("POST", "/api/v1/imports"): OwnerRule(
        "the feed's agency: a user of an agency writes its own rows only",
        f"{HERE}::test_imports_owner_another_agencys_rows_are_quarantined",
    ),
    ("POST", "/api/v1/referrals/check"): OwnerRule(
        "nothing stored; with a child, a need to know the child",
        "referrals/test_api.py::test_a_child_the_caller_may_not_see_is_not_found",
    ),
    ("POST", "/api/v1/referrals/classify"): OwnerRule(
        "nothing stored, no child data read", f"{HERE}::test_every_write_route_has_an_owner_rule"
    ),
    ("POST", "/api/v1/referrals"): OwnerRule(
        "a new referral, always the author's agency's",
        "referrals/test_access.py::test_a_referral_cannot_be_filed_as_another_agencys",
    ),
    ("PUT", "/api/v1/referrals/{referral_ref}"): OwnerRule(
        "the agency that made the referral", f"{HERE}::test_referral_owner_only_its_agency_writes"
    ),
    ("POST", "/api/v1/referrals/{referral_ref}/submit"): OwnerRule(
        "the agency that made the referral", f"{HERE}::test_referral_owner_only_its_agency_writes"
    ),
    ("POST", "/api/v1/referrals/{referral_ref}/corrections"): OwnerRule(
        "the agency that made the referral",
        "referrals/test_access.py::test_another_agency_cannot_correct_a_submitted_referral",
    ),
    ("POST", "/api/v1/linkage/runs"): OwnerRule(
        "the partnership's linkage (linkage:run, no child data shown)",
        f"{HERE}::test_every_role_is_held_to_every_write_routes_scopes",
    ),
    ("POST", "/api/v1/linkage/records/{agency}/{record_id}"): OwnerRule(
        "the partnership's linkage (linkage:run, no child data shown)",
        f"{HERE}::test_every_role_is_held_to_every_write_routes_scopes",
    ),
    ("POST", "/api/v1/linkage/review/{item_id}/decisions"): OwnerRule(
        "a pair with a record the reviewer may read; decided as the signed-in user",
        "linkage/test_api.py::test_run_explain_review_and_households",
    ),
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): OwnerRule(
        "the agency the alert is routed to", f"{HERE}::test_alert_owner_only_the_routed_agency"
    ),
    ("POST", "/api/v1/alerts/{alert_id}/close"): OwnerRule(
        "the agency the alert is routed to", f"{HERE}::test_alert_owner_only_the_routed_agency"
    ),
    ("POST", "/api/v1/replay"): OwnerRule(
        "nothing stored, nothing read: the case comes in the request",
        f"{HERE}::test_every_write_route_has_an_owner_rule",
    ),
    ("POST", "/api/v1/children/{person_id}/sharing-decisions"): OwnerRule(
        "a child the user's agency has a need to know",
        "sharing/test_api.py::test_another_agencys_user_is_refused_as_if_the_child_were_unknown",
    ),
    ("POST", "/api/v1/children/{person_id}/cases"): OwnerRule(
        "a child the user's agency has a need to know",
        "workflow/test_api.py::test_another_agencys_user_gets_404_and_nothing_changes",
    ),
    **{
        ("POST", f"/api/v1/cases/{{case_id}}/{step}"): OwnerRule(
            "the agency that opened the case or the current lead's; others who may read it 403",
            "access/test_probe_new_routes.py::"
            "test_a_partner_agency_cannot_change_a_case_another_agency_holds",
        )
        for step in ("lead", "level", "steps", "close")
    },
    ("POST", "/api/v1/children/{person_id}/escalations"): OwnerRule(
        "a child the user's agency has a need to know",
        "workflow/test_escalation.py::test_the_api_refuses_other_agencies_and_roles_without_the_scope",
    ),
    **{
        ("POST", f"/api/v1/escalations/{{escalation_id}}/{step}"): OwnerRule(
            "an escalation about a child the user's agency has a need to know",
            "workflow/test_escalation.py::test_the_api_refuses_other_agencies_and_roles_without_the_scope",
        )
        for step in ("respond", "escalate", "resolve")
    },
    ("POST", "/api/v1/inbox/{notification_id}/read"): OwnerRule(
        "a notification addressed to the signed-in user; anyone else's answers as unknown",
        "workflow/test_seen_elsewhere.py::test_seen_elsewhere_through_the_api_and_only_to_the_lead",
    ),
    ("POST", "/api/v1/supervision/{username}/records"): OwnerRule(
        "a practitioner of the supervisor's own agency; a child discussed through their need to know",
        "workflow/test_supervision.py::test_refused_to_other_agencies_and_roles_without_the_scope",
    ),
    ("POST", "/api/v1/break-glass"): OwnerRule(
        "a person the user may not otherwise see, with a reason, audited and notified",
        "access/test_pooled_view.py::test_break_glass_opens_the_pooled_view_of_one_child_until_it_expires",
    ),
    ("POST", "/api/v1/people/{person_id}/subject-access-export"): OwnerRule(
        "what the user's agency holds about a person it has a need to know",
        f"{HERE}::test_subject_access_owner_an_uninvolved_agency_gets_404",
    ),
}


def _write_operations() -> dict[tuple[str, str], frozenset[Scope]]:
    app = create_app()
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if method in WRITE_METHODS
    }
    scopes: dict[tuple[str, str], frozenset[Scope]] = {}
    for route in iter_route_contexts(app.routes):
        for method in route.methods or ():
            if (method, route.path) in documented:
                scopes[(method, str(route.path))] = route_access(route) or frozenset()
    assert set(scopes) == documented
    return scopes


WRITES = _write_operations()


def _test_exists(reference: str) -> bool:
    file, _, name = reference.partition("::")
    path = TESTS / file
    if not path.exists():
        return False
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.FunctionDef) and node.name == name for node in ast.walk(tree))


def test_every_write_route_has_an_owner_rule() -> None:
    assert len(WRITES) >= 20
    missing = sorted(f"{m} {p}" for m, p in set(WRITES) - set(OWNER_RULES))
    assert missing == [], f"write routes with no reviewed object-owner rule: {missing}"
    stale = sorted(f"{m} {p}" for m, p in set(OWNER_RULES) - set(WRITES))
    assert stale == [], f"owner rules for routes that no longer exist: {stale}"
    unheld = sorted(r.test for r in OWNER_RULES.values() if not _test_exists(r.test))
    assert unheld == [], f"owner rules naming tests that do not exist: {unheld}"


def _concrete(path: str) -> str:
    values = {"person_id": "00000000-0000-4000-8000-000000000000", "item_id": "1"}
    return re.sub(r"\{([a-z_]+)\}", lambda m: values.get(m.group(1), "1"), path)


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_every_role_is_held_to_every_write_routes_scopes(
    app_client: TestClient, db_session: Session, role: Role
) -> None:
    """Generated: each write route refuses a role lacking its scopes (403 naming them) and
    lets a role holding them past the scope check."""
    authorise_client(app_client, db_session, role=role)
    held = role_book().policy(role).scopes
    wrong: list[str] = []
    for (method, path), needed in sorted(WRITES.items()):
        response = app_client.request(method, _concrete(path), json={})
        refused_for_scope = response.status_code == 403 and "This needs" in response.text
        if needed <= held and (refused_for_scope or response.status_code == 401):
            wrong.append(f"{method} {path}: {role.value} holds {sorted(needed)} but got refused")
        if not needed <= held and not refused_for_scope:
            wrong.append(
                f"{method} {path}: {role.value} lacks scopes but got {response.status_code}"
            )
    assert wrong == []


def test_an_anonymous_write_is_refused_everywhere(app_client: TestClient) -> None:
    for (method, path), _needed in sorted(WRITES.items()):
        response = app_client.request(method, _concrete(path), json={})
        assert response.status_code == 401, f"{method} {path}: {response.status_code}"


# --- object owner: behavioural checks ------------------------------------------------------


def test_referral_owner_only_its_agency_writes(app_client: TestClient, db_session: Session) -> None:
    school = make_agency(db_session, "school-matrix")
    gp = make_agency(db_session, "gp-matrix", AgencyKind.GP)
    child = make_person(db_session, held_by=[school, gp])
    child_in = {"person_id": child.public_id, "given_name": "Mia"}
    authorise_client(app_client, db_session, agency=school)
    created = app_client.post(
        "/api/v1/referrals",
        json={"concern_narrative": "Bruise seen.", "children": [child_in]},
    )
    assert created.status_code == 201, created.text
    ref = created.json()["referral_ref"]
    writes = [
        ("PUT", f"/api/v1/referrals/{ref}", {"concern_narrative": "Mine."}),
        ("POST", f"/api/v1/referrals/{ref}/submit", {}),
    ]
    for role in (Role.PRACTITIONER, Role.DESIGNATED_LEAD):
        authorise_client(app_client, db_session, role=role, agency=gp)  # may read it
        assert app_client.get(f"/api/v1/referrals/{ref}").status_code == 200
        for method, path, body in writes:
            response = app_client.request(method, path, json=body)
            assert response.status_code == 403, (role, method, path, response.text)
    authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=school)
    for method, path, body in writes:
        response = app_client.request(method, path, json=body)
        assert response.status_code == 200, (method, path, response.text)


def test_alert_owner_only_the_routed_agency(app_client: TestClient, db_session: Session) -> None:
    csc = make_agency(db_session, "csc-matrix", AgencyKind.CHILDRENS_SOCIAL_CARE)
    police = make_agency(db_session, "police-matrix", AgencyKind.POLICE)
    child = make_person(db_session, held_by=[csc, police])
    alert = HarmAlert(
        person_id=child.id,
        kind="cumulative_threshold",
        raised_on=dt.date(2026, 11, 1),
        score=30.0,
        reason="test",
        evidence={"event_ids": []},
        model_version="test",
        status=AlertStatus.NEW,
        routed_to_agency_id=csc.id,
        routing_reason="test",
    )
    db_session.add(alert)
    db_session.flush()
    steps = [("acknowledge", {"decision": "Strategy discussion"}), ("close", {"outcome": "Plan"})]
    for role in (Role.PRACTITIONER, Role.TEAM_MANAGER, Role.FRONT_DOOR):
        authorise_client(app_client, db_session, role=role, agency=police)
        for step, body in steps:
            response = app_client.post(f"/api/v1/alerts/{alert.public_id}/{step}", json=body)
            assert response.status_code == 403, (role, step, response.text)
    authorise_client(app_client, db_session, role=Role.FRONT_DOOR, agency=csc)
    for step, body in steps:
        response = app_client.post(f"/api/v1/alerts/{alert.public_id}/{step}", json=body)
        assert response.status_code == 200, (step, response.text)


def test_imports_owner_another_agencys_rows_are_quarantined(
    app_client: TestClient, db_session: Session, tmp_path: Path
) -> None:
    register_agencies(db_session)
    for own, other in ((SCHOOL, GP), (GP, SCHOOL)):
        agency = make_agency(db_session, own)
        authorise_client(app_client, db_session, role=Role.ADMINISTRATOR, agency=agency)
        path = write_csv(
            tmp_path / "records.csv",
            [record(f"{own}-1", agency=own), record(f"{other}-1", agency=other)],
        )
        response = app_client.post(
            "/api/v1/imports", files={"records": (path.name, path.read_bytes(), "text/csv")}
        )
        assert response.status_code == 201, response.text
        assert [r["row_ref"] for r in response.json()["quarantined"]] == [f"{other}-1"]
    stored = set(db_session.scalars(select(SourceRecord.record_ref)))
    assert {f"{SCHOOL}-1", f"{GP}-1"} <= stored
    assert not {f"{GP}-1", f"{SCHOOL}-1"} - stored  # each stored once, by its own agency


def test_subject_access_owner_an_uninvolved_agency_gets_404(
    app_client: TestClient, db_session: Session
) -> None:
    school = make_agency(db_session, "school-sar-matrix")
    child = make_person(db_session, held_by=[school])
    authorise_client(
        app_client, db_session, role=Role.DESIGNATED_LEAD, agency=make_agency(db_session)
    )
    response = app_client.post(
        f"/api/v1/people/{child.public_id}/subject-access-export",
        json={"requester": "parent_for_child"},
    )
    assert response.status_code == 404, response.text
    authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=school)
    response = app_client.post(
        f"/api/v1/people/{child.public_id}/subject-access-export",
        json={"requester": "parent_for_child"},
    )
    assert response.status_code == 200, response.text


DECIDER_FIELDS = {
    "by",
    "decided_by",
    "closed_by",
    "dismissed_by",
    "created_by",
    "updated_by",
    "submitted_by",
}


def test_no_write_route_takes_who_decided_from_the_body() -> None:
    """Issue 12, finding 12: decisions are the signed-in principal's, never a name the client
    fills in. No write operation's request body has a field naming who decided."""
    document = create_app().openapi()
    schemas = document["components"]["schemas"]
    offending: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in WRITE_METHODS:
                continue
            for content in operation.get("requestBody", {}).get("content", {}).values():
                reference = content.get("schema", {}).get("$ref", "")
                schema = schemas.get(reference.rsplit("/", 1)[-1], {})
                named = DECIDER_FIELDS & set(schema.get("properties", {}))
                offending.extend(f"{method.upper()} {path}: {field}" for field in sorted(named))
    assert offending == []


def test_a_link_decision_naming_who_decided_is_refused(
    app_client: TestClient, db_session: Session
) -> None:
    authorise_client(app_client, db_session, role=Role.FRONT_DOOR)
    response = app_client.post(
        "/api/v1/linkage/review/1/decisions",
        json={"action": "confirm", "reason": "same child", "decided_by": "Someone Else"},
    )
    assert response.status_code == 422, response.text
    assert "decided_by" in response.text
