"""Access rules: accounts, passwords and lock-out, sessions, API tokens, need-to-know checks,
break-glass, and the audit entries they write. Services never commit."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access import repository as access_repository
from fullpicture.access.models import (
    AccessNotification,
    ApiToken,
    BreakGlassGrant,
    SignInFailure,
    SignInSession,
    UserAccount,
)
from fullpicture.access.roles import Scope, role_book
from fullpicture.access.schemas import AccessLogEntry, BreakGlassRequest, TokenCreate, UserCreate
from fullpicture.access.subject import (
    AuthMethod,
    AuthSubject,
    SystemPrincipal,
    subject_for,
    subject_of,
)
from fullpicture.agencies.models import Agency, Practitioner
from fullpicture.core.database import utc_now
from fullpicture.core.settings import Settings, get_settings
from fullpicture.people.models import Person

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verifying against this when the username is unknown keeps sign-in timing the same.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
TOKEN_PREFIX = "fpt_"
_SCOPE_VALUES = frozenset(scope.value for scope in Scope)


class AccessError(Exception):
    """A request the caller may not make; the message says what is missing."""


class PersonNotVisible(AccessError):
    """The person does not exist or the caller may not see them. One error for both, so a
    refusal never confirms that a child is known to the system."""


class AccountSetupError(ValueError):
    """A user or token cannot be created as asked; the message says what to fix."""


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# --- accounts and passwords ---------------------------------------------------------------


def check_password_strength(
    *, password: str, username: str, settings: Settings | None = None
) -> None:
    settings = settings or get_settings()
    if len(password) < settings.password_min_length:
        raise AccountSetupError(
            f"the password must be at least {settings.password_min_length} characters"
        )
    if username.lower() in password.lower():
        raise AccountSetupError("the password must not contain the username")
    if len(set(password)) < 5:
        raise AccountSetupError("the password must use at least 5 different characters")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(*, db_session: Session, user_in: UserCreate, actor: str) -> UserAccount:
    """Create an account. There are no default accounts or passwords: each is made here."""
    if access_repository.user_by_username(db_session, user_in.username) is not None:
        raise AccountSetupError(f"a user called {user_in.username!r} already exists")
    agency_id: int | None = None
    practitioner_id: int | None = None
    if user_in.agency_code:
        agency = db_session.scalars(
            select(Agency).where(Agency.code == user_in.agency_code)
        ).first()
        if agency is None:
            raise AccountSetupError(f"no agency with code {user_in.agency_code!r} is registered")
        agency_id = agency.id
        if user_in.practitioner_staff_ref:
            practitioner = db_session.scalars(
                select(Practitioner).where(
                    Practitioner.agency_id == agency.id,
                    Practitioner.staff_ref == user_in.practitioner_staff_ref,
                )
            ).first()
            if practitioner is None:
                raise AccountSetupError(
                    f"{agency.code} has no practitioner with staff reference "
                    f"{user_in.practitioner_staff_ref!r}"
                )
            practitioner_id = practitioner.id
    elif user_in.practitioner_staff_ref:
        raise AccountSetupError("a practitioner reference needs --agency too")
    policy = role_book().policy(user_in.role)
    if policy.child_scope == "involved_agency" and agency_id is None:
        raise AccountSetupError(
            f"a {user_in.role.value} sees children through their agency: give the agency code"
        )
    password_hash = None
    if user_in.password is not None:
        check_password_strength(
            password=user_in.password.get_secret_value(), username=user_in.username
        )
        password_hash = hash_password(user_in.password.get_secret_value())
    elif not user_in.oidc_subject:
        raise AccountSetupError("give a password, or an OpenID Connect subject to sign in with")
    user = UserAccount(
        username=user_in.username,
        display_name=user_in.display_name,
        email=user_in.email,
        role=user_in.role,
        agency_id=agency_id,
        practitioner_id=practitioner_id,
        password_hash=password_hash,
        oidc_subject=user_in.oidc_subject,
        failed_sign_ins=0,
        is_active=True,
    )
    db_session.add(user)
    db_session.flush()
    audit.append(
        db_session=db_session,
        actor=actor,
        action="user.create",
        target=f"user:{user.username}",
        detail={"role": user.role.value, "agency_id": agency_id},
    )
    return user


def set_password(*, db_session: Session, user: UserAccount, password: str, actor: str) -> None:
    check_password_strength(password=password, username=user.username)
    user.password_hash = hash_password(password)
    user.failed_sign_ins = 0
    user.locked_until = None
    # A new password ends every open session: whoever knew the old one is signed out too.
    db_session.execute(
        update(SignInSession)
        .where(SignInSession.user_id == user.id, SignInSession.ended_at.is_(None))
        .values(ended_at=utc_now())
        .execution_options(synchronize_session=False)
    )
    audit.append(
        db_session=db_session,
        actor=actor,
        action="user.password_set",
        target=f"user:{user.username}",
    )


def unlock_user(*, db_session: Session, user: UserAccount, actor: str) -> None:
    user.failed_sign_ins = 0
    user.locked_until = None
    audit.append(
        db_session=db_session, actor=actor, action="user.unlock", target=f"user:{user.username}"
    )


@dataclass(frozen=True)
class SignInOutcome:
    user: UserAccount | None
    refusal: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.user is not None


GENERIC_REFUSAL = "The username or password is wrong, or the account is locked."


def sign_in_with_password(
    *,
    db_session: Session,
    username: str,
    password: str,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
) -> SignInOutcome:
    """Check a password, counting failures and locking the account after too many.

    Returns an outcome rather than raising, so the caller commits the failure count too.
    The refusal text is the same whatever went wrong, so it reveals no usernames.
    """
    settings = settings or get_settings()
    now = now or utc_now()
    user = access_repository.user_by_username(db_session, username)
    if user is None or user.password_hash is None or not user.is_active:
        _verify_quietly(_DUMMY_HASH, password)
        audit.append(
            db_session=db_session,
            actor="anonymous",
            action="sign_in.refused",
            target=f"user:{username[:100]}",
            detail={"why": "unknown or inactive account"},
        )
        return SignInOutcome(None, GENERIC_REFUSAL)
    if user.locked_until is not None and user.locked_until > now:
        _verify_quietly(_DUMMY_HASH, password)
        audit.append(
            db_session=db_session,
            actor="anonymous",
            action="sign_in.refused",
            actor_user_id=user.id,
            target=f"user:{user.username}",
            detail={"why": "locked"},
        )
        return SignInOutcome(None, GENERIC_REFUSAL)
    if not _verify_quietly(user.password_hash, password):
        user.failed_sign_ins += 1
        locked = user.failed_sign_ins >= settings.lockout_threshold
        if locked:
            user.locked_until = now + dt.timedelta(minutes=settings.lockout_minutes)
            user.failed_sign_ins = 0
        audit.append(
            db_session=db_session,
            actor="anonymous",
            action="sign_in.refused",
            actor_user_id=user.id,
            target=f"user:{user.username}",
            detail={"why": "wrong password", "locked": locked},
        )
        return SignInOutcome(None, GENERIC_REFUSAL)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_sign_ins = 0
    user.locked_until = None
    user.last_sign_in_at = now
    return SignInOutcome(user)


# --- throttling sign-in by client address ---------------------------------------------------
#
# Lock-out stops guessing one account's password; it does nothing against one client trying a
# few passwords on each of many accounts. Counting refusals per client address, whatever the
# usernames, does. The count is in the database so every worker process shares it.


def client_network(host: str | None) -> str:
    """The throttling key for a client: its IPv4 address, or its IPv6 /64 (one household or
    customer gets a whole /64, so single addresses within it are free to vary)."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]  # not an address (e.g. a test client's name): count it as given
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def sign_in_retry_after(
    *,
    db_session: Session,
    client: str,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
) -> int | None:
    """Whole seconds until ``client`` may try to sign in again, or None if it may now."""
    settings = settings or get_settings()
    now = now or utc_now()
    window = dt.timedelta(minutes=settings.sign_in_throttle_minutes)
    # The client may try again once its threshold-th latest refusal leaves the window.
    oldest_counted = access_repository.nth_latest_sign_in_failure(
        db_session, client=client, since=now - window, n=settings.sign_in_throttle_failures
    )
    if oldest_counted is None:
        return None
    return max(1, math.ceil((oldest_counted + window - now).total_seconds()))


