"""Partnership dashboard figures, computed in SQL and polars over the database.

Each figure is a table of aggregates (no person ids, names or entries): referral quality by
month, agency and element (R1-R20 status at submission); sharing latency by agency pair;
drift counts; escalations by stage and status; alert outcomes. The same tables are served as
JSON, CSV (spreadsheet-safe through ``core.csv_export.csv_line``) and Parquet.

Nothing here walks a child's rows in Python: each figure is counted in SQL (or, for the
statutory clocks, whose working-day arithmetic is Python's, computed as polars columns over
every open case's steps at once), so the page stays quick for an authority of 100,000
children (``bench/dashboard.py``; docs/benchmarks.md).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import polars as pl
from sqlalchemy import and_, bindparam, case, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from fullpicture.agencies.models import Agency
from fullpicture.core.csv_export import csv_line
from fullpicture.core.database import UTCDateTime, utc_date, utc_now
from fullpicture.core.frames import read_frame
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.referrals.models import Referral, ReferralChild, ReferralStatus
from fullpicture.sharing import latency
from fullpicture.workflow import repository as workflow_repository
from fullpicture.workflow.models import (
    Case,
    CaseStep,
    Escalation,
    EscalationStage,
    LeadPractitionerAssignment,
)
from fullpicture.workflow.timescales import STEP_COLUMNS, StepStatus, clock_statuses

FIGURES = ("referral_quality", "sharing_latency", "drift", "escalations", "alert_outcomes")


class UnknownFigure(LookupError):
    pass


def _agency_codes(db_session: Session) -> pl.DataFrame:
    return pl.DataFrame(
        [tuple(row) for row in db_session.execute(select(Agency.id, Agency.code))],
        schema={"agency_id": pl.Int64, "code": pl.String},
        orient="row",
    )


def _frame(rows: Iterable[Sequence[Any]], schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([tuple(row) for row in rows], schema=schema, orient="row")


#: Each submitted referral's elements and their status at submission (the narrow
#: ``referral_element_status`` rows written with the check), counted per month (UTC),
#: referring agency and element.
_ELEMENT_STATUS_SQL = """
    SELECT month, agency, element, count(*),
           sum(CASE WHEN status = 'present' THEN 1 ELSE 0 END),
           sum(CASE WHEN status = 'partial' THEN 1 ELSE 0 END),
           sum(CASE WHEN status = 'absent' THEN 1 ELSE 0 END)
    FROM (
        SELECT coalesce({month}, '') AS month, coalesce(a.code, '') AS agency,
               e.element AS element, e.status AS status
        FROM referral AS r
        JOIN referral_element_status AS e ON e.referral_id = r.id
        LEFT JOIN agency AS a ON a.id = r.referrer_agency_id
        WHERE r.status = :submitted
          AND (r.submitted_at IS NULL OR (r.submitted_at < :until{since}))
    ) AS found
    GROUP BY month, agency, element"""
_MONTH = {
    "postgresql": "to_char(r.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM')",
    "sqlite": "strftime('%Y-%m', r.submitted_at)",
}


def _day_starts(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def referral_quality(
    db_session: Session, today: dt.date, since: dt.date | None = None
) -> pl.DataFrame:
    """Per month, referring agency and element: how many referrals submitted in the period
    had it present, partial or absent (the check stored at submission)."""
    sql = _ELEMENT_STATUS_SQL.format(
        month=_MONTH[db_session.get_bind().dialect.name],
        since="" if since is None else " AND r.submitted_at >= :since",
    )
    bounds: dict[str, Any] = {
        "submitted": ReferralStatus.SUBMITTED.value,
        "until": _day_starts(today + dt.timedelta(days=1)),
    }
    if since is not None:
        bounds["since"] = _day_starts(since)
    count = pl.UInt32  # the width polars gives a count
    # Typed so each backend compares the timestamps as it stores them.
    query = text(sql).bindparams(
        *(
            bindparam(name, value, type_=UTCDateTime())
            if name != "submitted"
            else bindparam(name, value)
            for name, value in bounds.items()
        )
    )
    # 60,000 counts for an authority: read as a frame, not row by row.
    counted = read_frame(
        db_session,
        query,
        {
            "month": pl.String,
            "agency": pl.String,
            "element": pl.String,
            "referrals": count,
            "present": count,
            "partial": count,
            "absent": count,
        },
    )
    return counted.with_columns(
        (pl.col("present") / pl.col("referrals")).round(3).alias("present_share")
    ).sort("month", "agency", "element")


def sharing_latency(
    db_session: Session, today: dt.date, since: dt.date | None = None
) -> pl.DataFrame:
    """Per (recording agency, receiving agency): significant entries recorded in the period,
    how many were received by its end, how many not, and the median and mean days to receipt."""
    counted = latency.receipt_days(db_session, recorded_until=today, recorded_since=since).rename(
        {"from_agency_id": "from_id", "to_agency_id": "to_id", "pairs": "n"}
    )
    codes = _agency_codes(db_session)
    # One row per pair again (a few hundred thousand integers) so the median is exact.
    pairs = (
        counted.join(codes.rename({"agency_id": "from_id", "code": "from_agency"}), on="from_id")
        .join(codes.rename({"agency_id": "to_id", "code": "to_agency"}), on="to_id")
        .select("from_agency", "to_agency", "days", pl.int_ranges(0, "n").alias("copy"))
        .explode("copy")
    )
    return (
        pairs.group_by("from_agency", "to_agency")
        .agg(
            pl.len().alias("significant_entries"),
            pl.col("days").is_not_null().sum().alias("received"),
            pl.col("days").is_null().sum().alias("never_shared"),
            pl.col("days").median().alias("median_days"),
            pl.col("days").mean().round(1).alias("mean_days"),
        )
        .sort("from_agency", "to_agency")
    )


def drift(db_session: Session, today: dt.date, since: dt.date | None = None) -> pl.DataFrame:
    """Drift in the cases open on ``today``: overdue steps by timescale (from the steps
    recorded by then), cases with no lead practitioner. A count on one day: ``since`` is not
    used."""
    open_then = and_(Case.opened_on <= today, or_(Case.closed_on.is_(None), Case.closed_on > today))
    current = workflow_repository.current_leads().subquery("current_lead")
    cases = _frame(
        db_session.execute(
            select(Case.id, Case.kind, Case.closed_on, LeadPractitionerAssignment.name)
            .outerjoin(current, current.c[0] == Case.id)
            .outerjoin(LeadPractitionerAssignment, LeadPractitionerAssignment.id == current.c[1])
            .where(open_then)
        ),
        {"case_id": pl.Int64, "kind": pl.String, "closed_on": pl.Date, "lead": pl.String},
    ).with_columns(pl.lit(None, dtype=pl.Date).alias("closed_on"))  # open on the day counted
    steps = _frame(
        db_session.execute(
            select(CaseStep.case_id, CaseStep.id, CaseStep.kind, CaseStep.occurred_on)
            .join(Case, Case.id == CaseStep.case_id)
            .where(open_then, CaseStep.occurred_on <= today)
        ),
        STEP_COLUMNS,
    )
    overdue = (
        clock_statuses(steps, cases.select("case_id", "closed_on"), today=today)
        .filter(pl.col("status") == StepStatus.OVERDUE.value)
        .join(cases.select("case_id", "kind"), on="case_id")
        .select(("overdue:" + pl.col("timescale")).alias("finding"), "kind")
    )
    without_lead = cases.filter(pl.col("lead").is_null()).select(
        pl.lit("case_without_lead").alias("finding"), "kind"
    )
    return (
        pl.concat([without_lead, overdue])
        .group_by("finding", "kind")
        .agg(pl.len().alias("cases"))
        .sort("finding", "kind")
    )


def escalations(db_session: Session, today: dt.date, since: dt.date | None = None) -> pl.DataFrame:
    """Escalations opened in the period by their current stage and status, and how many
    escalated themselves."""
    opened = [Escalation.opened_at < _day_starts(today + dt.timedelta(days=1))]
    if since is not None:
        opened.append(Escalation.opened_at >= _day_starts(since))
    stages = (
        select(
            EscalationStage.escalation_id.label("escalation_id"),
            func.max(EscalationStage.id).label("last_id"),
            func.max(case((EscalationStage.escalated_itself, 1), else_=0)).label("itself"),
        )
        .group_by(EscalationStage.escalation_id)
        .subquery("stages")
    )
    current = aliased(EscalationStage)
    per_escalation = _frame(
        db_session.execute(
            select(
                func.coalesce(current.stage, 0),
                Escalation.status,
                func.coalesce(stages.c.itself, 0),
            )
            .outerjoin(stages, stages.c.escalation_id == Escalation.id)
            .outerjoin(current, current.id == stages.c.last_id)
            .where(*opened)
        ),
        {"stage": pl.Int64, "status": pl.String, "escalated_itself": pl.Int64},
    ).with_columns(pl.col("escalated_itself").cast(pl.Boolean))
    return (
        per_escalation.group_by("stage", "status")
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


def alert_outcomes(
    db_session: Session, today: dt.date, since: dt.date | None = None
) -> pl.DataFrame:
    """Alerts raised in the period by what came of them (issue 15: acknowledged / led to a
    referral / closed with no action): a closed alert "led to a referral" when a referral about
    the child was submitted on or after the day the alert was raised, up to the period's end.

    Only these categories are counted. The outcome a practitioner writes when closing an alert
    is free text about a child (it can name the child or a placement), so it never reaches the
    analyst's aggregates, not even in a cell of one.
    """
    referred = (
        select(ReferralChild.id)
        .join(Referral, Referral.id == ReferralChild.referral_id)
        .where(
            ReferralChild.person_id == HarmAlert.person_id,
            Referral.status == ReferralStatus.SUBMITTED,
            Referral.submitted_at.is_not(None),
            utc_date(Referral.submitted_at) >= HarmAlert.raised_on,
            utc_date(Referral.submitted_at) <= today,
        )
        .exists()
    )
    raised = [HarmAlert.raised_on <= today]
    if since is not None:
        raised.append(HarmAlert.raised_on >= since)
    outcome = case(
        (HarmAlert.status == AlertStatus.NEW, ALERT_OUTCOMES[0]),
        (HarmAlert.status == AlertStatus.ACKNOWLEDGED, ALERT_OUTCOMES[1]),
        (referred, ALERT_OUTCOMES[2]),
        else_=ALERT_OUTCOMES[3],
    )
    each = (
        select(HarmAlert.status.label("status"), outcome.label("outcome"))
        .where(*raised)
        .subquery("each")
    )
    counted = _frame(
        db_session.execute(
            select(each.c.status, each.c.outcome, func.count()).group_by(
                each.c.status, each.c.outcome
            )
        ),
        {"status": pl.String, "outcome": pl.String, "alerts": pl.Int64},
    )
    return counted.with_columns(pl.col("alerts").cast(pl.UInt32)).sort("status", "outcome")


class FigureFunction(Protocol):
    def __call__(
        self, db_session: Session, today: dt.date, since: dt.date | None = None
    ) -> pl.DataFrame: ...


_FIGURE_FUNCTIONS: dict[str, FigureFunction] = {
    "referral_quality": referral_quality,
    "sharing_latency": sharing_latency,
    "drift": drift,
    "escalations": escalations,
    "alert_outcomes": alert_outcomes,
}


def figure_function(name: str) -> FigureFunction:
    """The function computing one figure; refuses a name that is not one of ``FIGURES``."""
    if name not in _FIGURE_FUNCTIONS:
        raise UnknownFigure(f"no figure {name!r}: one of {', '.join(FIGURES)}")
    return _FIGURE_FUNCTIONS[name]


def _analytical(db_session: Session) -> None:
    """Tune the rest of this transaction for counting over a whole authority: on PostgreSQL,
    no JIT compiler (over a million entries it spent 10 s compiling a query that ran once,
    ``bench/dashboard.py``) and more memory for sorts and hashes."""
    if db_session.get_bind().dialect.name == "postgresql":
        db_session.execute(text("SET LOCAL jit = off"))
        # Joins and counts over hundreds of thousands of rows spill to disk at the default
        # 4 MB; an analyst's page request can afford more.
        db_session.execute(text("SET LOCAL work_mem = '64MB'"))


def figure(
    db_session: Session,
    name: str,
    *,
    today: dt.date | None = None,
    since: dt.date | None = None,
) -> pl.DataFrame:
    """One figure as of ``today`` (the current date when None), counting from ``since``."""
    compute = figure_function(name)
    _analytical(db_session)
    return compute(db_session, today or utc_now().date(), since)


def all_figures(
    db_session: Session, *, today: dt.date | None = None, since: dt.date | None = None
) -> dict[str, pl.DataFrame]:
    return {name: figure(db_session, name, today=today, since=since) for name in FIGURES}


def as_csv(frame: pl.DataFrame) -> str:
    """The figure as spreadsheet-safe CSV (every cell through ``csv_line``)."""
    lines = [csv_line(frame.columns)]
    for row in frame.iter_rows():
        lines.append(csv_line(["" if v is None else str(v) for v in row]))
    return "".join(lines)


def as_parquet(frame: pl.DataFrame, metadata: dict[str, str] | None = None) -> bytes:
    """The figure as Parquet, carrying ``metadata`` (what it counts) as file key-values."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, metadata=metadata)
    return buffer.getvalue()
