"""``fullpicture replay``, ``fullpicture harm`` and ``fullpicture chronology``: cumulative harm.

Replay a case, score the population and raise alerts, explain one child's score, work the
alerts, and export a child's or household's chronology.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access import service as access_service
from fullpicture.access.roles import Scope
from fullpicture.access.subject import AuthSubject
from fullpicture.chronology import repository as chronology_repository
from fullpicture.chronology.export import chronology_csv, chronology_pdf
from fullpicture.cli.console import console, err_console
from fullpicture.cli.principal import acting_user
from fullpicture.core.database import unit_of_work, utc_now
from fullpicture.core.runtime import get_session_factory
from fullpicture.harm import service as harm_service
from fullpicture.harm.harm_model import default_harm_model
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.harm.replay import ReplayError, load_case, replay_case
from fullpicture.people.models import Person

app = typer.Typer(
    help="Cumulative harm: score children, raise alerts with their evidence, work the alerts.",
    no_args_is_help=True,
)


AS_USER_HELP = (
    "Your username: the same need-to-know rule applies as on the web, and the read is audited."
)
NOT_VISIBLE = "no such child, or you have no need to know about them"


def _open_child(
    session: Session,
    as_user: str,
    child_ref: str,
    purpose: str,
    subject: AuthSubject | None = None,
) -> tuple[AuthSubject, Person]:
    """The subject and the child, through the one access gate (which audits the read).

    An unknown child and one the user may not see get the same answer, so the command never
    confirms that a child is known to the system.
    """
    subject = subject or acting_user(session, as_user)
    try:
        person = chronology_repository.resolve_person(
            db_session=session, reader=subject, person_ref=child_ref
        )
        access_service.open_person(
            db_session=session, subject=subject, person_public_id=person.public_id, purpose=purpose
        )
    except (chronology_repository.ChronologyNotFound, access_service.PersonNotVisible) as exc:
        err_console.print(f"[red]{NOT_VISIBLE}[/red]")
        raise typer.Exit(code=2) from exc
    except access_service.AccessError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=3) from exc
    return subject, person


def _day(text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a date; use YYYY-MM-DD") from exc
    try:
        return harm_service.check_scoring_day(day)
    except harm_service.HarmNotComputable as exc:
        raise typer.BadParameter(str(exc)) from exc


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
        # A batch job with no user behind it reads every child's record as an audited job.
        scorer = access_service.system_principal(
            db_session=session,
            job="harm score",
            operator=f"cli:{getpass.getuser()}",
            detail={"as_of": day.isoformat()},
        )
        result = harm_service.score_population(db_session=session, scorer=scorer, as_of=day)
        stored = (
            harm_service.record_alerts(db_session=session, scorer=scorer, result=result)
            if store
            else []
        )
        if store:
            # A batch job with no user behind it: attributed to whoever ran the command.
            audit.append(
                db_session=session,
                actor=f"cli:{getpass.getuser()}",
                action="harm.score",
                target=f"as_of:{day.isoformat()}",
                detail={"children": result.scores.num_rows, "new_alerts": len(stored)},
            )
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
    as_user: str = typer.Option(..., "--as", help=AS_USER_HELP),
) -> None:
    """Explain one child's score: the incidents you may see, their modifiers, decay and agencies.

    The score rests on the whole record; entries your role may not see are counted, not shown.

    Example: fullpicture harm child 42 --as-of 2026-11-01 --as dsl.oakfield
    """
    day = _day(as_of)
    with unit_of_work(get_session_factory()) as session:
        subject, person = _open_child(session, as_user, child_ref, "harm score")
        try:
            assessment = harm_service.assess_one_child(
                db_session=session, scorer=subject, person_id=person.id, as_of=day
            )
        except harm_service.HarmNotComputable as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=2) from exc
        explanation = assessment.explanation
        evidence = harm_service.visible_evidence(
            db_session=session,
            subject=subject,
            now=utc_now(),
            person_id=person.id,
            refs=[r for c in (*explanation.contributions, *explanation.strengths) for r in c.refs],
        )
    all_refs = [r for c in explanation.contributions for r in c.refs]
    agencies = evidence.agencies(all_refs)
    console.print(
        f"Score {explanation.score:.1f} as of {day}: {explanation.concern_points:.1f} points x "
        f"{explanation.triangulation_multiplier:g} for {len(explanation.agencies)} agencies "
        f"(shown: {', '.join(agencies) or 'none'})."
    )
    table = Table("date", "code", "agencies", "severity", "modifiers", "points", "decay", "adds")
    for c in explanation.contributions:
        refs = evidence.refs(c.refs)
        if not refs:
            continue
        table.add_row(
            c.day.isoformat(), c.code, ", ".join(evidence.agencies(refs)),
            f"{c.base_severity}->{c.severity}", ", ".join(c.modifiers) or "-",
            f"{c.points:g}", f"{c.decay:.2f}", f"{c.contribution:.2f}",
        )  # fmt: skip
    console.print(table)
    strengths = [s for s in explanation.strengths if evidence.refs(s.refs)]
    if strengths:
        console.print(
            f"Strengths shown beside the score (never lower it): weight "
            f"{explanation.strength_weight:.1f} from "
            + ", ".join(f"{s.code} {s.day}" for s in strengths)
        )
    for alert in assessment.alerts:
        kind, reason = evidence.alert_text(alert.kind, alert.reason, alert.evidence)
        console.print(f"[bold]{alert.day} {kind}[/bold] ({alert.score:.1f}): {reason}")
    if evidence.held_elsewhere is not None:
        console.print(f"[yellow]{evidence.held_elsewhere.message}[/yellow]")


@app.command("alerts")
def alerts(
    as_user: str = typer.Option(..., "--as", help=AS_USER_HELP),
    status: AlertStatus | None = typer.Option(None, "--status", help="Only this status."),
    child_ref: str | None = typer.Option(None, "--child", help="Only this child."),
) -> None:
    """List alerts about children you may see, newest first, with their reason and routing.

    An alert resting on entries your role may not see shows them counted and its kind and
    reason withheld, as on the web and API.

    Example: fullpicture harm alerts --status new --as mash.worker
    """
    with unit_of_work(get_session_factory()) as session:
        subject = acting_user(session, as_user, Scope.CHILDREN_READ)
        person_id = None
        if child_ref is not None:
            person_id = _open_child(session, as_user, child_ref, "alerts", subject)[1].id
        found = harm_service.disclose_alerts(
            db_session=session,
            reader=subject,
            alerts=harm_service.readable_alerts(
                db_session=session,
                subject=subject,
                now=utc_now(),
                statuses=[status] if status is not None else [],
                person_id=person_id,
            ),
        )
        table = Table("id", "child", "raised", "kind", "score", "status", "reason")
        for alert in found:
            table.add_row(
                alert.public_id, alert.person_public_id, alert.raised_on.isoformat(), alert.kind,
                f"{alert.score:.1f}", alert.status.value, alert.reason,
            )  # fmt: skip
    console.print(table)


@app.command("acknowledge")
def acknowledge(
    alert_id: str = typer.Argument(..., help="The alert's id."),
    decision: str = typer.Option(..., "--decision", help="What was decided, and why."),
    as_user: str = typer.Option(..., "--as", help=AS_USER_HELP + " The decision is yours."),
) -> None:
    """Record the decision taken on a new alert routed to your agency, as yourself.

    Example: fullpicture harm acknowledge 3f2a... --decision "Strategy discussion today" --as mash.worker
    """
    _transition(alert_id, as_user, lambda s, who: harm_service.acknowledge_alert(
        db_session=s, decider=who, public_id=alert_id, decision=decision))  # fmt: skip


@app.command("close")
def close(
    alert_id: str = typer.Argument(..., help="The alert's id."),
    outcome: str = typer.Option(..., "--outcome", help="What happened for the child."),
    as_user: str = typer.Option(..., "--as", help=AS_USER_HELP + " The closure is yours."),
) -> None:
    """Close an acknowledged alert routed to your agency with its outcome, as yourself.

    Example: fullpicture harm close 3f2a... --outcome "Child protection plan" --as mash.worker
    """
    _transition(alert_id, as_user, lambda s, who: harm_service.close_alert(
        db_session=s, decider=who, public_id=alert_id, outcome=outcome))  # fmt: skip


def _transition(
    alert_id: str, as_user: str, change: Callable[[Session, AuthSubject], HarmAlert]
) -> None:
    try:
        with unit_of_work(get_session_factory()) as session:
            subject = acting_user(session, as_user, Scope.CHILDREN_WRITE)
            # The need to know, the audit of the read and the routing check are the service's.
            status = change(session, subject).status.value
    except harm_service.AlertNotFound as exc:
        err_console.print(f"[red]{NOT_VISIBLE}[/red]")
        raise typer.Exit(code=2) from exc
    except harm_service.AlertNotYours as exc:
        err_console.print(f"[red]Not changed.[/red] {exc}")
        raise typer.Exit(code=3) from exc
    except harm_service.AlertWorkflowError as exc:
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
    as_user: str = typer.Option(..., "--as", help=AS_USER_HELP),
) -> None:
    """Export a child's (or household's) chronology as you may see it, or one agency's view.

    Front-door roles see every agency's entries; others their agency's own plus what was
    shared with it, with a count of the rest. The read is audited.

    Example: fullpicture chronology 42 --format pdf --out chronology-42.pdf --as sw.jones
    """
    with unit_of_work(get_session_factory()) as session:
        if household:
            view = _household_view(session, as_user, subject, agency)
            title = f"Household {subject}: multi-agency chronology"
        else:
            reader, person = _open_child(session, as_user, subject, "chronology export")
            view = chronology_repository.child_chronology(
                db_session=session,
                person_id=person.id,
                agency_code=agency,
                model=default_harm_model(),
                viewer=chronology_repository.Viewer(reader, utc_now()),
            )
            title = f"Child {person.public_id}: multi-agency chronology"
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
    if view.held_elsewhere is not None:
        err_console.print(view.held_elsewhere.message)


def _household_view(
    session: Session, as_user: str, household_ref: str, agency: str | None
) -> chronology_repository.Chronology:
    """A household's chronology as the user may see it; each member shown is an audited read."""
    reader = acting_user(session, as_user, Scope.CHILDREN_READ)
    try:
        view = chronology_repository.household_chronology(
            db_session=session,
            household_id=int(household_ref),
            agency_code=agency,
            model=default_harm_model(),
            viewer=chronology_repository.Viewer(reader, utc_now()),
        )
    except access_service.AccessError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=3) from exc
    except (chronology_repository.ChronologyNotFound, ValueError) as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2) from exc
    if not view.entries:
        err_console.print("[red]no entries you have a need to know about[/red]")
        raise typer.Exit(code=2)
    shown = {e.about_person_id for e in view.entries}
    for public_id in session.scalars(select(Person.public_id).where(Person.id.in_(shown))):
        access_service.open_person(
            db_session=session,
            subject=reader,
            person_public_id=public_id,
            purpose="household chronology export",
        )
    return view
