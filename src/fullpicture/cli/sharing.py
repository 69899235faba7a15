"""``fullpicture sharing``: record a decision to share information about a child (or not to),
list a child's decisions, and show the golden rules and lawful bases a decision is made
against. Same rules, need-to-know and audit as the API."""

from __future__ import annotations

import datetime as dt
import json

import typer
from pydantic import ValidationError
from rich.table import Table

from fullpicture.access import service as access_service
from fullpicture.access.roles import Scope
from fullpicture.chronology import repository as chronology_repository
from fullpicture.cli.console import console, err_console
from fullpicture.cli.principal import acting_user
from fullpicture.core.database import unit_of_work
from fullpicture.core.runtime import get_session_factory
from fullpicture.sharing import service
from fullpicture.sharing.lawful_bases import golden_rules, lawful_bases
from fullpicture.sharing.models import SharingOutcome
from fullpicture.sharing.schemas import EntryRef, SharingDecisionCreate

app = typer.Typer(
    help="Sharing decisions: what was shared about a child, with whom, on what lawful basis.",
    no_args_is_help=True,
)

AS_USER_HELP = "Your username: the decision is made for your agency and attributed to you."
NOT_VISIBLE = "no such child, or you have no need to know about them"
#: Exit code when the decision breaks a lawful-basis rule (nothing was saved).
EXIT_REFUSED_DECISION = 4


def _print_golden_rules() -> None:
    rules = golden_rules()
    console.print(f"[bold]{rules.title}[/bold] ({rules.source})")
    for rule in rules.rules:
        console.print(f"  {rule.number}. {rule.text}")


@app.command("rules")
def rules_command() -> None:
    """Show the seven golden rules and the lawful bases (lawful_bases.yaml).

    Example: fullpicture sharing rules
    """
    _print_golden_rules()
    bases = lawful_bases()
    table = Table("code", "regime", "lawful basis / condition / gateway")
    for basis in bases.bases:
        table.add_row(basis.code, basis.regime, basis.label)
    for condition in bases.special_category_conditions:
        table.add_row(condition.code, condition.regime, condition.label)
    for gateway in bases.gateways:
        label = gateway.label
        if gateway.commencement and gateway.in_force_from is None:
            label += " (not in force)"
        table.add_row(gateway.code, "gateway", label)
    console.print(table)


def _entry(text: str) -> EntryRef:
    agency, _, ref = text.rpartition(":")
    return EntryRef(event_ref=ref, agency_code=agency or None)


def _when(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        err_console.print(f"[red]{text!r} is not a date or date-time (YYYY-MM-DD[THH:MM]).[/red]")
        raise typer.Exit(code=2) from exc
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@app.command("record")
def record(
    child_ref: str = typer.Argument(..., help="The child's person id or public id."),
    to_agency: str = typer.Option(..., "--to", help="The receiving agency's code."),
    recipient_role: str = typer.Option(..., "--recipient-role", help="e.g. 'designated lead'."),
    purpose: str = typer.Option(..., "--purpose", help="Why: what the recipient needs it for."),
    not_shared: bool = typer.Option(
        False, "--not-shared", help="Record a decision NOT to share (needs --reason-not-shared)."
    ),
    entries: list[str] = typer.Option(
        [], "--entry", help="An entry shared: EVENT_REF (your agency's) or AGENCY:EVENT_REF."
    ),
    documents: list[str] = typer.Option([], "--document", help="A document shared, described."),
    regime: str = typer.Option(None, "--regime", help="uk_gdpr or law_enforcement."),
    basis: str = typer.Option(None, "--basis", help="The lawful basis code (sharing rules)."),
    special_category: bool = typer.Option(
        False, "--special-category", help="The information includes special category data."
    ),
    condition: str = typer.Option(None, "--condition", help="The special category condition."),
    gateways: list[str] = typer.Option([], "--gateway", help="A statutory gateway code."),
    detriment_test: str = typer.Option(None, "--detriment-test", help="The s.16LA test."),
    reason_not_shared: str = typer.Option(None, "--reason-not-shared"),
    family_informed: bool = typer.Option(
        ..., "--family-told/--family-not-told", help="Whether the family was told."
    ),
    family_reason: str = typer.Option(None, "--family-reason", help="Why they were not told."),
    recipient_name: str = typer.Option(None, "--recipient-name"),
    shared_at: str = typer.Option(None, "--shared-at", help="When it was shared (default now)."),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON."),
) -> None:
    """Record a sharing decision about a child for your agency (the golden rules are shown).

    Example: fullpicture sharing record 12 --to gp-1 --recipient-role "named GP"
    --purpose "bruising pattern" --entry S-104 --regime uk_gdpr --basis public_task
    --family-told --as j.smith
    """
    _print_golden_rules()
    try:
        decision_in = SharingDecisionCreate(
            outcome=SharingOutcome.NOT_SHARED if not_shared else SharingOutcome.SHARED,
            to_agency_code=to_agency,
            recipient_role=recipient_role,
            recipient_name=recipient_name,
            purpose=purpose,
            entries=[_entry(e) for e in entries],
            documents=documents,
            regime=regime,
            basis=basis,
            special_category=special_category,
            special_category_condition=condition,
            gateways=gateways,
            detriment_test=detriment_test,
            reason_not_shared=reason_not_shared,
            family_informed=family_informed,
            family_not_informed_reason=family_reason,
            shared_at=_when(shared_at),
        )
    except ValidationError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2) from exc
    with unit_of_work(get_session_factory()) as session:
        subject = acting_user(
            session, as_user, Scope.CHILDREN_READ, Scope.CHILDREN_WRITE, command="sharing record"
        )
        try:
            person = chronology_repository.resolve_person(
                db_session=session, reader=subject, person_ref=child_ref
            )
            decision = service.record_decision(
                db_session=session,
                subject=subject,
                person_public_id=person.public_id,
                decision_in=decision_in,
            )
        except (chronology_repository.ChronologyNotFound, access_service.PersonNotVisible) as exc:
            err_console.print(f"[red]{NOT_VISIBLE}[/red]")
            raise typer.Exit(code=2) from exc
        except service.SharingDecisionRefused as exc:
            err_console.print("[red]The sharing decision was not recorded:[/red]")
            for problem in exc.problems:
                err_console.print(f"[red]  - {problem}[/red]")
            raise typer.Exit(code=EXIT_REFUSED_DECISION) from exc
        except access_service.AccessError as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=3) from exc
        read = service.to_read(session, decision)
    if as_json:
        console.print_json(read.model_dump_json())
        return
    console.print(f"Recorded sharing decision {read.id}: {read.outcome.value} with {to_agency}.")
    for warning in read.warnings:
        console.print(f"[yellow]{warning}[/yellow]")


