"""Write a referral: the form, the 20-element check with the questions to ask, vague phrases
highlighted with the question each raises, and the cross-checks against the child's record,
with the child's chronology beside it; then submit. "Check" saves the draft and checks it
(no JavaScript needed); a small served script checks as the practitioner types.

Every write is the signed-in user's (the form never carries a name); a referral about a child
is read through ``referrals.service.open_referral`` (need to know, audited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from fullpicture.access import person_summaries
from fullpicture.access import service as access_service
from fullpicture.access.auth import DbSession, ReferralWriter
from fullpicture.access.subject import AuthSubject
from fullpicture.chronology import repository as chronology_repository
from fullpicture.chronology import routes as chronology_routes
from fullpicture.core.database import utc_now
from fullpicture.people.models import Person
from fullpicture.referrals import service as referral_service
from fullpicture.referrals.models import (
    LawfulBasis,
    ParentsAwareness,
    Referral,
    ReferralChild,
    ReferralImmutableError,
)
from fullpicture.referrals.rulebook import default_rulebook
from fullpicture.referrals.schemas import ReferralCheck, ReferralCreate, ReferralUpdate
from fullpicture.referrals.text_input import ReferralTextError
from fullpicture.web.templating import WEB_DIR, page_templates, render_page

templates = page_templates(WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)

#: The narrative fields, in the order the form asks for them: (name, label, hint).
NARRATIVE_FIELDS = (
    ("relationship_to_child", "How you know the child", "Your role with the child and family."),
    ("child_location", "Where the child is now", "And whether they are safe to go home."),
    (
        "immediate_safety",
        "Is the child safe now?",
        "What risk there is today, and what you have done.",
    ),
    (
        "concern_narrative",
        "What happened",
        "What you saw and heard, when and where, in plain words: who did what, to whom.",
    ),
    (
        "child_voice",
        "What the child said",
        "Their own words, in quotation marks, or why you could not ask.",
    ),
    (
        "referrer_analysis",
        "What you think it means for the child",
        "Your analysis: risk, need and strengths.",
    ),
    ("request", "What you are asking the front door to do", ""),
)
TEXT_LIMITS = {"concern_narrative": 40000, "child_voice": 10000, "referrer_analysis": 10000}
FIELD_NAMES = (
    "child_id",
    "child_given_name",
    "child_family_name",
    "referrer_role",
    "parents_awareness",
    "lawful_basis",
    "lawful_basis_reason",
    *(name for name, _l, _h in NARRATIVE_FIELDS),
)


async def referral_form(request: Request) -> dict[str, str]:
    """The referral form's fields as typed (missing ones blank; anything else ignored)."""
    form = await request.form()
    return {name: str(form.get(name) or "")[: TEXT_LIMITS.get(name, 4000)] for name in FIELD_NAMES}


ReferralForm = Annotated[dict[str, str], Depends(referral_form)]


def _fields(typed: dict[str, str]) -> dict[str, Any]:
    children = []
    if typed["child_given_name"].strip() or typed["child_id"].strip():
        children.append(
            {
                "person_id": typed["child_id"].strip() or None,
                "given_name": typed["child_given_name"].strip() or "Not known",
                "family_name": typed["child_family_name"].strip() or None,
            }
        )
    values: dict[str, Any] = {
        name: (typed[name].strip() or None) for name, _l, _h in NARRATIVE_FIELDS
    }
    values |= {
        "referrer_role": typed["referrer_role"].strip() or None,
        "parents_awareness": typed["parents_awareness"] or None,
        "lawful_basis": typed["lawful_basis"] or None,
        "lawful_basis_reason": typed["lawful_basis_reason"].strip() or None,
        "children": children,
    }
    return values


def _problems(exc: ValidationError) -> list[dict[str, str]]:
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        target = {"children": "child_given_name"}.get(field, field)
        problems.append(
            {
                "text": f"{field.replace('_', ' ').capitalize()}: {error['msg']}",
                "href": f"#{target}",
            }
        )
    return problems


def _typed_from(db_session: Session, referral: Referral) -> dict[str, str]:
    child = referral.children[0] if referral.children else None
    person = db_session.get(Person, child.person_id) if child and child.person_id else None
    typed = {name: getattr(referral, name) or "" for name, _l, _h in NARRATIVE_FIELDS}
    return typed | {
        "child_id": person.public_id if person is not None else "",
        "child_given_name": child.given_name if child else "",
        "child_family_name": (child.family_name or "") if child else "",
        "referrer_role": referral.referrer_role or "",
        "parents_awareness": referral.parents_awareness.value if referral.parents_awareness else "",
        "lawful_basis": referral.lawful_basis.value if referral.lawful_basis else "",
        "lawful_basis_reason": referral.lawful_basis_reason or "",
    }


