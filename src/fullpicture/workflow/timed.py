"""Timed work: self-escalation of unanswered stages, notifications of overdue steps and of
escalations that moved, and e-mail of pending notifications — run by a maintained scheduler
(APScheduler), never a hand-written loop.

Every run is idempotent (escalations move only when due; notifications carry a dedupe key;
e-mails go once) and audited (``timed_work.run`` with what it did).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access.models import Role, UserAccount
from fullpicture.core.database import unit_of_work, utc_now
from fullpicture.core.runtime import get_session_factory
from fullpicture.people.models import Person
from fullpicture.workflow import escalation, notifications, repository
from fullpicture.workflow.models import Escalation
from fullpicture.workflow.service import clocks_of
from fullpicture.workflow.timescales import StepStatus

ACTOR = "system:timed-work"
JOB_ID = "fullpicture-timed-work"


@dataclass(frozen=True)
class TimedWorkReport:
    escalations_moved: int
    overdue_notifications: int
    escalation_notifications: int
    emails: int


def _child(db_session: Session, person_id: int) -> str:
    return str(db_session.scalar(select(Person.public_id).where(Person.id == person_id)))


def _notify_overdue(db_session: Session, now: dt.datetime) -> int:
    raised = 0
    everyone = select(Person.id)
    for case in repository.open_cases_among(db_session, everyone):
        lead = case.leads[-1] if case.leads else None
        if lead is None or lead.user_id is None:
            continue
        for clock in clocks_of(case, now.date()):
            if clock.status is not StepStatus.OVERDUE:
                continue
            if notifications.notify(
                db_session,
                recipient_user_id=lead.user_id,
                kind="overdue_step",
                person_id=case.person_id,
                title=f"Overdue: {clock.label}",
                body=f"{clock.label}: due {clock.due_on:%d %B %Y}, not yet recorded.",
                link=f"/children/{_child(db_session, case.person_id)}",
                dedupe_key=f"overdue:{case.public_id}:{clock.timescale}:{clock.started_on}",
                now=now,
            ):
                raised += 1
    return raised


def _notify_escalated(db_session: Session, moved: list[str], now: dt.datetime) -> int:
    raised = 0
    for public_id in moved:
        item = db_session.scalars(select(Escalation).where(Escalation.public_id == public_id)).one()
        stage = item.stages[-1]
        raiser = item.stages[0].raised_by.removeprefix("user:")
        recipients = set(
            db_session.scalars(select(UserAccount.id).where(UserAccount.username == raiser))
        )
        recipients |= set(
            db_session.scalars(
                select(UserAccount.id).where(
                    UserAccount.role == Role.DESIGNATED_LEAD,
                    UserAccount.is_active.is_(True),
                    UserAccount.agency_id.in_([item.raised_by_agency_id, item.with_agency_id]),
                )
            )
        )
        for user_id in sorted(recipients):
            if notifications.notify(
                db_session,
                recipient_user_id=user_id,
                kind="escalation",
                person_id=item.person_id,
                title=f"Escalation moved to stage {stage.stage}",
                body=(
                    f"A professional disagreement went unanswered and escalated itself to "
                    f"stage {stage.stage} ({stage.raised_with})."
                ),
                link=f"/children/{_child(db_session, item.person_id)}",
                dedupe_key=f"escalation:{public_id}:stage{stage.stage}:{user_id}",
                now=now,
            ):
                raised += 1
    return raised


def run_timed_work(db_session: Session, *, now: dt.datetime | None = None) -> TimedWorkReport:
    """One pass of the timed work (idempotent; audited)."""
    now = now or utc_now()
    moved = escalation.escalate_unanswered(db_session=db_session, now=now)
    report = TimedWorkReport(
        escalations_moved=len(moved),
        escalation_notifications=_notify_escalated(db_session, moved, now),
        overdue_notifications=_notify_overdue(db_session, now),
        emails=notifications.send_pending_emails(db_session, now=now),
    )
    audit.record(
        db_session=db_session,
        actor=ACTOR,
        action="timed_work.run",
        detail=asdict(report),
        occurred_at=now,
    )
    return report


def timed_work_job() -> None:
    """The scheduler's job: one pass in its own transaction."""
    with unit_of_work(get_session_factory()) as session:
        run_timed_work(session)


def build_scheduler(every_minutes: int = 5) -> BlockingScheduler:
    """APScheduler running the timed work every ``every_minutes``: one run at a time, missed
    runs coalesced into one (the work is idempotent, so a late run catches up)."""
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(
        timed_work_job,
        "interval",
        minutes=every_minutes,
        id=JOB_ID,
        max_instances=1,
        coalesce=True,
        next_run_time=utc_now(),
    )
    return scheduler
