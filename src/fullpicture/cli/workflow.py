"""``fullpicture case``: open a case with its level of need and lead practitioner, change either
with a reason, record dated steps (due and overdue computed from them), close it, and list what
nobody owns. Same rules, need-to-know and audit as the API."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.roles import Scope
from fullpicture.access.subject import AuthSubject
from fullpicture.chronology import repository as chronology_repository
from fullpicture.cli.console import console, err_console
from fullpicture.cli.principal import acting_user
from fullpicture.core.database import unit_of_work
from fullpicture.core.runtime import get_session_factory
from fullpicture.workflow import drift as drift_service
from fullpicture.workflow import service
from fullpicture.workflow.models import Case, CaseKind
from fullpicture.workflow.schemas import (
    CaseClose,
    CaseOpen,
    CaseRead,
    LeadChange,
    LeadIn,
    LevelChange,
    StepIn,
)

_Built = TypeVar("_Built")

app = typer.Typer(
    help="Cases: lead practitioner, level of need, dated steps and statutory timescales.",
    no_args_is_help=True,
)

AS_USER_HELP = "Your username: the same need-to-know rule applies as on the web; audited."
NOT_VISIBLE = "no such child or case, or you have no need to know about them"
EXIT_REFUSED_CHANGE = 4


@contextmanager
def acting(
    as_user: str | None, command: str, *scopes: Scope
) -> Iterator[tuple[Session, AuthSubject]]:
    """A unit of work and the ``--as`` user; turns refusals into messages and exit codes."""
    with unit_of_work(get_session_factory()) as session:
        subject = acting_user(session, as_user, *scopes, command=command)
        try:
            yield session, subject
        except (chronology_repository.ChronologyNotFound, access_service.PersonNotVisible) as exc:
            err_console.print(f"[red]{NOT_VISIBLE}[/red]")
            raise typer.Exit(code=2) from exc
        except service.CaseRefused as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=EXIT_REFUSED_CHANGE) from exc
        except access_service.AccessError as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=3) from exc


def built(make: Callable[[], _Built]) -> _Built:
    try:
        return make()
    except ValidationError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2) from exc


def _day(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        err_console.print(f"[red]{text!r} is not a date (YYYY-MM-DD).[/red]")
        raise typer.Exit(code=2) from exc


def _lead(user: str | None, name: str | None, agency: str | None) -> LeadIn | None:
    if user is None and name is None and agency is None:
        return None
    return built(lambda: LeadIn(username=user, name=name, agency_code=agency))


def _show(read: CaseRead, as_json: bool) -> None:
    if as_json:
        console.print_json(read.model_dump_json())
        return
    lead = read.lead
    console.print(
        f"[bold]Case {read.id}[/bold] ({read.kind.value}, opened {read.opened_on} by "
        f"{read.agency_code}{', closed ' + str(read.closed_on) if read.closed_on else ''})"
    )
    console.print(
        "Lead practitioner: " + (f"{lead.name} ({lead.agency_code})" if lead else "[red]none[/red]")
    )
    if read.level_of_need:
        console.print(f"Level of need: {read.level_of_need.level} {read.level_of_need.label}")
    table = Table("timescale", "from", "due", "met", "status")
    for clock in read.clocks:
        table.add_row(
            clock.label,
            str(clock.started_on),
            str(clock.due_on),
            str(clock.met_on or ""),
            clock.status.value,
        )
    if read.clocks:
        console.print(table)
    for flag in read.flags:
        console.print(f"[yellow]{flag}[/yellow]")


def _write(
    as_user: str | None, command: str, as_json: bool, change: Callable[[Session, AuthSubject], Case]
) -> None:
    with acting(as_user, command, Scope.CHILDREN_READ, Scope.CHILDREN_WRITE) as (session, subject):
        read = service.to_read(session, change(session, subject))
    _show(read, as_json)


@app.command("open")
def open_command(
    child_ref: str = typer.Argument(..., help="The child's person id or public id."),
    kind: CaseKind = typer.Option(..., "--kind", help="The plan or piece of work."),
    level: int = typer.Option(..., "--level", min=1, max=4, help="Level of need 1-4."),
    level_reason: str = typer.Option(..., "--level-reason", help="Why this level."),
    lead_user: str = typer.Option(None, "--lead-user", help="The lead's username."),
    lead_name: str = typer.Option(None, "--lead-name", help="Or the lead's name..."),
    lead_agency: str = typer.Option(None, "--lead-agency", help="...and agency code."),
    lead_reason: str = typer.Option(None, "--lead-reason", help="Why this lead."),
    opened_on: str = typer.Option(None, "--on", help="Opened on (default today)."),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Open a case for a child, with its level of need and lead practitioner.

    Example: fullpicture case open 12 --kind early_help --level 3 --level-reason "..."
    --lead-user j.smith --lead-reason "knows the family" --as j.smith
    """
    case_in = built(
        lambda: CaseOpen(
            kind=kind,
            opened_on=_day(opened_on),
            level_of_need=level,
            level_reason=level_reason,
            lead=_lead(lead_user, lead_name, lead_agency),
            lead_reason=lead_reason,
        )
    )

    def change(session: Session, subject: AuthSubject) -> Case:
        person = chronology_repository.resolve_person(
            db_session=session, reader=subject, person_ref=child_ref
        )
        return service.open_case(
            db_session=session,
            subject=subject,
            person_public_id=person.public_id,
            case_in=case_in,
        )

    _write(as_user, "case open", as_json, change)


