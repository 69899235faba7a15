"""``/api/v1``: record a sharing decision about a child, list a child's decisions, and the
lawful bases and golden rules the decision is made against. The CLI renders the same objects."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel
from sqlalchemy.orm import Session

from fullpicture.access.auth import ChildReader, ChildWriter, PersonPublicId, Principal
from fullpicture.core.runtime import request_session
from fullpicture.sharing import service
from fullpicture.sharing.lawful_bases import GoldenRules, LawfulBases, golden_rules, lawful_bases
from fullpicture.sharing.schemas import (
    ChildSharingLatency,
    SharingDecisionCreate,
    SharingDecisionRead,
    SharingRefusal,
)

router = APIRouter(prefix="/api/v1", tags=["sharing decisions"])

DbSession = Annotated[Session, Depends(request_session, scope="function")]


class SharingRules(BaseModel):
    """What a sharing decision is made against: the seven golden rules and the lawful bases."""

    golden_rules: GoldenRules
    lawful_bases: LawfulBases


@router.get(
    "/sharing/rules",
    response_model=SharingRules,
    summary="The seven golden rules (2024) and the lawful bases a decision may rest on",
)
def sharing_rules(subject: Principal) -> SharingRules:
    return SharingRules(golden_rules=golden_rules(), lawful_bases=lawful_bases())


@router.post(
    "/children/{person_id}/sharing-decisions",
    response_model=SharingDecisionRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        422: {
            "model": SharingRefusal,
            "description": "refused (a rule broken, or the caller's agency holds no record of "
            "the child); nothing was saved",
        }
    },
    summary="Record a decision to share information about a child with an agency, or not to",
)
def record_sharing_decision(
    person_id: PersonPublicId,
    body: SharingDecisionCreate,
    session: DbSession,
    subject: ChildWriter,
) -> SharingDecisionRead:
    """Needs ``children:write``, a need to know the child and a record of the child held by
    the caller's agency (a decision to share, or not to, is the holder's: golden rules 6-7);
    made for the caller's agency and attributed to the caller. A share names only the caller's
    agency's own entries and widens the receiving agency's access to exactly those. A decision
    missing its basis, or (not sharing) its reason, is refused with every problem named; one
    from an agency holding no record of the child with that reason alone; nothing is saved."""
    try:
        decision = service.record_decision(
            db_session=session, subject=subject, person_public_id=person_id, decision_in=body
        )
    except service.SharingDecisionRefused as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            SharingRefusal(detail=str(exc), problems=exc.problems).model_dump(),
        ) from exc
    return service.to_read(session, decision)


@router.get(
    "/children/{person_id}/sharing-decisions",
    response_model=list[SharingDecisionRead],
    summary="Sharing decisions about a child that your agency made or received",
)
def list_sharing_decisions(
    person_id: PersonPublicId, session: DbSession, subject: ChildReader
) -> list[SharingDecisionRead]:
    """Needs ``children:read`` and a need to know the child; the read is audited. The front
    door's pooled view sees every agency's decisions about the child."""
    decisions = service.decisions_for_child(
        db_session=session, subject=subject, person_public_id=person_id
    )
    return [service.to_read(session, decision) for decision in decisions]


@router.get(
    "/children/{person_id}/sharing-latency",
    response_model=ChildSharingLatency,
    summary="When each agency working with a child received its significant entries; the unshared",
)
def sharing_latency(
    person_id: PersonPublicId, session: DbSession, subject: ChildReader
) -> ChildSharingLatency:
    """Needs ``children:read`` and a need to know the child; the read is audited. A partner
    agency sees its own entries (receiving agencies named once they have received them) and
    what was shared with it; the front door sees every row."""
    return service.child_sharing_latency(
        db_session=session, subject=subject, person_public_id=person_id
    )
