"""``/api/v1``: a child's cumulative-harm score with its evidence, alerts and their workflow,
and case replay. The CLI renders the same objects."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.api import ChildReader, ChildWriter, PersonPublicId, Principal
from fullpicture.core.database import utc_now
from fullpicture.core.runtime import request_session
from fullpicture.harm import service
from fullpicture.harm.model import default_harm_model
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.harm.replay import ReplayError, replay_case
from fullpicture.harm.schemas import (
    AlertAcknowledge,
    AlertClose,
    AlertRead,
    CaseFile,
    ChildHarmRead,
    ContributionRead,
    RaisedAlertRead,
    ReplayResult,
)
from fullpicture.people.models import Person

router = APIRouter(prefix="/api/v1", tags=["cumulative harm"])

DbSession = Annotated[Session, Depends(request_session)]


@router.get(
    "/children/{person_id}/harm",
    response_model=ChildHarmRead,
    summary="A child's cumulative-harm score as of a day, with every incident behind it",
)
def child_harm(
    person_id: PersonPublicId,
    session: DbSession,
    subject: ChildReader,
    as_of: Annotated[dt.date | None, Query(description="default today")] = None,
) -> ChildHarmRead:
    """Needs ``children:read`` and a need to know the child; the read is audited."""
    person = access_service.open_person(
        db_session=session, subject=subject, person_public_id=person_id, purpose="harm score"
    )
    day = as_of or dt.date.today()
    assessment = service.assess_one_child(db_session=session, person_id=person.id, as_of=day)
    explanation = assessment.explanation
    model = default_harm_model()
    return ChildHarmRead(
        as_of=day,
        score=explanation.score,
        concern_points=explanation.concern_points,
        agencies=list(explanation.agencies),
        triangulation_multiplier=explanation.triangulation_multiplier,
        contributions=[ContributionRead.model_validate(c) for c in explanation.contributions],
        strengths=[ContributionRead.model_validate(c) for c in explanation.strengths],
        strength_weight=explanation.strength_weight,
        strength_note=model.strengths.note,
        alerts=[RaisedAlertRead.model_validate(a) for a in assessment.alerts],
        model_version=model.version,
    )


def _read(alert: HarmAlert) -> AlertRead:
    return AlertRead.model_validate(alert)


@router.get("/alerts", response_model=list[AlertRead], summary="Alerts for children you may see")
def alerts(
    session: DbSession,
    subject: ChildReader,
    alert_status: Annotated[AlertStatus | None, Query(alias="status")] = None,
    routed_to_agency_id: int | None = None,
) -> list[AlertRead]:
    """Newest first; only children the caller has a need to know about."""
    readable = access_repository.readable_person_ids(subject, utc_now()).subquery()
    statement = (
        select(HarmAlert)
        .where(HarmAlert.person_id.in_(select(readable)))
        .order_by(HarmAlert.raised_on.desc(), HarmAlert.id.desc())
        .limit(500)
    )
    if alert_status is not None:
        statement = statement.where(HarmAlert.status == alert_status)
    if routed_to_agency_id is not None:
        statement = statement.where(HarmAlert.routed_to_agency_id == routed_to_agency_id)
    return [_read(a) for a in session.scalars(statement)]


def _visible_alert(session: Session, subject: Any, alert_id: str) -> HarmAlert:
    try:
        alert = service.get_alert(db_session=session, public_id=alert_id)
    except service.AlertNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    public_id = session.scalar(select(Person.public_id).where(Person.id == alert.person_id))
    access_service.open_person(
        db_session=session, subject=subject, person_public_id=str(public_id), purpose="alert"
    )
    return alert


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AlertRead,
    summary="Record the decision taken on a new alert",
)
def acknowledge(
    alert_id: str, body: AlertAcknowledge, session: DbSession, subject: ChildWriter
) -> AlertRead:
    _visible_alert(session, subject, alert_id)
    try:
        alert = service.acknowledge_alert(
            db_session=session, public_id=alert_id, decision=body.decision, by=body.by
        )
    except service.AlertWorkflowError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return _read(alert)


@router.post(
    "/alerts/{alert_id}/close",
    response_model=AlertRead,
    summary="Close an acknowledged alert with its outcome",
)
def close(alert_id: str, body: AlertClose, session: DbSession, subject: ChildWriter) -> AlertRead:
    _visible_alert(session, subject, alert_id)
    try:
        alert = service.close_alert(
            db_session=session, public_id=alert_id, outcome=body.outcome, by=body.by
        )
    except service.AlertWorkflowError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return _read(alert)


@router.post(
    "/replay",
    response_model=ReplayResult,
    summary="Replay a case file: what the engine would have raised, day by day",
)
def replay(case: CaseFile, subject: Principal) -> ReplayResult:
    """The case comes in the request (``../shared/eval/README.md`` format); nothing stored
    is read or written."""
    try:
        return replay_case(case)
    except ReplayError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
