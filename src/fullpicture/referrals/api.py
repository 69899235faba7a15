"""``/api/v1/referrals``: check a referral text, classify concerns, and keep referrals (drafts,
submission to the front door, corrections as new versions)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.auth import Principal, ReferralWriter
from fullpicture.core.runtime import request_session
from fullpicture.referrals import service
from fullpicture.referrals.classifier import classify_concerns
from fullpicture.referrals.models import ReferralImmutableError
from fullpicture.referrals.schemas import (
    CheckRequest,
    ClassifyRequest,
    ConcernSuggestionOut,
    ReferralCorrection,
    ReferralCreate,
    ReferralRead,
    ReferralSubmit,
    ReferralUpdate,
)
from fullpicture.referrals.text_input import ReferralTextError, TextProblem

router = APIRouter(prefix="/api/v1/referrals", tags=["referrals"])

SessionDep = Annotated[Session, Depends(request_session, scope="function")]
CHECK_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No child with that id that you may see"},
    413: {"description": "The text is longer than the checker reads"},
    422: {"description": "Empty, binary or non-English text, with the reason"},
}


def _text_problem(exc: ReferralTextError) -> HTTPException:
    code = (
        status.HTTP_413_CONTENT_TOO_LARGE
        if exc.problem is TextProblem.TOO_LONG
        else status.HTTP_422_UNPROCESSABLE_CONTENT
    )
    return HTTPException(code, {"problem": exc.problem.value, "message": exc.message})


@router.post(
    "/check",
    summary="Check a referral text against R1–R20, highlight vague language, cross-check the record",
    responses=CHECK_RESPONSES,
)
def check(body: CheckRequest, session: SessionDep, subject: Principal) -> dict[str, Any]:
    """Return ``{"elements": {"R1": {"status", "spans", "question", "adjusted"}, …},
    "vague_phrases": […], "score": {…}}`` (``adjusted``: null, or where the learned adjustment
    changed the rules' status, the rules' status, the model version, what moved it and a plain
    sentence saying so); with ``child_id`` (needs ``children:read`` and a need to know), add
    ``cross_checks`` from the child's record. A prompt, never a gate: the score never blocks."""
    if body.child_id is not None:
        try:
            access_service.open_person(
                db_session=session,
                subject=subject,
                person_public_id=body.child_id,
                purpose="referral check against the record",
            )
        except access_service.PersonNotVisible as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
        except access_service.AccessError as exc:
            raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    try:
        result = service.check_text_with_record(
            db_session=session,
            text=body.text,
            child_public_id=body.child_id,
            referral_date=body.referral_date,
            child_names=body.child_names,
            viewer=subject,
            # The signed-in writer's agency is theirs (R11 reads it as their own).
            writer_agency_kind=service.writer_agency_kind_of(session, subject.agency_id),
        )
    except ReferralTextError as exc:
        raise _text_problem(exc) from exc
    except service.ChildNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return result.public()


@router.post(
    "/classify",
    response_model=list[ConcernSuggestionOut],
    summary="Suggest taxonomy concern codes for free text, with the words behind each",
)
def classify(body: ClassifyRequest, subject: Principal) -> list[dict[str, object]]:
    """Codes a practitioner may confirm; denied ("no concerns about …") and hypothetical
    ("if mum drinks") mentions are never suggested."""
    return [suggestion.as_dict() for suggestion in classify_concerns(body.text)]


#: Every route naming a referral answers 404 alike for an unknown referral and one the caller
#: has no need to know about (``service.open_referral``).
REFERRAL_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such referral, or none you have a need to know about"},
}


def _refusal(exc: Exception) -> HTTPException:
    if isinstance(exc, service.ReferralNotFoundError | service.ChildNotFoundError):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, service.ReferralAgencyError):
        return HTTPException(status.HTTP_403_FORBIDDEN, str(exc))
    if isinstance(exc, ReferralImmutableError | service.ReferralStateError):
        return HTTPException(status.HTTP_409_CONFLICT, str(exc))
    raise exc


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ReferralRead,
    summary="Save a new draft referral",
)
def create(body: ReferralCreate, session: SessionDep, subject: ReferralWriter) -> ReferralRead:
    """Every field may be blank: absence of information must not delay a referral."""
    try:
        referral = service.create_draft(db_session=session, referral_in=body, author=subject)
    except (
        service.ChildNotFoundError,
        service.ReferralStateError,
        service.ReferralAgencyError,
    ) as exc:
        raise _refusal(exc) from exc
    return service.to_read(session, referral, reader=subject)


