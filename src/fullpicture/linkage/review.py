"""The review queue: uncertain pairs a practitioner confirms or rejects, with a reason.

Decisions are append-only rows; an undo is a decision too. The item's status is the standing
decision every later linkage run honours (a rejected pair never links; a confirmed one always).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.core.database import utc_now
from fullpicture.linkage import repository as repo
from fullpicture.linkage import service as linkage_service
from fullpicture.linkage.models import ReviewAction, ReviewDecision, ReviewItem, ReviewStatus
from fullpicture.linkage.rules import LinkageRules
from fullpicture.linkage.schemas import ReviewDecisionIn, ReviewDecisionRead, ReviewItemRead


class ReviewError(ValueError):
    """A decision that cannot be made as asked; the message says why."""


def _label(key: str, codes: dict[int, str]) -> str:
    agency_id, record_ref = repo.split_record_key(key)
    return f"{codes.get(agency_id, agency_id)}:{record_ref}"


def _decisions(db_session: Session, item: ReviewItem) -> list[ReviewDecision]:
    return list(
        db_session.scalars(
            select(ReviewDecision)
            .where(ReviewDecision.review_item_id == item.id)
            .order_by(ReviewDecision.id)
        )
    )


def read_item(*, db_session: Session, item: ReviewItem) -> ReviewItemRead:
    codes = repo.agency_codes(db_session=db_session)
    return ReviewItemRead(
        id=item.id,
        public_id=item.public_id,
        left=_label(item.record_key_l, codes),
        right=_label(item.record_key_r, codes),
        match_weight=round(item.match_weight, 4),
        match_probability=round(item.match_probability, 6),
        comparison_levels={
            name: str(level.get("level")) for name, level in item.comparison_levels.items()
        },
        status=item.status,
        decisions=[ReviewDecisionRead.model_validate(d) for d in _decisions(db_session, item)],
    )


def list_items(
    *, db_session: Session, status: ReviewStatus | None = ReviewStatus.OPEN, limit: int = 50
) -> list[ReviewItemRead]:
    """Queue items, the likeliest matches first."""
    statement = select(ReviewItem)
    if status is not None:
        statement = statement.where(ReviewItem.status == status)
    items = db_session.scalars(
        statement.order_by(ReviewItem.match_weight.desc(), ReviewItem.id).limit(limit)
    )
    return [read_item(db_session=db_session, item=item) for item in items]


def get_item(*, db_session: Session, item_ref: str) -> ReviewItem:
    item = db_session.scalar(
        select(ReviewItem).where(
            ReviewItem.public_id == item_ref
            if not item_ref.isdigit()
            else ReviewItem.id == int(item_ref)
        )
    )
    if item is None:
        raise ReviewError(f"no review item {item_ref!r}")
    return item


def decide(
    *,
    db_session: Session,
    item: ReviewItem,
    decision_in: ReviewDecisionIn,
    rules: LinkageRules,
    relink: bool = True,
) -> ReviewItemRead:
    """Record a confirm, reject or undo; then re-link the people around the pair at once."""
    history = _decisions(db_session, item)
    undone = {d.undoes_decision_id for d in history if d.undoes_decision_id is not None}
    standing = [d for d in history if d.action is not ReviewAction.UNDO and d.id not in undone]
    undoes: int | None = None
    if decision_in.action is ReviewAction.UNDO:
        if not standing:
            raise ReviewError("there is no decision on this pair to undo")
        undoes = standing[-1].id
        item.status = ReviewStatus.OPEN
    else:
        if standing:
            raise ReviewError(f"this pair is already {item.status.value}; undo that decision first")
        item.status = (
            ReviewStatus.CONFIRMED
            if decision_in.action is ReviewAction.CONFIRM
            else ReviewStatus.REJECTED
        )
    item.updated_at = utc_now()
    db_session.add(
        ReviewDecision(
            review_item_id=item.id,
            action=decision_in.action,
            reason=decision_in.reason,
            decided_by=decision_in.decided_by,
            undoes_decision_id=undoes,
        )
    )
    db_session.flush()
    if relink:
        linkage_service.relink_after_decision(
            db_session=db_session,
            keys={item.record_key_l, item.record_key_r},
            rules=rules,
            decided_by=decision_in.decided_by,
        )
    return read_item(db_session=db_session, item=item)