def record_sign_in_failure(
    *,
    db_session: Session,
    client: str,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
) -> int | None:
    """Count a refused sign-in from ``client``; returns the seconds to wait if this refusal
    reached the threshold (and records in the audit log that the address is throttled)."""
    settings = settings or get_settings()
    now = now or utc_now()
    window = dt.timedelta(minutes=settings.sign_in_throttle_minutes)
    access_repository.forget_sign_in_failures(db_session, before=now - window)
    db_session.add(SignInFailure(client=client, occurred_at=now))
    db_session.flush()
    retry_after = sign_in_retry_after(
        db_session=db_session, client=client, now=now, settings=settings
    )
    if retry_after is not None:
        audit.append(
            db_session=db_session,
            actor="anonymous",
            action="sign_in.throttled",
            target=f"client:{client}",
            detail={
                "failures": settings.sign_in_throttle_failures,
                "minutes": settings.sign_in_throttle_minutes,
                "retry_after_seconds": retry_after,
            },
            occurred_at=now,
        )
    return retry_after


def _verify_quietly(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- sessions ------------------------------------------------------------------------------


def start_session(
    *,
    db_session: Session,
    user: UserAccount,
    method: str,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
) -> tuple[str, SignInSession]:
    """Open a browser session; returns the random token for the cookie (stored only hashed)."""
    settings = settings or get_settings()
    now = now or utc_now()
    token = secrets.token_urlsafe(32)
    session = SignInSession(
        token_sha256=sha256_hex(token),
        csrf_secret=secrets.token_hex(32),
        user_id=user.id,
        method=method,
        created_at=now,
        last_seen_at=now,
        expires_at=now + dt.timedelta(hours=settings.session_hours),
    )
    db_session.add(session)
    db_session.flush()
    audit.append(
        db_session=db_session,
        actor=f"user:{user.username}",
        actor_user_id=user.id,
        action="sign_in",
        target=f"session:{session.id}",
        detail={"method": method},
        occurred_at=now,
    )
    return token, session


def resolve_session(
    *,
    db_session: Session,
    token: str,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
) -> tuple[SignInSession, UserAccount] | None:
    """The live session and its user for a cookie token, or None (expired, idle, ended)."""
    settings = settings or get_settings()
    now = now or utc_now()
    session = access_repository.session_by_token_hash(db_session, sha256_hex(token))
    if session is None or session.ended_at is not None or session.expires_at <= now:
        return None
    if session.last_seen_at + dt.timedelta(minutes=settings.session_idle_minutes) <= now:
        session.ended_at = now
        return None
    user = db_session.get(UserAccount, session.user_id)
    if user is None or not user.is_active:
        return None
    # Writing on every request would serialise reads on SQLite; a minute's precision is enough.
    if now - session.last_seen_at >= dt.timedelta(minutes=1):
        session.last_seen_at = now
    return session, user


def end_session(*, db_session: Session, session: SignInSession, actor: str) -> None:
    session.ended_at = utc_now()
    audit.append(
        db_session=db_session,
        actor=actor,
        actor_user_id=session.user_id,
        action="sign_out",
        target=f"session:{session.id}",
    )


def csrf_token_for(session: SignInSession) -> str:
    return session.csrf_secret


def csrf_token_matches(session: SignInSession, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(session.csrf_secret, presented)


# --- API tokens ----------------------------------------------------------------------------


def issue_api_token(
    *,
    db_session: Session,
    user: UserAccount,
    token_in: TokenCreate,
    actor: str,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
) -> tuple[str, ApiToken]:
    """Make a token carrying at most the user's role's scopes; the plain token is returned once."""
    settings = settings or get_settings()
    now = now or utc_now()
    allowed = role_book().policy(user.role).scopes
    beyond = token_in.scopes - allowed
    if beyond:
        raise AccountSetupError(
            f"a {user.role.value} cannot hold {', '.join(sorted(beyond))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    if token_in.days > settings.api_token_max_days:
        raise AccountSetupError(f"tokens last at most {settings.api_token_max_days} days")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=token_in.name,
        token_prefix=plain[:12],
        token_sha256=sha256_hex(plain),
        scopes=sorted(scope.value for scope in token_in.scopes),
        created_at=now,
        expires_at=now + dt.timedelta(days=token_in.days),
    )
    db_session.add(token)
    db_session.flush()
    audit.append(
        db_session=db_session,
        actor=actor,
        action="api_token.create",
        target=f"api_token:{token.public_id}",
        detail={"user": user.username, "scopes": token.scopes, "days": token_in.days},
    )
    return plain, token


def resolve_api_token(
    *, db_session: Session, token: str, now: dt.datetime | None = None
) -> tuple[ApiToken, UserAccount] | None:
    now = now or utc_now()
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = access_repository.api_token_by_hash(db_session, sha256_hex(token))
    if row is None or not _token_is_live(
        revoked_at=row.revoked_at, expires_at=row.expires_at, now=now
    ):
        return None
    user = db_session.get(UserAccount, row.user_id)
    if user is None or not user.is_active:
        return None
    if _token_use_is_news(row.last_used_at, now):
        row.last_used_at = now
    return row, user


def authenticate_api_token(
    *, db_session: Session, token: str, now: dt.datetime | None = None
) -> AuthSubject | None:
    """The subject an API token speaks for, or None when it is unknown, expired, revoked or
    its user is inactive: ``resolve_api_token``'s rule, read afresh from the database in one
    round trip (every request; nothing about a token is remembered between requests)."""
    now = now or utc_now()
    if not token.startswith(TOKEN_PREFIX):
        return None
    holder = access_repository.token_holder(db_session, sha256_hex(token))
    if (
        holder is None
        or not _token_is_live(revoked_at=holder.revoked_at, expires_at=holder.expires_at, now=now)
        or not holder.is_active
    ):
        return None
    if _token_use_is_news(holder.last_used_at, now):
        access_repository.mark_token_used(db_session, token_id=holder.token_id, at=now)
    return subject_of(
        user_id=holder.user_id,
        username=holder.username,
        display_name=holder.display_name,
        role=holder.role,
        agency_id=holder.agency_id,
        practitioner_id=holder.practitioner_id,
        method=AuthMethod.TOKEN,
        token_scopes=_token_scopes(holder.scopes),
        token_id=holder.token_id,
    )


def _token_is_live(
    *, revoked_at: dt.datetime | None, expires_at: dt.datetime, now: dt.datetime
) -> bool:
    return revoked_at is None and expires_at > now


def _token_use_is_news(last_used_at: dt.datetime | None, now: dt.datetime) -> bool:
    # Written at most once a minute: a write per request would make every read a write.
    return last_used_at is None or now - last_used_at >= dt.timedelta(minutes=1)


def _token_scopes(stored: list[str]) -> frozenset[Scope]:
    return frozenset(Scope(value) for value in stored if value in _SCOPE_VALUES)


def revoke_api_token(*, db_session: Session, token: ApiToken, actor: str) -> None:
    token.revoked_at = utc_now()
    audit.append(
        db_session=db_session,
        actor=actor,
        action="api_token.revoke",
        target=f"api_token:{token.public_id}",
    )


def token_subject(token: ApiToken, user: UserAccount) -> AuthSubject:
    return subject_for(
        user,
        method=AuthMethod.TOKEN,
        token_scopes=_token_scopes(token.scopes),
        token_id=token.id,
    )


# --- need-to-know checks -------------------------------------------------------------------


def subject_for_cli(*, db_session: Session, username: str) -> AuthSubject:
    """The subject for a CLI command run ``--as`` a user: the same rules as on the web."""
    user = access_repository.user_by_username(db_session, username)
    if user is None or not user.is_active:
        raise AccessError(f"no active user called {username!r}")
    return subject_for(user, method=AuthMethod.CLI)


def require_scopes(subject: AuthSubject, *scopes: Scope) -> None:
    missing = set(scopes) - subject.scopes
    if missing:
        raise AccessError(
            f"this needs {', '.join(sorted(missing))}, which a {subject.role.value}"
            f"{' token' if subject.method is AuthMethod.TOKEN else ''} does not hold"
        )


def open_person(
    *,
    db_session: Session,
    subject: AuthSubject,
    person_public_id: str,
    purpose: str,
    now: dt.datetime | None = None,
) -> Person:
    """The person, if the subject may see them; records the read in the audit log.

    The one gate for person-level reads: web pages, API routes, exports and CLI commands
    call it before showing anything about a person, then query through the readable_*
    statements in ``access.repository`` for what to show.
    """
    now = now or utc_now()
    require_scopes(subject, Scope.CHILDREN_READ)
    opened = access_repository.readable_person_and_involvement(
        db_session, reader=subject, public_id=person_public_id, now=now
    )
    if opened is None:
        raise PersonNotVisible("no such person, or you have no need to know about them")
    person, agency_involved = opened
    grant = None
    if not agency_involved:
        grant = access_repository.live_break_glass_grant(
            db_session, subject=subject, person_id=person.id, now=now
        )
    detail: dict[str, Any] = {"purpose": purpose, "method": subject.method.value}
    if grant is not None:
        detail["break_glass_grant_id"] = grant.id
    # What else the read rests on (e.g. the sharing decisions that gave this agency entries).
    detail.update(
        access_repository.read_grounds(db_session, subject=subject, person_id=person.id, now=now)
    )
    audit.record(
        db_session=db_session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action="person.read",
        person_id=person.id,
        target=purpose,
        reason=grant.reason if grant is not None else None,
        detail=detail,
        occurred_at=now,
    )
    return person


def open_person_behind(
    *,
    db_session: Session,
    subject: AuthSubject,
    person_id: int,
    purpose: str,
    not_found: PersonNotVisible,
    now: dt.datetime | None = None,
) -> Person:
    """The child an object (a case, an escalation) is about, opened and audited as
    ``open_person`` does; ``not_found`` is raised when the subject may not see the child, so
    an object about such a child answers exactly as an unknown object does."""
    public_id = db_session.scalar(select(Person.public_id).where(Person.id == person_id))
    try:
        return open_person(
            db_session=db_session,
            subject=subject,
            person_public_id=str(public_id),
            purpose=purpose,
            now=now,
        )
    except PersonNotVisible as exc:
        raise not_found from exc


def open_person_for_agency_write(
    *,
    db_session: Session,
    subject: AuthSubject,
    person_public_id: str,
    purpose: str,
    no_agency: str,
    now: dt.datetime | None = None,
) -> tuple[Person, int]:
    """The gate before an agency records something about a child (a case, a sharing
    decision, an escalation): read and write scopes, the child opened and the read audited,
    then the subject's agency, which the record is made for. ``no_agency`` is the refusal an
    account belonging to no agency gets."""
    require_scopes(subject, Scope.CHILDREN_READ, Scope.CHILDREN_WRITE)
    person = open_person(
        db_session=db_session,
        subject=subject,
        person_public_id=person_public_id,
        purpose=purpose,
        now=now,
    )
    if subject.agency_id is None:
        raise AccessError(no_agency)
    return person, subject.agency_id


def record_reads(
    *,
    db_session: Session,
    subject: AuthSubject,
    person_ids: Sequence[int],
    purpose: str,
    detail: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Record that the subject was shown data about these people without opening them through
    ``open_person`` (a candidate pair in linkage review, a quarantined import row): one
    ``person.read`` each, so they appear in "who has looked". The caller has already checked
    the subject's need to know for what it shows."""
    now = now or utc_now()
    for person_id in sorted(set(person_ids)):
        audit.record(
            db_session=db_session,
            actor=subject.actor,
            actor_user_id=subject.user_id,
            action="person.read",
            person_id=person_id,
            target=purpose,
            detail={"purpose": purpose, "method": subject.method.value, **(detail or {})},
            occurred_at=now,
        )


def record_write(
    *,
    db_session: Session,
    subject: AuthSubject,
    action: str,
    target: str,
    person_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record a write in the audit log, in the same transaction as the write itself."""
    audit.record(
        db_session=db_session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action=action,
        person_id=person_id,
        target=target,
        detail=detail,
    )


def system_principal(
    *, db_session: Session, job: str, operator: str, detail: dict[str, Any] | None = None
) -> SystemPrincipal:
    """The principal a job with no user behind it reads the whole record as; recorded in the
    audit log (``system.read``, actor ``system:<job>``, the operator in the detail) so a batch
    read is as visible as a person's."""
    principal = SystemPrincipal(job=job, operator=operator)
    audit.record(
        db_session=db_session,
        actor=principal.actor,
        action="system.read",
        target=job,
        detail={"operator": operator, **(detail or {})},
    )
    return principal


# --- break-glass ---------------------------------------------------------------------------


def break_glass(
    *,
    db_session: Session,
    subject: AuthSubject,
    request: BreakGlassRequest,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
) -> tuple[BreakGlassGrant, list[AccessNotification]]:
    """Grant time-limited emergency access to one person, notify the designated leads, audit it."""
    settings = settings or get_settings()
    now = now or utc_now()
    require_scopes(subject, Scope.BREAK_GLASS)
    if request.minutes > settings.break_glass_max_minutes:
        raise AccessError(
            f"break-glass access lasts at most {settings.break_glass_max_minutes} minutes"
        )
    reason = request.reason.strip()
    if len(reason) < 15:
        raise AccessError("say why this is an emergency (at least 15 characters)")
    # Break-glass is for a person the user has no need to know about yet: only the id is read.
    person_id = access_repository.person_id_by_public_id(db_session, request.person_id)
    if person_id is None:
        raise PersonNotVisible("no such person")
    grant = BreakGlassGrant(
        user_id=subject.user_id,
        person_id=person_id,
        reason=reason,
        granted_at=now,
        expires_at=now + dt.timedelta(minutes=request.minutes),
    )
    db_session.add(grant)
    db_session.flush()
    leads: Sequence[UserAccount] = access_repository.designated_leads_for_person(
        db_session, person_id=person_id
    )
    if not leads:
        # Somebody must always know: with no lead at an involved agency, tell every lead.
        leads = access_repository.all_designated_leads(db_session)
    notifications = [
        AccessNotification(
            recipient_user_id=lead.id,
            kind="break_glass",
            person_id=person_id,
            break_glass_grant_id=grant.id,
            message=(
                f"{subject.username} ({subject.role.value}) used break-glass access to person "
                f"{request.person_id} until {grant.expires_at:%Y-%m-%d %H:%M} UTC. Reason: {reason}"
            ),
            created_at=now,
        )
        for lead in leads
        if lead.id != subject.user_id
    ]
    db_session.add_all(notifications)
    audit.record(
        db_session=db_session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action="break_glass.granted",
        person_id=person_id,
        target=f"break_glass_grant:{grant.id}",
        reason=reason,
        detail={
            "expires_at": grant.expires_at.isoformat(),
            "notified_user_ids": [n.recipient_user_id for n in notifications],
        },
        occurred_at=now,
    )
    db_session.flush()
    return grant, notifications


# --- who has looked ------------------------------------------------------------------------


def who_has_looked(
    *,
    db_session: Session,
    subject: AuthSubject,
    person_public_id: str,
    now: dt.datetime | None = None,
) -> list[AccessLogEntry]:
    """Everyone who has looked at a person, newest first (designated leads and auditors).

    A designated lead sees it only for people their agency is involved with; an auditor for
    anyone. Asking is itself audited.
    """
    now = now or utc_now()
    require_scopes(subject, Scope.ACCESS_LOG_READ)
    person_id = access_repository.person_id_by_public_id(db_session, person_public_id)
    # One answer for an unknown person and one the asker's agency is not involved with, so
    # asking never confirms that a child is known to the system.
    if person_id is None or (
        not subject.has(Scope.AUDIT_READ)
        and (
            subject.agency_id is None
            or not access_repository.agency_is_involved(
                db_session, agency_id=subject.agency_id, person_id=person_id
            )
        )
    ):
        raise PersonNotVisible("no such person, or your agency is not involved with them")
    entries = access_repository.audit_entries_for_person(db_session, person_id=person_id)
    result = [
        AccessLogEntry(
            position=e.position,
            occurred_at=e.occurred_at,
            actor=e.actor,
            action=e.action,
            target=e.target,
            reason=e.reason,
        )
        for e in entries
    ]
    audit.record(
        db_session=db_session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action="access_log.read",
        person_id=person_id,
        target="who has looked",
        occurred_at=now,
    )
    return result
