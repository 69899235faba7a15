"""Sign-in pages, the typed access dependencies every route takes, and access API routes.

Routes declare who may call them by taking a typed dependency as a parameter, Polar-style::

    @router.get("/people/{person_id}/chronology")
    def chronology(person_id: str, subject: ChildReader, db_session: DbSession) -> ...

or, for a whole router, ``APIRouter(dependencies=[Depends(authenticated(Scope.IMPORTS_WRITE))])``.
``tests/access/test_route_access.py`` fails for any route of the app without one (bar the
reviewed ``PUBLIC_ROUTES``). What a subject may see inside a child's record is decided in
``access.service`` / ``access.repository``, never here.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import re
import secrets
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import httpx
from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Path, Query, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute, RouteContext
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from fullpicture.access import audit, oidc
from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.models import AccessNotification, SignInSession, UserAccount
from fullpicture.access.roles import Scope
from fullpicture.access.schemas import (
    USERNAME_PATTERN,
    UUID_PATTERN,
    AccessLogEntry,
    BreakGlassRead,
    BreakGlassRequest,
    ChainVerdictRead,
    WhoAmI,
)
from fullpicture.access.settings import AccessSettings, get_access_settings, session_signing_key
from fullpicture.access.subject import AuthMethod, AuthSubject, subject_for
from fullpicture.access.subject_access import (
    SubjectAccessExport,
    SubjectAccessRequest,
    export_person_data,
)
from fullpicture.access.web_security import (
    BodyLimitMiddleware,
    SecurityHeadersMiddleware,
    served_over_tls,
)
from fullpicture.core.database import utc_now
from fullpicture.core.runtime import request_session

SESSION_COOKIE = "fp_session"
SIGN_IN_CSRF_COOKIE = "fp_sign_in_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_AFTER_SIGN_IN = "/account"
NEXT_PATH_MAX_LENGTH = 500

templates = Jinja2Templates(directory=FilePath(__file__).resolve().parent / "templates")

DbSession = Annotated[Session, Depends(request_session)]
PersonPublicId = Annotated[
    str, Path(pattern=UUID_PATTERN, description="the person's public id (a UUID)")
]


def _signer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(session_signing_key(), salt=salt)


class SignInRequired(HTTPException):
    """401: no valid session or API token. A browser opening a page is sent to sign in
    instead (``_sign_in_required``); API clients get the 401."""


class PermissionRequired(HTTPException):
    """403: signed in, but without a scope the route needs. A browser opening a page gets the
    refusal as a page (``_refused_page``); API clients get the JSON."""

    def __init__(self, *, missing: frozenset[Scope], subject: AuthSubject) -> None:
        self.missing = missing
        self.subject = subject
        super().__init__(
            status_code=status.HTTP_403_FORBIDDEN,
            detail=f"This needs {', '.join(sorted(missing))}; your "
            f"{'token' if subject.method is AuthMethod.TOKEN else 'role'} does not hold it.",
        )


def _unauthenticated(detail: str) -> SignInRequired:
    return SignInRequired(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


# --- the request gate ----------------------------------------------------------------------
#
# Sync routes and the session's commit each need a worker thread. If every worker thread is
# blocked waiting for a database lock (SQLite's write lock, the audit chain's row lock on
# PostgreSQL) or a pooled connection held by a request that needs one more thread to commit,
# nothing moves until the lock times out. Letting only a few requests at a time into the
# database part — waiting asynchronously, holding no thread — keeps threads free for the
# requests that hold locks. SQLite has one writer anyway; PostgreSQL gets fewer than its pool.
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _gate_size(dialect: str) -> int:
    configured = get_access_settings().concurrent_database_requests
    if configured:
        return configured
    return 1 if dialect == "sqlite" else 8


@asynccontextmanager
async def database_turn(db_session: Session) -> AsyncIterator[None]:
    """Wait (without holding a thread) for a turn to use the database in this request."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(_gate_size(db_session.get_bind().dialect.name))
    async with gate:
        yield


async def gated_session(db_session: DbSession) -> AsyncIterator[Session]:
    """The request's session, used in turn (for public routes that write, e.g. sign-in)."""
    async with database_turn(db_session):
        yield db_session


GatedSession = Annotated[Session, Depends(gated_session)]


