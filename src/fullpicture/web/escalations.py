"""Escalation of professional disagreement in the web app: raise one about a child (from the
child's page), then on its page the agency raised with responds, the raising agency takes it
to the next stage, and either resolves it. The same service and refusals as the API
(``workflow.escalation``); a form that fails its checks comes back with a GOV.UK error summary,
what was typed kept and nothing saved. Only the two agencies party to it see or act on it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.auth import ChildReader, ChildWriter, DbSession, PersonPublicId
from fullpicture.access.schemas import UUID_PATTERN
from fullpicture.access.subject import AuthSubject
from fullpicture.agencies.models import Agency
from fullpicture.web.templating import WEB_DIR, page_templates, render_page
from fullpicture.workflow import escalation as escalation_service
from fullpicture.workflow.models import Escalation, EscalationStatus
from fullpicture.workflow.rules import escalation_route
from fullpicture.workflow.schemas import (
    EscalationEscalate,
    EscalationRaise,
    EscalationResolve,
    EscalationRespond,
)
from fullpicture.workflow.service import CaseRefused

templates = page_templates(WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)
LIMIT = 4000
UNPROCESSABLE = status.HTTP_422_UNPROCESSABLE_CONTENT
EscalationPublicId = Annotated[str, Path(pattern=UUID_PATTERN, description="a UUID")]


def _problems(exc: ValidationError, prefix: str) -> list[dict[str, str]]:
    return [
        {
            "text": f"{str(p['loc'][0]).replace('_', ' ').capitalize()}: {p['msg']}",
            "href": f"#{prefix}{p['loc'][0]}" if p["loc"] else f"#{prefix}form",
        }
        for p in exc.errors()
    ]


# --- raise ---------------------------------------------------------------------------------


def _raise_context(db_session: Session, subject: AuthSubject, person_id: str) -> dict[str, Any]:
    person = access_service.open_person(
        db_session=db_session,
        subject=subject,
        person_public_id=person_id,
        purpose="escalation form",
    )
    return {
        "child_id": person.public_id,
        "route": escalation_route(),
        "agencies": [
            {"code": c, "name": n}
            for i, c, n in db_session.execute(
                select(Agency.id, Agency.code, Agency.name).order_by(Agency.name)
            )
            if i != subject.agency_id
        ],
    }


def _render_raise(
    request: Request,
    db_session: Session,
    subject: AuthSubject,
    context: dict[str, Any],
    typed: dict[str, str],
    errors: list[dict[str, str]] | None = None,
) -> HTMLResponse:
    return render_page(
        templates,
        request,
        "escalation_form.html",
        context | {"typed": typed, "errors": errors or []},
        subject=subject,
        db_session=db_session,
        status_code=UNPROCESSABLE if errors else 200,
    )


@router.get("/children/{person_id}/escalations/new", response_class=HTMLResponse)
def escalation_form(
    request: Request, person_id: PersonPublicId, subject: ChildWriter, db_session: DbSession
) -> HTMLResponse:
    context = _raise_context(db_session, subject, person_id)
    typed = {"with_agency_code": "", "raised_with": "", "disagreement": ""}
    return _render_raise(request, db_session, subject, context, typed)


@router.post("/children/{person_id}/escalations/new")
async def raise_escalation(
    request: Request, person_id: PersonPublicId, subject: ChildWriter, db_session: DbSession
) -> Response:
    form = await request.form()
    typed = {
        name: str(form.get(name) or "")[:LIMIT]
        for name in ("with_agency_code", "raised_with", "disagreement")
    }
    context = _raise_context(db_session, subject, person_id)
    try:
        raise_in = EscalationRaise(**typed)
    except ValidationError as exc:
        return _render_raise(request, db_session, subject, context, typed, _problems(exc, ""))
    try:
        escalation = escalation_service.raise_escalation(
            db_session=db_session,
            subject=subject,
            person_public_id=person_id,
            raise_in=raise_in,
        )
    except CaseRefused as exc:
        errors = [{"text": str(exc), "href": "#with_agency_code"}]
        return _render_raise(request, db_session, subject, context, typed, errors)
    return RedirectResponse(
        f"/escalations/{escalation.public_id}", status_code=status.HTTP_303_SEE_OTHER
    )


# --- one escalation: respond, escalate, resolve ---------------------------------------------


def _render_escalation(
    request: Request,
    db_session: Session,
    subject: AuthSubject,
    escalation: Escalation,
    typed: dict[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
) -> HTMLResponse:
    route = escalation_route()
    read = escalation_service.to_read(db_session, escalation)
    # The read model carries codes (the API's contract); a practitioner reads agencies' names.
    names = {
        id_: name
        for id_, name in db_session.execute(
            select(Agency.id, Agency.name).where(
                Agency.id.in_((escalation.raised_by_agency_id, escalation.with_agency_id))
            )
        )
    }
    is_open = escalation.status is EscalationStatus.OPEN
    return render_page(
        templates,
        request,
        "escalation.html",
        {
            "escalation": read,
            "raised_by_agency": names.get(
                escalation.raised_by_agency_id, read.raised_by_agency_code
            ),
            "with_agency": names.get(escalation.with_agency_id, read.with_agency_code),
            "may_respond": is_open and subject.agency_id == escalation.with_agency_id,
            "may_escalate": is_open
            and subject.agency_id == escalation.raised_by_agency_id
            and read.current_stage < route.last,
            "may_resolve": is_open
            and subject.agency_id in (escalation.raised_by_agency_id, escalation.with_agency_id),
            "next_stage": route.stage(read.current_stage + 1)
            if read.current_stage < route.last
            else None,
            "typed": typed or {},
            "errors": errors or [],
        },
        subject=subject,
        db_session=db_session,
        status_code=UNPROCESSABLE if errors else 200,
    )


@router.get("/escalations/{escalation_id}", response_class=HTMLResponse)
def escalation_page(
    request: Request, escalation_id: EscalationPublicId, subject: ChildReader, db_session: DbSession
) -> HTMLResponse:
    escalation = escalation_service.open_escalation(
        db_session=db_session,
        subject=subject,
        escalation_public_id=escalation_id,
        purpose="escalation page",
    )
    return _render_escalation(request, db_session, subject, escalation)


async def _act(
    request: Request,
    escalation_id: str,
    subject: AuthSubject,
    db_session: Session,
    schema: type[escalation_service.EscalationChange],
    prefix: str,
) -> Response:
    """Check a respond, escalate or resolve form on the server and make the change, or show
    the page again with what to fix (nothing saved)."""
    fields = tuple(schema.model_fields)
    form = await request.form()
    typed = {f"{prefix}{name}": str(form.get(f"{prefix}{name}") or "")[:LIMIT] for name in fields}
    escalation = escalation_service.open_escalation(
        db_session=db_session,
        subject=subject,
        escalation_public_id=escalation_id,
        purpose="escalation page",
    )
    try:
        change = schema(**{name: typed[f"{prefix}{name}"] for name in fields})
    except ValidationError as exc:
        return _render_escalation(
            request, db_session, subject, escalation, typed, _problems(exc, prefix)
        )
    try:
        escalation_service.change_escalation(
            db_session=db_session,
            subject=subject,
            escalation_public_id=escalation_id,
            change=change,
        )
    except CaseRefused as exc:
        errors = [{"text": str(exc), "href": f"#{prefix}{fields[0]}"}]
        return _render_escalation(request, db_session, subject, escalation, typed, errors)
    return RedirectResponse(f"/escalations/{escalation_id}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/escalations/{escalation_id}/respond")
async def respond(
    request: Request, escalation_id: EscalationPublicId, subject: ChildWriter, db_session: DbSession
) -> Response:
    return await _act(request, escalation_id, subject, db_session, EscalationRespond, "respond-")


@router.post("/escalations/{escalation_id}/escalate")
async def escalate(
    request: Request, escalation_id: EscalationPublicId, subject: ChildWriter, db_session: DbSession
) -> Response:
    return await _act(request, escalation_id, subject, db_session, EscalationEscalate, "escalate-")


@router.post("/escalations/{escalation_id}/resolve")
async def resolve(
    request: Request, escalation_id: EscalationPublicId, subject: ChildWriter, db_session: DbSession
) -> Response:
    return await _act(request, escalation_id, subject, db_session, EscalationResolve, "resolve-")