def _check(
    db_session: Session, subject: AuthSubject, typed: dict[str, str]
) -> tuple[ReferralCheck | None, str | None]:
    """The check of what is typed (with the record cross-checks when the child is linked)."""
    values = _fields(typed)
    draft = Referral(
        referrer_role=values["referrer_role"],
        household=[],
        agencies_involved=[],
        attachments=[],
        parents_awareness=ParentsAwareness(values["parents_awareness"])
        if values["parents_awareness"] in ParentsAwareness.__members__.values()
        else None,
        lawful_basis=LawfulBasis(values["lawful_basis"])
        if values["lawful_basis"] in LawfulBasis.__members__.values()
        else None,
        lawful_basis_reason=values["lawful_basis_reason"],
        **{name: values[name] for name, _l, _h in NARRATIVE_FIELDS},
    )
    draft.children = [
        ReferralChild(given_name=c["given_name"], family_name=c["family_name"])
        for c in values["children"]
    ]
    text = referral_service.referral_text(draft)
    if not text.strip():
        return None, None
    child_id = typed["child_id"].strip() or None
    if child_id:
        access_service.open_person(
            db_session=db_session,
            subject=subject,
            person_public_id=child_id,
            purpose="referral check against the record",
        )
    try:
        check = referral_service.check_text_with_record(
            db_session=db_session,
            text=text,
            child_public_id=child_id,
            child_names=[c["given_name"] for c in values["children"]],
            viewer=subject,
        )
    except ReferralTextError as exc:
        return None, exc.message
    return check, text


def _highlighted(text: str, check: ReferralCheck) -> list[tuple[str, dict[str, str] | None]]:
    """The text cut into plain runs and vague phrases (each with its question)."""
    runs: list[tuple[str, dict[str, str] | None]] = []
    at = 0
    for phrase in sorted(check.vague_phrases, key=lambda p: p.start):
        if phrase.start < at:
            continue
        runs.append((text[at : phrase.start], None))
        runs.append(
            (text[phrase.start : phrase.end], {"kind": phrase.kind, "question": phrase.question})
        )
        at = phrase.end
    runs.append((text[at:], None))
    return runs


