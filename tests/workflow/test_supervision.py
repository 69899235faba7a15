"""Supervision: a practitioner's children with prompts from the record, dated records of
decisions and actions; refused to other agencies' supervisors and roles without the scope."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access.models import AuditEntry, Role
from fullpicture.workflow import escalation, service, supervision
from fullpicture.workflow.models import CaseKind
from fullpicture.workflow.schemas import CaseOpen, EscalationRaise, LeadIn, StepIn
from tests.access.principals import authorise_client, make_agency, make_user, subject_of
from tests.workflow.world import World, build


def _school_led_case(db_session: Session, world: World, username: str) -> None:
    teacher = make_user(db_session, role=Role.PRACTITIONER, agency=world.school, username=username)
    case = service.open_case(
        db_session=db_session,
        subject=subject_of(teacher),
        person_public_id=world.child.public_id,
        case_in=CaseOpen(
            kind=CaseKind.EARLY_HELP,
            opened_on=dt.date.today() - dt.timedelta(days=40),
            level_of_need=3,
            level_reason="complex needs",
            lead=LeadIn(username=username),
            lead_reason="class teacher",
        ),
    )
    service.record_step(
        db_session=db_session,
        subject=subject_of(teacher),
        case_public_id=case.public_id,
        step_in=StepIn(
            kind="contact_with_child", occurred_on=dt.date.today() - dt.timedelta(days=3)
        ),
    )
    escalation.raise_escalation(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
        raise_in=EscalationRaise(
            with_agency_code=world.csc.code, raised_with="duty SW", disagreement="below threshold"
        ),
    )


def test_the_view_and_a_record(db_session: Session) -> None:
    world = build(db_session)
    _school_led_case(db_session, world, "class.teacher")
    dsl = subject_of(world.teacher)  # the school's designated lead supervises
    view = supervision.supervision_view(
        db_session=db_session, subject=dsl, username="class.teacher"
    )
    assert [c.child_id for c in view.children] == [world.child.public_id]
    child = view.children[0]
    assert child.open_escalations == 1 and child.open_alerts == 0
    assert child.unshared_significant_entries == 2  # the school's injury, not sent to police or CSC
    questions = [p.question for p in child.prompts]
    assert questions[0] == "What is life like for this child?" and len(questions) == 5
    assert "3 days ago" in child.prompts[0].from_the_record
    assert "2 significant entries" in child.prompts[4].from_the_record
    read = supervision.record_supervision(
        db_session=db_session,
        subject=dsl,
        username="class.teacher",
        record_in=supervision.SupervisionRecordIn(
            child_id=world.child.public_id,
            reflections="we have not heard from the child",
            decisions="share the injury with the GP and CSC",
            actions=[
                {
                    "action": "speak to the child alone",
                    "owner": "class.teacher",
                    "due_on": "2026-12-11",
                }
            ],
        ),
    )
    assert read.supervisor == world.teacher.username and read.child_id == world.child.public_id
    again = supervision.supervision_view(
        db_session=db_session, subject=dsl, username="class.teacher"
    )
    assert [r.decisions for r in again.records] == ["share the injury with the GP and CSC"]
    assert db_session.scalars(
        select(AuditEntry.action).where(AuditEntry.action == "supervision.record")
    ).all() == ["supervision.record"]


def test_refused_to_other_agencies_and_roles_without_the_scope(
    app_client: TestClient, db_session: Session
) -> None:
    world = build(db_session, "-sup")
    _school_led_case(db_session, world, "teacher.sup")
    body = {"reflections": "notes", "decisions": "none yet"}
    authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=world.school)
    assert app_client.get("/api/v1/supervision/teacher.sup").status_code == 200
    assert app_client.post("/api/v1/supervision/teacher.sup/records", json=body).status_code == 201
    authorise_client(
        app_client, db_session, role=Role.DESIGNATED_LEAD, agency=make_agency(db_session)
    )
    assert app_client.get("/api/v1/supervision/teacher.sup").status_code == 404
    assert app_client.post("/api/v1/supervision/teacher.sup/records", json=body).status_code == 404
    authorise_client(app_client, db_session, role=Role.TEAM_MANAGER, agency=world.police)
    assert app_client.get("/api/v1/supervision/teacher.sup").status_code == 404
    for role in (Role.PRACTITIONER, Role.AUDITOR, Role.PARTNERSHIP_ANALYST):
        authorise_client(
            app_client,
            db_session,
            role=role,
            agency=world.school if role is Role.PRACTITIONER else None,
        )
        assert app_client.get("/api/v1/supervision/teacher.sup").status_code == 403
        assert (
            app_client.post("/api/v1/supervision/teacher.sup/records", json=body).status_code == 403
        )
