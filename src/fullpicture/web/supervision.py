"""The supervision page for designated leads and team managers (``supervision:read``): a
practitioner of their own agency, each child the practitioner leads (as the supervisor may see
them) with open alerts, overdue steps, unshared significant entries, open escalations and the
reflective prompts drawn from the child's record, then the dated supervision record with its
decisions and actions. Same service as the API (``workflow.supervision``); a record that fails
its checks comes back in a GOV.UK error summary with what was typed kept and nothing saved."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access.auth import DbSession
from fullpicture.access.models import UserAccount
from fullpicture.access.subject import AuthSubject
from fullpicture.core.database import utc_now
from fullpicture.web.templating import WEB_DIR, page_templates, render_page
from fullpicture.workflow import supervision
from fullpicture.workflow.api import Supervisor, SupervisorWriter, Username

templates = page_templates(WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)
LIMIT = 8000
#: Action rows on the form; the service takes up to 50 through the API.
ACTION_ROWS = 3


def _view(db_session: Session, subject: AuthSubject, username: str) -> supervision.SupervisionView:
    try:
        return supervision.supervision_view(
            db_session=db_session, subject=subject, username=username
        )
    except supervision.PractitionerNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


def _render(
    request: Request,
    db_session: Session,
    subject: AuthSubject,
    view: supervision.SupervisionView,
    typed: dict[str, Any],
    errors: list[dict[str, str]] | None = None,
) -> HTMLResponse:
    return render_page(
        templates,
        request,
        "supervision.html",
        {"view": view, "typed": typed, "errors": errors or [], "rows": range(1, ACTION_ROWS + 1)},
        subject=subject,
        db_session=db_session,
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT if errors else 200,
    )


@router.get("/supervision", response_class=HTMLResponse)
def practitioners(request: Request, subject: Supervisor, db_session: DbSession) -> HTMLResponse:
    """The practitioners of the supervisor's own agency, to choose whom to supervise."""
    users = (
        db_session.scalars(
            select(UserAccount)
            .where(UserAccount.agency_id == subject.agency_id, UserAccount.id != subject.user_id)
            .order_by(UserAccount.username)
        ).all()
        if subject.agency_id is not None
        else []
    )
    return render_page(
        templates,
        request,
        "supervision_list.html",
        {"practitioners": [u.username for u in users]},
        subject=subject,
        db_session=db_session,
    )


@router.get("/supervision/{username}", response_class=HTMLResponse)
def supervision_page(
    request: Request, username: Username, subject: Supervisor, db_session: DbSession
) -> HTMLResponse:
    view = _view(db_session, subject, username)
    typed: dict[str, Any] = {"held_on": utc_now().date().isoformat()}
    return _render(request, db_session, subject, view, typed)


@router.post("/supervision/{username}")
async def record_supervision(
    request: Request, username: Username, subject: SupervisorWriter, db_session: DbSession
) -> Response:
    form = await request.form()
    names = ["held_on", "child_id", "reflections", "decisions"] + [
        f"action-{i}-{part}" for i in range(1, ACTION_ROWS + 1) for part in ("what", "owner", "due")
    ]
    typed: dict[str, Any] = {name: str(form.get(name) or "")[:LIMIT] for name in names}
    view = _view(db_session, subject, username)
    errors: list[dict[str, str]] = []
    held_on: dt.date | None = None
    try:
        held_on = dt.date.fromisoformat(typed["held_on"].strip())
    except ValueError:
        errors.append(
            {
                "text": "Enter the date held as year-month-day, for example 2026-12-06",
                "href": "#held_on",
            }
        )
    if held_on is not None and held_on > utc_now().date():
        errors.append({"text": "The date held must be today or in the past", "href": "#held_on"})
    if typed["child_id"] and typed["child_id"] not in {c.child_id for c in view.children}:
        errors.append({"text": "Choose one of the practitioner's children", "href": "#child_id"})
    actions: list[dict[str, str]] = []
    for i in range(1, ACTION_ROWS + 1):
        what, owner, due = (typed[f"action-{i}-{p}"].strip() for p in ("what", "owner", "due"))
        if not (what or owner or due):
            continue
        if not what:
            errors.append(
                {"text": f"Action {i}: say what is to be done", "href": f"#action-{i}-what"}
            )
        if due:
            try:
                dt.date.fromisoformat(due)
            except ValueError:
                errors.append(
                    {
                        "text": f"Action {i}: enter the due date as year-month-day",
                        "href": f"#action-{i}-due",
                    }
                )
        actions.append({"action": what, "owner": owner, "due_on": due})
    try:
        record_in = supervision.SupervisionRecordIn(
            held_on=held_on,
            child_id=typed["child_id"] or None,
            reflections=typed["reflections"],
            decisions=typed["decisions"],
            actions=actions,
        )
    except ValidationError as exc:
        for problem in exc.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "record"
            errors.append(
                {
                    "text": f"{field.replace('_', ' ').capitalize()}: {problem['msg']}",
                    "href": f"#{field}",
                }
            )
    if errors:
        return _render(request, db_session, subject, view, typed, errors)
    try:
        supervision.record_supervision(
            db_session=db_session, subject=subject, username=username, record_in=record_in
        )
    except supervision.PractitionerNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return RedirectResponse(
        f"/supervision/{username}?recorded=1#records", status_code=status.HTTP_303_SEE_OTHER
    )
