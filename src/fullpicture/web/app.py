"""FastAPI application factory. Capabilities contribute API routers and pages; the pages share
one layout (``web.templating``) in the look of the GOV.UK Design System."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import swagger_ui
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import text
from sqlalchemy.orm import Session

from fullpicture import __version__
from fullpicture.access import api as access_api
from fullpicture.access import auth as access_auth
from fullpicture.chronology import routes as chronology_routes
from fullpicture.core.runtime import request_session
from fullpicture.governance import api as governance_api
from fullpicture.harm import api as harm_api
from fullpicture.harm.harm_model import default_harm_model
from fullpicture.imports import api as imports_api
from fullpicture.linkage import api as linkage_api
from fullpicture.partnership import api as partnership_api
from fullpicture.referrals import api as referrals_api
from fullpicture.sharing import api as sharing_api
from fullpicture.web import alerts as alert_pages
from fullpicture.web import children as children_pages
from fullpicture.web import dashboard as dashboard_pages
from fullpicture.web import entries as entry_pages
from fullpicture.web import escalations as escalation_pages
from fullpicture.web import linkage_review as link_review_pages
from fullpicture.web import pages as web_pages
from fullpicture.web import referrals as referral_pages
from fullpicture.web import sharing as sharing_pages
from fullpicture.web import sign_in
from fullpicture.web import supervision as supervision_pages
from fullpicture.web.templating import (
    GOVUK_ASSETS_URL,
    GOVUK_FRONTEND_URL,
    FrontendPackagesMissing,
    govuk_frontend_dir,
)
from fullpicture.wiring import connect_capabilities
from fullpicture.workflow import api as workflow_api

WEB_DIR = Path(__file__).resolve().parent
logger = logging.getLogger(__name__)
OPENAPI_URL = "/api/v1/openapi.json"
SWAGGER_ASSETS = "/api/docs/assets"

# Swagger UI 5 (OpenAPI 3.1) as shipped inside the swagger-ui-py package.
SWAGGER_UI_DIR = Path(swagger_ui.__file__).resolve().parent / "static"

templates = Jinja2Templates(directory=WEB_DIR / "templates")


def create_app() -> FastAPI:
    connect_capabilities()
    app = FastAPI(
        title="fullpicture",
        version=__version__,
        description=(
            "One picture of a child across the agencies around them: linked records, "
            "one chronology, cumulative-harm alerts with their evidence, and referral checks."
        ),
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
    )
    # The combined chronology groups incidents and household adults' entries as the
    # cumulative-harm model counts them; handed in here so chronology does not import harm.
    app.state.chronology_rules = default_harm_model()
    # Front-end assets come from installed packages, never copied into the repo or a CDN:
    # Swagger UI from a Python package, GOV.UK Frontend from npm (scripts/bootstrap).
    app.mount(SWAGGER_ASSETS, StaticFiles(directory=SWAGGER_UI_DIR), name="swagger")
    try:
        govuk_frontend = govuk_frontend_dir()
    except FrontendPackagesMissing as missing:
        # Pages still work (unstyled) and the API is untouched; say loudly what to run.
        logger.warning("%s The pages will have no styles.", missing)
    else:
        app.mount(GOVUK_FRONTEND_URL, StaticFiles(directory=govuk_frontend), name="govuk-frontend")
        app.mount(GOVUK_ASSETS_URL, StaticFiles(directory=govuk_frontend / "assets"), name="assets")
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    @app.get("/healthz", tags=["operations"], summary="Liveness and database check")
    def healthz(session: Session = Depends(request_session, scope="function")) -> dict[str, Any]:
        session.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__, "database": session.get_bind().dialect.name}

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        # Browsers and tools ask for /favicon.ico whatever the page links; the icon is an SVG.
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> RedirectResponse:
        # The home page needs a session; a browser without one goes straight to sign in.
        signed_in = access_auth.SESSION_COOKIE in request.cookies
        return RedirectResponse("/home" if signed_in else "/sign-in?next=/home", status_code=303)

    @app.get("/api/docs", include_in_schema=False, response_class=HTMLResponse)
    def api_docs(request: Request, db_session: access_auth.GatedSession) -> HTMLResponse:
        # A visitor not signed in is told that trying a write needs signing in or a token,
        # not that requests are "made as you".
        signed_in = access_auth.signed_in_subject(request, db_session) is not None
        return templates.TemplateResponse(
            request,
            "api_docs.html",
            {"assets": SWAGGER_ASSETS, "openapi_url": OPENAPI_URL, "signed_in": signed_in},
        )

    # Access first: security headers, body limits, sign-in; every other route declares its
    # access with a dependency from fullpicture.access.auth (tests/access/test_route_access.py).
    access_api.install(app)
    # Each capability with an API exposes ``router`` from its ``api`` module; include it here.
    # A request is matched against the routes in this order, each router's routes one by one
    # (0.17 ms of CPU for /api/v1/me when access's came last), so the most asked come first:
    # who am I, a child's chronology, a child's harm summary and the alerts list. No request
    # is matched by routes of two routers here, so the order changes nothing else.
    app.include_router(chronology_routes.router)
    app.include_router(harm_api.router)
    app.include_router(imports_api.router)
    app.include_router(referrals_api.router)
    app.include_router(linkage_api.router)
    app.include_router(sharing_api.router)
    app.include_router(workflow_api.router)
    app.include_router(partnership_api.router)
    app.include_router(governance_api.router)
    app.include_router(web_pages.router)
    app.include_router(children_pages.router)
    app.include_router(alert_pages.router)
    app.include_router(referral_pages.router)
    app.include_router(link_review_pages.router)
    app.include_router(entry_pages.router)
    app.include_router(sharing_pages.router)
    app.include_router(dashboard_pages.router)
    app.include_router(escalation_pages.router)
    app.include_router(supervision_pages.router)
    sign_in.install_pages(app)
    return app