#: Declares ``Authorization: Bearer`` in the OpenAPI document (Swagger UI's Authorize button);
#: the header itself is checked in ``_subject_from_request`` with clearer refusals.
BEARER_SCHEME = HTTPBearer(
    auto_error=False,
    scheme_name="api_token",
    description="An API token from `fullpicture token create` (or sign in for a session cookie).",
)


class Authenticator:
    """A FastAPI dependency: the signed-in subject, holding every scope in ``scopes``.

    Accepts ``Authorization: Bearer <api token>`` or the signed session cookie; for a cookie,
    unsafe methods must carry the session's CSRF token (``X-CSRF-Token`` header or the
    ``csrf_token`` form field). Unsafe requests are written to the audit log in the request's
    own transaction, at commit, so a write and its audit entry commit or roll back together.
    """

    def __init__(self, scopes: frozenset[Scope]) -> None:
        self.scopes = scopes

    def __repr__(self) -> str:
        return f"authenticated({', '.join(sorted(self.scopes))})"

    async def __call__(
        self,
        request: Request,
        db_session: DbSession,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER_SCHEME)],
    ) -> AsyncIterator[AuthSubject]:
        presented_csrf = await _presented_csrf(request)
        async with database_turn(db_session):
            subject = await run_in_threadpool(
                self._authenticate, request=request, db_session=db_session, csrf=presented_csrf
            )
            request.state.auth_subject = subject
            audit.defer_entries(db_session)
            try:
                yield subject
            except BaseException:
                audit.drop_deferred(db_session)  # the request rolls back; so do its entries
                raise
            await run_in_threadpool(audit.flush_deferred, db_session)

    def _authenticate(
        self, *, request: Request, db_session: Session, csrf: str | None
    ) -> AuthSubject:
        audit.hold_write_lock(db_session)
        subject = _subject_from_request(request=request, db_session=db_session, csrf=csrf)
        missing = self.scopes - subject.scopes
        if missing:
            raise PermissionRequired(missing=frozenset(missing), subject=subject)
        if request.method in UNSAFE_METHODS:
            route = request.scope.get("route")
            audit.append_at_commit(
                db_session=db_session,
                actor=subject.actor,
                actor_user_id=subject.user_id,
                action="request.write",
                target=f"{request.method} {getattr(route, 'path', request.url.path)}"[:300],
                detail={
                    "path_params": {k: str(v) for k, v in request.path_params.items()},
                    "method": subject.method.value,
                },
            )
        return subject


def authenticated(*scopes: Scope) -> Authenticator:
    """The dependency for a route that needs a signed-in subject holding ``scopes``."""
    return Authenticator(frozenset(scopes))


async def _presented_csrf(request: Request) -> str | None:
    if request.method not in UNSAFE_METHODS or "authorization" in request.headers:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def _subject_from_request(
    *, request: Request, db_session: Session, csrf: str | None
) -> AuthSubject:
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise _unauthenticated("Send the API token as: Authorization: Bearer <token>.")
        resolved = access_service.resolve_api_token(
            db_session=db_session, token=credentials.strip()
        )
        if resolved is None:
            raise _unauthenticated("The API token is not valid (unknown, expired or revoked).")
        return access_service.token_subject(*resolved)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        raise _unauthenticated("Sign in first, or send an API token as Authorization: Bearer.")
    try:
        token = _signer("session").loads(
            cookie, max_age=int(get_access_settings().session_hours * 3600)
        )
    except BadSignature:
        raise _unauthenticated("Your session is not valid; sign in again.") from None
    resolved_session = access_service.resolve_session(db_session=db_session, token=str(token))
    if resolved_session is None:
        raise _unauthenticated("Your session has ended; sign in again.")
    session, user = resolved_session
    if request.method in UNSAFE_METHODS and not access_service.csrf_token_matches(session, csrf):
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail="The CSRF token is missing or wrong; reload the page and try again.",
        )
    return subject_for(user, method=AuthMethod.SESSION, session_id=session.id)


