"""Who is asking: the authenticated subject every access decision is made about."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import ColumnElement

from fullpicture.access.models import Role, UserAccount
from fullpicture.access.roles import Scope, role_book

#: The moment a need-to-know rule is judged at: a time, or the SQL parameter standing for one
#: in a statement built once and given its moment at each use (``access.repository``). Code
#: given a ``Moment`` may only compare columns with it in SQL.
Moment = dt.datetime | ColumnElement[dt.datetime]


class AuthMethod(enum.StrEnum):
    SESSION = "session"
    TOKEN = "token"
    CLI = "cli"


@dataclass(frozen=True)
class AuthSubject:
    """A signed-in user as one request (or one CLI command) sees them."""

    user_id: int
    username: str
    role: Role
    agency_id: int | None
    practitioner_id: int | None
    scopes: frozenset[Scope]
    method: AuthMethod
    session_id: int | None = None
    token_id: int | None = None
    #: The user's name as shown to them (``/api/v1/me``); not part of any access decision.
    display_name: str = ""

    @property
    def actor(self) -> str:
        return f"user:{self.username}"

    @property
    def sees_children(self) -> bool:
        return role_book().policy(self.role).child_scope != "none"

    def has(self, *scopes: Scope) -> bool:
        return set(scopes) <= self.scopes


def subject_for(
    user: UserAccount,
    *,
    method: AuthMethod,
    token_scopes: frozenset[Scope] | None = None,
    session_id: int | None = None,
    token_id: int | None = None,
) -> AuthSubject:
    """The subject for a user; a token narrows the role's scopes, never widens them."""
    return subject_of(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        agency_id=user.agency_id,
        practitioner_id=user.practitioner_id,
        method=method,
        token_scopes=token_scopes,
        session_id=session_id,
        token_id=token_id,
    )


def subject_of(
    *,
    user_id: int,
    username: str,
    display_name: str,
    role: Role,
    agency_id: int | None,
    practitioner_id: int | None,
    method: AuthMethod,
    token_scopes: frozenset[Scope] | None = None,
    session_id: int | None = None,
    token_id: int | None = None,
) -> AuthSubject:
    """``subject_for`` from the user's columns (an API token's one-query check reads only
    those)."""
    scopes = role_book().policy(role).scopes
    if token_scopes is not None:
        scopes = scopes & token_scopes
    return AuthSubject(
        user_id=user_id,
        username=username,
        role=role,
        agency_id=agency_id,
        practitioner_id=practitioner_id,
        scopes=frozenset(scopes),
        method=method,
        session_id=session_id,
        token_id=token_id,
        display_name=display_name,
    )


@dataclass(frozen=True)
class SystemPrincipal:
    """A job with no user behind it that reads a child's whole record: batch scoring, the
    check stored with a submitted referral, a benchmark. Made only by
    ``access.service.system_principal``, which records it in the audit log, so every read of
    child data names who asked — a person or a job (issue 13, item 1)."""

    job: str
    operator: str

    @property
    def actor(self) -> str:
        return f"system:{self.job}"


#: Whoever a read of child data is made for: a signed-in user, or an audited system job.
Reader = AuthSubject | SystemPrincipal
