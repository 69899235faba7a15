"""The dashboard's figures as last computed, and computing them again.

Live, the five figures for a 100,000-child authority take seconds (sharing latency pairs each
of ~340,000 significant entries' children with every other agency working with the child;
docs/benchmarks.md), too long for a page an analyst opens and re-opens. So the page shows the
figures stored for its period with the time they were computed, an analyst can ask for them
again, and the scheduler refreshes today's (``fullpicture notifications schedule``). A period
nobody has asked for before is computed when first asked for, and stored.

Each figure is stored exactly as computed (Parquet keeps polars' types), so a stored figure is
the figure: nothing is recomputed or rounded on the way to the page.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from dataclasses import dataclass

import polars as pl
from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.core.database import unit_of_work, utc_now
from fullpicture.core.runtime import get_session_factory
from fullpicture.partnership import dashboard
from fullpicture.partnership.models import DashboardFigureSnapshot
from fullpicture.partnership.schemas import DashboardPeriod

#: Who refreshes the figures on a schedule, in the snapshot and the audit log.
SCHEDULER = "scheduler:dashboard"
#: Stored figures computed longer ago than this are removed by the scheduled refresh: a
#: period asked for once is not kept for ever, and a period asked for again is recomputed.
KEEP_FOR = dt.timedelta(days=31)


@dataclass(frozen=True)
class StoredFigures:
    """Every dashboard figure for one period and when (and by whom) it was computed: the
    oldest figure's time, so the page never claims the figures are newer than they are."""

    period: DashboardPeriod
    frames: dict[str, pl.DataFrame]
    computed_at: dt.datetime
    computed_by: str
    seconds: float


def _period_is(period: DashboardPeriod) -> list[ColumnElement[bool]]:
    since = (
        DashboardFigureSnapshot.since.is_(None)
        if period.since is None
        else DashboardFigureSnapshot.since == period.since
    )
    return [DashboardFigureSnapshot.as_of == period.as_of, since]


def _frame_of(parquet: bytes) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(parquet))


def stored(db_session: Session, period: DashboardPeriod) -> StoredFigures | None:
    """The figures stored for ``period``, or None while any of them has not been computed."""
    rows = db_session.scalars(select(DashboardFigureSnapshot).where(*_period_is(period))).all()
    latest = {row.figure: row for row in sorted(rows, key=lambda row: row.computed_at)}
    if set(latest) != set(dashboard.FIGURES):
        return None
    oldest = min(latest.values(), key=lambda row: row.computed_at)
    return StoredFigures(
        period=period,
        frames={name: _frame_of(latest[name].parquet) for name in dashboard.FIGURES},
        computed_at=oldest.computed_at,
        computed_by=oldest.computed_by,
        seconds=round(sum(row.seconds for row in latest.values()), 3),
    )


def stored_figure(
    db_session: Session, name: str, period: DashboardPeriod
) -> tuple[pl.DataFrame, dt.datetime] | None:
    """One figure as stored for ``period`` and when it was computed (None when it never was)."""
    dashboard.figure_function(name)  # refuses a name that is not a figure
    row = db_session.scalars(
        select(DashboardFigureSnapshot)
        .where(*_period_is(period), DashboardFigureSnapshot.figure == name)
        .order_by(DashboardFigureSnapshot.computed_at.desc())
        .limit(1)
    ).first()
    return None if row is None else (_frame_of(row.parquet), row.computed_at)


def refresh(
    db_session: Session,
    period: DashboardPeriod,
    *,
    actor: str,
    actor_user_id: int | None = None,
    now: dt.datetime | None = None,
) -> StoredFigures:
    """Compute every figure for ``period`` now and store them in place of the last ones
    (audited, with how long it took)."""
    computed_at = now or utc_now()
    frames: dict[str, pl.DataFrame] = {}
    seconds: dict[str, float] = {}
    for name in dashboard.FIGURES:
        begun = time.perf_counter()
        frames[name] = dashboard.figure(db_session, name, today=period.as_of, since=period.since)
        seconds[name] = round(time.perf_counter() - begun, 3)
    db_session.execute(delete(DashboardFigureSnapshot).where(*_period_is(period)))
    db_session.add_all(
        DashboardFigureSnapshot(
            figure=name,
            as_of=period.as_of,
            since=period.since,
            computed_at=computed_at,
            computed_by=actor,
            seconds=seconds[name],
            parquet=dashboard.as_parquet(frame, period.metadata()),
        )
        for name, frame in frames.items()
    )
    db_session.flush()
    audit.record(
        db_session=db_session,
        actor=actor,
        actor_user_id=actor_user_id,
        action="dashboard.refresh",
        target=f"dashboard:{period.as_of.isoformat()}",
        detail=period.metadata() | {"seconds": seconds},
    )
    return StoredFigures(
        period=period,
        frames=frames,
        computed_at=computed_at,
        computed_by=actor,
        seconds=round(sum(seconds.values()), 3),
    )


def stored_or_refreshed(
    db_session: Session, period: DashboardPeriod, *, actor: str, actor_user_id: int | None = None
) -> StoredFigures:
    """The stored figures for ``period``; computed and stored now if there are none."""
    return stored(db_session, period) or refresh(
        db_session, period, actor=actor, actor_user_id=actor_user_id
    )


def forget_old(db_session: Session, *, now: dt.datetime | None = None) -> int:
    """Remove figures computed longer ago than ``KEEP_FOR``; how many rows went."""
    cutoff = (now or utc_now()) - KEEP_FOR
    result = db_session.execute(
        delete(DashboardFigureSnapshot).where(DashboardFigureSnapshot.computed_at < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def refresh_today(db_session: Session, *, now: dt.datetime | None = None) -> StoredFigures:
    """The scheduler's refresh: today's figures over everything recorded, and old ones gone."""
    now = now or utc_now()
    forget_old(db_session, now=now)
    return refresh(db_session, DashboardPeriod(as_of=now.date()), actor=SCHEDULER, now=now)


def refresh_job() -> None:
    """The scheduler's job: one refresh in its own transaction."""
    with unit_of_work(get_session_factory()) as session:
        refresh_today(session)
