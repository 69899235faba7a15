"""FastAPI application factory. Capabilities contribute routers; pages come with their own issues."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.orm import Session

from fullpicture import __version__
from fullpicture.core.runtime import request_session


def create_app() -> FastAPI:
    app = FastAPI(
        title="fullpicture",
        version=__version__,
        description=(
            "One picture of a child across the agencies around them: linked records, "
            "one chronology, cumulative-harm alerts with their evidence, and referral checks."
        ),
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )

    @app.get("/healthz", tags=["operations"], summary="Liveness and database check")
    def healthz(session: Session = Depends(request_session)) -> dict[str, Any]:
        session.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__, "database": session.get_bind().dialect.name}

    # Each capability with an API exposes ``router`` from its ``api`` module; include it here.
    return app
