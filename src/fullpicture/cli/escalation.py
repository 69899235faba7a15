"""``fullpicture escalation``: raise a professional disagreement about a child, answer it, take
it to the next stage, resolve it, list a child's, and run the self-escalation of unanswered
stages (research-notes §5; stages in ``workflow/escalation.yaml``)."""

from __future__ import annotations

import json
from collections.abc import Callable

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from fullpicture.access.roles import Scope
from fullpicture.access.subject import AuthSubject
from fullpicture.chronology import repository as chronology_repository
from fullpicture.cli.console import console
from fullpicture.cli.workflow import AS_USER_HELP, acting, built
from fullpicture.core.database import unit_of_work
from fullpicture.core.runtime import get_session_factory
from fullpicture.workflow import escalation as service
from fullpicture.workflow.models import Escalation
from fullpicture.workflow.schemas import (
    EscalationEscalate,
    EscalationRaise,
    EscalationRead,
    EscalationResolve,
    EscalationRespond,
)

app = typer.Typer(
    help="Escalation of professional disagreement: staged, with timescales that escalate itself.",
    no_args_is_help=True,
)


def _show(read: EscalationRead, as_json: bool) -> None:
    if as_json:
        console.print_json(read.model_dump_json())
        return
    console.print(
        f"[bold]Escalation {read.id}[/bold]: {read.raised_by_agency_code} with "
        f"{read.with_agency_code}, {read.status}, stage {read.current_stage} "
        f"({'formal' if read.formal else 'informal'})"
    )
    table = Table("stage", "raised by", "with", "started", "due", "response", "outcome")
    for stage in read.stages:
        table.add_row(
            f"{stage.stage} {stage.name}"
            + (" (escalated itself)" if stage.escalated_itself else ""),
            stage.raised_by,
            stage.raised_with,
            f"{stage.started_at:%Y-%m-%d}",
            str(stage.due_on) + (" OVERDUE" if stage.overdue else ""),
            stage.response or "",
            stage.outcome or "",
        )
    console.print(table)


def _write(
    as_user: str | None,
    command: str,
    as_json: bool,
    change: Callable[[Session, AuthSubject], Escalation],
) -> None:
    with acting(as_user, command, Scope.CHILDREN_READ, Scope.CHILDREN_WRITE) as (session, subject):
        read = service.to_read(session, change(session, subject))
    _show(read, as_json)


def _change(
    as_user: str | None,
    command: str,
    as_json: bool,
    escalation_id: str,
    change: service.EscalationChange,
) -> None:
    _write(
        as_user,
        command,
        as_json,
        lambda session, subject: service.change_escalation(
            db_session=session,
            subject=subject,
            escalation_public_id=escalation_id,
            change=change,
        ),
    )


@app.command("raise")
def raise_command(
    child_ref: str = typer.Argument(..., help="The child's person id or public id."),
    with_agency: str = typer.Option(..., "--with", help="The agency you disagree with (code)."),
    raised_with: str = typer.Option(..., "--raised-with", help="Who, by name and role."),
    disagreement: str = typer.Option(..., "--disagreement", help="What you disagree about."),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Raise a professional disagreement about a child with another agency (stage 1).

    Example: fullpicture escalation raise 12 --with csc-1 --raised-with "A. Smith, duty SW"
    --disagreement "referral judged below threshold" --as j.smith
    """
    raise_in = built(
        lambda: EscalationRaise(
            with_agency_code=with_agency, raised_with=raised_with, disagreement=disagreement
        )
    )

    def change(session: Session, subject: AuthSubject) -> Escalation:
        person = chronology_repository.resolve_person(
            db_session=session, reader=subject, person_ref=child_ref
        )
        return service.raise_escalation(
            db_session=session,
            subject=subject,
            person_public_id=person.public_id,
            raise_in=raise_in,
        )

    _write(as_user, "escalation raise", as_json, change)


@app.command("respond")
def respond_command(
    escalation_id: str = typer.Argument(...),
    response: str = typer.Option(..., "--response"),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Answer the current stage (as the agency it was raised with).

    Example: fullpicture escalation respond ESC --response "we will hold a strategy discussion" --as a.smith
    """
    respond_in = built(lambda: EscalationRespond(response=response))
    _change(as_user, "escalation respond", as_json, escalation_id, respond_in)


@app.command("escalate")
def escalate_command(
    escalation_id: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Why the stage did not resolve it."),
    raised_with: str = typer.Option(..., "--raised-with", help="Who, at the next stage."),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Take the disagreement to the next stage (as the agency that raised it).

    Example: fullpicture escalation escalate ESC --reason "no change" --raised-with "team managers" --as j.smith
    """
    escalate_in = built(lambda: EscalationEscalate(reason=reason, raised_with=raised_with))
    _change(as_user, "escalation escalate", as_json, escalation_id, escalate_in)


@app.command("resolve")
def resolve_command(
    escalation_id: str = typer.Argument(...),
    outcome: str = typer.Option(..., "--outcome"),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Record the outcome and close the escalation (either party).

    Example: fullpicture escalation resolve ESC --outcome "strategy discussion held" --as j.smith
    """
    resolve_in = built(lambda: EscalationResolve(outcome=outcome))
    _change(as_user, "escalation resolve", as_json, escalation_id, resolve_in)


@app.command("list")
def list_command(
    child_ref: str = typer.Argument(..., help="The child's person id or public id."),
    open_only: bool = typer.Option(False, "--open"),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Escalations about a child your agency is party to (all, for the front door).

    Example: fullpicture escalation list 12 --open --as j.smith
    """
    with acting(as_user, "escalation list", Scope.CHILDREN_READ) as (session, subject):
        person = chronology_repository.resolve_person(
            db_session=session, reader=subject, person_ref=child_ref
        )
        reads = [
            service.to_read(session, e)
            for e in service.escalations_for_child(
                db_session=session,
                subject=subject,
                person_public_id=person.public_id,
                open_only=open_only,
            )
        ]
    if as_json:
        console.print(json.dumps([r.model_dump(mode="json") for r in reads], indent=2))
        return
    for read in reads:
        _show(read, False)


@app.command("tick")
def tick_command() -> None:
    """Escalate every stage left unanswered past its timescale, once (the scheduler runs this;
    idempotent; each move audited as system:escalation).

    Example: fullpicture escalation tick
    """
    with unit_of_work(get_session_factory()) as session:
        moved = service.escalate_unanswered(db_session=session)
    console.print(f"{len(moved)} escalation(s) escalated themselves.")
    for public_id in moved:
        console.print(f"  {public_id}")