@app.command("list")
def list_command(
    child_ref: str = typer.Argument(..., help="The child's person id or public id."),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the decisions as JSON."),
) -> None:
    """Sharing decisions about a child your agency made or received (audited read).

    Example: fullpicture sharing list 12 --as j.smith
    """
    with unit_of_work(get_session_factory()) as session:
        subject = acting_user(session, as_user, Scope.CHILDREN_READ, command="sharing list")
        try:
            person = chronology_repository.resolve_person(
                db_session=session, reader=subject, person_ref=child_ref
            )
            decisions = service.decisions_for_child(
                db_session=session, subject=subject, person_public_id=person.public_id
            )
        except (chronology_repository.ChronologyNotFound, access_service.PersonNotVisible) as exc:
            err_console.print(f"[red]{NOT_VISIBLE}[/red]")
            raise typer.Exit(code=2) from exc
        except access_service.AccessError as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=3) from exc
        reads = [service.to_read(session, decision) for decision in decisions]
    if as_json:
        console.print(json.dumps([r.model_dump(mode="json") for r in reads], indent=2))
        return
    table = Table("decided", "outcome", "from", "to", "basis / reason", "entries")
    for read in reads:
        table.add_row(
            read.decided_at.strftime("%Y-%m-%d %H:%M"),
            read.outcome.value,
            read.from_agency_code,
            read.to_agency_code,
            read.basis_label or read.reason_not_shared or "",
            ", ".join(f"{e.agency_code}:{e.event_ref}" for e in read.entries),
        )
    console.print(table)


@app.command("latency")
def latency_command(
    child_ref: str = typer.Argument(..., help="The child's person id or public id."),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """When each agency working with a child received its significant entries, and which were
    never shared (audited read; the same view as the API).

    Example: fullpicture sharing latency 12 --as j.smith
    """
    with unit_of_work(get_session_factory()) as session:
        subject = acting_user(session, as_user, Scope.CHILDREN_READ, command="sharing latency")
        try:
            person = chronology_repository.resolve_person(
                db_session=session, reader=subject, person_ref=child_ref
            )
            view = service.child_sharing_latency(
                db_session=session, subject=subject, person_public_id=person.public_id
            )
        except (chronology_repository.ChronologyNotFound, access_service.PersonNotVisible) as exc:
            err_console.print(f"[red]{NOT_VISIBLE}[/red]")
            raise typer.Exit(code=2) from exc
    if as_json:
        console.print_json(view.model_dump_json())
        return
    table = Table("entry", "from", "recorded", "to", "received", "days")
    for row in [*view.received, *view.unshared]:
        table.add_row(
            row.event_ref,
            row.from_agency_code,
            row.recorded_on.isoformat(),
            row.to_agency_code or "(an agency working with the child)",
            row.received_on.isoformat() if row.received_on else "NOT SHARED",
            "" if row.days is None else str(row.days),
        )
    console.print(table)
    if view.note:
        console.print(view.note)
