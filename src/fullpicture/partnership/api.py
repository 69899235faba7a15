"""``/api/v1/dashboard``: the partnership's learning figures (aggregates only), as JSON, CSV
or Parquet. Needs ``aggregates:read`` (partnership analysts); no child data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Response, status
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access.auth import AggregateReader
from fullpicture.core.runtime import request_session
from fullpicture.partnership import dashboard

router = APIRouter(prefix="/api/v1", tags=["partnership dashboard"])

DbSession = Annotated[Session, Depends(request_session, scope="function")]


@router.get("/dashboard", summary="Every dashboard figure as JSON tables")
def dashboard_json(session: DbSession, subject: AggregateReader) -> dict[str, list[dict[str, Any]]]:
    audit.record(
        db_session=session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action="dashboard.read",
        target="dashboard",
    )
    return {name: frame.to_dicts() for name, frame in dashboard.all_figures(session).items()}


@router.get("/dashboard/{figure}.{fmt}", summary="One figure as CSV or Parquet")
def dashboard_export(
    figure: Annotated[str, Path(pattern=r"^[a-z_]+$")],
    fmt: Annotated[str, Path(pattern=r"^(csv|parquet)$")],
    session: DbSession,
    subject: AggregateReader,
) -> Response:
    try:
        frame = dashboard.figure(session, figure)
    except dashboard.UnknownFigure as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    audit.record(
        db_session=session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action="dashboard.export",
        target=f"dashboard:{figure}.{fmt}",
    )
    if fmt == "csv":
        return Response(
            dashboard.as_csv(frame),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{figure}.csv"'},
        )
    return Response(
        dashboard.as_parquet(frame),
        media_type="application/vnd.apache.parquet",
        headers={"Content-Disposition": f'attachment; filename="{figure}.parquet"'},
    )
