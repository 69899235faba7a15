"""Alerts: the list of alerts about children the practitioner may see, each alert with its
evidence entries and reason in words, and the two decisions on it — acknowledge with what was
decided, close with what happened for the child — recorded as the signed-in user (a form
never carries a name)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from fullpicture.access import person_summaries
from fullpicture.access.auth import ChildReader, ChildWriter, DbSession
from fullpicture.access.roles import Scope
from fullpicture.access.service import PersonNotVisible
from fullpicture.access.subject import AuthSubject
from fullpicture.chronology import repository as chronology_repository
from fullpicture.chronology import routes as chronology_routes
from fullpicture.core.database import utc_now
from fullpicture.harm import service as harm_service
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.web.templating import WEB_DIR, page_templates, render_page

templates = page_templates(WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)

#: The list's choices: which alerts to show.
SHOW_CHOICES = {
    "open": (AlertStatus.NEW, AlertStatus.ACKNOWLEDGED),
    "new": (AlertStatus.NEW,),
    "closed": (AlertStatus.CLOSED,),
    "all": (),
}
DECISION_MAX = 4000


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    subject: ChildReader,
    db_session: DbSession,
    show: Annotated[str, Query(max_length=10)] = "open",
    mine: Annotated[str, Query(max_length=3)] = "",
) -> HTMLResponse:
    now = utc_now()
    show = show if show in SHOW_CHOICES else "open"
    alerts = harm_service.readable_alerts(
        db_session=db_session,
        subject=subject,
        now=now,
        statuses=SHOW_CHOICES[show],
        routed_to_agency_id=subject.agency_id if mine == "yes" else None,
        limit=200,
    )
    children = person_summaries.child_summaries(
        db_session, subject=subject, now=now, person_ids=[a.person_id for a in alerts]
    )
    shown = harm_service.disclose_alerts(db_session=db_session, reader=subject, alerts=alerts)
    return render_page(
        templates,
        request,
        "alerts.html",
        {"alerts": shown, "children": children, "show": show, "mine": mine == "yes"},
        subject=subject,
        db_session=db_session,
    )


def _alert_page(
    request: Request,
    subject: AuthSubject,
    db_session: Session,
    alert: HarmAlert,
    *,
    errors: list[dict[str, str]] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = utc_now()
    child = person_summaries.child_summaries(
        db_session, subject=subject, now=now, person_ids=[alert.person_id]
    ).get(alert.person_id)
    chronology = chronology_repository.child_chronology(
        db_session=db_session,
        person_id=alert.person_id,
        viewer=chronology_repository.Viewer(subject, now),
        model=chronology_routes.chronology_rules(request),
    )
    shown = harm_service.disclose_alerts(db_session=db_session, reader=subject, alerts=[alert])[0]
    evidence_ids = set(shown.evidence.get("event_ids", []))
    evidence = [e for e in chronology.entries if e.event_id in evidence_ids]
    may_decide = subject.has(Scope.CHILDREN_WRITE) and (
        subject.has(Scope.ALERTS_DECIDE_ANY_AGENCY)
        or (
            alert.routed_to_agency_id is not None and alert.routed_to_agency_id == subject.agency_id
        )
    )
    return render_page(
        templates,
        request,
        "alert.html",
        {
            "alert": shown,
            "child": child,
            "evidence": evidence,
            "errors": errors or [],
            "typed": typed or {},
            "may_decide": may_decide,
        },
        subject=subject,
        db_session=db_session,
        status_code=status_code,
    )


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(
    request: Request, alert_id: str, subject: ChildReader, db_session: DbSession
) -> HTMLResponse:
    alert = _open(db_session, subject, alert_id)
    return _alert_page(request, subject, db_session, alert)


def _open(db_session: Session, subject: AuthSubject, alert_id: str) -> HarmAlert:
    try:
        return harm_service.open_alert(
            db_session=db_session, reader=subject, public_id=alert_id[:36], purpose="alert page"
        )
    except harm_service.AlertNotFound:
        # The same words as for a child the user may not see (web.sign_in maps it to a 404).
        raise PersonNotVisible(
            "no such alert, or you have no need to know about its child"
        ) from None


def _decide(
    request: Request,
    alert_id: str,
    subject: AuthSubject,
    db_session: Session,
    *,
    field: str,
    text: str,
    label: str,
) -> Response:
    alert = _open(db_session, subject, alert_id)
    if len(text.strip()) < 3:
        return _alert_page(
            request,
            subject,
            db_session,
            alert,
            errors=[{"text": f"Enter {label}", "href": f"#{field}"}],
            typed={field: text},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    try:
        if field == "decision":
            harm_service.acknowledge_alert(
                db_session=db_session, decider=subject, public_id=alert.public_id, decision=text
            )
        else:
            harm_service.close_alert(
                db_session=db_session, decider=subject, public_id=alert.public_id, outcome=text
            )
    except (harm_service.AlertWorkflowError, harm_service.AlertNotYours) as exc:
        return _alert_page(
            request,
            subject,
            db_session,
            alert,
            errors=[{"text": str(exc), "href": f"#{field}"}],
            typed={field: text},
            status_code=status.HTTP_403_FORBIDDEN
            if isinstance(exc, harm_service.AlertNotYours)
            else status.HTTP_409_CONFLICT,
        )
    return RedirectResponse(f"/alerts/{alert.public_id}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge_alert(
    request: Request,
    alert_id: str,
    subject: ChildWriter,
    db_session: DbSession,
    decision: Annotated[str, Form(max_length=DECISION_MAX)] = "",
) -> Response:
    """Record what was decided about a new alert, as the signed-in user."""
    return _decide(
        request,
        alert_id,
        subject,
        db_session,
        field="decision",
        text=decision,
        label="what was decided about the alert, and why",
    )


@router.post("/alerts/{alert_id}/close")
def close_alert(
    request: Request,
    alert_id: str,
    subject: ChildWriter,
    db_session: DbSession,
    outcome: Annotated[str, Form(max_length=DECISION_MAX)] = "",
) -> Response:
    """Close an acknowledged alert with its outcome for the child, as the signed-in user."""
    return _decide(
        request,
        alert_id,
        subject,
        db_session,
        field="outcome",
        text=outcome,
        label="what happened for the child",
    )
