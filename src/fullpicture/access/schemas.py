"""Pydantic shapes at the access boundary (CLI, API, sign-in form)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from fullpicture.access.models import Role
from fullpicture.access.roles import Scope

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_ALLOWED_CONTROL = frozenset("\n\r\t")


def _no_control_characters(value: str) -> str:
    # PostgreSQL refuses NUL in text, and control characters have no place in a reason.
    if any(ord(c) < 32 and c not in _ALLOWED_CONTROL for c in value):
        raise ValueError("must not contain control characters")
    return value


PlainText = Annotated[str, AfterValidator(_no_control_characters)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME_PATTERN, description="lower-case letters, digits, . _ -")
    display_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    role: Role
    agency_code: str | None = Field(default=None, max_length=64)
    practitioner_staff_ref: str | None = Field(default=None, max_length=64)
    password: SecretStr | None = Field(
        default=None, description="blank only for users who sign in through OpenID Connect"
    )
    oidc_subject: str | None = Field(default=None, max_length=255)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: frozenset[Scope] = Field(min_length=1)
    days: int = Field(default=30, ge=1)


class TokenIssued(BaseModel):
    """Returned once: the plain token is never stored and cannot be shown again."""

    public_id: str
    name: str
    token: str
    scopes: list[Scope]
    expires_at: dt.datetime


class BreakGlassRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: str = Field(pattern=UUID_PATTERN, description="the person's public id")
    reason: PlainText = Field(
        min_length=15, max_length=2000, description="why this is an emergency; recorded and shown"
    )
    minutes: int = Field(default=30, ge=5)


class BreakGlassRead(BaseModel):
    grant_id: int
    person_id: str
    reason: str
    granted_at: dt.datetime
    expires_at: dt.datetime
    notified_user_ids: list[int]


class WhoAmI(BaseModel):
    username: str
    display_name: str
    role: Role
    agency_id: int | None
    scopes: list[Scope]
    method: str


class AccessLogEntry(BaseModel):
    """One time someone looked at a person, for the designated lead's "who has looked" view."""

    position: int
    occurred_at: dt.datetime
    actor: str
    action: str
    target: str | None
    reason: str | None


class ChainVerdictRead(BaseModel):
    intact: bool
    entries_checked: int
    first_broken_position: int | None
    first_broken_id: int | None
    problem: str | None


class HeldElsewhere(BaseModel):
    """Entries in a child's picture the caller may not see: counted, never shown.

    Saying that they exist keeps the picture honest (a score is never explained by less than
    it rests on) while the entries themselves stay with the agencies that hold them.
    """

    entries: int = Field(ge=1)
    agencies: int = Field(ge=1)
    message: str

    @classmethod
    def of(cls, *, entries: int, agencies: int, what: str) -> HeldElsewhere | None:
        if entries == 0:
            return None
        held = f"{entries} further {'entry' if entries == 1 else 'entries'}"
        by = f"{agencies} other {'agency' if agencies == 1 else 'agencies'}"
        # The verb agrees with the entries counted: callers write "{are}" and "{were}".
        what = what.format(
            are="is" if entries == 1 else "are", were="was" if entries == 1 else "were"
        )
        return cls(
            entries=entries,
            agencies=agencies,
            message=(
                f"{held} held by {by} {what}; they are not shown to your role. Ask the "
                "children's social care front door, which holds the multi-agency picture."
            ),
        )
