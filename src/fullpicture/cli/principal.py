"""Who a command runs as: the ``--as`` user, looked up here for every command that shows a
child's data or changes it, with the same scopes and refusals as the web and API."""

from __future__ import annotations

import typer
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.roles import Scope
from fullpicture.access.subject import AuthSubject
from fullpicture.cli.console import err_console

#: Exit code when the user is unknown, inactive or lacks a scope (``referral`` uses its own).
EXIT_REFUSED = 3
#: Exit code when ``--as`` was left out of a command that needs it.
EXIT_NO_USER = 2


def acting_user(
    session: Session,
    as_user: str | None,
    *scopes: Scope,
    command: str = "This command",
    refused_exit_code: int = EXIT_REFUSED,
    refusal_prefix: str = "",
) -> AuthSubject:
    """The active user ``--as`` names, holding every one of ``scopes``.

    Otherwise says why on stderr and exits: ``EXIT_NO_USER`` without ``--as``,
    ``refused_exit_code`` for an unknown or inactive user or a missing scope.
    """
    if as_user is None:
        err_console.print(
            f"[red]{command} works on the database: say who you are with --as USERNAME.[/red]"
        )
        raise typer.Exit(code=EXIT_NO_USER)
    try:
        subject = access_service.subject_for_cli(db_session=session, username=as_user)
        access_service.require_scopes(subject, *scopes)
    except access_service.AccessError as exc:
        err_console.print(f"[red]{refusal_prefix}{exc}[/red]")
        raise typer.Exit(code=refused_exit_code) from exc
    return subject