@app.command("show")
def show_command(
    child_ref: str = typer.Argument(..., help="The child's person id or public id."),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """A child's cases: lead, level of need, and each timescale's due day and status.

    Example: fullpicture case show 12 --as j.smith
    """
    with acting(as_user, "case show", Scope.CHILDREN_READ) as (session, subject):
        person = chronology_repository.resolve_person(
            db_session=session, reader=subject, person_ref=child_ref
        )
        reads = [
            service.to_read(session, case)
            for case in service.cases_for_child(
                db_session=session, subject=subject, person_public_id=person.public_id
            )
        ]
    if as_json:
        console.print(json.dumps([r.model_dump(mode="json") for r in reads], indent=2))
        return
    for read in reads:
        _show(read, False)


@app.command("lead")
def lead_command(
    case_id: str = typer.Argument(..., help="The case's id."),
    reason: str = typer.Option(..., "--reason", help="Why the lead changes."),
    lead_user: str = typer.Option(None, "--lead-user"),
    lead_name: str = typer.Option(None, "--lead-name"),
    lead_agency: str = typer.Option(None, "--lead-agency"),
    on: str = typer.Option(None, "--on", help="From (default today)."),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Change a case's lead practitioner (no lead named: the case has none from that day).

    Example: fullpicture case lead CASE --lead-user a.jones --reason "handover" --as j.smith
    """
    change_in = built(
        lambda: LeadChange(
            lead=_lead(lead_user, lead_name, lead_agency), starts_on=_day(on), reason=reason
        )
    )
    _write(
        as_user,
        "case lead",
        as_json,
        lambda session, subject: service.change_lead(
            db_session=session, subject=subject, case_public_id=case_id, change=change_in
        ),
    )


@app.command("level")
def level_command(
    case_id: str = typer.Argument(..., help="The case's id."),
    level: int = typer.Option(..., "--level", min=1, max=4),
    reason: str = typer.Option(..., "--reason", help="Why the level changes."),
    on: str = typer.Option(None, "--on", help="From (default today)."),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Change a case's level of need, with the reason.

    Example: fullpicture case level CASE --level 4 --reason "s47 threshold met" --as j.smith
    """
    change_in = built(lambda: LevelChange(level=level, starts_on=_day(on), reason=reason))
    _write(
        as_user,
        "case level",
        as_json,
        lambda session, subject: service.change_level(
            db_session=session, subject=subject, case_public_id=case_id, change=change_in
        ),
    )


@app.command("step")
def step_command(
    case_id: str = typer.Argument(..., help="The case's id."),
    kind: str = typer.Option(..., "--kind", help="A step of timescales.yaml, e.g. icpc."),
    on: str = typer.Option(..., "--on", help="The day it happened."),
    note: str = typer.Option(None, "--note"),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Record a dated step; the timescales it starts or meets are recomputed.

    Example: fullpicture case step CASE --kind strategy_discussion --on 2026-12-01 --as j.smith
    """
    step_in = built(lambda: StepIn(kind=kind, occurred_on=_day(on), note=note))
    _write(
        as_user,
        "case step",
        as_json,
        lambda session, subject: service.record_step(
            db_session=session, subject=subject, case_public_id=case_id, step_in=step_in
        ),
    )


@app.command("close")
def close_command(
    case_id: str = typer.Argument(..., help="The case's id."),
    reason: str = typer.Option(..., "--reason"),
    on: str = typer.Option(None, "--on", help="Closed on (default today)."),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Close a case, with the reason.

    Example: fullpicture case close CASE --reason "plan outcomes met" --as j.smith
    """
    close_in = built(lambda: CaseClose(closed_on=_day(on), reason=reason))
    _write(
        as_user,
        "case close",
        as_json,
        lambda session, subject: service.close_case(
            db_session=session, subject=subject, case_public_id=case_id, close=close_in
        ),
    )


@app.command("flags")
def flags_command(
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Open cases with no lead practitioner, and children with concerns from several agencies
    and no case, among the children you may see.

    Example: fullpicture case flags --as j.smith
    """
    with acting(as_user, "case flags", Scope.CHILDREN_READ) as (session, subject):
        flags = service.ownership_flags(db_session=session, subject=subject)
    if as_json:
        console.print(json.dumps([f.model_dump(mode="json") for f in flags], indent=2))
        return
    for flag in flags:
        console.print(f"{flag.kind}: child {flag.child_id}: {flag.message}")


@app.command("drift")
def drift_command(
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Drift among the children you may see: overdue steps, no contact with the child, plans
    past review, unacknowledged alerts, repeated no-further-action closures.

    Example: fullpicture case drift --as j.smith
    """
    with acting(as_user, "case drift", Scope.CHILDREN_READ) as (session, subject):
        findings = drift_service.drift_findings(db_session=session, subject=subject)
    if as_json:
        console.print(json.dumps([f.model_dump(mode="json") for f in findings], indent=2))
        return
    for finding in findings:
        console.print(f"{finding.kind}: child {finding.child_id}: {finding.message}")