# Typed dependencies for routes (take one as a parameter).
Principal = Annotated[AuthSubject, Depends(authenticated())]
ChildReader = Annotated[AuthSubject, Depends(authenticated(Scope.CHILDREN_READ))]
ChildWriter = Annotated[
    AuthSubject, Depends(authenticated(Scope.CHILDREN_READ, Scope.CHILDREN_WRITE))
]
ReferralWriter = Annotated[
    AuthSubject, Depends(authenticated(Scope.CHILDREN_READ, Scope.REFERRALS_WRITE))
]
ImportWriter = Annotated[AuthSubject, Depends(authenticated(Scope.IMPORTS_WRITE))]
LinkageRunner = Annotated[AuthSubject, Depends(authenticated(Scope.LINKAGE_RUN))]
LinkageReviewer = Annotated[AuthSubject, Depends(authenticated(Scope.LINKAGE_REVIEW))]
AggregateReader = Annotated[AuthSubject, Depends(authenticated(Scope.AGGREGATES_READ))]
AuditReader = Annotated[AuthSubject, Depends(authenticated(Scope.AUDIT_READ))]
AccessLogReader = Annotated[AuthSubject, Depends(authenticated(Scope.ACCESS_LOG_READ))]
BreakGlassUser = Annotated[AuthSubject, Depends(authenticated(Scope.BREAK_GLASS))]

#: Routes anyone may call, each reviewed: liveness, the API description, signing in, and the
#: site icon (a redirect to a static file).
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/healthz"),
        ("GET", "/favicon.ico"),
        ("GET", "/"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/docs"),
        ("GET", "/sign-in"),
        ("POST", "/sign-in"),
        ("GET", "/sign-in/oidc"),
        ("GET", "/sign-in/oidc/callback"),
    }
)
#: Mounted static files: code and styles only, never data.
PUBLIC_MOUNTS: frozenset[str] = frozenset({"/static", "/api/docs/assets"})


def route_access(route: APIRoute | RouteContext) -> frozenset[Scope] | None:
    """The scopes a route's access dependency requires, or None when it declares none.

    Takes a route or a ``fastapi.routing.iter_route_contexts`` entry (whose dependant also
    carries the dependencies given to ``include_router``).
    """

    def walk(dependant: Dependant) -> frozenset[Scope] | None:
        for dependency in dependant.dependencies:
            if isinstance(dependency.call, Authenticator):
                return dependency.call.scopes
            found = walk(dependency)
            if found is not None:
                return found
        return None

    dependant = getattr(route, "dependant", None)
    return walk(dependant) if isinstance(dependant, Dependant) else None


# --- sign-in pages -------------------------------------------------------------------------

web_router = APIRouter(include_in_schema=False)


def _safe_next(path: str | None) -> str:
    """Only same-site paths after sign-in, so the form cannot be used as an open redirect.

    Browsers read a backslash as a slash and drop tabs and newlines from a URL (so
    ``/<tab>/evil.example`` becomes ``//evil.example``, another site), so a path holding a
    backslash, whitespace or a control character is
    refused along with anything naming a scheme or host.
    """
    if (
        not path
        or len(path) > NEXT_PATH_MAX_LENGTH
        or not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
        or any(ch.isspace() or not ch.isprintable() for ch in path)
    ):
        return DEFAULT_AFTER_SIGN_IN
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        return DEFAULT_AFTER_SIGN_IN
    return path


def _opens_a_page(request: Request) -> bool:
    """A browser navigating to a page (not an API call): it gets sent to sign in."""
    return (
        request.method == "GET"
        and "authorization" not in request.headers
        and not request.url.path.startswith("/api/")
        and "text/html" in request.headers.get("accept", "").lower()
    )


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    """Send a signed-out browser to the sign-in page, to come back here after; 401 otherwise."""
    assert isinstance(exc, HTTPException)
    if _opens_a_page(request):
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(
            f"/sign-in?{urlencode({'next': _safe_next(here)})}",
            status_code=status.HTTP_303_SEE_OTHER,
        )
    return await http_exception_handler(request, exc)


#: What a refused user can do about it: the people who can change their access.
ASK_FOR_ACCESS = (
    "If you need this for your work with a child, ask your agency's designated safeguarding "
    "lead, or your fullpicture administrator, to check the access your account has."
)
#: What to do about a page that is not there (or not there for this user).
CHECK_THE_ADDRESS = (
    "Check the address, or start again from your account page. If you were sent here for "
    "your work with a child, ask your agency's designated safeguarding lead, or your "
    "fullpicture administrator, whether your account should see it."
)


