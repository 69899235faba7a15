"""The partnership dashboard page: the five learning figures the service computes
(``partnership.dashboard``), each as a table and a print-readable SVG bar chart, with links to
the same figure as CSV and Parquet. Aggregates only: nothing on it names or identifies a
child. Needs ``aggregates:read`` (partnership analysts); every view is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse

from fullpicture.access import audit
from fullpicture.access.auth import AggregateReader, DbSession
from fullpicture.core.database import utc_now
from fullpicture.partnership import charts, dashboard
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
    "referral_quality": "Each submitted referral's check at submission: how many had each "
    "element present, partial or absent.",
    "sharing_latency": "Significant entries (severity 3 or more) recorded by one agency, and "
    "the days until each other agency working with the child received them.",
    "drift": "Open cases with an overdue statutory step, by timescale, and cases without a "
    "lead practitioner, on the date shown.",
    "escalations": "Escalations by the stage they have reached and their status, and how many "
    "escalated themselves when a stage went unanswered.",
    "alert_outcomes": "Cumulative-harm alerts by status and the outcome recorded.",
}
#: The figures are as of a date; none before the service could hold records.
EARLIEST_DATE = dt.date(2000, 1, 1)


def _as_of(raw: str | None, today: dt.date) -> tuple[dt.date, list[dict[str, str]]]:
    if raw is None or raw == "":
        return today, []
    try:
        as_of = dt.date.fromisoformat(raw.strip())
    except ValueError:
        return today, [
            {"text": "Enter the date as year-month-day, for example 2026-12-06", "href": "#as_of"}
        ]
    if as_of > today:
        return today, [{"text": "The date must be today or in the past", "href": "#as_of"}]
    if as_of < EARLIEST_DATE:
        return today, [{"text": "The date must be in 2000 or later", "href": "#as_of"}]
    return as_of, []


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    subject: AggregateReader,
    db_session: DbSession,
    as_of: str | None = None,
) -> HTMLResponse:
    today = utc_now().date()
    typed = (as_of or "")[:40]
    date, errors = _as_of(typed, today)
    audit.record(
        db_session=db_session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action="dashboard.read",
        target=f"dashboard:page:{date.isoformat()}",
    )
    figures: list[dict[str, Any]] = []
    if not errors:
        for name, frame in dashboard.all_figures(db_session, today=date).items():
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
                        for row in frame.iter_rows()
                    ],
                    "chart": charts.chart_of(name, frame),
                }
            )
    return render_page(
        templates,
        request,
        "dashboard.html",
        {"figures": figures, "as_of": date, "typed": typed, "errors": errors},
        subject=subject,
        db_session=db_session,
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT if errors else 200,
    )
