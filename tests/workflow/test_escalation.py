"""Escalation of professional disagreement: every transition, and a stage left unanswered
escalating itself when its working-day timescale passes (a frozen clock, never a sleep)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.models import AuditEntry, Role
from fullpicture.referrals import service as referral_service
from fullpicture.workflow import escalation
from fullpicture.workflow.models import Escalation, EscalationStage
from fullpicture.workflow.rules import escalation_route, load_escalation_route
from fullpicture.workflow.schemas import (
    EscalationEscalate,
    EscalationRaise,
    EscalationResolve,
    EscalationRespond,
)
from fullpicture.workflow.service import CaseRefused
from tests.access.principals import authorise_client, make_agency, subject_of
from tests.workflow.world import World, build

UTC = dt.UTC
# Monday 7 December 2026, 10:00: five working days later is Monday 14 December.
RAISED = dt.datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def _raise(db_session: Session, world: World, now: dt.datetime = RAISED) -> Escalation:
    return escalation.raise_escalation(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
        raise_in=EscalationRaise(
            with_agency_code=world.csc.code,
            raised_with="duty social worker",
            disagreement="referral judged below threshold despite a second injury",
        ),
        now=now,
    )


def test_the_default_route_is_croydons_five_stages() -> None:
    route = load_escalation_route()
    assert [s.stage for s in route.stages] == [1, 2, 3, 4, 5]
    assert [s.formal for s in route.stages] == [False, False, True, True, True]
    assert all(s.respond_within_working_days == 5 for s in route.stages)


def test_raise_respond_escalate_resolve(db_session: Session) -> None:
    world = build(db_session)
    raised = _raise(db_session, world)
    read = escalation.to_read(db_session, raised, today=RAISED.date())
    assert (read.current_stage, read.formal, read.status) == (1, False, "open")
    assert read.stages[0].due_on == dt.date(2026, 12, 14)

    later = RAISED + dt.timedelta(days=2)
    escalation.respond(
        db_session=db_session,
        subject=subject_of(world.social_worker),
        escalation_public_id=raised.public_id,
        respond_in=EscalationRespond(response="threshold not met: early help offered"),
        now=later,
    )
    # Only the agency it was raised with answers; only the raising agency takes it further.
    with pytest.raises(access_service.AccessError):
        escalation.respond(
            db_session=db_session,
            subject=subject_of(world.teacher),
            escalation_public_id=raised.public_id,
            respond_in=EscalationRespond(response="me too"),
            now=later,
        )
    with pytest.raises(access_service.AccessError):
        escalation.escalate(
            db_session=db_session,
            subject=subject_of(world.social_worker),
            escalation_public_id=raised.public_id,
            escalate_in=EscalationEscalate(reason="x" * 5, raised_with="managers"),
            now=later,
        )
    escalation.escalate(
        db_session=db_session,
        subject=subject_of(world.teacher),
        escalation_public_id=raised.public_id,
        escalate_in=EscalationEscalate(
            reason="a third injury since; still below threshold",
            raised_with="CSC team manager and our DSL",
        ),
        now=later,
    )
    read = escalation.to_read(db_session, raised, today=later.date())
    assert [s.stage for s in read.stages] == [1, 2]
    assert read.stages[0].outcome and read.stages[0].outcome.startswith("escalated: a third")
    assert read.stages[1].escalated_itself is False
    escalation.resolve(
        db_session=db_session,
        subject=subject_of(world.social_worker),
        escalation_public_id=raised.public_id,
        resolve_in=EscalationResolve(outcome="strategy discussion agreed"),
        now=later,
    )
    read = escalation.to_read(db_session, raised, today=later.date())
    assert read.status == "resolved" and read.stages[1].outcome == "strategy discussion agreed"
    with pytest.raises(CaseRefused, match="resolved"):
        escalation.respond(
            db_session=db_session,
            subject=subject_of(world.social_worker),
            escalation_public_id=raised.public_id,
            respond_in=EscalationRespond(response="again"),
            now=later,
        )
    actions = list(
        db_session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target == f"escalation:{raised.public_id}")
            .order_by(AuditEntry.position)
        )
    )
    assert actions == [
        "escalation.raise",
        "escalation.respond",
        "escalation.escalate",
        "escalation.resolve",
    ]


def test_an_unanswered_stage_escalates_itself_when_its_timescale_passes(
    db_session: Session,
) -> None:
    world = build(db_session)
    raised = _raise(db_session, world)
    # Due Monday 14 December: nothing moves on the due day itself.
    on_due_day = dt.datetime(2026, 12, 14, 23, 59, tzinfo=UTC)
    assert escalation.escalate_unanswered(db_session=db_session, now=on_due_day) == []
    next_day = dt.datetime(2026, 12, 15, 0, 1, tzinfo=UTC)
    assert escalation.escalate_unanswered(db_session=db_session, now=next_day) == [raised.public_id]
    # Idempotent: run again at the same moment, nothing more happens.
    assert escalation.escalate_unanswered(db_session=db_session, now=next_day) == []
    read = escalation.to_read(db_session, raised, today=next_day.date())
    assert [(s.stage, s.escalated_itself) for s in read.stages] == [(1, False), (2, True)]
    assert read.stages[1].raised_by == escalation.SYSTEM_ACTOR
    assert read.stages[1].raised_with == escalation_route().stage(2).raised_with
    # Stage 2 started 15 December: 5 working days over Christmas is 22 December.
    assert read.stages[1].due_on == dt.date(2026, 12, 22)
    entry = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "escalation.auto")
    ).one()
    assert entry.actor == escalation.SYSTEM_ACTOR and entry.person_id == world.child.id
    # An answered stage does not move, however late.
    escalation.respond(
        db_session=db_session,
        subject=subject_of(world.social_worker),
        escalation_public_id=raised.public_id,
        respond_in=EscalationRespond(response="manager reviewing"),
        now=next_day,
    )
    far_later = dt.datetime(2027, 3, 1, tzinfo=UTC)
    assert escalation.escalate_unanswered(db_session=db_session, now=far_later) == []


def test_it_escalates_itself_stage_by_stage_but_not_past_the_last(db_session: Session) -> None:
    world = build(db_session)
    raised = _raise(db_session, world)
    now = RAISED
    for _ in range(10):
        now += dt.timedelta(days=14)
        escalation.escalate_unanswered(db_session=db_session, now=now)
    read = escalation.to_read(db_session, raised, today=now.date())
    assert [s.stage for s in read.stages] == [1, 2, 3, 4, 5]
    assert read.formal and read.stages[-1].overdue
    assert db_session.scalar(select(func.count()).select_from(EscalationStage)) == 5


def test_open_escalations_show_in_the_referral_cross_check(db_session: Session) -> None:
    world = build(db_session)
    _raise(db_session, world)
    text = "I am worried about the child. Bruises seen on her arm on Monday."
    check = referral_service.check_text_with_record(
        db_session=db_session,
        text=text,
        child_public_id=world.child.public_id,
        viewer=subject_of(world.teacher),
    )
    assert check.cross_checks is not None
    found = [f for f in check.cross_checks.findings if f.kind == "escalations"]
    assert len(found) == 1 and found[0].element == "R17"
    assert "does not mention" in found[0].message and "below threshold" in found[0].message
    # The police are not party to it and hold no pooled view: they are not told of it.
    police_check = referral_service.check_text_with_record(
        db_session=db_session,
        text=text,
        child_public_id=world.child.public_id,
        viewer=subject_of(world.officer),
    )
    assert police_check.cross_checks is not None
    assert not [f for f in police_check.cross_checks.findings if f.kind == "escalations"]


def test_the_api_refuses_other_agencies_and_roles_without_the_scope(
    app_client: TestClient, db_session: Session
) -> None:
    world = build(db_session, "-esc")
    authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=world.school)
    body = {
        "with_agency_code": world.csc.code,
        "raised_with": "duty SW",
        "disagreement": "below threshold",
    }
    created = app_client.post(f"/api/v1/children/{world.child.public_id}/escalations", json=body)
    assert created.status_code == 201, created.text
    esc = created.json()["id"]
    routes = [
        ("post", f"/api/v1/children/{world.child.public_id}/escalations", body),
        ("get", f"/api/v1/children/{world.child.public_id}/escalations", None),
        ("get", f"/api/v1/escalations/{esc}", None),
        ("post", f"/api/v1/escalations/{esc}/respond", {"response": "no"}),
        (
            "post",
            f"/api/v1/escalations/{esc}/escalate",
            {"reason": "no answer", "raised_with": "managers"},
        ),
        ("post", f"/api/v1/escalations/{esc}/resolve", {"outcome": "agreed"}),
    ]
    stranger = make_agency(db_session, "housing-esc")
    authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=stranger)
    for method, url, payload in routes:
        assert app_client.request(method.upper(), url, json=payload).status_code == 404, url
    # The police know the child but are not party: the escalation is not theirs to see.
    authorise_client(app_client, db_session, role=Role.PRACTITIONER, agency=world.police)
    assert app_client.get(f"/api/v1/escalations/{esc}").status_code == 404
    assert app_client.get(f"/api/v1/children/{world.child.public_id}/escalations").json() == []
    for role in (Role.AUDITOR, Role.PARTNERSHIP_ANALYST):
        authorise_client(app_client, db_session, role=role)
        for method, url, payload in routes:
            assert app_client.request(method.upper(), url, json=payload).status_code == 403, url
    authorise_client(app_client, db_session, role=Role.SOCIAL_WORKER, agency=world.csc)
    answered = app_client.post(f"/api/v1/escalations/{esc}/respond", json={"response": "agreed"})
    assert answered.status_code == 200 and answered.json()["stages"][0]["response"] == "agreed"
    assert db_session.scalar(select(func.count()).select_from(Escalation)) == 1