def _refused_page(
    request: Request, *, status_code: int, what_happened: str, subject: AuthSubject | None
) -> HTMLResponse:
    """The refusal as a small server-rendered page, for a browser opening a page."""
    not_found = status_code == status.HTTP_404_NOT_FOUND
    return templates.TemplateResponse(
        request,
        "refused.html",
        {
            "heading": "Not shown" if not_found else "You do not have access to this page",
            "what_happened": what_happened,
            "what_to_do": CHECK_THE_ADDRESS if not_found else ASK_FOR_ACCESS,
            "signed_in_as": (
                f"{subject.username} ({subject.role.value.replace('_', ' ')})"
                if subject is not None
                else None
            ),
        },
        status_code=status_code,
    )


async def _permission_required(request: Request, exc: Exception) -> Response:
    """A page the signed-in user's role does not open: a page saying so; 403 JSON for APIs."""
    assert isinstance(exc, PermissionRequired)
    if _opens_a_page(request):
        return _refused_page(
            request,
            status_code=exc.status_code,
            what_happened=(
                f"This page needs the {', '.join(sorted(exc.missing))} permission, and your "
                f"role does not include it. Nothing about the page has been shown."
            ),
            subject=exc.subject,
        )
    return await http_exception_handler(request, exc)


async def _page_refused(request: Request, exc: Exception) -> Response:
    """Any other 403 or 404 a browser meets opening a page (an address that is not a page,
    say) as a page too; everything else, and every API answer, as FastAPI gives it."""
    assert isinstance(exc, StarletteHTTPException)
    if _opens_a_page(request) and exc.status_code in {
        status.HTTP_403_FORBIDDEN,
        status.HTTP_404_NOT_FOUND,
    }:
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != "Not Found" else None
        return _refused_page(
            request,
            status_code=exc.status_code,
            what_happened=detail or f"There is no page at {request.url.path}.",
            subject=getattr(request.state, "auth_subject", None),
        )
    return await http_exception_handler(request, exc)


def _sign_in_form(
    request: Request,
    *,
    next_path: str,
    refusal: str | None = None,
    username: str = "",
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    csrf = secrets.token_urlsafe(32)
    response = templates.TemplateResponse(
        request,
        "sign_in.html",
        {
            "csrf_token": csrf,
            "next_path": _safe_next(next_path),
            "refusal": refusal,
            "username": username,
            "oidc_enabled": get_access_settings().oidc_enabled,
        },
        status_code=status_code,
        headers=headers,
    )
    response.set_cookie(
        SIGN_IN_CSRF_COOKIE,
        _signer("sign-in-csrf").dumps(csrf),
        max_age=3600,
        path="/sign-in",
        httponly=True,
        samesite="strict",
        secure=served_over_tls(request.scope),
    )
    return response


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        _signer("session").dumps(token),
        max_age=int(get_access_settings().session_hours * 3600),
        path="/",
        httponly=True,
        samesite="lax",
        secure=served_over_tls(request.scope),
    )


@web_router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str = DEFAULT_AFTER_SIGN_IN) -> HTMLResponse:
    return _sign_in_form(request, next_path=next)


