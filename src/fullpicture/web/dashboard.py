"""The partnership dashboard page: the five learning figures the service computes
(``partnership.dashboard``), each as a table and a print-readable SVG bar chart, with links to
the same figure as CSV and Parquet. Aggregates only: nothing on it names or identifies a
child. Needs ``aggregates:read`` (partnership analysts); every view is audited.

The figures shown are those stored for the period (``partnership.snapshots``), with when they
were computed and a button to compute them again; a period never computed before is computed
on its first view. One computation runs at a time and each analyst may ask for a few an hour
(``snapshots.COMPUTATIONS_PER_HOUR``); a refused one says why, and figures already stored are
still shown."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse

from fullpicture.access import audit
from fullpicture.access.auth import AggregateReader, DbSession
from fullpicture.partnership import charts, snapshots
from fullpicture.partnership.schemas import DashboardPeriod, PeriodRefused, period_from_text
from fullpicture.web.templating import WEB_DIR, page_templates, render_page

templates = page_templates(WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)

#: What each figure is, shown above its chart (the figure functions' own definitions).
FIGURE_TITLES = {
    "referral_quality": "Referral quality by month, agency and element",
    "sharing_latency": "Sharing latency by agency pair",
    "drift": "Drift in open cases",
    "escalations": "Escalations of professional disagreement",
    "alert_outcomes": "Alert outcomes",
}
FIGURE_HINTS = {
    "referral_quality": "Each referral submitted in the period, by its check at submission: "
    "how many had each element present, partial or absent.",
    "sharing_latency": "Significant entries (severity 3 or more) recorded in the period by one "
    "agency, and the days until each other agency working with the child received them (by "
    "the end of the period).",
    "drift": "Cases open on the 'as of' date with a statutory step overdue on that day, by "
    "timescale, and cases without a lead practitioner.",
    "escalations": "Escalations opened in the period by the stage they have reached and their "
    "status today, and how many escalated themselves when a stage went unanswered.",
    "alert_outcomes": "Cumulative-harm alerts raised in the period by their status today and "
    "the outcome recorded.",
}
#: Rows of each figure's table on the page; the CSV and Parquet downloads hold them all (an
#: authority's referral quality runs to tens of thousands of rows: months x agencies x
#: elements, more than a page can show or a reader take in).
PAGE_ROWS = 100


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    subject: AggregateReader,
    db_session: DbSession,
    as_of: str | None = None,
    since: str | None = None,
    refused: str | None = None,
) -> HTMLResponse:
    typed = {"as_of": (as_of or "")[:40], "since": (since or "")[:40]}
    errors: list[dict[str, str]] = []
    try:
        period = period_from_text(typed["as_of"], typed["since"])
    except PeriodRefused as not_a_period:
        period = DashboardPeriod.today()
        errors = [
            {"text": message, "href": f"#{field}"} for field, message in not_a_period.problems
        ]
    audit.record(
        db_session=db_session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action="dashboard.read",
        target=f"dashboard:page:{period.as_of.isoformat()}",
        detail={} if period.since is None else {"since": period.since.isoformat()},
    )
    figures: list[dict[str, Any]] = []
    computed: snapshots.StoredFigures | None = None
    # Why figures were not computed just now (a fixed text: what was typed is never echoed).
    refusal = snapshots.REFUSALS.get(refused or "")
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT if errors else status.HTTP_200_OK
    headers: dict[str, str] = {}
    if not errors:
        try:
            computed = snapshots.stored_or_refreshed(
                db_session, period, actor=subject.actor, actor_user_id=subject.user_id
            )
        except snapshots.ComputationRefused as refusing:
            refusal = snapshots.REFUSALS[refusing.reason]
            status_code = (
                status.HTTP_429_TOO_MANY_REQUESTS
                if refusing.reason == "limit"
                else status.HTTP_503_SERVICE_UNAVAILABLE
            )
            headers["Retry-After"] = str(refusing.retry_after)
    if computed is not None:
        for name, frame in computed.frames.items():
            figures.append(
                {
                    "name": name,
                    "title": FIGURE_TITLES[name],
                    "hint": FIGURE_HINTS[name],
                    "columns": [c.replace("_", " ").capitalize() for c in frame.columns],
                    "rows": [
                        [
                            "" if v is None else (f"{v:g}" if isinstance(v, float) else v)
                            for v in row
                        ]
                        for row in frame.head(PAGE_ROWS).iter_rows()
                    ],
                    "total_rows": frame.height,
                    "chart": charts.chart_of(name, frame),
                }
            )
    return render_page(
        templates,
        request,
        "dashboard.html",
        {
            "figures": figures,
            "as_of": period.as_of,
            "period": period.describe(),
            "export_query": urlencode(
                {"as_of": period.as_of.isoformat()}
                | ({} if period.since is None else {"since": period.since.isoformat()})
            ),
            "typed": typed,
            "computed": computed,
            "computed_at": None
            if computed is None
            else f"{computed.computed_at:%H:%M} UTC on {computed.computed_at:%d %b %Y}",
            "computed_by_scheduler": computed is not None
            and computed.computed_by == snapshots.SCHEDULER,
            "errors": errors,
            "field_errors": {e["href"][1:]: e["text"] for e in errors},
            "refusal": refusal,
        },
        subject=subject,
        db_session=db_session,
        status_code=status_code,
        headers=headers,
    )


@router.post("/dashboard/refresh")
async def refresh_figures(
    request: Request, subject: AggregateReader, db_session: DbSession
) -> RedirectResponse:
    """Compute the period's figures again now (audited as ``dashboard.refresh``) and show them.
    A period that is not one goes back to the page, which says what to fix."""
    form = await request.form()
    as_of, since = (str(form.get(name) or "")[:40] for name in ("as_of", "since"))
    query = urlencode({"as_of": as_of} | ({"since": since} if since else {}))
    try:
        period = period_from_text(as_of, since)
    except PeriodRefused:
        return RedirectResponse(f"/dashboard?{query}", status_code=status.HTTP_303_SEE_OTHER)
    try:
        snapshots.refresh(db_session, period, actor=subject.actor, actor_user_id=subject.user_id)
    except snapshots.ComputationRefused as refusing:
        # Back to the figures stored for the period, saying why they were not computed again.
        return RedirectResponse(
            f"/dashboard?{query}&{urlencode({'refused': refusing.reason})}#refused",
            status_code=status.HTTP_303_SEE_OTHER,
        )
    return RedirectResponse(f"/dashboard?{query}#computed", status_code=status.HTTP_303_SEE_OTHER)
