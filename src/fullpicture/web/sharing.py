"""Record a sharing decision about a child, with the seven golden rules shown beside the form
(research-notes §2.1). The same rules and refusals as the API: a decision without its lawful
basis, or (not sharing) its reason, comes back with every problem in a GOV.UK error summary
and nothing saved."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import person_summaries
from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.auth import ChildWriter, DbSession, PersonPublicId
from fullpicture.access.subject import AuthSubject
from fullpicture.agencies.models import Agency
from fullpicture.chronology import visibility as chronology_visibility
from fullpicture.chronology.models import DatePrecision
from fullpicture.chronology.repository import date_label
from fullpicture.chronology.taxonomy import default_taxonomy
from fullpicture.core.database import utc_now
from fullpicture.sharing import service as sharing_service
from fullpicture.sharing.lawful_bases import golden_rules, lawful_bases
from fullpicture.sharing.schemas import EntryRef, SharingDecisionCreate
from fullpicture.web.templating import WEB_DIR, page_templates, render_page

templates = page_templates(WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)

FIELDS = (
    "outcome",
    "to_agency_code",
    "recipient_role",
    "recipient_name",
    "purpose",
    "regime",
    "basis",
    "special_category_condition",
    "reason_not_shared",
    "family_informed",
    "family_not_informed_reason",
    "documents",
)
LIMIT = 4000


def _context(db_session: Session, subject: AuthSubject, person_public_id: str) -> dict[str, Any]:
    now = utc_now()
    person = access_service.open_person(
        db_session=db_session,
        subject=subject,
        person_public_id=person_public_id,
        purpose="sharing decision form",
        now=now,
    )
    summary = person_summaries.child_summaries(
        db_session, subject=subject, now=now, person_ids=[person.id]
    ).get(person.id) or person_summaries.summarise(person.id, person.public_id, [])
    own_code = (
        access_repository.agency_code_of(db_session, subject.agency_id)
        if subject.agency_id is not None
        else None
    )
    agencies = db_session.execute(
        select(Agency.id, Agency.code, Agency.name).order_by(Agency.name)
    ).all()
    context: dict[str, Any] = {
        "child_id": person.public_id,
        "child": summary,
        # A decision to share, or not to, is about what the agency holds of the child: with no
        # record of them (a front door reading the pooled view) it has nothing to decide on,
        # and is told so rather than offered a form; the service refuses such a decision from
        # every route (sharing.service.holds_a_record, docs/sharing.md).
        "holds_a_record": sharing_service.holds_a_record(summary, own_code),
        "agencies": [
            {"code": code, "name": name}
            for agency_id, code, name in agencies
            if agency_id != subject.agency_id
        ],
        "rules": golden_rules(),
        "bases": lawful_bases(),
    }
    if not context["holds_a_record"]:
        return context | {"entries": []}
    entries = (
        db_session.execute(
            select(
                chronology_visibility.readable_events(subject, now, person_id=person.id).subquery(
                    "shareable"
                )
            )
        )
        .mappings()
        .all()
    )
    latest: dict[tuple[int, str], Any] = {}
    for entry in entries:
        if entry["agency_id"] != subject.agency_id:
            # Another agency's entry, shared with this one or read in the pooled view, is
            # theirs to share: the service refuses it (golden rules 6-7), so it is not offered.
            continue
        key = (entry["agency_id"], entry["event_ref"])
        if key not in latest or entry["version"] > latest[key]["version"]:
            latest[key] = entry
    # Each entry as the child's chronology shows it: its date as precisely as it is known, the
    # agency by name, and what it is (the concern code and its category).
    code_of = {agency_id: code for agency_id, code, _name in agencies}
    name_of = {agency_id: name for agency_id, _code, name in agencies}
    taxonomy = default_taxonomy().by_code
    return context | {
        "entries": [
            {
                "value": f"{code_of[e['agency_id']]}:{e['event_ref']}",
                "date": date_label(e["event_date"], DatePrecision(e["date_precision"])),
                "agency": name_of[e["agency_id"]],
                "code": e["concern_code"],
                "category": (
                    taxonomy[e["concern_code"]].category
                    if e["concern_code"] in taxonomy
                    else "not in the taxonomy"
                ),
                "summary": e["summary"],
            }
            for e in sorted(
                latest.values(),
                key=lambda e: (e["event_date"], code_of[e["agency_id"]], e["event_ref"]),
            )
        ],
    }


def _render(
    request: Request,
    db_session: Session,
    subject: AuthSubject,
    context: dict[str, Any],
    typed: dict[str, Any],
    errors: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render_page(
        templates,
        request,
        "sharing_form.html",
        context | {"typed": typed, "errors": errors or []},
        subject=subject,
        db_session=db_session,
        status_code=status_code,
    )


@router.get("/children/{person_id}/sharing/new", response_class=HTMLResponse)
def sharing_form(
    request: Request, person_id: PersonPublicId, subject: ChildWriter, db_session: DbSession
) -> HTMLResponse:
    context = _context(db_session, subject, person_id)
    typed: dict[str, Any] = dict.fromkeys(FIELDS, "") | {"outcome": "shared", "entries": []}
    return _render(request, db_session, subject, context, typed)


@router.post("/children/{person_id}/sharing/new")
async def record_sharing(
    request: Request, person_id: PersonPublicId, subject: ChildWriter, db_session: DbSession
) -> Response:
    form = await request.form()
    typed: dict[str, Any] = {name: str(form.get(name) or "")[:LIMIT] for name in FIELDS}
    typed["entries"] = [str(v)[:140] for v in form.getlist("entries")][:500]
    typed["special_category"] = form.get("special_category") == "yes"
    context = _context(db_session, subject, person_id)
    errors: list[dict[str, str]] = []
    try:
        decision_in = SharingDecisionCreate(
            outcome=typed["outcome"] or "shared",
            to_agency_code=typed["to_agency_code"],
            recipient_role=typed["recipient_role"],
            recipient_name=typed["recipient_name"] or None,
            purpose=typed["purpose"],
            entries=[
                EntryRef(agency_code=v.split(":", 1)[0], event_ref=v.split(":", 1)[1])
                for v in typed["entries"]
                if ":" in v
            ],
            documents=[d for d in typed["documents"].splitlines() if d.strip()][:50],
            regime=typed["regime"] or None,
            basis=typed["basis"] or None,
            special_category=typed["special_category"],
            special_category_condition=typed["special_category_condition"] or None,
            reason_not_shared=typed["reason_not_shared"] or None,
            family_informed=typed["family_informed"] == "yes",
            family_not_informed_reason=typed["family_not_informed_reason"] or None,
        )
    except ValidationError as exc:
        for problem in exc.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "form"
            errors.append(
                {
                    "text": f"{field.replace('_', ' ').capitalize()}: {problem['msg']}",
                    "href": f"#{field}",
                }
            )
        if not context["holds_a_record"]:
            # No form is shown to correct: the page says why nothing can be recorded.
            errors = []
        return _render(
            request,
            db_session,
            subject,
            context,
            typed,
            errors,
            status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    try:
        sharing_service.record_decision(
            db_session=db_session,
            subject=subject,
            person_public_id=person_id,
            decision_in=decision_in,
        )
    except sharing_service.NoRecordHeld:
        # Sent anyway (an old tab, a crafted post): the page saying why, and nothing saved.
        return _render(
            request,
            db_session,
            subject,
            context | {"holds_a_record": False, "entries": []},
            typed,
            [],
            status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    except sharing_service.SharingDecisionRefused as exc:
        errors = [{"text": p, "href": "#decision"} for p in exc.problems]
        return _render(
            request,
            db_session,
            subject,
            context,
            typed,
            errors,
            status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    return RedirectResponse(
        f"/children/{person_id}?shared=1", status_code=status.HTTP_303_SEE_OTHER
    )
