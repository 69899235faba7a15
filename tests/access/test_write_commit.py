"""A write is answered only after it is committed, with its audit entry (issue 12, finding 13).

The app runs as a server does (a real request session per request, committing on its own);
a spy between the app and the client looks at the database through a second, independent
connection at the moment the response starts, i.e. when a client could first act on it.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fullpicture.access.models import AuditEntry, BreakGlassGrant, Role
from fullpicture.agencies.models import AgencyKind
from fullpicture.core.database import session_factory, unit_of_work
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.referrals.models import Referral
from fullpicture.web.app import create_app
from tests.access.principals import bearer_token, make_agency, make_person, make_user
from tests.conftest import TestDatabase

Probe = Callable[[], dict[str, Any]]


class SeenAtResponseStart:
    """ASGI wrapper: runs ``probe`` when the response's first message is sent."""

    def __init__(self, app: ASGIApp, probe: Probe) -> None:
        self.app = app
        self.probe = probe
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def spy(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.seen.append(await run_in_threadpool(self.probe))
            await send(message)

        await self.app(scope, receive, spy)


def _counts(engine: Engine, user_id: int) -> dict[str, Any]:
    with engine.connect() as connection:
        return {
            "referrals": connection.scalar(select(func.count()).select_from(Referral)),
            "grants": connection.scalar(select(func.count()).select_from(BreakGlassGrant)),
            "alert_status": connection.scalar(select(HarmAlert.status)),
            "request_writes": connection.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "request.write", AuditEntry.actor_user_id == user_id)
            ),
        }


WRITES: dict[str, tuple[str, Callable[[str, str], dict[str, Any]], str, Any]] = {
    "referral draft": (
        "/api/v1/referrals",
        lambda child, alert: {"concern_narrative": "Bruise seen today."},
        "referrals",
        1,
    ),
    "break-glass grant": (
        "/api/v1/break-glass",
        lambda child, alert: {"person_id": child, "reason": "Unconscious in ED; need carers now"},
        "grants",
        1,
    ),
    "alert decision": (
        "/api/v1/alerts/{alert}/acknowledge",
        lambda child, alert: {"decision": "Strategy discussion held today"},
        "alert_status",
        AlertStatus.ACKNOWLEDGED.value,
    ),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_write_is_committed_with_its_audit_entry_before_it_is_answered(
    runtime_database: TestDatabase, write: str
) -> None:
    factory = session_factory(runtime_database.engine)
    with unit_of_work(factory) as session:
        csc = make_agency(session, "csc-commit", AgencyKind.CHILDRENS_SOCIAL_CARE)
        school = make_agency(session, "school-commit")
        child = make_person(session, held_by=[csc])
        worker = make_user(session, role=Role.FRONT_DOOR, agency=csc)
        if write == "break-glass grant":
            # Someone who may not see the child, to open them in an emergency.
            worker = make_user(session, role=Role.PRACTITIONER, agency=school)
        alert = HarmAlert(
            person_id=child.id,
            kind="cumulative_threshold",
            raised_on=dt.date(2026, 11, 1),
            score=40.0,
            reason="test",
            evidence={"event_ids": []},
            model_version="test",
            status=AlertStatus.NEW,
            routed_to_agency_id=csc.id,
            routing_reason="test",
        )
        session.add(alert)
        session.flush()
        token = bearer_token(session, worker)
        child_id, alert_id, user_id = child.public_id, alert.public_id, worker.id
    path, body, what, expected = WRITES[write]
    before = _counts(runtime_database.engine, user_id)
    spy = SeenAtResponseStart(create_app(), lambda: _counts(runtime_database.engine, user_id))
    client = TestClient(spy, headers={"Authorization": f"Bearer {token}"})

    response = client.post(path.format(alert=alert_id), json=body(child_id, alert_id))

    assert response.status_code in (200, 201), response.text
    [seen] = spy.seen
    assert before[what] != expected
    assert seen[what] == expected, f"{write}: the answer went out before the write was stored"
    assert seen["request_writes"] == before["request_writes"] + 1, "audit entry not yet stored"


def test_every_dependency_holding_the_session_closes_before_the_answer() -> None:
    """FastAPI closes a ``yield`` dependency after the response is sent unless it is
    function-scoped; the session commits as it closes, so each must be function-scoped."""
    late: set[str] = set()

    def yields(call: object) -> bool:
        return any(
            inspect.isgeneratorfunction(c) or inspect.isasyncgenfunction(c)
            for c in (call, type(call).__call__)
        )

    def walk(dependant: Dependant, where: str) -> None:
        for dependency in dependant.dependencies:
            if yields(dependency.call) and dependency.scope != "function":
                late.add(f"{where}: {getattr(dependency.call, '__name__', dependency.call)!r}")
            walk(dependency, where)

    checked = 0
    for route in iter_route_contexts(create_app().routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue
        checked += 1
        walk(dependant, f"{sorted(route.methods or ())} {route.path}")
    assert checked > 30
    assert late == set(), f"yield dependencies closed after the answer is sent: {sorted(late)}"
