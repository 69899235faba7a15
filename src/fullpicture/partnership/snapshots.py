"""The dashboard's figures as last computed, and computing them again.

Live, the five figures for a 100,000-child authority take seconds (sharing latency pairs each
of ~340,000 significant entries' children with every other agency working with the child;
docs/benchmarks.md), too long for a page an analyst opens and re-opens. So the page shows the
figures stored for its period with the time they were computed, an analyst can ask for them
again, and the scheduler refreshes today's (``fullpicture notifications schedule``). A period
nobody has asked for before is computed when first asked for, and stored. One computation runs
at a time, and an analyst may ask for ``COMPUTATIONS_PER_HOUR`` an hour.

Each figure is stored exactly as computed (Parquet keeps polars' types), so a stored figure is
the figure: nothing is recomputed or rounded on the way to the page.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import polars as pl
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access.models import AuditEntry
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
#: How many computations (a new period's first view, or "compute again") one analyst may ask
#: for in an hour. Each reads the whole authority (seconds of the server for 100,000 children,
#: docs/benchmarks.md), so typing date after date cannot keep it busy; figures already stored
#: are shown whatever the count.
COMPUTATIONS_PER_HOUR = 12
#: The PostgreSQL advisory lock taken while figures are computed (any number unique to it).
_COMPUTING_LOCK = 0x0DA5_0015
#: SQLite is one process's embedded database: a lock in the process does the same.
_computing = threading.Lock()


class ComputationRefused(Exception):
    """Figures not computed now: another computation is running (``reason`` "busy"), or the
    analyst has asked for ``COMPUTATIONS_PER_HOUR`` this hour ("limit"). ``retry_after`` is
    in seconds."""

    def __init__(self, reason: str, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after


#: What the page says for each refusal (a fixed text: nothing typed is echoed back).
REFUSALS = {
    "busy": "Figures are being computed for someone else just now, and only one computation "
    "runs at a time. Try again in a minute.",
    "limit": f"You have had figures computed {COMPUTATIONS_PER_HOUR} times in the last hour, the "
    "most one person may. Figures already computed can still be shown. Try again later.",
}


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


def _within_the_hourly_limit(db_session: Session, user_id: int, now: dt.datetime) -> None:
    """Refuses an analyst's computation once they have had ``COMPUTATIONS_PER_HOUR`` in the
    hour before ``now`` (counted from the audit log, so across processes and restarts)."""
    hour_ago = now - dt.timedelta(hours=1)
    done, first = db_session.execute(
        select(func.count(), func.min(AuditEntry.occurred_at)).where(
            AuditEntry.action == "dashboard.refresh",
            AuditEntry.actor_user_id == user_id,
            AuditEntry.occurred_at > hour_ago,
        )
    ).one()
    if done >= COMPUTATIONS_PER_HOUR:
        wait = max(1, int((first + dt.timedelta(hours=1) - now).total_seconds()) + 1)
        raise ComputationRefused("limit", REFUSALS["limit"], retry_after=wait)


@contextmanager
def _one_at_a_time(db_session: Session, *, wait: bool) -> Iterator[None]:
    """Holds the computing lock (waiting for it when ``wait``, else refusing while another
    computation holds it). On PostgreSQL it is an advisory lock of the transaction, so every
    process of the web app and the scheduler share it; the session that holds it may take it
    again."""
    if db_session.get_bind().dialect.name == "postgresql":
        if wait:
            db_session.execute(select(func.pg_advisory_xact_lock(_COMPUTING_LOCK)))
        elif not db_session.scalar(select(func.pg_try_advisory_xact_lock(_COMPUTING_LOCK))):
            raise ComputationRefused("busy", REFUSALS["busy"], retry_after=30)
        yield
        return
    if not _computing.acquire(blocking=wait):
        raise ComputationRefused("busy", REFUSALS["busy"], retry_after=30)
    try:
        yield
    finally:
        _computing.release()


def refresh(
    db_session: Session,
    period: DashboardPeriod,
    *,
    actor: str,
    actor_user_id: int | None = None,
    now: dt.datetime | None = None,
) -> StoredFigures:
    """Compute every figure for ``period`` now and store them in place of the last ones
    (audited, with how long it took). One computation runs at a time: an analyst's
    (``actor_user_id`` given) is refused with ``ComputationRefused`` while another runs or once
    they have asked for ``COMPUTATIONS_PER_HOUR`` this hour; the scheduler's waits its turn."""
    computed_at = now or utc_now()
    if actor_user_id is not None:
        _within_the_hourly_limit(db_session, actor_user_id, computed_at)
    frames: dict[str, pl.DataFrame] = {}
    seconds: dict[str, float] = {}
    with _one_at_a_time(db_session, wait=actor_user_id is None):
        for name in dashboard.FIGURES:
            begun = time.perf_counter()
            frames[name] = dashboard.figure(
                db_session, name, today=period.as_of, since=period.since
            )
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
    """The stored figures for ``period``; computed and stored now if there are none (which
    ``refresh`` may refuse with ``ComputationRefused``)."""
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
