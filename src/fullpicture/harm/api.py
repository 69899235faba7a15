"""``/api/v1``: a child's cumulative-harm score with its evidence, alerts and their workflow,
and case replay. The CLI renders the same objects."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.auth import ChildReader, ChildWriter, PersonPublicId, Principal
from fullpicture.access.subject import AuthSubject
from fullpicture.core.database import utc_now
from fullpicture.core.runtime import request_session
from fullpicture.harm import service
from fullpicture.harm.engine import RaisedAlert
from fullpicture.harm.entry_reading import EntryReading
from fullpicture.harm.harm_model import default_harm_model
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.harm.replay import ReplayError, replay_case
from fullpicture.harm.schemas import (
    AlertAcknowledge,
    AlertClose,
    AlertRead,
    CaseFile,
    ChildHarmRead,
    ContributionRead,
    EntryReadingRead,
    RaisedAlertRead,
    ReplayResult,
)

router = APIRouter(prefix="/api/v1", tags=["cumulative harm"])

DbSession = Annotated[Session, Depends(request_session, scope="function")]


def _scoring_day(day: dt.date | None) -> dt.date | None:
    # A ValueError here is FastAPI's 422, before the child is opened (issue 12 finding 6:
    # ?as_of=0001-01-01 was a 500).
    return None if day is None else service.check_scoring_day(day)


@router.get(
    "/children/{person_id}/harm",
    response_model=ChildHarmRead,
    summary="A child's cumulative-harm score as of a day, with every incident behind it",
)
def child_harm(
    person_id: PersonPublicId,
    session: DbSession,
    subject: ChildReader,
    as_of: Annotated[
        dt.date | None,
        Query(description="default today; from 1900-01-01 to a year ahead"),
        AfterValidator(_scoring_day),
    ] = None,
) -> ChildHarmRead:
    """Needs ``children:read`` and a need to know the child; the read is audited. The score
    is computed on the whole record; the evidence shown is what the caller may see
    (``chronology.visibility.event_visibility``), and ``held_elsewhere`` counts the rest."""
    # One moment for the whole read: opening the child, scoring it and sorting its evidence
    # apply the same need-to-know rule, which is then built once (access.repository).
    now = utc_now()
    person = access_service.open_person(
        db_session=session,
        subject=subject,
        person_public_id=person_id,
        purpose="harm score",
        now=now,
    )
    day = as_of or dt.date.today()
    readings: dict[int, EntryReading] = {}
    try:
        assessment = service.assess_one_child(
            db_session=session,
            scorer=subject,
            person_id=person.id,
            as_of=day,
            readings_out=readings,
            now=now,
        )
    except service.HarmNotComputable as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    explanation = assessment.explanation
    model = default_harm_model()
    incidents = [*explanation.contributions, *explanation.strengths]
    evidence = service.visible_evidence(
        db_session=session,
        subject=subject,
        now=now,
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
        alerts=[_raised(a, evidence) for a in assessment.alerts],
        model_version=model.version,
        held_elsewhere=evidence.held_elsewhere,
        entries_read=_entries_read(session, subject, person.id, readings, now),
    )


def _entries_read(
    session: Session,
    subject: AuthSubject,
    person_id: int,
    readings: dict[int, EntryReading],
    now: dt.datetime,
) -> list[EntryReadingRead]:
    """The readings of the entries the caller may see; the words of others are never shown."""
    if not readings:
        return []
    visible = service.visible_evidence(
        db_session=session, subject=subject, now=now, person_id=person_id, refs=readings
    )
    return [
        EntryReadingRead(
            ref=ref,
            scored_as=reading.code,
            severity=reading.severity,
            rule=reading.rule or "",
            words=list(reading.words),
            note=reading.note,
        )
        for ref, reading in sorted(readings.items())
        if visible.shows(ref)
    ]


def _raised(alert: RaisedAlert, evidence: service.VisibleEvidence) -> RaisedAlertRead:
    kind, reason = evidence.alert_text(alert.kind, alert.reason, alert.evidence)
    return RaisedAlertRead.model_validate(alert).model_copy(
        update={"kind": kind, "reason": reason, "evidence": evidence.refs(alert.evidence)}
    )


@router.get("/alerts", response_model=list[AlertRead], summary="Alerts for children you may see")
def alerts(
    session: DbSession,
    subject: ChildReader,
    alert_status: Annotated[AlertStatus | None, Query(alias="status")] = None,
    routed_to_agency_id: int | None = None,
) -> list[AlertRead]:
    """Newest first; only children the caller has a need to know about. An alert resting on
    entries the caller may not see has its kind, reason, decision and outcome withheld and
    those entries counted (``withheld``); routing to another agency is shown only to readers
    with the pooled view of the child (``harm.service.disclose_alerts``)."""
    found = service.readable_alerts(
        db_session=session,
        subject=subject,
        now=utc_now(),
        statuses=[alert_status] if alert_status is not None else [],
        routed_to_agency_id=routed_to_agency_id,
    )
    return service.disclose_alerts(db_session=session, reader=subject, alerts=found)


ALERT_DECISION_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "The alert is routed to another agency"},
    404: {"description": "No such alert, or none about a child you may see"},
    409: {"description": "The alert's status does not allow this step"},
    422: {"description": "A body naming who decided (the decision is the signed-in user's)"},
}


def _decided(change: Any) -> HarmAlert:
    try:
        alert: HarmAlert = change()
    except service.AlertNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except service.AlertNotYours as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except service.AlertWorkflowError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return alert


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AlertRead,
    summary="Record the decision taken on a new alert (as the signed-in user)",
    responses=ALERT_DECISION_RESPONSES,
)
def acknowledge(
    alert_id: str, body: AlertAcknowledge, session: DbSession, subject: ChildWriter
) -> AlertRead:
    """Only the agency the alert is routed to decides on it; the decision is attributed to
    the signed-in user, never to a name in the body."""
    alert = _decided(
        lambda: service.acknowledge_alert(
            db_session=session, decider=subject, public_id=alert_id, decision=body.decision
        )
    )
    return service.disclose_alerts(db_session=session, reader=subject, alerts=[alert])[0]


@router.post(
    "/alerts/{alert_id}/close",
    response_model=AlertRead,
    summary="Close an acknowledged alert with its outcome (as the signed-in user)",
    responses=ALERT_DECISION_RESPONSES,
)
def close(alert_id: str, body: AlertClose, session: DbSession, subject: ChildWriter) -> AlertRead:
    alert = _decided(
        lambda: service.close_alert(
            db_session=session, decider=subject, public_id=alert_id, outcome=body.outcome
        )
    )
    return service.disclose_alerts(db_session=session, reader=subject, alerts=[alert])[0]


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
