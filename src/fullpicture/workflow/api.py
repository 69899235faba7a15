"""``/api/v1``: a child's cases, their lead practitioner and level of need with history, dated
steps with due and overdue computed when read, and what nobody owns. The CLI renders the same
objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, status
from sqlalchemy.orm import Session

from fullpicture.access.auth import ChildReader, ChildWriter, PersonPublicId, requires
from fullpicture.access.roles import Scope
from fullpicture.access.subject import AuthSubject
from fullpicture.core.runtime import request_session
from fullpicture.workflow import drift as drift_service
from fullpicture.workflow import escalation as escalation_service
from fullpicture.workflow import notifications, service, supervision
from fullpicture.workflow.models import Case, Escalation, Notification
from fullpicture.workflow.rules import LevelsOfNeed, Timescales, levels_of_need, timescales
from fullpicture.workflow.schemas import (
    CaseClose,
    CaseOpen,
    CaseRead,
    EscalationEscalate,
    EscalationRaise,
    EscalationRead,
    EscalationResolve,
    EscalationRespond,
    LeadChange,
    LevelChange,
    NotificationRead,
    OwnershipFlag,
    StepIn,
)

T = TypeVar("T")

router = APIRouter(prefix="/api/v1", tags=["cases and timescales"])

DbSession = Annotated[Session, Depends(request_session, scope="function")]
CasePublicId = Annotated[
    str,
    Path(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        description="the case's public id (a UUID)",
    ),
]


def _refusals(action: Callable[[], Case]) -> Case:
    try:
        return action()
    except service.CaseRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    except service.CaseNotYours as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc


@router.post(
    "/children/{person_id}/cases",
    response_model=CaseRead,
    status_code=status.HTTP_201_CREATED,
    summary="Open a case for a child with its level of need and lead practitioner",
)
def open_case(
    person_id: PersonPublicId, body: CaseOpen, session: DbSession, subject: ChildWriter
) -> CaseRead:
    case = _refusals(
        lambda: service.open_case(
            db_session=session, subject=subject, person_public_id=person_id, case_in=body
        )
    )
    return service.to_read(session, case)


@router.get(
    "/children/{person_id}/cases",
    response_model=list[CaseRead],
    summary="A child's cases, with history, steps and timescales (due and overdue as of today)",
)
def child_cases(
    person_id: PersonPublicId, session: DbSession, subject: ChildReader
) -> list[CaseRead]:
    cases = service.cases_for_child(db_session=session, subject=subject, person_public_id=person_id)
    return [service.to_read(session, case) for case in cases]


@router.get("/cases/{case_id}", response_model=CaseRead, summary="One case")
def get_case(case_id: CasePublicId, session: DbSession, subject: ChildReader) -> CaseRead:
    case = service.open_case_for(
        db_session=session, subject=subject, case_public_id=case_id, purpose="case"
    )
    return service.to_read(session, case)


@router.post(
    "/cases/{case_id}/lead",
    response_model=CaseRead,
    summary="Change the lead practitioner, with the reason",
)
def change_lead(
    case_id: CasePublicId, body: LeadChange, session: DbSession, subject: ChildWriter
) -> CaseRead:
    case = _refusals(
        lambda: service.change_lead(
            db_session=session, subject=subject, case_public_id=case_id, change=body
        )
    )
    return service.to_read(session, case)


@router.post(
    "/cases/{case_id}/level",
    response_model=CaseRead,
    summary="Change the level of need, with the reason",
)
def change_level(
    case_id: CasePublicId, body: LevelChange, session: DbSession, subject: ChildWriter
) -> CaseRead:
    case = _refusals(
        lambda: service.change_level(
            db_session=session, subject=subject, case_public_id=case_id, change=body
        )
    )
    return service.to_read(session, case)


@router.post("/cases/{case_id}/steps", response_model=CaseRead, summary="Record a dated step")
def record_step(
    case_id: CasePublicId, body: StepIn, session: DbSession, subject: ChildWriter
) -> CaseRead:
    case = _refusals(
        lambda: service.record_step(
            db_session=session, subject=subject, case_public_id=case_id, step_in=body
        )
    )
    return service.to_read(session, case)


@router.post(
    "/cases/{case_id}/close", response_model=CaseRead, summary="Close the case, with the reason"
)
def close_case(
    case_id: CasePublicId, body: CaseClose, session: DbSession, subject: ChildWriter
) -> CaseRead:
    case = _refusals(
        lambda: service.close_case(
            db_session=session, subject=subject, case_public_id=case_id, close=body
        )
    )
    return service.to_read(session, case)


@router.get(
    "/workflow/ownership-flags",
    response_model=list[OwnershipFlag],
    summary="Open cases with no lead practitioner; children with concerns from several agencies and no case",
)
def ownership_flags(session: DbSession, subject: ChildReader) -> list[OwnershipFlag]:
    """Among the children the caller may see (need-to-know); each flag carries its evidence."""
    return service.ownership_flags(db_session=session, subject=subject)


@router.get(
    "/workflow/drift",
    response_model=list[drift_service.DriftFinding],
    summary="Drift among the children you may see: overdue steps, no contact, reviews, alerts",
)
def drift(session: DbSession, subject: ChildReader) -> list[drift_service.DriftFinding]:
    """Overdue steps, no recorded contact with the child on an open plan, plans past review,
    alerts not acknowledged within a working day, repeated no-further-action closures
    (``workflow/drift.yaml``); each finding carries its evidence."""
    return drift_service.drift_findings(db_session=session, subject=subject)


@router.get(
    "/workflow/rules",
    summary="The timescales and levels of need in force",
)
def workflow_rules(subject: ChildReader) -> dict[str, Timescales | LevelsOfNeed]:
    return {"timescales": timescales(), "levels_of_need": levels_of_need()}


# --- escalation of professional disagreement -----------------------------------------------

EscalationPublicId = CasePublicId


def _escalation_refusals(action: Callable[[], Escalation]) -> Escalation:
    try:
        return action()
    except service.CaseRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


def _changed(
    session: Session,
    subject: AuthSubject,
    escalation_id: str,
    change: escalation_service.EscalationChange,
) -> EscalationRead:
    escalation = _escalation_refusals(
        lambda: escalation_service.change_escalation(
            db_session=session,
            subject=subject,
            escalation_public_id=escalation_id,
            change=change,
        )
    )
    return escalation_service.to_read(session, escalation)


@router.post(
    "/children/{person_id}/escalations",
    response_model=EscalationRead,
    status_code=status.HTTP_201_CREATED,
    summary="Raise a professional disagreement about a child with another agency (stage 1)",
)
def raise_escalation(
    person_id: PersonPublicId, body: EscalationRaise, session: DbSession, subject: ChildWriter
) -> EscalationRead:
    escalation = _escalation_refusals(
        lambda: escalation_service.raise_escalation(
            db_session=session, subject=subject, person_public_id=person_id, raise_in=body
        )
    )
    return escalation_service.to_read(session, escalation)


@router.get(
    "/children/{person_id}/escalations",
    response_model=list[EscalationRead],
    summary="Escalations about a child your agency is party to (all, for the front door)",
)
def child_escalations(
    person_id: PersonPublicId, session: DbSession, subject: ChildReader, open_only: bool = False
) -> list[EscalationRead]:
    escalations = escalation_service.escalations_for_child(
        db_session=session, subject=subject, person_public_id=person_id, open_only=open_only
    )
    return [escalation_service.to_read(session, e) for e in escalations]


@router.get("/escalations/{escalation_id}", response_model=EscalationRead, summary="One escalation")
def get_escalation(
    escalation_id: EscalationPublicId, session: DbSession, subject: ChildReader
) -> EscalationRead:
    escalation = escalation_service.open_escalation(
        db_session=session,
        subject=subject,
        escalation_public_id=escalation_id,
        purpose="escalation",
    )
    return escalation_service.to_read(session, escalation)


@router.post(
    "/escalations/{escalation_id}/respond",
    response_model=EscalationRead,
    summary="Answer the current stage (the agency it was raised with)",
)
def respond_to_escalation(
    escalation_id: EscalationPublicId,
    body: EscalationRespond,
    session: DbSession,
    subject: ChildWriter,
) -> EscalationRead:
    return _changed(session, subject, escalation_id, body)


@router.post(
    "/escalations/{escalation_id}/escalate",
    response_model=EscalationRead,
    summary="Take the disagreement to the next stage (the agency that raised it)",
)
def escalate_further(
    escalation_id: EscalationPublicId,
    body: EscalationEscalate,
    session: DbSession,
    subject: ChildWriter,
) -> EscalationRead:
    return _changed(session, subject, escalation_id, body)


@router.post(
    "/escalations/{escalation_id}/resolve",
    response_model=EscalationRead,
    summary="Record the outcome and close the escalation (either party)",
)
def resolve_escalation(
    escalation_id: EscalationPublicId,
    body: EscalationResolve,
    session: DbSession,
    subject: ChildWriter,
) -> EscalationRead:
    return _changed(session, subject, escalation_id, body)


# --- the in-app inbox ----------------------------------------------------------------------


def _notification_read(n: Notification) -> NotificationRead:
    return NotificationRead(
        id=n.public_id,
        kind=n.kind,
        title=n.title,
        body=n.body,
        link=n.link,
        created_at=n.created_at,
        read_at=n.read_at,
    )


@router.get("/inbox", response_model=list[NotificationRead], summary="Your notifications")
def inbox(
    session: DbSession, subject: ChildReader, unread_only: bool = False
) -> list[NotificationRead]:
    """Only the caller's own: seen elsewhere, overdue steps, escalations, alerts. A notification
    about a child is audited as a read of the child."""
    return [
        _notification_read(n)
        for n in notifications.inbox(session, subject=subject, unread_only=unread_only)
    ]


@router.post(
    "/inbox/{notification_id}/read", response_model=NotificationRead, summary="Mark as read"
)
def mark_read(
    notification_id: CasePublicId, session: DbSession, subject: ChildReader
) -> NotificationRead:
    try:
        notification = notifications.mark_read(session, subject=subject, public_id=notification_id)
    except notifications.NotificationNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return _notification_read(notification)


# --- supervision ---------------------------------------------------------------------------

Supervisor = Annotated[AuthSubject, requires(Scope.CHILDREN_READ, Scope.SUPERVISION_READ)]
SupervisorWriter = Annotated[
    AuthSubject, requires(Scope.CHILDREN_READ, Scope.CHILDREN_WRITE, Scope.SUPERVISION_READ)
]
Username = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._@-]+$")]


def _supervision_refusals(action: Callable[[], T]) -> T:
    try:
        return action()
    except supervision.PractitionerNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.get(
    "/supervision/{username}",
    response_model=supervision.SupervisionView,
    summary="A practitioner's children, alerts, overdue steps, unshared entries, escalations, prompts",
)
def supervision_view(
    username: Username, session: DbSession, subject: Supervisor
) -> supervision.SupervisionView:
    """For designated leads and team managers (``supervision:read``), about practitioners of
    their own agency; each child shown is one the supervisor may see (audited)."""
    return _supervision_refusals(
        lambda: supervision.supervision_view(db_session=session, subject=subject, username=username)
    )


@router.post(
    "/supervision/{username}/records",
    response_model=supervision.SupervisionRecordRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a supervision session: reflections, decisions and actions",
)
def record_supervision(
    username: Username,
    body: supervision.SupervisionRecordIn,
    session: DbSession,
    subject: SupervisorWriter,
) -> supervision.SupervisionRecordRead:
    return _supervision_refusals(
        lambda: supervision.record_supervision(
            db_session=session, subject=subject, username=username, record_in=body
        )
    )
