"""``/api/v1/linkage``: run linkage, explain a pair, work the review queue, a child's households."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from fullpicture.access import service as access_service
from fullpicture.access.auth import (
    ChildReader,
    DbSession,
    LinkageReviewer,
    LinkageRunner,
    PersonPublicId,
)
from fullpicture.agencies import service as agency_service
from fullpicture.linkage import explain as linkage_explain
from fullpicture.linkage import households as linkage_households
from fullpicture.linkage import review as linkage_review
from fullpicture.linkage import service as linkage_service
from fullpicture.linkage.engine import Engine, LinkageInputError
from fullpicture.linkage.models import ReviewAction, ReviewStatus
from fullpicture.linkage.rules import default_rules
from fullpicture.linkage.schemas import (
    ChildHouseholdView,
    IncrementalOutcome,
    LinkageRunRead,
    MatchExplanation,
    RecordRef,
    ReviewDecisionIn,
    ReviewItemRead,
)

router = APIRouter(prefix="/api/v1/linkage", tags=["linkage"])

RecordText = Annotated[
    str, Query(min_length=3, max_length=130, description="AGENCY:RECORD_ID", pattern=r"^[^:]+:.+$")
]


class ReviewDecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: ReviewAction
    reason: str = Field(min_length=3, max_length=2000)


def _unprocessable(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


@router.post(
    "/runs",
    response_model=LinkageRunRead,
    status_code=status.HTTP_201_CREATED,
    summary="Link every current source record into persons (reusing the saved model)",
)
def run_linkage(
    session: DbSession, subject: LinkageRunner, retrain: bool = False
) -> LinkageRunRead:
    """A full batch run on DuckDB; practitioners' review decisions are honoured. Needs
    ``linkage:run``."""
    try:
        run = linkage_service.link_database(
            db_session=session,
            rules=default_rules(),
            started_by=subject.actor,
            engine=Engine.DUCKDB,
            retrain=retrain,
        )
        linkage_households.rebuild_households(
            db_session=session,
            linker=access_service.system_principal(
                db_session=session, job="household rebuild", operator=subject.actor
            ),
        )
    except (linkage_service.LinkageStateError, LinkageInputError) as exc:
        # e.g. too few records to train a model: the caller's situation, not a server fault
        raise _unprocessable(exc) from exc
    return LinkageRunRead.model_validate(run)


@router.post(
    "/records/{agency}/{record_id}",
    response_model=IncrementalOutcome,
    summary="Link one new or changed record against the existing people",
)
def link_one_record(
    agency: str, record_id: str, session: DbSession, subject: LinkageRunner
) -> IncrementalOutcome:
    """Scores the record against its candidates with the saved model and re-clusters the
    people around it, as a batch run would. Needs ``linkage:run``."""
    found = agency_service.get_by_code(db_session=session, code=agency)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agency {agency!r}")
    try:
        return linkage_service.link_record(
            db_session=session,
            linker=access_service.system_principal(
                db_session=session, job="linkage of one record", operator=subject.actor
            ),
            agency_id=found.id,
            record_ref=record_id,
            rules=default_rules(),
            started_by=subject.actor,
        )
    except linkage_service.LinkageStateError as exc:
        raise _unprocessable(exc) from exc


@router.get(
    "/explain",
    response_model=MatchExplanation,
    summary="Why two records are (or are not) one person: the match-weight waterfall",
)
def explain_pair(
    left: RecordText, right: RecordText, session: DbSession, subject: LinkageReviewer
) -> MatchExplanation:
    """Which fields agreed and how much each counted. Needs ``linkage:review``,
    ``children:read`` and a need to know about at least one of the two records (404 otherwise,
    as for an unknown record); audited as a read of the people the records are about."""
    try:
        return linkage_explain.explain_records(
            db_session=session,
            subject=subject,
            left=RecordRef.parse(left),
            right=RecordRef.parse(right),
            rules=default_rules(),
        )
    except (ValueError, linkage_service.LinkageStateError) as exc:
        raise _unprocessable(exc) from exc


@router.get("/review", response_model=list[ReviewItemRead], summary="The review queue")
def review_queue(
    session: DbSession,
    subject: LinkageReviewer,
    status_filter: Annotated[ReviewStatus | None, Query(alias="status")] = ReviewStatus.OPEN,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ReviewItemRead]:
    """Uncertain pairs for a practitioner to confirm or reject: those with a record the caller
    may read. Needs ``linkage:review`` and ``children:read``; each pair listed is audited as a
    read of the people its records are about."""
    return linkage_review.list_items(
        db_session=session, subject=subject, status=status_filter, limit=limit
    )


@router.post(
    "/review/{item_id}/decisions",
    response_model=ReviewItemRead,
    status_code=status.HTTP_201_CREATED,
    summary="Confirm, reject or undo the decision on a queued pair",
)
def decide_review_item(
    # Bounded to the database's integer range: a larger id is a 422, not a server error.
    item_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    body: ReviewDecisionBody,
    session: DbSession,
    subject: LinkageReviewer,
) -> ReviewItemRead:
    """Recorded with who, why and when; honoured by every later run. Needs ``linkage:review``
    and a need to know about the pair (404 otherwise, as for an unknown item)."""
    item = linkage_review.open_item(
        db_session=session,
        subject=subject,
        item_ref=str(item_id),
        purpose="linkage review decision",
    )
    try:
        return linkage_review.decide(
            db_session=session,
            item=item,
            decision_in=ReviewDecisionIn(
                action=body.action, reason=body.reason, decided_by=subject.actor
            ),
            rules=default_rules(),
        )
    except linkage_review.ReviewError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


@router.get(
    "/children/{person_public_id}/households",
    response_model=ChildHouseholdView,
    summary="A child's households over time, every adult known there, and unseen adults",
)
def child_households(
    person_public_id: PersonPublicId, session: DbSession, subject: ChildReader
) -> ChildHouseholdView:
    """Needs ``children:read`` and a need to know the child; the read is audited. Without the
    pooled view, household members the caller's agency holds no record of are counted in
    ``held_elsewhere``, never shown."""
    try:
        return linkage_households.child_household_view(
            db_session=session, reader=subject, person_public_id=person_public_id
        )
    except linkage_households.HouseholdNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
