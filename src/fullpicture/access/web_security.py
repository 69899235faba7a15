"""ASGI middleware: security headers on every response and caps on request heads and bodies.

CSP forbids inline script everywhere (pages load scripts from files); frames are denied;
HSTS is sent only when the request came over TLS (or the operator says TLS ends at a proxy).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException

from fullpicture.core.settings import get_settings

Scope_ = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope_, Receive, Send], Awaitable[None]]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
# Swagger UI sets style attributes from its own (file-loaded) script; scripts stay 'self' only.
API_DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
HSTS = "max-age=31536000; includeSubDomains"
#: Largest body for anything but a file upload (JSON, forms).
MAX_NON_UPLOAD_BODY_BYTES = 1024 * 1024
UPLOAD_CONTENT_TYPES = ("multipart/form-data", "application/octet-stream", "text/csv")


def served_over_tls(scope: Scope_) -> bool:
    return scope.get("scheme") in {"https", "wss"} or get_settings().force_secure_cookies


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        headers_to_add = [
            (b"content-security-policy", _csp_for(path).encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if not path.startswith(("/static/", "/assets/", "/api/docs/assets/")):
            # Pages and API answers hold children's data: never keep them in a shared cache.
            headers_to_add.append((b"cache-control", b"no-store"))
        if served_over_tls(scope):
            headers_to_add.append((b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in headers_to_add if name not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _csp_for(path: str) -> str:
    return API_DOCS_CONTENT_SECURITY_POLICY if path == "/api/docs" else CONTENT_SECURITY_POLICY


class BodyLimitMiddleware:
    """Refuse request bodies over the limit with 413 before any handler reads them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        limit = (
            get_settings().max_upload_bytes
            if content_type.startswith(UPLOAD_CONTENT_TYPES)
            else MAX_NON_UPLOAD_BODY_BYTES
        )
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(send, limit)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(send, limit)


class _BodyTooLarge(HTTPException):
    """Raised from ``receive`` so that FastAPI's body parsing passes it on as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            status_code=413,
            detail=f"The request body is larger than this endpoint accepts ({limit} bytes).",
        )


async def _too_large(send: Send, limit: int) -> None:
    body = (
        b'{"detail":"The request body is larger than this endpoint accepts ('
        + str(limit).encode()
        + b' bytes)."}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class HeaderLimitMiddleware:
    """Refuse a request whose head (path, query and headers) is over the limit with 431, before
    anything else looks at it (sign-in included).

    The server (``fullpicture serve``) already stops reading a head at the same size; this
    guard holds the app to it whatever server runs it (issue 12 finding 11: a 32 MB header was
    answered 200 without a token)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = get_settings().max_request_header_bytes
        size = len(scope.get("raw_path") or scope.get("path", "").encode()) + len(
            scope.get("query_string", b"")
        )
        # Each header line also carries ": " and CRLF.
        size += sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))
        if size > limit:
            body = (
                b'{"detail":"The request headers are larger than this server accepts ('
                + str(limit).encode()
                + b' bytes)."}'
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 431,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