@web_router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    db_session: GatedSession,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=NEXT_PATH_MAX_LENGTH)] = DEFAULT_AFTER_SIGN_IN,
) -> Response:
    expected: Any = None
    cookie = request.cookies.get(SIGN_IN_CSRF_COOKIE)
    if cookie is not None:
        try:
            expected = _signer("sign-in-csrf").loads(cookie, max_age=3600)
        except BadSignature:
            expected = None
    if not isinstance(expected, str) or not hmac.compare_digest(expected, csrf_token):
        return _sign_in_form(
            request,
            next_path=next,
            refusal="The sign-in form had expired. Please try again.",
            username=username,
            status_code=status.HTTP_403_FORBIDDEN,
        )
    audit.hold_write_lock(db_session)
    client = access_service.client_network(request.client.host if request.client else None)
    # Checked before the password, so a throttled client costs no password hashing.
    retry_after = access_service.sign_in_retry_after(db_session=db_session, client=client)
    if retry_after is not None:
        return _throttled(request, next_path=next, retry_after=retry_after)
    if not re.fullmatch(USERNAME_PATTERN, username):
        # Not a username we could have issued: nothing to look up, but a guess all the same.
        access_service.record_sign_in_failure(db_session=db_session, client=client)
        return _sign_in_form(
            request,
            next_path=next,
            refusal=access_service.GENERIC_REFUSAL,
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    # A refusal returns normally (no exception) so the failure counts and audit entries commit.
    outcome = access_service.sign_in_with_password(
        db_session=db_session, username=username, password=password
    )
    if outcome.user is None:
        access_service.record_sign_in_failure(db_session=db_session, client=client)
        return _sign_in_form(
            request,
            next_path=next,
            refusal=outcome.refusal,
            username=username,
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    token, _session = access_service.start_session(
        db_session=db_session, user=outcome.user, method="password"
    )
    response = RedirectResponse(_safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    set_session_cookie(response, request, token)
    response.delete_cookie(SIGN_IN_CSRF_COOKIE, path="/sign-in")
    return response


def _throttled(request: Request, *, next_path: str, retry_after: int) -> HTMLResponse:
    minutes = math.ceil(retry_after / 60)
    return _sign_in_form(
        request,
        next_path=next_path,
        refusal=(
            "Too many failed sign-ins have come from your network. Please wait "
            f"{minutes} minute{'' if minutes == 1 else 's'} and try again, or ask your "
            "administrator if you have forgotten your password."
        ),
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        headers={"Retry-After": str(retry_after)},
    )


def oidc_http_client() -> Iterator[httpx.Client]:
    """FastAPI dependency: the HTTP client that talks to the identity provider."""
    with httpx.Client(follow_redirects=False, timeout=10) as client:
        yield client


OidcClient = Annotated[httpx.Client, Depends(oidc_http_client)]
Settings = Annotated[AccessSettings, Depends(get_access_settings)]
OIDC_COOKIE = "fp_oidc"


@web_router.get("/sign-in/oidc")
def oidc_start(
    request: Request, settings: Settings, client: OidcClient, next: str = DEFAULT_AFTER_SIGN_IN
) -> Response:
    if not settings.oidc_enabled:
        raise HTTPException(status_code=404, detail="OpenID Connect sign-in is not configured.")
    try:
        metadata = oidc.discover(settings, client)
    except (oidc.OidcError, httpx.HTTPError, KeyError, ValueError) as exc:
        return _sign_in_form(
            request,
            next_path=next,
            refusal=f"Your organisation's sign-in is not available: {exc}",
            status_code=status.HTTP_502_BAD_GATEWAY,
        )
    attempt = oidc.OidcAttempt.new(_safe_next(next))
    response = RedirectResponse(
        oidc.authorisation_url(settings, metadata, attempt), status_code=status.HTTP_303_SEE_OTHER
    )
    response.set_cookie(
        OIDC_COOKIE,
        _signer("oidc").dumps(
            [attempt.state, attempt.nonce, attempt.code_verifier, attempt.next_path]
        ),
        max_age=600,
        path="/sign-in/oidc",
        httponly=True,
        samesite="lax",  # the identity provider's redirect back is a top-level navigation
        secure=served_over_tls(request.scope),
    )
    return response


@web_router.get("/sign-in/oidc/callback")
def oidc_callback(
    request: Request,
    db_session: GatedSession,
    settings: Settings,
    client: OidcClient,
    code: Annotated[str, Query(max_length=2048)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    if not settings.oidc_enabled:
        raise HTTPException(status_code=404, detail="OpenID Connect sign-in is not configured.")

    def refuse(message: str) -> HTMLResponse:
        return _sign_in_form(
            request,
            next_path=DEFAULT_AFTER_SIGN_IN,
            refusal=message,
            status_code=status.HTTP_401_UNAUTHORIZED,
        )

    try:
        carried = _signer("oidc").loads(request.cookies.get(OIDC_COOKIE, ""), max_age=600)
        attempt = oidc.OidcAttempt(*[str(part) for part in carried])
    except (BadSignature, TypeError):
        return refuse("The sign-in took too long or was started elsewhere. Please try again.")
    if error or not code or not hmac.compare_digest(state, attempt.state):
        return refuse("Your organisation's sign-in did not complete. Please try again.")
    try:
        metadata = oidc.discover(settings, client)
        identity = oidc.exchange_code(
            settings=settings,
            metadata=metadata,
            attempt=attempt,
            code=code,
            client=client,
            now=utc_now(),
        )
    except (oidc.OidcError, httpx.HTTPError, KeyError, ValueError) as exc:
        audit.append(
            db_session=db_session,
            actor="anonymous",
            action="sign_in.refused",
            detail={"why": f"oidc: {exc}"[:300]},
        )
        return refuse(f"Your organisation's sign-in could not be checked: {exc}")
    user = access_repository.user_by_oidc_subject(db_session, identity)
    if user is None or not user.is_active:
        audit.append(
            db_session=db_session,
            actor="anonymous",
            action="sign_in.refused",
            target=f"oidc:{identity}"[:300],
            detail={"why": "no active account linked to this identity"},
        )
        return refuse(
            "No fullpicture account is linked to your organisation's account. "
            "Ask your administrator to set one up."
        )
    user.last_sign_in_at = utc_now()
    token, _session = access_service.start_session(db_session=db_session, user=user, method="oidc")
    response = RedirectResponse(_safe_next(attempt.next_path), status_code=303)
    set_session_cookie(response, request, token)
    response.delete_cookie(OIDC_COOKIE, path="/sign-in/oidc")
    return response


@web_router.post("/sign-out")
def sign_out(subject: Principal, db_session: DbSession) -> RedirectResponse:
    if subject.session_id is not None:
        session = db_session.get(SignInSession, subject.session_id)
        if session is not None:
            access_service.end_session(db_session=db_session, session=session, actor=subject.actor)
    response = RedirectResponse("/sign-in", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@web_router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, subject: Principal, db_session: DbSession) -> HTMLResponse:
    user = db_session.get(UserAccount, subject.user_id)
    session = (
        db_session.get(SignInSession, subject.session_id)
        if subject.session_id is not None
        else None
    )
    return templates.TemplateResponse(
        request,
        "account.html",
        {
            "user": user,
            "csrf_token": access_service.csrf_token_for(session) if session is not None else "",
            "reads_access_log": subject.has(Scope.ACCESS_LOG_READ),
        },
    )


@web_router.get("/people/access-log", response_class=HTMLResponse)
def find_access_log_page(
    request: Request,
    subject: AccessLogReader,
    person_id: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """The account page's "who has looked" form: on to the person's page."""
    wanted = person_id.strip().lower()
    if not re.fullmatch(UUID_PATTERN, wanted):
        return templates.TemplateResponse(
            request,
            "access_log.html",
            {
                "problem": "That is not a person id. Give the child's id as it appears on "
                "their record, e.g. 3f2a9c1e-0b7d-4c1e-9a52-5d7c2a1b9e41.",
                "person_id": None,
                "entries": [],
            },
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    return RedirectResponse(f"/people/{wanted}/access-log", status_code=status.HTTP_303_SEE_OTHER)


@web_router.get("/people/{person_id}/access-log", response_class=HTMLResponse)
def access_log_page(
    request: Request, person_id: PersonPublicId, subject: AccessLogReader, db_session: DbSession
) -> HTMLResponse:
    """Who has looked at this person: the designated lead's page (auditors: anyone)."""
    try:
        entries = access_service.who_has_looked(
            db_session=db_session, subject=subject, person_public_id=person_id
        )
    except access_service.PersonNotVisible as exc:
        return templates.TemplateResponse(
            request,
            "access_log.html",
            {"problem": f"Not shown: {exc}.", "person_id": person_id, "entries": []},
            status_code=status.HTTP_404_NOT_FOUND,
        )
    return templates.TemplateResponse(
        request,
        "access_log.html",
        {"problem": None, "person_id": person_id, "entries": entries},
    )


# --- access API ----------------------------------------------------------------------------

router = APIRouter(prefix="/api/v1", tags=["access"])


@router.get("/me", summary="Who the caller is, and what they may do")
def who_am_i(subject: Principal, db_session: DbSession) -> WhoAmI:
    user = db_session.get(UserAccount, subject.user_id)
    return WhoAmI(
        username=subject.username,
        display_name=user.display_name if user is not None else subject.username,
        role=subject.role,
        agency_id=subject.agency_id,
        scopes=sorted(subject.scopes),
        method=subject.method.value,
    )


@router.post(
    "/break-glass",
    status_code=status.HTTP_201_CREATED,
    summary="Emergency, time-limited access to one person; the designated leads are told",
)
def break_glass(
    request_in: BreakGlassRequest, subject: BreakGlassUser, db_session: DbSession
) -> BreakGlassRead:
    grant, notifications = access_service.break_glass(
        db_session=db_session, subject=subject, request=request_in
    )
    return BreakGlassRead(
        grant_id=grant.id,
        person_id=request_in.person_id,
        reason=grant.reason,
        granted_at=grant.granted_at,
        expires_at=grant.expires_at,
        notified_user_ids=[n.recipient_user_id for n in notifications],
    )


@router.get(
    "/people/{person_id}/access-log",
    summary="Who has looked at this person (designated leads, auditors)",
)
def who_has_looked(
    person_id: PersonPublicId, subject: AccessLogReader, db_session: DbSession
) -> list[AccessLogEntry]:
    return access_service.who_has_looked(
        db_session=db_session, subject=subject, person_public_id=person_id
    )


SubjectAccessOfficer = Annotated[
    AuthSubject,
    Depends(authenticated(Scope.CHILDREN_READ, Scope.SUBJECT_ACCESS_EXPORT)),
]


@router.post(
    "/people/{person_id}/subject-access-export",
    summary="Export what your agency holds about a person (child-abuse-data exemption applied)",
)
def subject_access_export(
    person_id: PersonPublicId,
    request_in: SubjectAccessRequest,
    subject: SubjectAccessOfficer,
    db_session: DbSession,
) -> SubjectAccessExport:
    return export_person_data(
        db_session=db_session, subject=subject, person_public_id=person_id, request=request_in
    )


@router.get("/audit/verify", summary="Check the audit log's hash chain")
def verify_audit_chain(subject: AuditReader, db_session: DbSession) -> ChainVerdictRead:
    verdict = audit.verify_chain(db_session=db_session)
    audit.record(
        db_session=db_session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action="audit.verify",
        detail={"intact": verdict.intact, "entries_checked": verdict.entries_checked},
    )
    return ChainVerdictRead(
        intact=verdict.intact,
        entries_checked=verdict.entries_checked,
        first_broken_position=verdict.first_broken_position,
        first_broken_id=verdict.first_broken_id,
        problem=verdict.problem,
    )


@router.get("/notifications", summary="The caller's notifications (e.g. break-glass uses)")
def my_notifications(subject: Principal, db_session: DbSession) -> list[dict[str, Any]]:
    rows = db_session.scalars(
        select(AccessNotification)
        .where(AccessNotification.recipient_user_id == subject.user_id)
        .order_by(AccessNotification.id.desc())
        .limit(200)
    ).all()
    return [
        {
            "id": n.id,
            "kind": n.kind,
            "message": n.message,
            "created_at": n.created_at.isoformat(),
            "read": n.read_at is not None,
        }
        for n in rows
    ]


# --- wiring --------------------------------------------------------------------------------


def _refusal(request: Request, exc: Exception, status_code: int) -> Response:
    if _opens_a_page(request):
        return _refused_page(
            request,
            status_code=status_code,
            what_happened=f"{str(exc).rstrip('.')}.",
            subject=getattr(request.state, "auth_subject", None),
        )
    return JSONResponse({"detail": str(exc)}, status_code=status_code)


def _access_refused(request: Request, exc: Exception) -> Response:
    return _refusal(request, exc, status.HTTP_403_FORBIDDEN)


def _person_not_visible(request: Request, exc: Exception) -> Response:
    # The same words for a child who is not known and one the user may not see.
    return _refusal(request, exc, status.HTTP_404_NOT_FOUND)


def _account_setup_refused(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_422_UNPROCESSABLE_ENTITY)


def install(app: FastAPI) -> None:
    """Add the security middleware, error mapping and sign-in/access routes to the app."""
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(PermissionRequired, _permission_required)
    app.add_exception_handler(StarletteHTTPException, _page_refused)
    app.add_exception_handler(access_service.PersonNotVisible, _person_not_visible)
    app.add_exception_handler(access_service.AccessError, _access_refused)
    app.add_exception_handler(access_service.AccountSetupError, _account_setup_refused)
    app.include_router(web_router)
    app.include_router(router)
