"""Users, sign-in sessions, API tokens, break-glass grants, notifications and the audit log."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fullpicture.core.database import Base, UTCDateTime, string_enum, utc_now
from fullpicture.people.models import new_public_id


class Role(enum.StrEnum):
    """What a user does; ``roles.yaml`` says what each role may do."""

    PRACTITIONER = "practitioner"
    DESIGNATED_LEAD = "designated_lead"  # designated safeguarding lead / named professional
    FRONT_DOOR = "front_door"  # MASH / children's services front door
    SOCIAL_WORKER = "social_worker"
    TEAM_MANAGER = "team_manager"
    PARTNERSHIP_ANALYST = "partnership_analyst"  # aggregates only, never names
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"  # runs the system; no child data by default


class UserAccount(Base):
    """Someone who can sign in. Linked to their agency (and practitioner record) where they have one."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[Role] = mapped_column(string_enum(Role))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    password_hash: Mapped[str | None] = mapped_column(
        String(200), comment="argon2id; blank for users who only sign in through OpenID Connect"
    )
    oidc_subject: Mapped[str | None] = mapped_column(
        String(255), unique=True, comment="issuer|sub of the user's OpenID Connect identity"
    )
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SignInSession(Base):
    """A browser session. The cookie carries a random id; only its SHA-256 is stored."""

    __tablename__ = "sign_in_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_secret: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    method: Mapped[str] = mapped_column(String(16), comment="password or oidc")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SignInFailure(Base):
    """A refused password sign-in from a client address, for throttling by address.

    Kept in the database so every worker process counts the same failures; rows older than
    the throttle window are deleted as new ones arrive. The address is the network the
    request came from (an IPv6 client's /64), never the username, so varying usernames does
    not reset the count.
    """

    __tablename__ = "sign_in_failure"
    __table_args__ = (Index("ix_sign_in_failure_client_occurred", "client", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(
        String(64), comment="IPv4 address or IPv6 /64 the attempt came from"
    )
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class ApiToken(Base):
    """A scoped API token. Shown once when made; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_prefix: Mapped[str] = mapped_column(
        String(16), comment="first characters, so an operator can tell tokens apart"
    )
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class BreakGlassGrant(Base):
    """Emergency, time-limited access to one person a user would not otherwise see."""

    __tablename__ = "break_glass_grant"
    __table_args__ = (Index("ix_break_glass_grant_user_person", "user_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AccessNotification(Base):
    """A message to a designated lead (e.g. someone broke the glass on a child their agency holds)."""

    __tablename__ = "access_notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    break_glass_grant_id: Mapped[int | None] = mapped_column(ForeignKey("break_glass_grant.id"))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """One attributable action, hash-chained to the entry before it. Never updated or deleted:
    database triggers refuse UPDATE and DELETE on both backends."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_person", "person_id", "occurred_at"),
        # Someone's recent actions of one kind (the dashboard's computations an hour), read
        # without scanning the whole log.
        Index("ix_audit_entry_action_user", "action", "actor_user_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, unique=True, comment="1, 2, 3 … in the chain")
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(
        String(200), comment="user:<username>, cli:<os user>, system"
    )
    actor_user_id: Mapped[int | None] = mapped_column(
        Integer, comment="no foreign key: the log outlives accounts"
    )
    action: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(Integer, comment="the child or adult concerned")
    target: Mapped[str | None] = mapped_column(String(300), comment="what was read or written")
    reason: Mapped[str | None] = mapped_column(Text, comment="why (required for break-glass)")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    previous_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChainHead(Base):
    """One row: the last position and hash. Appenders lock it, so concurrent appends queue
    instead of forking the chain."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class ArchivedRecord(Base):
    """An agency record that retention archived: closed longer than the retention period.

    Archiving never deletes anything; it takes the record out of everyday views (the
    need-to-know statements skip it), while break-glass and auditors can still reach it.
    """

    __tablename__ = "archived_record"
    __table_args__ = (UniqueConstraint("agency_id", "record_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    record_ref: Mapped[str] = mapped_column(String(64))
    closed_on: Mapped[dt.date] = mapped_column(Date, comment="date of the closing event")
    archived_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    rule: Mapped[str] = mapped_column(String(200), comment="the retention rule that applied")
