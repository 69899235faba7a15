"""The typed access dependencies every route takes, the session and CSRF checks behind them,
and the list of routes anyone may call.

Routes declare who may call them by taking a typed dependency as a parameter, Polar-style::

    @router.get("/people/{person_id}/chronology")
    def chronology(person_id: str, subject: ChildReader, db_session: DbSession) -> ...

or, for a whole router, ``APIRouter(dependencies=[requires(Scope.IMPORTS_WRITE)])``.
``tests/access/test_route_access.py`` fails for any route of the app without one (bar the
reviewed ``PUBLIC_ROUTES``). What a subject may see inside a child's record is decided in
``access.service`` / ``access.repository``, never here.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from fullpicture.access import audit
from fullpicture.access import service as access_service
from fullpicture.access.roles import Scope
from fullpicture.access.schemas import (
    UUID_PATTERN,
)
from fullpicture.access.subject import AuthMethod, AuthSubject, subject_for
from fullpicture.core.runtime import database_requests_at_once, request_session
from fullpicture.core.settings import get_settings, session_signing_key

SESSION_COOKIE = "fp_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


DbSession = Annotated[Session, Depends(request_session, scope="function")]
PersonPublicId = Annotated[
    str, Path(pattern=UUID_PATTERN, description="the person's public id (a UUID)")
]


def cookie_signer(salt: str) -> URLSafeTimedSerializer:
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


@asynccontextmanager
async def database_turn(db_session: Session) -> AsyncIterator[None]:
    """Wait (without holding a thread) for a turn to use the database in this request."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(
            database_requests_at_once(db_session.get_bind().dialect.name)
        )
    async with gate:
        yield


async def gated_session(db_session: DbSession) -> AsyncIterator[Session]:
    """The request's session, used in turn (for public routes that write, e.g. sign-in)."""
    async with database_turn(db_session):
        yield db_session


GatedSession = Annotated[Session, Depends(gated_session, scope="function")]


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
            # From here ``append_at_commit`` (the write's entry, in ``_authenticate``) and
            # ``record`` wait for ``_append_and_commit``.
            audit.defer_entries(db_session)
            try:
                subject = await run_in_threadpool(
                    self._authenticate,
                    request=request,
                    db_session=db_session,
                    csrf=presented_csrf,
                )
                request.state.auth_subject = subject
                yield subject
            except BaseException:
                audit.drop_deferred(db_session)  # the request rolls back; so do its entries
                raise
            await run_in_threadpool(_append_and_commit, db_session)

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


def _append_and_commit(db_session: Session) -> None:
    """Append the entries the request recorded and commit the request, in one worker-thread
    turn, still inside the request's database turn.

    Appending takes the audit chain head's lock, which every other audited request then waits
    for until this one commits. Left to the session dependency's exit, the commit came one
    more thread hand-off later, after the event loop had served whatever else was waiting:
    the lock was held, and every reader of a child queued behind it, that much longer
    (issue 14); on PostgreSQL the append and the COMMIT now go in one round trip
    (``audit.commit_with_deferred``). The write, its audit entries and the read's entries
    still commit or roll back together; the session dependency's own commit then has nothing
    left to do."""
    audit.commit_with_deferred(db_session)


def authenticated(*scopes: Scope) -> Authenticator:
    """The dependency for a route that needs a signed-in subject holding ``scopes``."""
    return Authenticator(frozenset(scopes))


def requires(*scopes: Scope) -> Any:
    """``Depends(authenticated(*scopes))``, closed when the route function returns.

    FastAPI runs the exit of a ``yield`` dependency after the response is sent unless it is
    function-scoped; the request's session commits in its exit, so a write would be
    acknowledged before it (and its audit entry) is stored. Every dependency that holds the
    session is function-scoped: the answer goes out only after the commit (issue 12,
    finding 13; ``tests/access/test_write_commit.py``).
    """
    return Depends(authenticated(*scopes), scope="function")


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
        subject = access_service.authenticate_api_token(
            db_session=db_session, token=credentials.strip()
        )
        if subject is None:
            raise _unauthenticated("The API token is not valid (unknown, expired or revoked).")
        return subject
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        raise _unauthenticated("Sign in first, or send an API token as Authorization: Bearer.")
    try:
        token = cookie_signer("session").loads(
            cookie, max_age=int(get_settings().session_hours * 3600)
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
    # The ORM holds loaded rows weakly: held here for the request, the session is still in
    # the identity map when the page reads its CSRF token (``csrf_token_of``), not loaded
    # again in a round trip of its own on every page (issue 14).
    request.state.sign_in_session = session
    return subject_for(user, method=AuthMethod.SESSION, session_id=session.id)


def signed_in_subject(request: Request, db_session: Session) -> AuthSubject | None:
    """The subject of the browser's live session, or None: for a public page that says
    something different to a visitor who is not signed in (the API docs). Never a grant of
    access: routes that need a subject take a dependency from ``requires``."""
    if SESSION_COOKIE not in request.cookies:
        return None
    try:
        return _subject_from_request(request=request, db_session=db_session, csrf=None)
    except HTTPException:
        return None


# Typed dependencies for routes (take one as a parameter).
Principal = Annotated[AuthSubject, requires()]
ChildReader = Annotated[AuthSubject, requires(Scope.CHILDREN_READ)]
ChildWriter = Annotated[AuthSubject, requires(Scope.CHILDREN_READ, Scope.CHILDREN_WRITE)]
ReferralWriter = Annotated[AuthSubject, requires(Scope.CHILDREN_READ, Scope.REFERRALS_WRITE)]
ImportWriter = Annotated[AuthSubject, requires(Scope.IMPORTS_WRITE)]
LinkageRunner = Annotated[AuthSubject, requires(Scope.LINKAGE_RUN)]
LinkageReviewer = Annotated[AuthSubject, requires(Scope.LINKAGE_REVIEW)]
AggregateReader = Annotated[AuthSubject, requires(Scope.AGGREGATES_READ)]
AuditReader = Annotated[AuthSubject, requires(Scope.AUDIT_READ)]
AccessLogReader = Annotated[AuthSubject, requires(Scope.ACCESS_LOG_READ)]
BreakGlassUser = Annotated[AuthSubject, requires(Scope.BREAK_GLASS)]

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
PUBLIC_MOUNTS: frozenset[str] = frozenset(
    {"/static", "/static/govuk-frontend", "/assets", "/api/docs/assets"}
)


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
