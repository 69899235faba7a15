"""Accounts: argon2 passwords, no weak or default passwords, lock-out, sessions and tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.access.roles import Scope
from fullpicture.access.schemas import TokenCreate, UserCreate
from fullpicture.core.database import utc_now
from fullpicture.core.settings import Settings
from tests.access.principals import make_agency, make_user, strong_password


def test_passwords_are_stored_as_argon2id(db_session: Session) -> None:
    password = strong_password()
    user = make_user(db_session, password=password)
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    assert password not in user.password_hash


@pytest.mark.parametrize(
    ("password", "problem"),
    [("short", "at least"), ("aaaaaaaaaaaaaaaa", "different"), ("xx-newuser-2026xx", "username")],
)
def test_weak_passwords_are_refused(db_session: Session, password: str, problem: str) -> None:
    with pytest.raises(access_service.AccountSetupError, match=problem):
        access_service.create_user(
            db_session=db_session,
            user_in=UserCreate(
                username="newuser",
                display_name="New",
                role=Role.ADMINISTRATOR,
                password=SecretStr(password),
            ),
            actor="test",
        )


def test_a_user_needs_a_password_or_an_oidc_identity(db_session: Session) -> None:
    with pytest.raises(access_service.AccountSetupError, match="password"):
        access_service.create_user(
            db_session=db_session,
            user_in=UserCreate(username="nopass", display_name="N", role=Role.AUDITOR),
            actor="test",
        )


def test_child_roles_need_an_agency(db_session: Session) -> None:
    with pytest.raises(access_service.AccountSetupError, match="agency"):
        access_service.create_user(
            db_session=db_session,
            user_in=UserCreate(
                username="floating",
                display_name="F",
                role=Role.SOCIAL_WORKER,
                password=SecretStr(strong_password()),
            ),
            actor="test",
        )


def test_lock_out_after_repeated_failures_even_with_the_right_password(
    db_session: Session,
) -> None:
    settings = Settings(lockout_threshold=3, lockout_minutes=15)
    password = strong_password()
    user = make_user(db_session, password=password)
    now = utc_now()
    for _ in range(3):
        outcome = access_service.sign_in_with_password(
            db_session=db_session,
            username=user.username,
            password="wrong-guess-123",
            now=now,
            settings=settings,
        )
        assert not outcome.succeeded
    assert user.locked_until is not None
    locked = access_service.sign_in_with_password(
        db_session=db_session, username=user.username, password=password, now=now, settings=settings
    )
    assert not locked.succeeded
    unknown = access_service.sign_in_with_password(
        db_session=db_session, username="nobody-here", password=password, now=now, settings=settings
    )
    assert locked.refusal == unknown.refusal  # the same words: no username enumeration
    after = access_service.sign_in_with_password(
        db_session=db_session,
        username=user.username,
        password=password,
        now=now + dt.timedelta(minutes=16),
        settings=settings,
    )
    assert after.succeeded and user.failed_sign_ins == 0


def test_sessions_expire_when_idle_and_at_their_limit(db_session: Session) -> None:
    settings = Settings(session_hours=1, session_idle_minutes=10)
    user = make_user(db_session)
    now = utc_now()
    token, session = access_service.start_session(
        db_session=db_session, user=user, method="password", now=now, settings=settings
    )
    assert session.token_sha256 != token
    for minutes in (5, 14, 23, 32):
        assert (
            access_service.resolve_session(
                db_session=db_session,
                token=token,
                now=now + dt.timedelta(minutes=minutes),
                settings=settings,
            )
            is not None
        )
    assert (
        access_service.resolve_session(
            db_session=db_session,
            token=token,
            now=now + dt.timedelta(minutes=61),
            settings=settings,
        )
        is None
    )
    token2, _ = access_service.start_session(
        db_session=db_session, user=user, method="password", now=now, settings=settings
    )
    assert (
        access_service.resolve_session(
            db_session=db_session,
            token=token2,
            now=now + dt.timedelta(minutes=11),
            settings=settings,
        )
        is None
    )


class TestApiTokens:
    def test_token_is_hashed_at_rest_and_scoped_within_the_role(self, db_session: Session) -> None:
        user = make_user(db_session, role=Role.PRACTITIONER, agency=make_agency(db_session))
        plain, row = access_service.issue_api_token(
            db_session=db_session,
            user=user,
            token_in=TokenCreate(name="feed", scopes=frozenset({Scope.CHILDREN_READ})),
            actor="test",
        )
        assert plain not in (
            row.token_sha256,
            row.token_prefix,
        ) and row.token_sha256 == access_service.sha256_hex(plain)
        resolved = access_service.resolve_api_token(db_session=db_session, token=plain)
        assert resolved is not None
        subject = access_service.token_subject(*resolved)
        assert subject.scopes == {Scope.CHILDREN_READ}

    def test_a_token_cannot_exceed_its_role(self, db_session: Session) -> None:
        user = make_user(db_session, role=Role.ADMINISTRATOR)
        with pytest.raises(access_service.AccountSetupError, match="cannot hold children:read"):
            access_service.issue_api_token(
                db_session=db_session,
                user=user,
                token_in=TokenCreate(name="x", scopes=frozenset({Scope.CHILDREN_READ})),
                actor="test",
            )

    def test_revoked_and_expired_tokens_fail(self, db_session: Session) -> None:
        user = make_user(db_session, role=Role.AUDITOR)
        plain, row = access_service.issue_api_token(
            db_session=db_session,
            user=user,
            token_in=TokenCreate(name="x", scopes=frozenset({Scope.AUDIT_READ}), days=1),
            actor="test",
        )
        assert (
            access_service.resolve_api_token(
                db_session=db_session, token=plain, now=utc_now() + dt.timedelta(days=2)
            )
            is None
        )
        access_service.revoke_api_token(db_session=db_session, token=row, actor="test")
        assert access_service.resolve_api_token(db_session=db_session, token=plain) is None
        assert access_service.resolve_api_token(db_session=db_session, token="fpt_forged") is None


def test_a_new_password_ends_open_sessions(db_session: Session) -> None:
    user = make_user(db_session)
    token, _ = access_service.start_session(db_session=db_session, user=user, method="password")
    assert access_service.resolve_session(db_session=db_session, token=token) is not None
    access_service.set_password(
        db_session=db_session, user=user, password=strong_password(), actor="test"
    )
    db_session.expire_all()
    assert access_service.resolve_session(db_session=db_session, token=token) is None
