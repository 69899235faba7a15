"""The link review queue: pairs of records linkage was unsure about, the two records side by
side with what each field added (the waterfall), and confirm or reject with a reason, or undo
— recorded as the signed-in reviewer. Needs ``linkage:review``; each pair shown is audited
(``linkage.review.open_item`` / ``list_items``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from fullpicture.access.auth import DbSession, LinkageReviewer
from fullpicture.access.subject import AuthSubject
from fullpicture.agencies.models import Agency
from fullpicture.core.database import utc_now
from fullpicture.linkage import repository as linkage_repository
from fullpicture.linkage import review as linkage_review
from fullpicture.linkage.comparisons import level_in_words
from fullpicture.linkage.models import ReviewAction, ReviewItem, ReviewStatus
from fullpicture.linkage.rules import default_rules
from fullpicture.linkage.schemas import ReviewDecisionIn
from fullpicture.web.templating import WEB_DIR, page_templates, render_page
from fullpicture.web.waterfall import waterfall

templates = page_templates(WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)


@router.get("/linkage/review", response_class=HTMLResponse)
def review_queue_page(
    request: Request, subject: LinkageReviewer, db_session: DbSession
) -> HTMLResponse:
    items = linkage_review.list_items(db_session=db_session, subject=subject, limit=100)
    return render_page(
        templates,
        request,
        "review_queue.html",
        {"items": items, "level_in_words": level_in_words},
        subject=subject,
        db_session=db_session,
    )


def _side_by_side(
    db_session: Session, subject: AuthSubject, item: ReviewItem
) -> list[dict[str, Any]]:
    """The pair's two records (latest versions), for the reviewer the pair was opened to."""
    keys = [
        linkage_repository.split_record_key(key) for key in (item.record_key_l, item.record_key_r)
    ]
    records = linkage_repository.pair_records(
        db_session=db_session, reviewer=subject, now=utc_now(), keys=keys
    )
    shown = []
    for agency_id, record_ref in keys:
        agency = db_session.get(Agency, agency_id)
        record = records.get((agency_id, record_ref))
        shown.append(
            {
                "agency": agency.name if agency else str(agency_id),
                "record_ref": record_ref,
                "name": " ".join(p for p in (record.given_name, record.family_name) if p)
                if record
                else "",
                "other_names": ", ".join(record.other_names or []) if record else "",
                "date_of_birth": record.date_of_birth if record else None,
                "nhs_number": record.nhs_number if record else None,
                "upn": record.upn if record else None,
                "postcodes": ", ".join(
                    a.get("postcode", "") for a in (record.addresses or []) if isinstance(a, dict)
                )
                if record
                else "",
            }
        )
    return shown


def _item_page(
    request: Request,
    subject: AuthSubject,
    db_session: Session,
    item: ReviewItem,
    *,
    errors: list[dict[str, str]] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    read = linkage_review.read_item(db_session=db_session, item=item)
    steps = sorted(
        (
            (name, str(level.get("level", "")), float(level.get("match_weight") or 0.0))
            for name, level in item.comparison_levels.items()
            if isinstance(level, dict)
        ),
        key=lambda step: -abs(step[2]),
    )
    rules = default_rules()
    return render_page(
        templates,
        request,
        "review_item.html",
        {
            "item": read,
            "records": _side_by_side(db_session, subject, item),
            "waterfall": [
                (name, level_in_words(name, level), weight) for name, level, weight in steps
            ],
            # The queue holds pairs in the review band: the chart shows how far under the
            # line the database links from each one stands, and what put it there.
            "chart": waterfall(
                "why-pair", steps, total=item.match_weight, line=rules.link_threshold_match_weight
            ),
            "errors": errors or [],
            "typed": typed or {},
            "decided": item.status is not ReviewStatus.OPEN,
        },
        subject=subject,
        db_session=db_session,
        status_code=status_code,
    )


def _open(db_session: Session, subject: AuthSubject, item_id: str, purpose: str) -> ReviewItem:
    return linkage_review.open_item(
        db_session=db_session, subject=subject, item_ref=item_id[:36], purpose=purpose
    )


@router.get("/linkage/review/{item_id}", response_class=HTMLResponse)
def review_item_page(
    request: Request, item_id: str, subject: LinkageReviewer, db_session: DbSession
) -> HTMLResponse:
    item = _open(db_session, subject, item_id, "linkage review")
    return _item_page(request, subject, db_session, item)


@router.post("/linkage/review/{item_id}")
def decide_review_item(
    request: Request,
    item_id: str,
    subject: LinkageReviewer,
    db_session: DbSession,
    action: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Confirm, reject or undo, with a reason, as the signed-in reviewer."""
    item = _open(db_session, subject, item_id, "linkage review decision")
    typed = {"action": action, "reason": reason}
    try:
        decision = ReviewDecisionIn(
            action=ReviewAction(action) if action in ReviewAction.__members__.values() else "",
            reason=reason,
            decided_by=subject.actor,
        )
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            field = str(error["loc"][0])
            errors.append(
                {
                    "text": "Choose confirm or reject"
                    if field == "action"
                    else "Give the reason for your decision (at least 3 characters)",
                    "href": "#action" if field == "action" else "#reason",
                }
            )
        return _item_page(
            request,
            subject,
            db_session,
            item,
            errors=errors,
            typed=typed,
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    try:
        linkage_review.decide(
            db_session=db_session, item=item, decision_in=decision, rules=default_rules()
        )
    except linkage_review.ReviewError as exc:
        return _item_page(
            request,
            subject,
            db_session,
            item,
            errors=[{"text": str(exc), "href": "#action"}],
            typed=typed,
            status_code=status.HTTP_409_CONFLICT,
        )
    return RedirectResponse(f"/linkage/review/{item.id}", status_code=status.HTTP_303_SEE_OTHER)
