"""``/api/v1/dashboard``: the partnership's learning figures (aggregates only), as JSON, CSV
or Parquet. Needs ``aggregates:read`` (partnership analysts); no child data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access.auth import AggregateReader
from fullpicture.access.subject import AuthSubject
from fullpicture.core.runtime import request_session
from fullpicture.partnership import dashboard, snapshots
from fullpicture.partnership.schemas import DashboardPeriod, PeriodRefused, period_from_text

router = APIRouter(prefix="/api/v1", tags=["partnership dashboard"])

DbSession = Annotated[Session, Depends(request_session, scope="function")]


def period(
    as_of: Annotated[
        str | None, Query(max_length=40, description="year-month-day; today when left out")
    ] = None,
    since: Annotated[
        str | None, Query(max_length=40, description="year-month-day; the beginning if left out")
    ] = None,
) -> DashboardPeriod:
    """The figures' "as of" date and period from the query, or 422 saying what to fix."""
    try:
        return period_from_text(as_of, since)
    except PeriodRefused as refused:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["query", field], "msg": message} for field, message in refused.problems],
        ) from refused


Period = Annotated[DashboardPeriod, Depends(period)]


def _stored_or_refreshed(
    session: Session, dates: DashboardPeriod, subject: AuthSubject
) -> snapshots.StoredFigures:
    """The period's stored figures, computed now if there are none; a computation refused
    (another running, or the analyst's hourly number reached) is 503 or 429 with Retry-After."""
    try:
        return snapshots.stored_or_refreshed(
            session, dates, actor=subject.actor, actor_user_id=subject.user_id
        )
    except snapshots.ComputationRefused as refused:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS
            if refused.reason == "limit"
            else status.HTTP_503_SERVICE_UNAVAILABLE,
            str(refused),
            headers={"Retry-After": str(refused.retry_after)},
        ) from refused


@router.get("/dashboard", summary="Every dashboard figure as JSON tables")
def dashboard_json(
    session: DbSession, subject: AggregateReader, response: Response, dates: Period
) -> dict[str, list[dict[str, Any]]]:
    audit.record(
        db_session=session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action="dashboard.read",
        target=f"dashboard:{dates.as_of.isoformat()}",
        detail=dates.metadata(),
    )
    # The figures the page shows for the period (computed and stored if nobody has yet).
    figures = _stored_or_refreshed(session, dates, subject)
    response.headers["X-Figures-Period"] = dates.describe()
    response.headers["X-Figures-Computed-At"] = figures.computed_at.isoformat()
    return {name: frame.to_dicts() for name, frame in figures.frames.items()}


@router.get("/dashboard/{figure}.{fmt}", summary="One figure as CSV or Parquet")
def dashboard_export(
    figure: Annotated[str, Path(pattern=r"^[a-z_]+$")],
    fmt: Annotated[str, Path(pattern=r"^(csv|parquet)$")],
    session: DbSession,
    subject: AggregateReader,
    dates: Period,
) -> Response:
    """The figure as of ``as_of`` over the period from ``since``; the file's name carries the
    dates, and a Parquet file carries them as key-values too."""
    try:
        # The figure as the page shows it: stored for the period, else computed and stored
        # now as the page would (so it is bounded as the page's computations are).
        found = snapshots.stored_figure(session, figure, dates)
    except dashboard.UnknownFigure as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    if found is None:
        computed = _stored_or_refreshed(session, dates, subject)
        found = (computed.frames[figure], computed.computed_at)
    frame, computed_at = found
    audit.record(
        db_session=session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action="dashboard.export",
        target=f"dashboard:{figure}.{fmt}",
        detail=dates.metadata(),
    )
    headers = {
        "Content-Disposition": f'attachment; filename="{dates.file_stem(figure)}.{fmt}"',
        "X-Figures-Period": dates.describe(),
        "X-Figures-Computed-At": computed_at.isoformat(),
    }
    if fmt == "csv":
        return Response(
            dashboard.as_csv(frame), media_type="text/csv; charset=utf-8", headers=headers
        )
    return Response(
        dashboard.as_parquet(
            frame, dates.metadata() | {"fullpicture.computed_at": computed_at.isoformat()}
        ),
        media_type="application/vnd.apache.parquet",
        headers=headers,
    )