@router.get(
    "/{referral_ref}",
    response_model=ReferralRead,
    summary="The latest version",
    responses=REFERRAL_RESPONSES,
)
def read(referral_ref: str, session: SessionDep, subject: ReferralWriter) -> ReferralRead:
    try:
        referral = service.get_latest(
            db_session=session, referral_ref=referral_ref, viewer=subject, purpose="referral"
        )
    except service.ReferralNotFoundError as exc:
        raise _refusal(exc) from exc
    return service.to_read(session, referral, reader=subject)


@router.get(
    "/{referral_ref}/versions",
    response_model=list[ReferralRead],
    summary="Every version, oldest first (what was sent, and each correction)",
    responses=REFERRAL_RESPONSES,
)
def read_versions(
    referral_ref: str, session: SessionDep, subject: ReferralWriter
) -> list[ReferralRead]:
    try:
        rows = service.open_referral(
            db_session=session,
            subject=subject,
            referral_ref=referral_ref,
            purpose="referral versions",
        )
    except service.ReferralNotFoundError as exc:
        raise _refusal(exc) from exc
    return [service.to_read(session, row, reader=subject) for row in rows]


@router.put(
    "/{referral_ref}",
    response_model=ReferralRead,
    summary="Replace a draft's content (409 once submitted: make a correction)",
    responses=REFERRAL_RESPONSES,
)
def update(
    referral_ref: str, body: ReferralUpdate, session: SessionDep, subject: ReferralWriter
) -> ReferralRead:
    try:
        referral = service.update_draft(
            db_session=session, referral_ref=referral_ref, referral_in=body, author=subject
        )
    except (
        service.ReferralNotFoundError,
        service.ChildNotFoundError,
        service.ReferralStateError,
        service.ReferralAgencyError,
        ReferralImmutableError,
    ) as exc:
        raise _refusal(exc) from exc
    return service.to_read(session, referral, reader=subject)


@router.post(
    "/{referral_ref}/submit",
    response_model=ReferralRead,
    summary="Send the draft to the children's social care front door, whatever its score",
    responses=REFERRAL_RESPONSES,
)
def submit(
    referral_ref: str,
    session: SessionDep,
    subject: ReferralWriter,
    body: ReferralSubmit | None = None,
) -> ReferralRead:
    """Sent by the signed-in principal; a body naming someone else is refused (422)."""
    try:
        referral = service.submit(
            db_session=session,
            referral_ref=referral_ref,
            author=subject,
        )
    except (
        service.ReferralNotFoundError,
        service.ReferralStateError,
        service.ReferralAgencyError,
    ) as exc:
        raise _refusal(exc) from exc
    return service.to_read(session, referral, reader=subject)


@router.post(
    "/{referral_ref}/corrections",
    status_code=status.HTTP_201_CREATED,
    response_model=ReferralRead,
    summary="Correct a submitted referral: a new draft version saying what and why",
    responses=REFERRAL_RESPONSES,
)
def correct(
    referral_ref: str, body: ReferralCorrection, session: SessionDep, subject: ReferralWriter
) -> ReferralRead:
    try:
        referral = service.correct(
            db_session=session, referral_ref=referral_ref, correction=body, author=subject
        )
    except (
        service.ReferralNotFoundError,
        service.ChildNotFoundError,
        service.ReferralStateError,
        service.ReferralAgencyError,
    ) as exc:
        raise _refusal(exc) from exc
    return service.to_read(session, referral, reader=subject)


@router.get(
    "/{referral_ref}/check",
    summary="Check the latest version (with record cross-checks)",
    responses=REFERRAL_RESPONSES,
)
def check_stored(referral_ref: str, session: SessionDep, subject: ReferralWriter) -> dict[str, Any]:
    try:
        referral = service.get_latest(
            db_session=session, referral_ref=referral_ref, viewer=subject, purpose="referral check"
        )
    except service.ReferralNotFoundError as exc:
        raise _refusal(exc) from exc
    result = service.check_referral(db_session=session, referral=referral, viewer=subject)
    if result is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {"problem": "empty", "message": "The referral has no text to check yet."},
        )
    return result.public()