def _render(
    request: Request,
    db_session: Session,
    subject: AuthSubject,
    *,
    typed: dict[str, str],
    referral: Referral | None,
    errors: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = utc_now()
    text_problem = None
    child = None
    chronology = None
    if typed["child_id"]:
        person = access_service.open_person(
            db_session=db_session,
            subject=subject,
            person_public_id=typed["child_id"],
            purpose="referral: the child's chronology beside the form",
        )
        child = person_summaries.child_summaries(
            db_session, subject=subject, now=now, person_ids=[person.id]
        ).get(person.id)
        chronology = chronology_repository.child_chronology(
            db_session=db_session,
            person_id=person.id,
            viewer=chronology_repository.Viewer(subject, now),
            model=chronology_routes.chronology_rules(request),
        )
    check, checked_text = _check(db_session, subject, typed)
    if check is None and checked_text is not None:
        text_problem = checked_text
    return render_page(
        templates,
        request,
        "referral.html",
        {
            "typed": typed,
            "referral": referral,
            "errors": errors or [],
            "narrative_fields": NARRATIVE_FIELDS,
            "check": check,
            "text_problem": text_problem,
            "highlighted": _highlighted(checked_text, check) if check and checked_text else [],
            "standard": default_rulebook().standard.elements,
            "child": child,
            "chronology": chronology,
            "awareness": list(ParentsAwareness),
            "bases": list(LawfulBasis),
        },
        subject=subject,
        db_session=db_session,
        status_code=status_code,
    )


def _blank(child_id: str = "") -> dict[str, str]:
    return dict.fromkeys(FIELD_NAMES, "") | {"child_id": child_id}


@router.get("/referrals", response_class=HTMLResponse)
def referrals_page(
    request: Request, subject: ReferralWriter, db_session: DbSession
) -> HTMLResponse:
    drafts = referral_service.my_drafts(db_session=db_session, author=subject, limit=100)
    return render_page(
        templates,
        request,
        "referrals.html",
        {"drafts": drafts},
        subject=subject,
        db_session=db_session,
    )


@router.get("/referrals/new", response_class=HTMLResponse)
def new_referral_page(
    request: Request,
    subject: ReferralWriter,
    db_session: DbSession,
    child: Annotated[str, Query(max_length=36)] = "",
) -> HTMLResponse:
    typed = _blank(child)
    if child:
        person = access_service.open_person(
            db_session=db_session, subject=subject, person_public_id=child, purpose="referral"
        )
        summary = person_summaries.child_summaries(
            db_session, subject=subject, now=utc_now(), person_ids=[person.id]
        ).get(person.id)
        if summary is not None:
            given, _, family = summary.name.partition(" ")
            typed |= {"child_given_name": given, "child_family_name": family}
    return _render(request, db_session, subject, typed=typed, referral=None)


def _save(
    request: Request,
    db_session: Session,
    subject: AuthSubject,
    typed: dict[str, str],
    action: str,
    referral_ref: str | None,
) -> Response:
    referral = _open(db_session, subject, referral_ref) if referral_ref is not None else None
    try:
        values = _fields(typed)
        if referral is None:
            referral = referral_service.create_draft(
                db_session=db_session,
                referral_in=ReferralCreate(**values),
                author=subject,
            )
        else:
            referral = referral_service.update_draft(
                db_session=db_session,
                referral_ref=referral.referral_ref,
                referral_in=ReferralUpdate(**values),
                author=subject,
            )
    except ValidationError as exc:
        return _render(
            request,
            db_session,
            subject,
            typed=typed,
            referral=referral,
            errors=_problems(exc),
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    except (
        referral_service.ChildNotFoundError,
        referral_service.ReferralAgencyError,
        referral_service.ReferralStateError,
        ReferralImmutableError,
    ) as exc:
        return _render(
            request,
            db_session,
            subject,
            typed=typed,
            referral=referral,
            errors=[{"text": str(exc), "href": "#child_given_name"}],
            status_code=status.HTTP_409_CONFLICT,
        )
    if action == "submit":
        referral_service.submit(
            db_session=db_session,
            referral_ref=referral.referral_ref,
            author=subject,
        )
        return RedirectResponse(
            f"/referrals/{referral.referral_ref}?submitted=1", status_code=status.HTTP_303_SEE_OTHER
        )
    return RedirectResponse(
        f"/referrals/{referral.referral_ref}#referral-check", status_code=status.HTTP_303_SEE_OTHER
    )


Action = Annotated[str, Form(max_length=10)]


@router.post("/referrals/new")
def create_referral(
    request: Request,
    subject: ReferralWriter,
    db_session: DbSession,
    typed: ReferralForm,
    action: Action = "check",
) -> Response:
    """Save a new draft as the signed-in user (then check it, or submit it)."""
    return _save(request, db_session, subject, typed, action, None)


@router.post("/referrals/check", response_class=HTMLResponse)
def check_panel(
    request: Request, subject: ReferralWriter, db_session: DbSession, typed: ReferralForm
) -> HTMLResponse:
    """The check of what is typed, as the page's check panel (for the live check script)."""
    check, checked = _check(db_session, subject, typed)
    return render_page(
        templates,
        request,
        "referral_check.html",
        {
            "check": check,
            "text_problem": checked if check is None else None,
            "highlighted": _highlighted(checked, check) if check and checked else [],
            "standard": default_rulebook().standard.elements,
        },
        subject=subject,
    )


@router.get("/referrals/{referral_ref}", response_class=HTMLResponse)
def referral_page(
    request: Request,
    referral_ref: str,
    subject: ReferralWriter,
    db_session: DbSession,
) -> HTMLResponse:
    referral = _open(db_session, subject, referral_ref)
    return _render(
        request, db_session, subject, typed=_typed_from(db_session, referral), referral=referral
    )


@router.post("/referrals/{referral_ref}")
def update_referral(
    request: Request,
    referral_ref: str,
    subject: ReferralWriter,
    db_session: DbSession,
    typed: ReferralForm,
    action: Action = "check",
) -> Response:
    """Save the draft as the signed-in user (then check it, or submit it)."""
    return _save(request, db_session, subject, typed, action, referral_ref[:64])


def _open(db_session: Session, subject: AuthSubject, referral_ref: str) -> Referral:
    try:
        return referral_service.get_latest(
            db_session=db_session,
            referral_ref=referral_ref[:64],
            viewer=subject,
            purpose="referral",
        )
    except referral_service.ReferralNotFoundError as exc:
        # The same answer for an unknown referral and one about a child the user may not see.
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
