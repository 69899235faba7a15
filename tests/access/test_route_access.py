"""Every route of the app declares who may call it, or is on the reviewed public list."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from fullpicture.access.auth import PUBLIC_MOUNTS, PUBLIC_ROUTES, route_access
from fullpicture.access.roles import Scope
from fullpicture.web.app import create_app


def test_every_route_declares_access_or_is_reviewed_public() -> None:
    app = create_app()
    undeclared: list[str] = []
    public_seen: set[tuple[str, str]] = set()
    checked = 0
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            assert route.path in PUBLIC_MOUNTS, f"mount {route.path} is not a reviewed public mount"
            continue
        for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
            checked += 1
            if (method, route.path) in PUBLIC_ROUTES:
                public_seen.add((method, str(route.path)))
                continue
            if route_access(route) is None:
                undeclared.append(f"{method} {route.path}")
    assert undeclared == [], (
        "routes without an access dependency (take Principal/ChildReader/… from "
        f"fullpicture.access.auth, or add to PUBLIC_ROUTES after review): {undeclared}"
    )
    assert {
        ("GET", "/healthz"),
        ("POST", "/sign-in"),
        ("GET", "/api/v1/openapi.json"),
    } <= public_seen
    assert checked > len(public_seen)


def test_the_check_catches_an_undeclared_route_in_an_included_router() -> None:
    app = create_app()
    leaky = APIRouter(prefix="/api/v1/leaky")

    @leaky.get("/children")
    def children() -> dict[str, str]:
        return {}

    app.include_router(leaky)
    found = {
        str(r.path): route_access(r)
        for r in iter_route_contexts(app.routes)
        if r.path in {"/api/v1/leaky/children", "/api/v1/me", "/api/v1/audit/verify"}
    }
    assert found["/api/v1/leaky/children"] is None
    assert found["/api/v1/me"] == frozenset()
    assert found["/api/v1/audit/verify"] == frozenset({Scope.AUDIT_READ})
