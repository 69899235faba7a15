"""Record an entry (a concern or a strength) about a child, and correct it court-safely.

An entry is checked like a feed row and saved as version 1 of one of the practitioner's own
agency's entries; a correction is a new version with who and why, and every version stays
visible on the entry's history page (research-notes §7). Concern-code suggestions come from
the classifier with the words they came from; the practitioner chooses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from fullpicture.access import person_summaries
from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.auth import ChildWriter, DbSession, PersonPublicId
from fullpicture.access.subject import AuthSubject
from fullpicture.chronology.models import InformationType, ParticipantRole
from fullpicture.chronology.taxonomy import default_taxonomy
from fullpicture.core.database import utc_now
from fullpicture.imports import corrections
from fullpicture.referrals.classifier import classify_concerns
from fullpicture.web.templating import WEB_DIR, page_templates, render_page

templates = page_templates(WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)

FIELDS = (
    "concern_code",
    "event_date",
    "severity",
    "summary",
    "information_type",
    "impact_on_child",
    "action_taken",
    "reason",
    "action",
)
FIELD_LIMIT = 8000


async def _typed(request: Request) -> dict[str, str]:
    form = await request.form()
    typed = {name: str(form.get(name) or "")[:FIELD_LIMIT] for name in FIELDS}
    # Each of the agency's records of the child, with the role the person had.
    typed |= {
        str(key): str(value)[:32] for key, value in form.items() if str(key).startswith("role:")
    }
    return typed


def _own_records(
    db_session: Session, subject: AuthSubject, person_public_id: str, purpose: str
) -> tuple[Any, person_summaries.ChildSummary, str, list[person_summaries.ReadableRecord]]:
    person = access_service.open_person(
        db_session=db_session, subject=subject, person_public_id=person_public_id, purpose=purpose
    )
    summary = person_summaries.child_summaries(
        db_session, subject=subject, now=utc_now(), person_ids=[person.id]
    ).get(person.id) or person_summaries.summarise(person.id, person.public_id, [])
    code = (
        access_repository.agency_code_of(db_session, subject.agency_id)
        if subject.agency_id is not None
        else None
    )
    if code is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "Entries are recorded by an agency: your account belongs to none.",
        )
    return person, summary, code, person_summaries.own_records(summary, code)


def _feed_fields(
    typed: dict[str, str], records: list[person_summaries.ReadableRecord]
) -> dict[str, Any]:
    def blank(name: str) -> str | None:
        return typed[name].strip() or None

    return {
        "event_date": blank("event_date"),
        "concern_code": blank("concern_code"),
        "severity": blank("severity"),
        "summary": blank("summary"),
        "information_type": blank("information_type"),
        "impact_on_child": blank("impact_on_child"),
        "action_taken": blank("action_taken"),
        "people": [
            {"record_id": r.record_ref, "role": typed.get(f"role:{r.record_ref}") or "subject"}
            for r in records
            if typed.get(f"role:{r.record_ref}", "subject") != "none"
        ],
    }


def _render(
    request: Request,
    db_session: Session,
    subject: AuthSubject,
    *,
    name: str,
    context: dict[str, Any],
    typed: dict[str, str],
    errors: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    suggestions = classify_concerns(typed["summary"]) if typed.get("action") == "suggest" else []
    return render_page(
        templates,
        request,
        name,
        context
        | {
            "typed": typed,
            "errors": errors or [],
            "suggestions": suggestions,
            "taxonomy": default_taxonomy(),
            "information_types": list(InformationType),
            "roles": list(ParticipantRole),
        },
        subject=subject,
        db_session=db_session,
        status_code=status_code,
    )


def _problems(exc: corrections.EventCorrectionError) -> list[dict[str, str]]:
    return [
        {"text": f"{r.field.replace('_', ' ').capitalize()}: {r.message}", "href": f"#{r.field}"}
        for r in exc.reasons
    ]


@router.get("/children/{person_id}/entries/new", response_class=HTMLResponse)
def new_entry_page(
    request: Request, person_id: PersonPublicId, subject: ChildWriter, db_session: DbSession
) -> HTMLResponse:
    _person, child, code, own = _own_records(db_session, subject, person_id, "record an entry")
    typed = dict.fromkeys(FIELDS, "") | {"information_type": "fact"}
    return _render(
        request,
        db_session,
        subject,
        name="entry_form.html",
        context={"child": child, "own": own, "agency_code": code, "correcting": None},
        typed=typed,
    )


@router.post("/children/{person_id}/entries/new")
async def record_entry(
    request: Request, person_id: PersonPublicId, subject: ChildWriter, db_session: DbSession
) -> Response:
    """Suggest codes for the summary, or record the entry as the signed-in practitioner."""
    typed = await _typed(request)
    _person, child, code, own = _own_records(db_session, subject, person_id, "record an entry")
    context = {"child": child, "own": own, "agency_code": code, "correcting": None}
    if typed["action"] == "suggest":
        return _render(
            request, db_session, subject, name="entry_form.html", context=context, typed=typed
        )
    try:
        event = corrections.record_entry(
            db_session=db_session,
            agency_code=code,
            fields=_feed_fields(typed, own),
            recorded_by=subject.actor,
        )
    except corrections.EventCorrectionError as exc:
        return _render(
            request,
            db_session,
            subject,
            name="entry_form.html",
            context=context,
            typed=typed,
            errors=_problems(exc),
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    return RedirectResponse(
        f"/children/{person_id}/entries/{event.event_ref}?saved=1",
        status_code=status.HTTP_303_SEE_OTHER,
    )


def _history(
    db_session: Session, code: str, event_ref: str, own: list[person_summaries.ReadableRecord]
) -> list[Any]:
    try:
        versions = corrections.event_history(
            db_session=db_session, agency_code=code, event_ref=event_ref[:64]
        )
    except corrections.EventNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such entry of your agency") from exc
    # Only an entry about this child: one of its people is one of the agency's records of them.
    refs = {r.record_ref for r in own}
    if not any(p.record_ref in refs for v in versions for p in v.participants):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such entry of your agency")
    return versions


@router.get("/children/{person_id}/entries/{event_ref}", response_class=HTMLResponse)
def entry_history_page(
    request: Request,
    person_id: PersonPublicId,
    event_ref: str,
    subject: ChildWriter,
    db_session: DbSession,
) -> HTMLResponse:
    """Every version of one of the agency's entries, with who recorded each and why."""
    _person, child, code, own = _own_records(db_session, subject, person_id, "entry history")
    versions = _history(db_session, code, event_ref, own)
    # The entry's people by name where the practitioner may read the record named (the same
    # service that names the child), by reference where not.
    assert subject.agency_id is not None  # _own_records refused an account of no agency
    people_names = person_summaries.names_of_records(
        db_session,
        subject=subject,
        now=utc_now(),
        agency_id=subject.agency_id,
        record_refs=[p.record_ref for v in versions for p in v.participants],
    )
    return render_page(
        templates,
        request,
        "entry_history.html",
        {
            "child": child,
            "versions": versions,
            "event_ref": versions[-1].event_ref,
            "people_names": people_names,
        },
        subject=subject,
        db_session=db_session,
    )


