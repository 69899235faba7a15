"""``fullpicture replay``, ``fullpicture harm`` and ``fullpicture chronology``: cumulative harm.

Replay a case, score the population and raise alerts, explain one child's score, work the
alerts, and export a child's or household's chronology.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from fullpicture.chronology import views as chronology_views
from fullpicture.chronology.export import chronology_csv, chronology_pdf
from fullpicture.cli.console import console, err_console
from fullpicture.core.database import unit_of_work
from fullpicture.core.runtime import get_session_factory
from fullpicture.harm import service as harm_service
from fullpicture.harm.models import AlertStatus
from fullpicture.harm.replay import ReplayError, load_case, replay_case

app = typer.Typer(
    help="Cumulative harm: score children, raise alerts with their evidence, work the alerts.",
    no_args_is_help=True,
)


def _day(text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a date; use YYYY-MM-DD") from exc


def replay(
    case_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The case JSON."),
    out: Path = typer.Option(..., "--out", help="Where to write the result JSON."),
) -> None:
    """Replay a child's events day by day: what the engine would have raised, combined and
    for each agency alone.

    Example: fullpicture replay ../shared/eval/cases/peter-connelly.json --out peter.json
    """
    try:
        raw = json.loads(case_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        err_console.print(f"[red]Cannot read {case_file}:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    try:
        result = replay_case(load_case(raw))
    except ReplayError as exc:
        err_console.print(f"[red]Nothing replayed.[/red] {exc}")
        raise typer.Exit(code=2) from exc
    out.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    table = Table("view", "first alert", "alerts")
    table.add_row(
        "combined",
        str(result.combined.first_alert_date or "none"),
        str(len(result.combined.alerts)),
    )
    for agency, view in result.by_agency.items():
        table.add_row(agency, str(view.first_alert_date or "none"), str(len(view.alerts)))
    console.print(table)
    for warning in result.warnings:
        err_console.print(f"[yellow]warning[/yellow] event {warning.event}: {warning.problem}")
    treated = [b for b in result.blank_codes if b.treated_as == "process"]
    inferred = [b for b in result.blank_codes if b.treated_as != "process"]
    if inferred:
        console.print(f"{len(inferred)} blank codes inferred from the summary (see blank_codes).")
    if treated:
        console.print(f"{len(treated)} events with a blank code treated as process events.")
    console.print(f"Written to {out}.")


@app.command("score")
def score(
    as_of: str = typer.Option(None, "--as-of", help="Score as of this day (default today)."),
    store: bool = typer.Option(True, "--store/--no-store", help="Store and route new alerts."),
    show: int = typer.Option(10, "--show", help="How many of the highest scores to list."),
) -> None:
    """Score every child as of a day (batch job) and store each new alert once per episode.

    Example: fullpicture harm score --as-of 2026-11-01
    """
    day = _day(as_of)
    with unit_of_work(get_session_factory()) as session:
        result = harm_service.score_population(db_session=session, as_of=day)
        stored = harm_service.record_alerts(db_session=session, result=result) if store else []
        scores = sorted(result.score_of().items(), key=lambda item: -item[1])[:show]
    console.print(
        f"Scored {result.scores.num_rows} children as of {day}: {len(result.alerts)} alerts "
        f"in their history, {len(stored)} new{' (stored and routed)' if store else ''}."
    )
    table = Table("child (person id)", "score")
    for child_id, value in scores:
        table.add_row(str(child_id), f"{value:.1f}")
    console.print(table)


@app.command("child")
def child(
    child_ref: str = typer.Argument(..., help="The child's person id or public id."),
    as_of: str = typer.Option(None, "--as-of", help="As of this day (default today)."),
) -> None:
    """Explain one child's score: every incident, its modifiers, decay and the agencies.

    Example: fullpicture harm child 42 --as-of 2026-11-01
    """
    day = _day(as_of)
    with unit_of_work(get_session_factory()) as session:
        try:
            person = chronology_views.resolve_person(db_session=session, person_ref=child_ref)
        except chronology_views.ChronologyNotFound as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=2) from exc
        assessment = harm_service.assess_one_child(
            db_session=session, person_id=person.id, as_of=day
        )
    explanation = assessment.explanation
    console.print(
        f"Score {explanation.score:.1f} as of {day}: {explanation.concern_points:.1f} points x "
        f"{explanation.triangulation_multiplier:g} for {len(explanation.agencies)} agencies "
        f"({', '.join(explanation.agencies) or 'none'})."
    )
    table = Table("date", "code", "agencies", "severity", "modifiers", "points", "decay", "adds")
    for c in explanation.contributions:
        table.add_row(
            c.day.isoformat(), c.code, ", ".join(c.agencies),
            f"{c.base_severity}->{c.severity}", ", ".join(c.modifiers) or "-",
            f"{c.points:g}", f"{c.decay:.2f}", f"{c.contribution:.2f}",
        )  # fmt: skip
    console.print(table)
    if explanation.strengths:
        console.print(
            f"Strengths shown beside the score (never lower it): weight "
            f"{explanation.strength_weight:.1f} from "
            + ", ".join(f"{s.code} {s.day}" for s in explanation.strengths)
        )
    for alert in assessment.alerts:
        console.print(f"[bold]{alert.day} {alert.kind}[/bold] ({alert.score:.1f}): {alert.reason}")


@app.command("alerts")
def alerts(
    status: AlertStatus | None = typer.Option(None, "--status", help="Only this status."),
    child_ref: str | None = typer.Option(None, "--child", help="Only this child."),
) -> None:
    """List alerts, newest first, with their reason and who they went to.

    Example: fullpicture harm alerts --status new
    """
    with unit_of_work(get_session_factory()) as session:
        person_id = None
        if child_ref is not None:
            person_id = chronology_views.resolve_person(db_session=session, person_ref=child_ref).id
        found = harm_service.list_alerts(db_session=session, status=status, person_id=person_id)
        table = Table("id", "child", "raised", "kind", "score", "status", "reason")
        for alert in found:
            table.add_row(
                alert.public_id, str(alert.person_id), alert.raised_on.isoformat(), alert.kind,
                f"{alert.score:.1f}", alert.status.value, alert.reason,
            )  # fmt: skip
    console.print(table)


@app.command("acknowledge")
def acknowledge(
    alert_id: str = typer.Argument(..., help="The alert's id."),
    decision: str = typer.Option(..., "--decision", help="What was decided, and why."),
    by: str = typer.Option(..., "--by", help="Who decided."),
) -> None:
    """Record the decision taken on a new alert.

    Example: fullpicture harm acknowledge 3f2a... --decision "Strategy discussion today" --by "J Smith"
    """
    _transition(alert_id, lambda s: harm_service.acknowledge_alert(
        db_session=s, public_id=alert_id, decision=decision, by=by))  # fmt: skip


@app.command("close")
def close(
    alert_id: str = typer.Argument(..., help="The alert's id."),
    outcome: str = typer.Option(..., "--outcome", help="What happened for the child."),
    by: str = typer.Option(..., "--by", help="Who closed it."),
) -> None:
    """Close an acknowledged alert with its outcome.

    Example: fullpicture harm close 3f2a... --outcome "Child protection plan" --by "J Smith"
    """
    _transition(alert_id, lambda s: harm_service.close_alert(
        db_session=s, public_id=alert_id, outcome=outcome, by=by))  # fmt: skip


def _transition(alert_id: str, change: object) -> None:
    try:
        with unit_of_work(get_session_factory()) as session:
            alert = change(session)  # type: ignore[operator]
            status = alert.status.value
    except (harm_service.AlertNotFound, harm_service.AlertWorkflowError) as exc:
        err_console.print(f"[red]Not changed.[/red] {exc}")
        raise typer.Exit(code=2) from exc
    console.print(f"Alert {alert_id} is now {status}.")


class ExportFormat(StrEnum):
    CSV = "csv"
    PDF = "pdf"
    JSON = "json"


def chronology(
    subject: str = typer.Argument(..., help="The child's person id or public id."),
    export_format: ExportFormat = typer.Option(
        ExportFormat.CSV, "--format", help="csv, pdf or json."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="File to write (default: stdout for csv/json)."
    ),
    agency: str | None = typer.Option(None, "--agency", help="Only what this agency holds."),
    household: bool = typer.Option(False, "--household", help="SUBJECT is a household id."),
) -> None:
    """Export a child's (or household's) combined chronology, or one agency's view of it.

    Example: fullpicture chronology 42 --format pdf --out chronology-42.pdf
    """
    with unit_of_work(get_session_factory()) as session:
        try:
            if household:
                view = chronology_views.household_chronology(
                    db_session=session, household_id=int(subject), agency_code=agency
                )
                title = f"Household {subject}: multi-agency chronology"
            else:
                person = chronology_views.resolve_person(db_session=session, person_ref=subject)
                view = chronology_views.child_chronology(
                    db_session=session, person_id=person.id, agency_code=agency
                )
                title = f"Child {person.public_id}: multi-agency chronology"
        except (chronology_views.ChronologyNotFound, ValueError) as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=2) from exc
    if agency:
        title += f" (what {agency} holds)"
    if export_format is ExportFormat.PDF:
        if out is None:
            err_console.print("[red]A PDF needs --out FILE.[/red]")
            raise typer.Exit(code=2)
        out.write_bytes(chronology_pdf(view, title=title))
    else:
        text = (
            chronology_csv(view)
            if export_format is ExportFormat.CSV
            else view.model_dump_json(indent=2)
        )
        if out is None:
            typer.echo(text, nl=False)
            return
        out.write_text(text, encoding="utf-8")
    err_console.print(f"{len(view.entries)} entries ({view.incidents} incidents) written to {out}.")
