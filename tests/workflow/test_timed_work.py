"""Timed work on a frozen clock: escalations escalate themselves, leads are told of overdue
steps and moved escalations once, the run is audited, and the scheduler holds one job."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access.models import AuditEntry
from fullpicture.workflow import escalation, service, timed
from fullpicture.workflow.models import CaseKind, Notification
from fullpicture.workflow.schemas import CaseOpen, EscalationRaise, LeadIn, StepIn
from tests.access.principals import subject_of
from tests.workflow.world import build

UTC = dt.UTC
MONDAY = dt.datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_a_run_moves_notifies_and_is_idempotent(db_session: Session) -> None:
    world = build(db_session)
    sw = subject_of(world.social_worker)
    case = service.open_case(
        db_session=db_session,
        subject=sw,
        person_public_id=world.child.public_id,
        case_in=CaseOpen(
            kind=CaseKind.CHILD_PROTECTION,
            opened_on=dt.date(2026, 11, 2),
            level_of_need=4,
            level_reason="s47",
            lead=LeadIn(username=world.social_worker.username),
            lead_reason="allocated",
        ),
        now=MONDAY,
    )
    service.record_step(
        db_session=db_session,
        subject=sw,
        case_public_id=case.public_id,
        step_in=StepIn(kind="strategy_discussion", occurred_on=dt.date(2026, 11, 2)),
        now=MONDAY,
    )
    escalation.raise_escalation(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
        raise_in=EscalationRaise(
            with_agency_code=world.csc.code, raised_with="duty SW", disagreement="below threshold"
        ),
        now=MONDAY,
    )
    later = MONDAY + dt.timedelta(days=8)  # stage 1 was due Monday 14th
    report = timed.run_timed_work(db_session, now=later)
    assert report.escalations_moved == 1
    assert report.overdue_notifications == 1  # the ICPC, due 23 November
    assert report.escalation_notifications >= 1  # the teacher who raised it
    kinds = {(n.kind, n.recipient_user_id) for n in db_session.scalars(select(Notification)).all()}
    assert ("overdue_step", world.social_worker.id) in kinds
    assert ("escalation", world.teacher.id) in kinds
    again = timed.run_timed_work(db_session, now=later)
    assert (
        again.escalations_moved,
        again.overdue_notifications,
        again.escalation_notifications,
    ) == (0, 0, 0)
    runs = db_session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "timed_work.run")
    )
    assert runs == 2


def test_the_scheduler_runs_the_timed_work_once_at_a_time() -> None:
    scheduler = timed.build_scheduler(every_minutes=7)
    jobs = scheduler.get_jobs()
    assert [job.id for job in jobs] == [timed.JOB_ID]
    job = jobs[0]
    assert job.func is timed.timed_work_job
    assert job.max_instances == 1 and job.coalesce is True
    assert job.trigger.interval == dt.timedelta(minutes=7)