def _typed_from(event: Any) -> dict[str, str]:
    row = corrections.event_as_feed_row(event, agency_code="")
    typed = dict.fromkeys(FIELDS, "")
    typed |= {
        name: "" if row.get(name) is None else str(row[name])
        for name in (
            "concern_code",
            "event_date",
            "severity",
            "summary",
            "information_type",
            "impact_on_child",
            "action_taken",
        )
    }
    typed |= {f"role:{p['record_id']}": p["role"] for p in row["people"]}
    return typed


@router.get("/children/{person_id}/entries/{event_ref}/correct", response_class=HTMLResponse)
def correct_entry_page(
    request: Request,
    person_id: PersonPublicId,
    event_ref: str,
    subject: ChildWriter,
    db_session: DbSession,
) -> HTMLResponse:
    _person, child, code, own = _own_records(db_session, subject, person_id, "correct an entry")
    versions = _history(db_session, code, event_ref, own)
    return _render(
        request,
        db_session,
        subject,
        name="entry_form.html",
        context={"child": child, "own": own, "agency_code": code, "correcting": versions[-1]},
        typed=_typed_from(versions[-1]),
    )


@router.post("/children/{person_id}/entries/{event_ref}/correct")
async def correct_entry(
    request: Request,
    person_id: PersonPublicId,
    event_ref: str,
    subject: ChildWriter,
    db_session: DbSession,
) -> Response:
    """Record a correction as a new version, by the signed-in practitioner, with why."""
    typed = await _typed(request)
    _person, child, code, own = _own_records(db_session, subject, person_id, "correct an entry")
    versions = _history(db_session, code, event_ref, own)
    context = {"child": child, "own": own, "agency_code": code, "correcting": versions[-1]}
    if typed["action"] == "suggest":
        return _render(
            request, db_session, subject, name="entry_form.html", context=context, typed=typed
        )
    try:
        corrections.correct_event(
            db_session=db_session,
            agency_code=code,
            event_ref=versions[-1].event_ref,
            changes=_feed_fields(typed, own),
            changed_by=subject.actor,
            reason=typed["reason"],
        )
    except corrections.EventCorrectionError as exc:
        return _render(
            request,
            db_session,
            subject,
            name="entry_form.html",
            context=context,
            typed=typed,
            errors=_problems(exc),
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    return RedirectResponse(
        f"/children/{person_id}/entries/{versions[-1].event_ref}?saved=1",
        status_code=status.HTTP_303_SEE_OTHER,
    )
