"""docs/security.md documents every role, scope, access setting and public route."""

from __future__ import annotations

from pathlib import Path

from fullpicture.access.auth import PUBLIC_ROUTES
from fullpicture.access.models import Role
from fullpicture.access.roles import Scope, role_book
from fullpicture.core.settings import AccessSettings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text(encoding="utf-8")


def test_every_role_is_in_the_table_with_its_scopes() -> None:
    rows = {
        line.split("|")[1].strip().strip("`"): line
        for line in DOC.splitlines()
        if line.startswith("| `")
    }
    for role in Role:
        assert role.value in rows, f"{role.value} missing from the roles table"
        for scope in role_book().policy(role).scopes:
            assert scope.value in rows[role.value], f"{scope.value} missing for {role.value}"


def test_every_scope_and_setting_is_documented() -> None:
    for scope in Scope:
        assert f"`{scope.value}`" in DOC or scope.value in DOC
    for name in AccessSettings.model_fields:
        assert f"FULLPICTURE_{name.upper()}" in DOC, f"FULLPICTURE_{name.upper()} undocumented"


def test_public_routes_are_named() -> None:
    for _method, path in PUBLIC_ROUTES:
        if path.startswith("/sign-in"):
            continue  # "the sign-in routes"
        assert path.split("/")[-1] in DOC or path in DOC
