"""``fullpicture user`` / ``token`` / ``audit`` / ``backup`` / ``restore``: access administration.

There are no default accounts or passwords: the first administrator is made here, with a
password typed at the prompt (or piped on stdin), and every change is in the audit log with
the operating-system user who ran the command.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import typer
from pydantic import SecretStr, ValidationError
from rich.table import Table
from sqlalchemy import select

from fullpicture.access import audit, audit_checkpoint
from fullpicture.access import backup as backup_service
from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.models import ApiToken, Role, UserAccount
from fullpicture.access.roles import Scope, role_book
from fullpicture.access.schemas import TokenCreate, UserCreate
from fullpicture.cli.console import console, err_console
from fullpicture.cli.principal import acting_user
from fullpicture.core.database import unit_of_work
from fullpicture.core.runtime import get_engine, get_session_factory
from fullpicture.governance import retention

user_app = typer.Typer(help="Create and manage user accounts.", no_args_is_help=True)
token_app = typer.Typer(help="Scoped API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention of closed records.", no_args_is_help=True)


def cli_actor() -> str:
    return f"cli:{getpass.getuser()}"


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[red]{message}[/red]")
    return typer.Exit(code=code)


def _read_password(*, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("create")
def create_user(
    username: str = typer.Argument(..., help="Sign-in name: lower-case letters, digits, . _ -"),
    name: str = typer.Option(..., "--name", help="The person's full name."),
    role: Role = typer.Option(..., "--role", help="What they do (see docs/security.md)."),
    agency: str | None = typer.Option(None, "--agency", help="Their agency's code."),
    practitioner: str | None = typer.Option(
        None, "--practitioner", help="Their staff reference in that agency's feeds."
    ),
    email: str | None = typer.Option(None, "--email"),
    oidc_subject: str | None = typer.Option(
        None, "--oidc-subject", help="issuer|sub, for users who sign in with OpenID Connect only."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input (for scripts)."
    ),
) -> None:
    """Create a user account (the first administrator too). Prompts for the password.

    Example: fullpicture user create admin --name "Sam Admin" --role administrator
    """
    password = (
        None if oidc_subject and not password_stdin else _read_password(from_stdin=password_stdin)
    )
    try:
        user_in = UserCreate(
            username=username,
            display_name=name,
            email=email,
            role=role,
            agency_code=agency,
            practitioner_staff_ref=practitioner,
            password=SecretStr(password) if password is not None else None,
            oidc_subject=oidc_subject,
        )
        with unit_of_work(get_session_factory()) as session:
            user = access_service.create_user(
                db_session=session, user_in=user_in, actor=cli_actor()
            )
            console.print(f"Created {user.username} ({user.role.value}).")
    except ValidationError as exc:
        raise _fail(f"Not created: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from exc
    except access_service.AccountSetupError as exc:
        raise _fail(f"Not created: {exc}") from exc


@user_app.command("list")
def list_users() -> None:
    """List user accounts, their roles and whether they are locked.

    Example: fullpicture user list
    """
    with unit_of_work(get_session_factory()) as session:
        table = Table("username", "role", "agency_id", "active", "locked until", "last sign-in")
        for user in session.scalars(select(UserAccount).order_by(UserAccount.username)):
            table.add_row(
                user.username,
                user.role.value,
                str(user.agency_id or ""),
                "yes" if user.is_active else "no",
                f"{user.locked_until:%Y-%m-%d %H:%M}" if user.locked_until else "",
                f"{user.last_sign_in_at:%Y-%m-%d %H:%M}" if user.last_sign_in_at else "",
            )
    console.print(table)


@user_app.command("unlock")
def unlock(username: str = typer.Argument(...)) -> None:
    """Lift a lock-out after too many failed sign-ins.

    Example: fullpicture user unlock jo.smith
    """
    with unit_of_work(get_session_factory()) as session:
        user = access_repository.user_by_username(session, username)
        if user is None:
            raise _fail(f"No user called {username!r}.")
        access_service.unlock_user(db_session=session, user=user, actor=cli_actor())
    console.print(f"{username} can sign in again.")


@user_app.command("set-password")
def set_password(
    username: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin"),
) -> None:
    """Set a user's password (prompts twice).

    Example: fullpicture user set-password jo.smith
    """
    password = _read_password(from_stdin=password_stdin)
    try:
        with unit_of_work(get_session_factory()) as session:
            user = access_repository.user_by_username(session, username)
            if user is None:
                raise _fail(f"No user called {username!r}.")
            access_service.set_password(
                db_session=session, user=user, password=password, actor=cli_actor()
            )
    except access_service.AccountSetupError as exc:
        raise _fail(f"Not changed: {exc}") from exc
    console.print(f"Password set for {username}.")


@user_app.command("deactivate")
def deactivate(username: str = typer.Argument(...)) -> None:
    """Stop an account signing in or using its tokens (the account and its history stay).

    Example: fullpicture user deactivate jo.smith
    """
    with unit_of_work(get_session_factory()) as session:
        user = access_repository.user_by_username(session, username)
        if user is None:
            raise _fail(f"No user called {username!r}.")
        user.is_active = False
        audit.append(
            db_session=session,
            actor=cli_actor(),
            action="user.deactivate",
            target=f"user:{username}",
        )
    console.print(f"{username} is deactivated.")


@token_app.command("create")
def create_token(
    username: str = typer.Argument(..., help="Whose token it is."),
    name: str = typer.Option(..., "--name", help="What the token is for."),
    scope: list[Scope] = typer.Option(
        [], "--scope", help="A scope (repeat); by default every scope of the user's role."
    ),
    days: int = typer.Option(30, "--days", help="Days until it expires."),
) -> None:
    """Make a scoped API token and print it once (it is stored only as a hash).

    Example: fullpicture token create feed-bot --name "nightly school feed" --scope imports:write --days 30
    """
    try:
        with unit_of_work(get_session_factory()) as session:
            user = access_repository.user_by_username(session, username)
            if user is None:
                raise _fail(f"No user called {username!r}.")
            scopes = frozenset(scope) or role_book().policy(user.role).scopes
            if not scopes:
                raise _fail(f"A {user.role.value} holds no scopes to put on a token.")
            plain, token = access_service.issue_api_token(
                db_session=session,
                user=user,
                token_in=TokenCreate(name=name, scopes=scopes, days=days),
                actor=cli_actor(),
            )
    except (access_service.AccountSetupError, ValidationError) as exc:
        raise _fail(f"No token made: {exc}") from exc
    err_console.print(
        f"Token {token.public_id} for {username}, scopes {', '.join(token.scopes)}, "
        f"expires {token.expires_at:%Y-%m-%d}. It is shown once; store it now."
    )
    typer.echo(plain)


@token_app.command("revoke")
def revoke_token(
    public_id: str = typer.Argument(..., help="The token's id (not the token)."),
) -> None:
    """Revoke an API token.

    Example: fullpicture token revoke 7f1c2a4e-...
    """
    with unit_of_work(get_session_factory()) as session:
        token = session.scalars(select(ApiToken).where(ApiToken.public_id == public_id)).first()
        if token is None:
            raise _fail(f"No token with id {public_id}.")
        access_service.revoke_api_token(db_session=session, token=token, actor=cli_actor())
    console.print(f"Token {public_id} revoked.")


@audit_app.command("verify")
def verify() -> None:
    """Check the audit log's hash chain against its head and the latest signed checkpoint;
    names the first broken entry (exit code 1). When intact, writes a new checkpoint.

    Example: fullpicture audit verify
    """
    checkpoint = None
    if audit_checkpoint.key_path() is not None:
        try:
            checkpoint = audit_checkpoint.latest_checkpoint()
        except audit_checkpoint.CheckpointError as exc:
            raise _fail(str(exc), code=1) from exc
    with unit_of_work(get_session_factory()) as session:
        verdict = audit.verify_chain(db_session=session, checkpoint=checkpoint)
        audit.append(
            db_session=session,
            actor=cli_actor(),
            action="audit.verify",
            detail={"intact": verdict.intact, "entries_checked": verdict.entries_checked},
        )
    if verdict.intact:
        if checkpoint is not None:
            against = f" and {audit_checkpoint.describe(checkpoint)}"
        elif audit_checkpoint.key_path() is not None:
            against = " (no checkpoint written yet to compare with)"
        else:
            against = (
                " (no checkpoint key: entries cut from the end would not show; see "
                "`fullpicture audit keygen`)"
            )
        console.print(f"Audit chain intact: {verdict.entries_checked} entries checked{against}.")
        if audit_checkpoint.key_path() is not None:
            with unit_of_work(get_session_factory()) as session:
                written = audit_checkpoint.write_checkpoint(db_session=session)
            console.print(f"Checkpoint written: {written.position} entries.")
        return
    err_console.print(
        f"[red]Audit chain broken at entry {verdict.first_broken_position}"
        f"{f' (id {verdict.first_broken_id})' if verdict.first_broken_id else ''}:[/red] "
        f"{verdict.problem}. {verdict.entries_checked} entries before it are intact."
    )
    raise typer.Exit(code=1)


@audit_app.command("checkpoint")
def checkpoint() -> None:
    """Write a signed checkpoint of the chain head (entry count and hash) to the checkpoint
    file, outside the database. Run it from cron (e.g. hourly) besides the automatic ones.

    Example: fullpicture audit checkpoint
    """
    try:
        with unit_of_work(get_session_factory()) as session:
            written = audit_checkpoint.write_checkpoint(db_session=session)
    except audit_checkpoint.CheckpointError as exc:
        raise _fail(str(exc)) from exc
    console.print(
        f"Checkpoint written to {audit_checkpoint.checkpoint_path()}: {written.position} "
        f"entries, last hash {written.last_hash[:16]}…"
    )


@audit_app.command("keygen")
def keygen(
    out: Path = typer.Option(..., "--out", help="Where to write the private key (0600)."),
) -> None:
    """Make the Ed25519 key that signs audit checkpoints. Keep it off the database server's
    disk and backups, and never in the repository; set FULLPICTURE_AUDIT_CHECKPOINT_KEY to it.

    Example: fullpicture audit keygen --out /etc/fullpicture/audit-checkpoint.key
    """
    try:
        public = audit_checkpoint.generate_key(out)
    except audit_checkpoint.CheckpointError as exc:
        raise _fail(str(exc)) from exc
    console.print(
        f"Key written to {out} (owner-only). Public key, for the auditors: {public}\n"
        f"Set FULLPICTURE_AUDIT_CHECKPOINT_KEY={out}"
    )


@audit_app.command("who-looked")
def who_looked(
    person_id: str = typer.Argument(..., help="The person's public id."),
    as_user: str = typer.Option(
        ..., "--as", help="Your username: the same access rules apply as on the web."
    ),
) -> None:
    """Who has looked at a person, newest first (designated leads, auditors).

    Example: fullpicture audit who-looked 3f2b...-... --as dsl.oakfield
    """
    try:
        with unit_of_work(get_session_factory()) as session:
            entries = access_service.who_has_looked(
                db_session=session,
                subject=acting_user(session, as_user),
                person_public_id=person_id,
            )
    except access_service.AccessError as exc:
        raise _fail(str(exc), code=3) from exc
    table = Table("when (UTC)", "who", "what", "purpose", "reason")
    for entry in entries:
        table.add_row(
            f"{entry.occurred_at:%Y-%m-%d %H:%M:%S}",
            entry.actor,
            entry.action,
            entry.target or "",
            entry.reason or "",
        )
    console.print(table)


def backup(
    destination: Path = typer.Argument(..., dir_okay=False, help="The backup file to write."),
) -> None:
    """Back up the database (SQLite backup API or pg_dump), with a manifest of row counts.

    Example: fullpicture backup /srv/backups/fullpicture-2026-11-25.backup
    """
    try:
        manifest = backup_service.backup_database(get_engine(), destination)
    except backup_service.BackupError as exc:
        raise _fail(f"No backup taken: {exc}") from exc
    console.print(
        f"Backed up {sum(manifest.row_counts.values())} rows in {len(manifest.row_counts)} tables "
        f"to {destination} (audit chain at entry {manifest.audit_position})."
    )


def restore(
    source: Path = typer.Argument(..., exists=True, dir_okay=False, help="A backup file."),
    yes: bool = typer.Option(
        False, "--yes", help="Confirm: this replaces everything in the database."
    ),
) -> None:
    """Replace the database with a backup, then check row counts and the audit chain.

    Example: fullpicture restore /srv/backups/fullpicture-2026-11-25.backup --yes
    """
    if not yes:
        raise _fail("Restoring replaces everything in the database. Add --yes to go ahead.")
    try:
        report = backup_service.restore_database(get_engine(), source)
    except backup_service.BackupError as exc:
        raise _fail(f"Not restored: {exc}") from exc
    if report.verified:
        console.print(
            f"Restored and verified: {sum(report.restored_counts.values())} rows match the "
            f"manifest; audit chain intact ({report.manifest.audit_position} entries)."
        )
        return
    differing = {
        name: (report.manifest.row_counts.get(name), count)
        for name, count in report.restored_counts.items()
        if report.manifest.row_counts.get(name) != count
    }
    err_console.print(
        f"[red]Restored but NOT verified.[/red] Count differences (expected, found): {differing}; "
        f"audit chain: {'intact' if report.audit_intact else report.audit_problem}"
    )
    raise typer.Exit(code=1)


@retention_app.command("archive")
def archive_closed(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Count what would be archived; change nothing."
    ),
) -> None:
    """Archive agency records closed longer than the period in governance/retention.yaml (never deletes).

    Example: fullpicture retention archive --dry-run
    """
    with unit_of_work(get_session_factory()) as session:
        outcome = retention.archive_closed_records(
            db_session=session, actor=cli_actor(), dry_run=dry_run
        )
    verb = "would archive" if outcome.dry_run else "archived"
    console.print(
        f"Retention {verb} {outcome.archived} records closed before {outcome.cutoff:%Y-%m-%d}."
    )
