"""The practitioner's home page: my children, alerts routed to me or my agency, my draft
referrals, what is overdue in my care. Each section is what a service returns for the
signed-in user; the page filters nothing itself."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fullpicture.access import person_summaries
from fullpicture.access.auth import DbSession, Principal
from fullpicture.access.roles import Scope
from fullpicture.core.database import utc_now
from fullpicture.harm import service as harm_service
from fullpicture.harm.models import AlertStatus
from fullpicture.harm.schemas import AlertRead
from fullpicture.referrals import service as referral_service
from fullpicture.web.templating import WEB_DIR, csrf_token_of, page_templates, render_page
from fullpicture.workflow import drift

templates = page_templates(WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)

OPEN_ALERT_STATUSES = (AlertStatus.NEW, AlertStatus.ACKNOWLEDGED)
#: The longest overdue are shown first; the rest are counted, with where to find them.
OVERDUE_SHOWN = 25
#: What each kind of drift (workflow/drift.py) is called on the page.
OVERDUE_KINDS = {
    "overdue_step": "Statutory step overdue",
    "no_contact": "No recorded contact with the child",
    "plan_past_review": "Plan past its review date",
    "alert_unacknowledged": "Alert not acknowledged",
}


@router.get("/home", response_class=HTMLResponse)
def home_page(request: Request, subject: Principal, db_session: DbSession) -> HTMLResponse:
    now = utc_now()
    children: list[person_summaries.ChildSummary] = []
    children_total = 0
    shown_alerts: list[AlertRead] = []
    alert_children: dict[int, person_summaries.ChildSummary] = {}
    drafts = []
    overdue: list[drift.ChildDrift] = []
    overdue_children: dict[int, person_summaries.ChildSummary] = {}
    if subject.has(Scope.CHILDREN_READ):
        children, children_total = person_summaries.agency_children(
            db_session, subject=subject, now=now
        )
        alerts = harm_service.readable_alerts(
            db_session=db_session,
            subject=subject,
            now=now,
            statuses=OPEN_ALERT_STATUSES,
            routed_to_agency_id=subject.agency_id,
            limit=50,
        )
        alert_children = person_summaries.child_summaries(
            db_session, subject=subject, now=now, person_ids=[a.person_id for a in alerts]
        )
        shown_alerts = harm_service.disclose_alerts(
            db_session=db_session, reader=subject, alerts=alerts
        )
        overdue = drift.drift_in_my_care(db_session=db_session, subject=subject, now=now)
        overdue_children = person_summaries.child_summaries(
            db_session,
            subject=subject,
            now=now,
            person_ids=sorted({d.person_id for d in overdue[:OVERDUE_SHOWN]}),
        )
    if subject.has(Scope.REFERRALS_WRITE):
        drafts = list(referral_service.my_drafts(db_session=db_session, author=subject))
    return render_page(
        templates,
        request,
        "home.html",
        {
            "children": children,
            "children_total": children_total,
            "alerts": shown_alerts,
            "alert_children": alert_children,
            "drafts": drafts,
            "overdue": overdue[:OVERDUE_SHOWN],
            "overdue_total": len(overdue),
            "overdue_children": overdue_children,
            "today": now.date(),
            "overdue_kinds": OVERDUE_KINDS,
            "reads_children": subject.has(Scope.CHILDREN_READ),
            "writes_referrals": subject.has(Scope.REFERRALS_WRITE),
        },
        subject=subject,
        db_session=db_session,
    )


@router.get("/api/docs/csrf-token")
def api_docs_csrf_token(subject: Principal, db_session: DbSession) -> dict[str, str]:
    """The signed-in browser session's CSRF token, for the interactive API docs to send with
    the requests it makes (the same token every form of the session carries). Readable only by
    pages of this site: no cross-origin reads are allowed, so another site cannot learn it."""
    return {"csrf_token": csrf_token_of(db_session, subject)}
