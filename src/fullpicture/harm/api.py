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
from fullpicture.access.auth import ChildReader, ChildWriter, PersonPublicId, Principal
from fullpicture.access.subject import AuthSubject
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
    """Needs ``children:read`` and a need to know the child; the read is audited. The score
    is computed on the whole record; the evidence shown is what the caller may see
    (``access.repository.event_visibility``), and ``held_elsewhere`` counts the rest."""
    person = access_service.open_person(
        db_session=session, subject=subject, person_public_id=person_id, purpose="harm score"
    )
    day = as_of or dt.date.today()
    assessment = service.assess_one_child(db_session=session, person_id=person.id, as_of=day)
    explanation = assessment.explanation
    model = default_harm_model()
    incidents = [*explanation.contributions, *explanation.strengths]
    evidence = service.visible_evidence(
        db_session=session,
        subject=subject,
        now=utc_now(),
        person_id=person.id,
        refs=[r for c in incidents for r in c.refs],
    )

    def shown(contributions: Any) -> list[ContributionRead]:
        reads = []
        for contribution in contributions:
            refs = evidence.refs(contribution.refs)
            if not refs:
                continue
            read = ContributionRead.model_validate(contribution)
            reads.append(
                read.model_copy(update={"refs": refs, "agencies": evidence.agencies(refs)})
            )
        return reads

    return ChildHarmRead(
        as_of=day,
        score=explanation.score,
        concern_points=explanation.concern_points,
        agencies=evidence.agencies(r for c in incidents for r in c.refs),
        triangulation_multiplier=explanation.triangulation_multiplier,
        contributions=shown(explanation.contributions),
        strengths=shown(explanation.strengths),
        strength_weight=explanation.strength_weight,
        strength_note=model.strengths.note,
        alerts=[
            RaisedAlertRead.model_validate(a).model_copy(
                update={"evidence": evidence.refs(a.evidence)}
            )
            for a in assessment.alerts
        ],
        model_version=model.version,
        held_elsewhere=evidence.held_elsewhere,
    )


def _read(alert: HarmAlert) -> AlertRead:
    return AlertRead.model_validate(alert)


def _shown(session: Session, subject: AuthSubject, alerts: list[HarmAlert]) -> list[AlertRead]:
    """Alerts with their evidence cut to the entries the caller may see (per child)."""
    now = utc_now()
    visible: dict[int, set[int]] = {}
    for person_id in {a.person_id for a in alerts}:
        ids = [i for a in alerts if a.person_id == person_id for i in a.evidence["event_ids"]]
        visible[person_id] = access_repository.visible_event_ids(
            session, subject=subject, now=now, person_id=person_id, event_ids=ids
        )
    reads = []
    for alert in alerts:
        read = _read(alert)
        ids = [i for i in alert.evidence["event_ids"] if i in visible[alert.person_id]]
        reads.append(read.model_copy(update={"evidence": {"event_ids": ids}}))
    return reads


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
    return _shown(session, subject, list(session.scalars(statement)))


def _visible_alert(session: Session, subject: AuthSubject, alert_id: str) -> HarmAlert:
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
    return _shown(session, subject, [alert])[0]


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
    return _shown(session, subject, [alert])[0]


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
