"""Sign-in pages (password and OIDC), signing out, the account and access-log pages, and the
pages a refused browser is shown."""

from __future__ import annotations

import hmac
import math
import re
import secrets
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import httpx
from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Query, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature
from starlette.exceptions import HTTPException as StarletteHTTPException

from fullpicture.access import audit, oidc
from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.auth import (
    SESSION_COOKIE,
    AccessLogReader,
    DbSession,
    GatedSession,
    PermissionRequired,
    PersonPublicId,
    Principal,
    SignInRequired,
    cookie_signer,
)
from fullpicture.access.models import SignInSession, UserAccount
from fullpicture.access.roles import Scope
from fullpicture.access.schemas import (
    USERNAME_PATTERN,
    UUID_PATTERN,
)
from fullpicture.access.subject import AuthSubject
from fullpicture.access.web_security import (
    served_over_tls,
)
from fullpicture.core.database import utc_now
from fullpicture.core.settings import Settings, get_settings
from fullpicture.web.templating import page_templates, render_page

SIGN_IN_CSRF_COOKIE = "fp_sign_in_csrf"
DEFAULT_AFTER_SIGN_IN = "/home"
NEXT_PATH_MAX_LENGTH = 500

templates = page_templates()


# --- signing in -------------------------------------------------------------------------

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
    if _posts_a_page_form(request):
        # The session ended while the practitioner was writing: back to the form after signing
        # in, where the page's draft (kept in the tab) is restored. Nothing is saved meanwhile.
        return RedirectResponse(
            f"/sign-in?{urlencode({'next': await _form_page(request)})}",
            status_code=status.HTTP_303_SEE_OTHER,
        )
    return await http_exception_handler(request, exc)


def _posts_a_page_form(request: Request) -> bool:
    """A browser submitting one of the pages' forms (not an API call)."""
    return (
        request.method == "POST"
        and "authorization" not in request.headers
        and not request.url.path.startswith("/api/")
        and "text/html" in request.headers.get("accept", "").lower()
        and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        )
    )


#: The hidden field a page's form carries naming the page it is on (browsers send no Referer:
#: the pages' Referrer-Policy is no-referrer).
RETURN_TO_FIELD = "return_to"


async def _form_page(request: Request) -> str:
    """The page the form was on (this site's only), else the default after signing in."""
    named = (await request.form()).get(RETURN_TO_FIELD)
    if isinstance(named, str) and named:
        return _safe_next(named)
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return DEFAULT_AFTER_SIGN_IN
    return _safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))


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
    return render_page(
        templates,
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
        subject=subject,
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
    response = render_page(
        templates,
        request,
        "sign_in.html",
        {
            "sign_in_csrf_token": csrf,
            "next_path": _safe_next(next_path),
            "refusal": refusal,
            "username": username,
            "oidc_enabled": get_settings().oidc_enabled,
        },
        subject=None,
        status_code=status_code,
        headers=headers,
    )
    response.set_cookie(
        SIGN_IN_CSRF_COOKIE,
        cookie_signer("sign-in-csrf").dumps(csrf),
        max_age=3600,
        path="/sign-in",
        httponly=True,
        samesite="strict",
        secure=served_over_tls(request.scope),
    )
    return response


#: Set with a new session for the pages' keep-drafts.js (which clears it): a form sent as the
#: last session ended is shown again after sign-in, and the draft kept in the tab is put back
#: into it. It says only that a sign-in just happened; the sign-in page itself runs no script.
SIGNED_IN_MARKER_COOKIE = "fp_signed_in"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        cookie_signer("session").dumps(token),
        max_age=int(get_settings().session_hours * 3600),
        path="/",
        httponly=True,
        samesite="lax",
        secure=served_over_tls(request.scope),
    )
    response.set_cookie(
        SIGNED_IN_MARKER_COOKIE,
        "1",
        max_age=600,
        path="/",
        httponly=False,
        samesite="strict",
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
            expected = cookie_signer("sign-in-csrf").loads(cookie, max_age=3600)
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


OidcClient = Annotated[httpx.Client, Depends(oidc_http_client, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
OIDC_COOKIE = "fp_oidc"


@web_router.get("/sign-in/oidc")
def oidc_start(
    request: Request, settings: SettingsDep, client: OidcClient, next: str = DEFAULT_AFTER_SIGN_IN
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
        cookie_signer("oidc").dumps(
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
    settings: SettingsDep,
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
        carried = cookie_signer("oidc").loads(request.cookies.get(OIDC_COOKIE, ""), max_age=600)
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
    return render_page(
        templates,
        request,
        "account.html",
        {
            "user": user,
            "session": session,
            "reads_access_log": subject.has(Scope.ACCESS_LOG_READ),
        },
        subject=subject,
        db_session=db_session,
    )


@web_router.get("/people/access-log", response_class=HTMLResponse)
def find_access_log_page(
    request: Request,
    subject: AccessLogReader,
    db_session: DbSession,
    person_id: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """The account page's "who has looked" form: on to the person's page."""
    wanted = person_id.strip().lower()
    if not re.fullmatch(UUID_PATTERN, wanted):
        return render_page(
            templates,
            request,
            "access_log.html",
            {
                "problem": "That is not a person id. Give the child's id as it appears on "
                "their record, e.g. 3f2a9c1e-0b7d-4c1e-9a52-5d7c2a1b9e41.",
                "person_id": None,
                "entries": [],
            },
            subject=subject,
            db_session=db_session,
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
        return render_page(
            templates,
            request,
            "access_log.html",
            {"problem": f"Not shown: {exc}.", "person_id": person_id, "entries": []},
            subject=subject,
            db_session=db_session,
            status_code=status.HTTP_404_NOT_FOUND,
        )
    return render_page(
        templates,
        request,
        "access_log.html",
        {"problem": None, "person_id": person_id, "entries": entries},
        subject=subject,
        db_session=db_session,
    )


# --- refusals as pages or JSON --------------------------------------------------------------------------------


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


def install_pages(app: FastAPI) -> None:
    """Add the sign-in pages and the refusal handlers (a page for a browser, JSON otherwise)."""
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(PermissionRequired, _permission_required)
    app.add_exception_handler(StarletteHTTPException, _page_refused)
    app.add_exception_handler(access_service.PersonNotVisible, _person_not_visible)
    app.add_exception_handler(access_service.AccessError, _access_refused)
    app.add_exception_handler(access_service.AccountSetupError, _account_setup_refused)
    app.include_router(web_router)
