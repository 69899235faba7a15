"""The look every page shares: GOV.UK Frontend (installed by npm, served from node_modules) and
its Jinja macros (``govuk-frontend-jinja``), in one layout with fullpicture's own header.

fullpicture is a partnership service, not part of GOV.UK: the Generic header carries its own
name, never the crown or the GOV.UK logotype, and the footer carries no Crown copyright.
Capabilities render their pages with ``page_templates(their templates folder)`` and
``render_page``, which adds the navigation the signed-in user's role opens and the CSRF token
their forms carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse

from fullpicture.access import service as access_service
from fullpicture.access.models import SignInSession
from fullpicture.access.roles import Scope
from fullpicture.access.subject import AuthSubject
from fullpicture.core.settings import get_settings

WEB_DIR = Path(__file__).resolve().parent
#: The checkout holding package.json; scripts/bootstrap runs ``npm ci`` here.
CHECKOUT_DIR = WEB_DIR.parents[2]
#: Where the served GOV.UK Frontend files are mounted (the stylesheet asks for /assets/fonts/…).
GOVUK_FRONTEND_URL = "/static/govuk-frontend"
GOVUK_ASSETS_URL = "/assets"


class FrontendPackagesMissing(RuntimeError):
    """GOV.UK Frontend is not installed: the pages would have no styles."""


def govuk_frontend_dir() -> Path:
    """GOV.UK Frontend's built files (``dist/govuk``) as npm installed them."""
    packages = get_settings().frontend_packages_dir or CHECKOUT_DIR / "node_modules"
    dist = packages / "govuk-frontend" / "dist" / "govuk"
    if not (dist / "govuk-frontend.min.css").is_file():
        raise FrontendPackagesMissing(
            f"GOV.UK Frontend is not installed in {packages}: run `npm ci` in the checkout "
            "(scripts/bootstrap does), or set FULLPICTURE_FRONTEND_PACKAGES_DIR to where it is."
        )
    return dist


def page_templates(*template_dirs: Path) -> Jinja2Templates:
    """Templates for a capability's pages: its own folder, then the shared layout and macros."""
    environment = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader([*template_dirs, WEB_DIR / "templates"]),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Templates(env=environment)


@dataclass(frozen=True)
class NavigationItem:
    text: str
    href: str
    needs: frozenset[Scope]


#: The service navigation; an item shows only to a role holding every scope it needs.
NAVIGATION = (
    NavigationItem("Home", "/home", frozenset()),
    NavigationItem("Find a child", "/children", frozenset({Scope.CHILDREN_READ})),
    NavigationItem("Alerts", "/alerts", frozenset({Scope.CHILDREN_READ})),
    NavigationItem("Referrals", "/referrals", frozenset({Scope.REFERRALS_WRITE})),
    NavigationItem("Link review", "/linkage/review", frozenset({Scope.LINKAGE_REVIEW})),
    NavigationItem(
        "Supervision", "/supervision", frozenset({Scope.CHILDREN_READ, Scope.SUPERVISION_READ})
    ),
    NavigationItem("Partnership dashboard", "/dashboard", frozenset({Scope.AGGREGATES_READ})),
    NavigationItem("Your account", "/account", frozenset()),
)


def navigation_for(subject: AuthSubject | None, path: str) -> list[dict[str, Any]]:
    """The service navigation items for this user, the current section marked."""
    if subject is None:
        return []
    return [
        {
            "text": item.text,
            "href": item.href,
            "active": path == item.href or path.startswith(item.href + "/"),
        }
        for item in NAVIGATION
        if item.needs <= subject.scopes
    ]


def csrf_token_of(db_session: Session, subject: AuthSubject | None) -> str:
    """The signed-in browser session's CSRF token, which every form it posts carries."""
    if subject is None or subject.session_id is None:
        return ""
    session = db_session.get(SignInSession, subject.session_id)
    return access_service.csrf_token_for(session) if session is not None else ""


def render_page(
    templates: Jinja2Templates,
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    subject: AuthSubject | None,
    db_session: Session | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A page in the shared layout, for ``subject`` (None before signing in)."""
    page_context = {
        "subject": subject,
        "navigation": navigation_for(subject, request.url.path),
        "csrf_token": csrf_token_of(db_session, subject) if db_session is not None else "",
        "govuk_frontend": GOVUK_FRONTEND_URL,
        **context,
    }
    response = templates.TemplateResponse(
        request, name, page_context, status_code=status_code, headers=dict(headers or {})
    )
    assert isinstance(response, HTMLResponse)
    return response
