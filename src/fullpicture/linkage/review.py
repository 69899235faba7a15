"""The review queue: uncertain pairs a practitioner confirms or rejects, with a reason.

Decisions are append-only rows; an undo is a decision too. The item's status is the standing
decision every later linkage run honours (a rejected pair never links; a confirmed one always).

A pair shows two children's records, so reading one is reading about each of them: a reviewer
sees only pairs they have a need to know about (``repository.readable_review_items``: either
record is one they may read), and every pair shown is audited as a ``person.read`` of the
people its records belong to, so it appears in "who has looked". ``open_pair`` and
``open_item`` are the gates; an unknown pair and one the reviewer may not see get the same
``PairNotVisible`` (a 404).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access import service as access_service
from fullpicture.access.roles import Scope
from fullpicture.access.subject import AuthSubject
from fullpicture.agencies import service as agency_service
from fullpicture.core.database import utc_now
from fullpicture.linkage import repository as repo
from fullpicture.linkage import service as linkage_service
from fullpicture.linkage.models import ReviewAction, ReviewDecision, ReviewItem, ReviewStatus
from fullpicture.linkage.rules import LinkageRules
from fullpicture.linkage.schemas import (
    RecordRef,
    ReviewDecisionIn,
    ReviewDecisionRead,
    ReviewItemRead,
)


class ReviewError(ValueError):
    """A decision that cannot be made as asked; the message says why."""


class PairNotVisible(access_service.PersonNotVisible):
    """No such pair of records, or the reviewer has no need to know about either of them. One
    error for both, so a refusal never confirms that a record is held."""


PAIR_NOT_VISIBLE = "no such pair of records, or you have no need to know about either of them"


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


def _record_pair_reads(
    *,
    db_session: Session,
    subject: AuthSubject,
    keys: Iterable[str],
    purpose: str,
    detail: dict[str, Any],
    now: dt.datetime,
) -> None:
    """Audit a pair (or pairs) shown to the subject as reads of the people its records are
    about; a record linkage has not yet put with anyone is recorded by its key."""
    wanted = set(keys)
    links = repo.person_ids_of_records(db_session=db_session, keys=wanted)
    access_service.record_reads(
        db_session=db_session,
        subject=subject,
        person_ids=list(links.values()),
        purpose=purpose,
        detail=detail,
        now=now,
    )
    for key in sorted(wanted - set(links)):
        audit.record(
            db_session=db_session,
            actor=subject.actor,
            actor_user_id=subject.user_id,
            action="record.read",
            target=f"record:{key}"[:300],
            detail={"purpose": purpose, **detail},
            occurred_at=now,
        )


def _require_reviewer(subject: AuthSubject) -> None:
    # A pair is child data: the review scope alone (e.g. on a narrowed token) is not enough.
    access_service.require_scopes(subject, Scope.LINKAGE_REVIEW, Scope.CHILDREN_READ)


def list_items(
    *,
    db_session: Session,
    subject: AuthSubject,
    status: ReviewStatus | None = ReviewStatus.OPEN,
    limit: int = 50,
    now: dt.datetime | None = None,
) -> list[ReviewItemRead]:
    """Queue items the subject has a need to know about, the likeliest matches first; each
    pair listed is audited as a read of the people its records are about."""
    now = now or utc_now()
    _require_reviewer(subject)
    statement = repo.readable_review_items(subject, now)
    if status is not None:
        statement = statement.where(ReviewItem.status == status)
    items = list(
        db_session.scalars(
            statement.order_by(ReviewItem.match_weight.desc(), ReviewItem.id).limit(limit)
        )
    )
    if items:
        _record_pair_reads(
            db_session=db_session,
            subject=subject,
            keys=[key for item in items for key in (item.record_key_l, item.record_key_r)],
            purpose="linkage review queue",
            detail={"review_items": [item.id for item in items]},
            now=now,
        )
    return [read_item(db_session=db_session, item=item) for item in items]


def open_item(
    *,
    db_session: Session,
    subject: AuthSubject,
    item_ref: str,
    purpose: str,
    now: dt.datetime | None = None,
) -> ReviewItem:
    """The review item, if the subject has a need to know about it; the read is audited.

    The gate for showing or deciding on one queued pair (``PairNotVisible`` otherwise).
    """
    now = now or utc_now()
    _require_reviewer(subject)
    statement = repo.readable_review_items(subject, now)
    if item_ref.isdigit() and len(item_ref) < 10:
        statement = statement.where(ReviewItem.id == int(item_ref))
    else:
        statement = statement.where(ReviewItem.public_id == item_ref)
    item = db_session.scalar(statement)
    if item is None:
        raise PairNotVisible(PAIR_NOT_VISIBLE)
    _record_pair_reads(
        db_session=db_session,
        subject=subject,
        keys=[item.record_key_l, item.record_key_r],
        purpose=purpose,
        detail={"review_items": [item.id]},
        now=now,
    )
    return item


def open_pair(
    *,
    db_session: Session,
    subject: AuthSubject,
    left: RecordRef,
    right: RecordRef,
    purpose: str,
    now: dt.datetime | None = None,
) -> tuple[str, str]:
    """The record keys of two agency records, if the subject may read at least one of them;
    the read is audited. The gate for explaining a pair (``PairNotVisible`` otherwise, for an
    unknown agency or record too)."""
    now = now or utc_now()
    _require_reviewer(subject)
    keys: list[str] = []
    for ref in (left, right):
        agency = agency_service.get_by_code(db_session=db_session, code=ref.agency)
        if agency is None or not repo.record_is_held(
            db_session=db_session, agency_id=agency.id, record_ref=ref.record_id
        ):
            raise PairNotVisible(PAIR_NOT_VISIBLE)
        keys.append(repo.record_key(agency.id, ref.record_id))
    if not repo.readable_record_keys(db_session=db_session, subject=subject, now=now, keys=keys):
        raise PairNotVisible(PAIR_NOT_VISIBLE)
    _record_pair_reads(
        db_session=db_session,
        subject=subject,
        keys=keys,
        purpose=purpose,
        detail={"records": [str(left), str(right)]},
        now=now,
    )
    return keys[0], keys[1]


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
