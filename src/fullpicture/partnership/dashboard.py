"""Partnership dashboard figures, computed with polars over the database.

Each figure is a table of aggregates (no person ids, names or entries): referral quality by
month, agency and element (R1-R20 status at submission); sharing latency by agency pair;
drift counts; escalations by stage and status; alert outcomes. The same tables are served as
JSON, CSV (spreadsheet-safe through ``core.csv_export.csv_line``) and Parquet.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.agencies.models import Agency
from fullpicture.core.csv_export import csv_line
from fullpicture.core.database import utc_now
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.people.models import Person
from fullpicture.referrals.models import Referral, ReferralChild, ReferralStatus
from fullpicture.sharing import latency
from fullpicture.workflow import repository as workflow_repository
from fullpicture.workflow.models import Escalation
from fullpicture.workflow.service import clocks_of
from fullpicture.workflow.timescales import StepStatus

FIGURES = ("referral_quality", "sharing_latency", "drift", "escalations", "alert_outcomes")


class UnknownFigure(LookupError):
    pass


def _agency_codes(db_session: Session) -> dict[int, str]:
    return {i: c for i, c in db_session.execute(select(Agency.id, Agency.code))}


def referral_quality(db_session: Session, today: dt.date) -> pl.DataFrame:
    """Per month, referring agency and element: how many submitted referrals had it present,
    partial or absent (the check stored at submission)."""
    codes = _agency_codes(db_session)
    rows: list[dict[str, Any]] = []
    for submitted_at, agency_id, result in db_session.execute(
        select(Referral.submitted_at, Referral.referrer_agency_id, Referral.check_result).where(
            Referral.status == ReferralStatus.SUBMITTED, Referral.check_result.is_not(None)
        )
    ):
        month = f"{submitted_at:%Y-%m}" if submitted_at else ""
        agency = codes.get(agency_id, "") if agency_id else ""
        for element, finding in (result or {}).get("elements", {}).items():
            rows.append(
                {
                    "month": month,
                    "agency": agency,
                    "element": element,
                    "status": finding.get("status", ""),
                }
            )
    schema = {"month": pl.String, "agency": pl.String, "element": pl.String, "status": pl.String}
    frame = pl.DataFrame(rows, schema=schema)
    return (
        frame.group_by("month", "agency", "element")
        .agg(
            pl.len().alias("referrals"),
            (pl.col("status") == "present").sum().alias("present"),
            (pl.col("status") == "partial").sum().alias("partial"),
            (pl.col("status") == "absent").sum().alias("absent"),
        )
        .with_columns((pl.col("present") / pl.col("referrals")).round(3).alias("present_share"))
        .sort("month", "agency", "element")
    )


def sharing_latency(db_session: Session, today: dt.date) -> pl.DataFrame:
    """Per (recording agency, receiving agency): significant entries, how many were received,
    how many never shared, and the median and mean days to receipt."""
    rows = [
        {"from_agency": r.from_agency_code, "to_agency": r.to_agency_code, "days": r.days}
        for r in latency.entry_sharing(db_session)
    ]
    frame = pl.DataFrame(
        rows, schema={"from_agency": pl.String, "to_agency": pl.String, "days": pl.Int64}
    )
    return (
        frame.group_by("from_agency", "to_agency")
        .agg(
            pl.len().alias("significant_entries"),
            pl.col("days").is_not_null().sum().alias("received"),
            pl.col("days").is_null().sum().alias("never_shared"),
            pl.col("days").median().alias("median_days"),
            pl.col("days").mean().round(1).alias("mean_days"),
        )
        .sort("from_agency", "to_agency")
    )


def drift(db_session: Session, today: dt.date) -> pl.DataFrame:
    """Open cases' drift: overdue steps by timescale, cases with no lead practitioner."""
    rows: list[dict[str, Any]] = []
    for case in workflow_repository.open_cases_among(db_session, select(Person.id)):
        latest = case.leads[-1] if case.leads else None
        if latest is None or latest.name is None:
            rows.append({"finding": "case_without_lead", "kind": case.kind.value})
        for clock in clocks_of(case, today):
            if clock.status is StepStatus.OVERDUE:
                rows.append({"finding": f"overdue:{clock.timescale}", "kind": case.kind.value})
    frame = pl.DataFrame(rows, schema={"finding": pl.String, "kind": pl.String})
    return frame.group_by("finding", "kind").agg(pl.len().alias("cases")).sort("finding", "kind")


