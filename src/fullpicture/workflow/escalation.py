"""Escalation of professional disagreement through staged route (research-notes §5; the Croydon
five stages by default, ``escalation.yaml``).

Transitions: raise (stage 1, with the agency disagreed with), respond (the agency raised with
answers the current stage), escalate (the raising agency takes it to the next stage, saying
why), resolve (either party records the outcome), and **escalate itself**: a stage left
unanswered past its working-day timescale moves to the next stage on its own
(``escalate_unanswered``, run by the scheduler; idempotent, audited as ``system:escalation``).
A stage's due day is computed from the route when read, never stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy import Integer, Select, bindparam, or_, select
from sqlalchemy.orm import Session, selectinload

from fullpicture.access import audit
from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.roles import Scope
from fullpicture.access.subject import AuthSubject, Reader
from fullpicture.agencies.models import Agency
from fullpicture.core.database import utc_now
from fullpicture.people.models import Person
from fullpicture.workflow.models import Case, Escalation, EscalationStage, EscalationStatus
from fullpicture.workflow.rules import EscalationRoute, escalation_route
from fullpicture.workflow.schemas import (
    EscalationEscalate,
    EscalationRaise,
    EscalationRead,
    EscalationResolve,
    EscalationRespond,
    EscalationStageRead,
)
from fullpicture.workflow.service import CaseNotFound, CaseRefused
from fullpicture.workflow.working_days import add_working_days

SYSTEM_ACTOR = "system:escalation"
NO_SUCH_ESCALATION = "no such escalation, or you have no need to know about the child"


class EscalationNotFound(access_service.PersonNotVisible):
    """An unknown escalation and one the subject may not see answer alike."""


def stage_due_on(stage: EscalationStage, route: EscalationRoute | None = None) -> dt.date:
    route = route or escalation_route()
    rule = route.stage(min(stage.stage, route.last))
    return add_working_days(stage.started_at.date(), rule.respond_within_working_days)


def _current(escalation: Escalation) -> EscalationStage:
    return escalation.stages[-1]


def _audit(
    db_session: Session,
    actor: str,
    user_id: int | None,
    action: str,
    escalation: Escalation,
    reason: str | None,
    now: dt.datetime,
    detail: dict[str, object] | None = None,
) -> None:
    audit.record(
        db_session=db_session,
        actor=actor,
        actor_user_id=user_id,
        action=action,
        person_id=escalation.person_id,
        target=f"escalation:{escalation.public_id}",
        reason=reason,
        detail={"stage": _current(escalation).stage, **(detail or {})},
        occurred_at=now,
    )


def _party(subject: AuthSubject, escalation: Escalation) -> bool:
    return subject.agency_id in (escalation.raised_by_agency_id, escalation.with_agency_id)


def raise_escalation(
    *,
    db_session: Session,
    subject: AuthSubject,
    person_public_id: str,
    raise_in: EscalationRaise,
    now: dt.datetime | None = None,
) -> Escalation:
    now = now or utc_now()
    person, raising_agency_id = access_service.open_person_for_agency_write(
        db_session=db_session,
        subject=subject,
        person_public_id=person_public_id,
        purpose="escalation",
        no_agency="an escalation is raised by an agency; you have none",
        now=now,
    )
    other = db_session.scalars(
        select(Agency).where(Agency.code == raise_in.with_agency_code)
    ).first()
    if other is None:
        raise CaseRefused(f"No agency with code {raise_in.with_agency_code!r}.")
    if other.id == raising_agency_id:
        raise CaseRefused(
            "A disagreement within your agency follows its own process; escalate to another agency."
        )
    case_id = None
    if raise_in.case_id is not None:
        case = db_session.scalars(select(Case).where(Case.public_id == raise_in.case_id)).first()
        if case is None or case.person_id != person.id:
            raise CaseNotFound("no such case about this child")
        case_id = case.id
    route = escalation_route()
    escalation = Escalation(
        person_id=person.id,
        case_id=case_id,
        raised_by_agency_id=raising_agency_id,
        with_agency_id=other.id,
        disagreement=raise_in.disagreement,
        status=EscalationStatus.OPEN,
        opened_at=now,
        rules_version=route.version,
    )
    escalation.stages.append(
        EscalationStage(
            stage=1, raised_by=subject.actor, raised_with=raise_in.raised_with, started_at=now
        )
    )
    db_session.add(escalation)
    db_session.flush()
    _audit(
        db_session,
        subject.actor,
        subject.user_id,
        "escalation.raise",
        escalation,
        raise_in.disagreement,
        now,
        {"with_agency": other.code},
    )
    return escalation


def open_escalation(
    *,
    db_session: Session,
    subject: AuthSubject,
    escalation_public_id: str,
    purpose: str,
    now: dt.datetime | None = None,
) -> Escalation:
    """The escalation, if the subject may see its child and is a party to it (or holds the
    pooled view); audited as a read of the child."""
    escalation = db_session.scalars(
        select(Escalation)
        .options(selectinload(Escalation.stages))
        .where(Escalation.public_id == escalation_public_id)
    ).first()
    if escalation is None:
        raise EscalationNotFound(NO_SUCH_ESCALATION)
    if not (_party(subject, escalation) or access_repository.sees_all_agencies(subject)):
        raise EscalationNotFound(NO_SUCH_ESCALATION)
    access_service.open_person_behind(
        db_session=db_session,
        subject=subject,
        person_id=escalation.person_id,
        purpose=purpose,
        not_found=EscalationNotFound(NO_SUCH_ESCALATION),
        now=now,
    )
    return escalation


def _open_to_change(
    db_session: Session, subject: AuthSubject, public_id: str, purpose: str, now: dt.datetime
) -> Escalation:
    access_service.require_scopes(subject, Scope.CHILDREN_READ, Scope.CHILDREN_WRITE)
    escalation = open_escalation(
        db_session=db_session,
        subject=subject,
        escalation_public_id=public_id,
        purpose=purpose,
        now=now,
    )
    if escalation.status is not EscalationStatus.OPEN:
        raise CaseRefused(
            "This escalation is resolved; raise a new one if the disagreement returns."
        )
    if not _party(subject, escalation):
        raise access_service.AccessError(
            "only the agency that raised the escalation, or the agency it was raised with, "
            "may act on it"
        )
    return escalation


def respond(
    *,
    db_session: Session,
    subject: AuthSubject,
    escalation_public_id: str,
    respond_in: EscalationRespond,
    now: dt.datetime | None = None,
) -> Escalation:
    now = now or utc_now()
    escalation = _open_to_change(db_session, subject, escalation_public_id, "escalation", now)
    if subject.agency_id != escalation.with_agency_id:
        raise access_service.AccessError("the agency the escalation was raised with responds")
    stage = _current(escalation)
    stage.response = respond_in.response
    stage.responded_by = subject.actor
    stage.responded_at = now
    db_session.flush()
    _audit(
        db_session,
        subject.actor,
        subject.user_id,
        "escalation.respond",
        escalation,
        respond_in.response,
        now,
    )
    return escalation


def _next_stage(
    escalation: Escalation,
    *,
    by: str,
    raised_with: str,
    outcome: str,
    now: dt.datetime,
    itself: bool,
) -> EscalationStage:
    stage = _current(escalation)
    stage.outcome = outcome
    stage.ended_at = now
    following = EscalationStage(
        stage=stage.stage + 1,
        raised_by=by,
        raised_with=raised_with,
        started_at=now,
        escalated_itself=itself,
    )
    escalation.stages.append(following)
    return following


def escalate(
    *,
    db_session: Session,
    subject: AuthSubject,
    escalation_public_id: str,
    escalate_in: EscalationEscalate,
    now: dt.datetime | None = None,
) -> Escalation:
    now = now or utc_now()
    escalation = _open_to_change(db_session, subject, escalation_public_id, "escalation", now)
    if subject.agency_id != escalation.raised_by_agency_id:
        raise access_service.AccessError("the agency that raised the escalation takes it further")
    route = escalation_route()
    if _current(escalation).stage >= route.last:
        raise CaseRefused(f"Stage {route.last} is the last stage of {route.name}.")
    _next_stage(
        escalation,
        by=subject.actor,
        raised_with=escalate_in.raised_with,
        outcome=f"escalated: {escalate_in.reason}",
        now=now,
        itself=False,
    )
    db_session.flush()
    _audit(
        db_session,
        subject.actor,
        subject.user_id,
        "escalation.escalate",
        escalation,
        escalate_in.reason,
        now,
    )
    return escalation


def resolve(
    *,
    db_session: Session,
    subject: AuthSubject,
    escalation_public_id: str,
    resolve_in: EscalationResolve,
    now: dt.datetime | None = None,
) -> Escalation:
    now = now or utc_now()
    escalation = _open_to_change(db_session, subject, escalation_public_id, "escalation", now)
    stage = _current(escalation)
    stage.outcome = resolve_in.outcome
    stage.ended_at = now
    escalation.status = EscalationStatus.RESOLVED
    escalation.outcome = resolve_in.outcome
    escalation.resolved_at = now
    db_session.flush()
    _audit(
        db_session,
        subject.actor,
        subject.user_id,
        "escalation.resolve",
        escalation,
        resolve_in.outcome,
        now,
    )
    return escalation


#: What a party does to an open escalation: answer its stage, take it further, or resolve it.
EscalationChange = EscalationRespond | EscalationEscalate | EscalationResolve


def change_escalation(
    *,
    db_session: Session,
    subject: AuthSubject,
    escalation_public_id: str,
    change: EscalationChange,
    now: dt.datetime | None = None,
) -> Escalation:
    """Answer, escalate or resolve the escalation, as ``change`` says: the one entry the
    API, pages and CLI use, so each keeps one handler shape for the three."""
    if isinstance(change, EscalationRespond):
        return respond(
            db_session=db_session,
            subject=subject,
            escalation_public_id=escalation_public_id,
            respond_in=change,
            now=now,
        )
    if isinstance(change, EscalationEscalate):
        return escalate(
            db_session=db_session,
            subject=subject,
            escalation_public_id=escalation_public_id,
            escalate_in=change,
            now=now,
        )
    return resolve(
        db_session=db_session,
        subject=subject,
        escalation_public_id=escalation_public_id,
        resolve_in=change,
        now=now,
    )


def escalate_unanswered(*, db_session: Session, now: dt.datetime | None = None) -> list[str]:
    """Move every open escalation whose current stage went unanswered past its due day to the
    next stage (not past the last). Idempotent: a second run at the same moment finds the new
    stage not yet due. Returns the public ids moved; each move is audited."""
    now = now or utc_now()
    route = escalation_route()
    moved: list[str] = []
    candidates = db_session.scalars(
        select(Escalation)
        .options(selectinload(Escalation.stages))
        .where(Escalation.status == EscalationStatus.OPEN)
        .order_by(Escalation.id)
        .with_for_update(skip_locked=True)
    ).all()
    for escalation in candidates:
        stage = _current(escalation)
        if stage.responded_at is not None or stage.stage >= route.last:
            continue
        due = stage_due_on(stage, route)
        if now.date() <= due:
            continue
        following = route.stage(stage.stage + 1)
        _next_stage(
            escalation,
            by=SYSTEM_ACTOR,
            raised_with=following.raised_with,
            outcome=f"unanswered by {due}: escalated itself",
            now=now,
            itself=True,
        )
        db_session.flush()
        _audit(
            db_session,
            SYSTEM_ACTOR,
            None,
            "escalation.auto",
            escalation,
            f"stage {stage.stage} unanswered by {due}",
            now,
        )
        moved.append(escalation.public_id)
    return moved


def escalations_for_child(
    *,
    db_session: Session,
    subject: AuthSubject,
    person_public_id: str,
    open_only: bool = False,
    now: dt.datetime | None = None,
) -> Sequence[Escalation]:
    person = access_service.open_person(
        db_session=db_session,
        subject=subject,
        person_public_id=person_public_id,
        purpose="escalations",
        now=now,
    )
    return visible_escalations(
        db_session, subject=subject, person_id=person.id, open_only=open_only
    )


def visible_escalations(
    db_session: Session, *, subject: Reader, person_id: int, open_only: bool = False
) -> Sequence[Escalation]:
    """Escalations about a child the subject already may see: those its agency is party to,
    or all for the pooled view (and for an audited system job)."""
    statement = _escalations_about(open_only=open_only)
    if isinstance(subject, AuthSubject) and not access_repository.sees_all_agencies(subject):
        if subject.agency_id is None:
            return []
        statement = statement.where(
            or_(
                Escalation.raised_by_agency_id == subject.agency_id,
                Escalation.with_agency_id == subject.agency_id,
            )
        )
    return db_session.scalars(statement, {"person_id": person_id}).all()


@lru_cache(maxsize=2)
def _escalations_about(*, open_only: bool) -> Select[Escalation]:
    """The statement of ``visible_escalations`` before the agency's filter, built once with the
    child as a bound parameter: a new statement's cache key cost about as much as running it
    (every referral check with a child asks for the open escalations, bench/referrals.py)."""
    statement = (
        select(Escalation)
        .options(selectinload(Escalation.stages))
        .where(Escalation.person_id == bindparam("person_id", type_=Integer))
        .order_by(Escalation.opened_at, Escalation.id)
    )
    if open_only:
        statement = statement.where(Escalation.status == EscalationStatus.OPEN)
    return statement


def to_read(
    db_session: Session, escalation: Escalation, *, today: dt.date | None = None
) -> EscalationRead:
    today = today or utc_now().date()
    route = escalation_route()
    codes = {i: c for i, c in db_session.execute(select(Agency.id, Agency.code))}
    child = db_session.scalar(select(Person.public_id).where(Person.id == escalation.person_id))
    case = (
        db_session.scalar(select(Case.public_id).where(Case.id == escalation.case_id))
        if escalation.case_id is not None
        else None
    )
    stages = []
    for stage in escalation.stages:
        rule = route.stage(min(stage.stage, route.last))
        due = stage_due_on(stage, route)
        stages.append(
            EscalationStageRead(
                stage=stage.stage,
                name=rule.name,
                formal=rule.formal,
                raised_by=stage.raised_by,
                raised_with=stage.raised_with,
                started_at=stage.started_at,
                due_on=due,
                escalated_itself=stage.escalated_itself,
                response=stage.response,
                responded_by=stage.responded_by,
                responded_at=stage.responded_at,
                outcome=stage.outcome,
                ended_at=stage.ended_at,
                overdue=stage.ended_at is None and stage.responded_at is None and today > due,
            )
        )
    return EscalationRead(
        id=escalation.public_id,
        child_id=str(child),
        case_id=case,
        raised_by_agency_code=codes[escalation.raised_by_agency_id],
        with_agency_code=codes[escalation.with_agency_id],
        disagreement=escalation.disagreement,
        status=escalation.status.value,
        outcome=escalation.outcome,
        opened_at=escalation.opened_at,
        resolved_at=escalation.resolved_at,
        current_stage=stages[-1].stage,
        formal=stages[-1].formal,
        stages=stages,
    )
