"""Roles and scopes, read from ``roles.yaml`` (a versioned rule file with a schema)."""

from __future__ import annotations

import enum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fullpicture.access.models import Role
from fullpicture.core.rule_files import load_rules_file

ROLES_FILE = Path(__file__).with_name("roles.yaml")


class Scope(enum.StrEnum):
    """What a route may require. API tokens carry a subset of their user's role's scopes."""

    CHILDREN_READ = "children:read"
    CHILDREN_WRITE = "children:write"
    CHRONOLOGY_ALL_AGENCIES = "chronology:all_agencies"
    REFERRALS_WRITE = "referrals:write"
    LINKAGE_REVIEW = "linkage:review"
    LINKAGE_RUN = "linkage:run"
    IMPORTS_WRITE = "imports:write"
    AGGREGATES_READ = "aggregates:read"
    AUDIT_READ = "audit:read"
    ACCESS_LOG_READ = "access_log:read"
    SUPERVISION_READ = "supervision:read"
    BREAK_GLASS = "break_glass"
    USERS_MANAGE = "users:manage"
    SUBJECT_ACCESS_EXPORT = "subject_access:export"
    #: Record decisions on alerts routed to any agency (and on unrouted ones), not only one's
    #: own agency's. No role holds it by default; a partnership may give it to a role that
    #: oversees alerts across agencies.
    ALERTS_DECIDE_ANY_AGENCY = "alerts:decide_any_agency"


class RolePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    child_scope: Literal["involved_agency", "none"]
    scopes: frozenset[Scope]

    @model_validator(mode="after")
    def _no_child_scopes_without_children(self) -> RolePolicy:
        if self.child_scope == "none" and self.scopes & {
            Scope.CHILDREN_READ,
            Scope.CHILDREN_WRITE,
            Scope.CHRONOLOGY_ALL_AGENCIES,
            Scope.BREAK_GLASS,
            Scope.REFERRALS_WRITE,
            Scope.SUBJECT_ACCESS_EXPORT,
            Scope.SUPERVISION_READ,
            Scope.ALERTS_DECIDE_ANY_AGENCY,
        }:
            raise ValueError("a role that sees no children cannot hold child-data scopes")
        return self


class RoleBook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    roles: dict[Role, RolePolicy]

    @model_validator(mode="after")
    def _every_role_defined(self) -> RoleBook:
        missing = set(Role) - set(self.roles)
        if missing:
            raise ValueError(f"roles.yaml does not define: {', '.join(sorted(missing))}")
        return self

    def policy(self, role: Role) -> RolePolicy:
        return self.roles[role]


def load_role_book(path: Path = ROLES_FILE) -> RoleBook:
    return RoleBook.model_validate(load_rules_file(path))


@lru_cache(maxsize=1)
def role_book() -> RoleBook:
    return load_role_book()