def escalations(db_session: Session, today: dt.date) -> pl.DataFrame:
    """Escalations by their current stage and status, and how many escalated themselves."""
    rows = [
        {
            "stage": item.stages[-1].stage if item.stages else 0,
            "status": item.status.value,
            "escalated_itself": any(s.escalated_itself for s in item.stages),
        }
        for item in db_session.scalars(select(Escalation)).unique()
    ]
    frame = pl.DataFrame(
        rows, schema={"stage": pl.Int64, "status": pl.String, "escalated_itself": pl.Boolean}
    )
    return (
        frame.group_by("stage", "status")
        .agg(
            pl.len().alias("escalations"), pl.col("escalated_itself").sum().alias("self_escalated")
        )
        .sort("stage", "status")
    )


ALERT_OUTCOMES = (
    "not yet acknowledged",
    "acknowledged",
    "closed: led to a referral",
    "closed: no referral",
)


def alert_outcomes(db_session: Session, today: dt.date) -> pl.DataFrame:
    """Alerts by what came of them (issue 15: acknowledged / led to a referral / closed with no
    action): a closed alert "led to a referral" when a referral about the child was submitted on
    or after the day the alert was raised.

    Only these categories are counted. The outcome a practitioner writes when closing an alert
    is free text about a child (it can name the child or a placement), so it never reaches the
    analyst's aggregates, not even in a cell of one.
    """
    referred = (
        select(ReferralChild.person_id, Referral.submitted_at)
        .join(Referral, Referral.id == ReferralChild.referral_id)
        .where(Referral.status == ReferralStatus.SUBMITTED, ReferralChild.person_id.is_not(None))
    )
    submitted: dict[int, list[dt.date]] = {}
    for person_id, submitted_at in db_session.execute(referred):
        if person_id is not None and submitted_at is not None:
            submitted.setdefault(person_id, []).append(submitted_at.date())
    rows = []
    for status, person_id, raised_on in db_session.execute(
        select(HarmAlert.status, HarmAlert.person_id, HarmAlert.raised_on)
    ):
        if status is AlertStatus.NEW:
            outcome = ALERT_OUTCOMES[0]
        elif status is AlertStatus.ACKNOWLEDGED:
            outcome = ALERT_OUTCOMES[1]
        elif any(day >= raised_on for day in submitted.get(person_id, ())):
            outcome = ALERT_OUTCOMES[2]
        else:
            outcome = ALERT_OUTCOMES[3]
        rows.append({"status": status.value, "outcome": outcome})
    frame = pl.DataFrame(rows, schema={"status": pl.String, "outcome": pl.String})
    return (
        frame.group_by("status", "outcome").agg(pl.len().alias("alerts")).sort("status", "outcome")
    )


_FIGURE_FUNCTIONS: dict[str, Callable[[Session, dt.date], pl.DataFrame]] = {
    "referral_quality": referral_quality,
    "sharing_latency": sharing_latency,
    "drift": drift,
    "escalations": escalations,
    "alert_outcomes": alert_outcomes,
}


def figure(db_session: Session, name: str, *, today: dt.date | None = None) -> pl.DataFrame:
    if name not in _FIGURE_FUNCTIONS:
        raise UnknownFigure(f"no figure {name!r}: one of {', '.join(FIGURES)}")
    return _FIGURE_FUNCTIONS[name](db_session, today or utc_now().date())


def all_figures(db_session: Session, *, today: dt.date | None = None) -> dict[str, pl.DataFrame]:
    return {name: figure(db_session, name, today=today) for name in FIGURES}


def as_csv(frame: pl.DataFrame) -> str:
    """The figure as spreadsheet-safe CSV (every cell through ``csv_line``)."""
    lines = [csv_line(frame.columns)]
    for row in frame.iter_rows():
        lines.append(csv_line(["" if v is None else str(v) for v in row]))
    return "".join(lines)


def as_parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()
