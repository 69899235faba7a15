"""``fullpicture link``: link records into people, explain a link, and work the review queue.

Every command that touches the database runs ``--as`` a user and needs the same scope as the
API route that does the same thing (``linkage:run`` to link, ``linkage:review`` for the queue
and explanations, ``children:read`` and a need to know for a child's households); what it
writes is in the audit log under that user, as the API's writes are. The queue and
explanations show children's records: a reviewer sees only pairs with a record they may read,
and each pair shown is audited as a read of the people it is about (``linkage.review``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from fullpicture.access import service as access_service
from fullpicture.access.roles import Scope
from fullpicture.cli.console import console, err_console, progress_bar
from fullpicture.cli.principal import acting_user
from fullpicture.core.database import unit_of_work
from fullpicture.core.runtime import get_session_factory
from fullpicture.core.settings import get_settings
from fullpicture.linkage import files as linkage_files
from fullpicture.linkage import households as linkage_households
from fullpicture.linkage import review as linkage_review
from fullpicture.linkage import service as linkage_service
from fullpicture.linkage.engine import Engine, LinkageInputError, LinkageModelMismatch
from fullpicture.linkage.model_report import ModelReport
from fullpicture.linkage.models import ReviewAction, ReviewStatus
from fullpicture.linkage.rules import default_rules
from fullpicture.linkage.schemas import MatchExplanation, RecordRef, ReviewDecisionIn

_STAGES = [
    "reading current source records",
    "preparing records",
    "training the model on the records",
    "scoring candidate pairs",
    "clustering pairs into people",
    "reading relatives linked by the first clustering",
    "clustering pairs into people again, with the relatives' comparison",
    "saving the linkage index and scored pairs",
    "writing links to persons",
    "deriving households",
]


class _LinkGroup(TyperGroup):
    """``fullpicture link [PERSONS.csv]`` runs linkage; a known word names a subcommand."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in {"--help", "-h"}):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_LinkGroup,
    help=(
        "Link agencies' records into people. With a CSV: link the file. Without: link every "
        "current source record in the database."
    ),
)


AS_USER_HELP = "Your username: the command needs the same scope as on the web, and is audited."


def _progress_reporter(progress: Any) -> Any:
    task = progress.add_task("linking", total=len(_STAGES))

    def report(stage: str) -> None:
        done = _STAGES.index(stage) if stage in _STAGES else 0
        progress.update(task, completed=done, description=stage)

    return report, task


@app.command("run")
def run(
    persons_csv: Path | None = typer.Argument(
        None, exists=True, dir_okay=False, help="PERSONS.csv to link; omit to link the database."
    ),
    out: Path | None = typer.Option(None, "--out", help="CLUSTERS.csv to write (file mode)."),
    engine: Engine = typer.Option(Engine.DUCKDB, "--engine", help="duckdb, or spark for scale."),
    model: Path | None = typer.Option(
        None, "--model", exists=True, dir_okay=False, help="Reuse a saved model JSON (file mode)."
    ),
    save_model: Path | None = typer.Option(None, "--save-model", help="Save the model JSON here."),
    retrain: bool = typer.Option(
        False, "--retrain", help="Database mode: train a new model version."
    ),
    charts: Path | None = typer.Option(
        None,
        "--charts",
        file_okay=False,
        help="File mode: write splink's charts (match weights, m/u, a waterfall) as HTML here.",
    ),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        help=(
            "File mode: link pairs at or above this match weight. Without it the threshold is "
            "chosen from the model trained on the file (the model report says which and why)."
        ),
    ),
    relationships: Path | None = typer.Option(
        None,
        "--relationships",
        exists=True,
        dir_okay=False,
        help=(
            "File mode: RELATIONSHIPS.csv (source,record_id,related_record_id,relationship): "
            "two records whose relatives are linked to one person gain the relatives' "
            "comparison (docs/linkage.md)."
        ),
    ),
    quiet: bool = typer.Option(False, "--quiet", help="File mode: no model report."),
    as_user: str | None = typer.Option(
        None, "--as", help="Database mode: " + AS_USER_HELP + " Needs linkage:run."
    ),
) -> None:
    """Link records into people.

    Example: fullpicture link persons.csv --out clusters.csv
    Example: fullpicture link --engine spark --as admin
    """
    rules = default_rules()
    if persons_csv is None and threshold is not None:
        err_console.print(
            "[red]--threshold is for a file.[/red] The database links at its fixed "
            "link_threshold_match_weight (linkage_rules.yaml), so a record linked later meets "
            "the same line."
        )
        raise typer.Exit(code=2)
    if persons_csv is not None:
        if out is None:
            err_console.print("[red]Give --out CLUSTERS.csv to say where the clusters go.[/red]")
            raise typer.Exit(code=2)
        try:
            with progress_bar() as progress:
                report, task = _progress_reporter(progress)
                linked = linkage_files.link_person_file(
                    persons_csv,
                    out,
                    rules=rules,
                    engine=engine,
                    model_path=model,
                    save_model_path=save_model,
                    report=report,
                    charts_dir=charts,
                    threshold=threshold,
                    relationships_path=relationships,
                )
                progress.update(task, completed=len(_STAGES), description="done")
        except (LinkageInputError, LinkageModelMismatch) as exc:
            err_console.print(f"[red]Nothing written.[/red] {exc}")
            raise typer.Exit(code=2) from exc
        for note in linked.notes:
            err_console.print(f"[yellow]Missing field.[/yellow] {note}")
        if not quiet:
            print_model_report(linked.report)
        for path in linked.charts:
            console.print(f"Chart: {path}")
        console.print(f"Linked {linked.records} records into {linked.people} people; wrote {out}.")
        return
    try:
        with progress_bar() as progress, unit_of_work(get_session_factory()) as session:
            subject = acting_user(
                session, as_user, Scope.LINKAGE_RUN, command="Linking the database"
            )
            report, task = _progress_reporter(progress)
            linkage_run = linkage_service.link_database(
                db_session=session,
                rules=rules,
                started_by=subject.actor,
                engine=engine,
                retrain=retrain,
                model_dir=get_settings().data_dir / "linkage",
                report=report,
            )
            report("deriving households")
            households = linkage_households.rebuild_households(
                db_session=session,
                linker=access_service.system_principal(
                    db_session=session, job="household rebuild", operator=subject.actor
                ),
            )
            progress.update(task, completed=len(_STAGES), description="done")
            counts = {**linkage_run.counts, **{f"household_{k}": v for k, v in households.items()}}
            # Appended after the run, so the audit chain is not held for the whole of it.
            access_service.record_write(
                db_session=session,
                subject=subject,
                action="linkage.run",
                target=f"linkage_run:{linkage_run.id}",
                detail={"engine": engine.value, "retrain": retrain, "counts": counts},
            )
    except (linkage_service.LinkageStateError, LinkageInputError, LinkageModelMismatch) as exc:
        err_console.print(f"[red]Nothing linked.[/red] {exc}")
        raise typer.Exit(code=2) from exc
    table = Table("measure", "value", title="Linkage run")
    for key, value in counts.items():
        table.add_row(key, str(value))
    console.print(table)


def print_model_report(report: ModelReport) -> None:
    """The model report: fields trained, m and u per level, the weight distribution."""
    fields = Table(
        "comparison",
        "fields",
        "filled",
        "trained",
        title="Model report: fields",
        title_justify="left",
    )
    for row in report.comparisons:
        filled = "" if row.field_share is None else f"{row.field_share:.0%}"
        fields.add_row(
            row.name,
            ", ".join(row.fields),
            filled,
            "[green]yes[/green]" if row.trained else "[red]no[/red]",
        )
    console.print(fields)
    levels = Table(
        "comparison", "level", "m", "u", "weight", title="m and u per level", title_justify="left"
    )
    for row in report.comparisons:
        if not row.trained:
            continue
        for level in row.levels:
            levels.add_row(
                row.name,
                level.label if level.trained else f"[dim]{level.label} (not seen: neutral)[/dim]",
                f"{level.m_probability:.4f}",
                f"{level.u_probability:.6f}",
                f"{level.match_weight:+.1f}",
            )
    console.print(levels)
    passes = ", ".join(
        escape(f"[{' + '.join(p['blocked_on'])}] ")
        + (
            f"{p['iterations']} it." + ("" if p.get("converged") else " NOT CONVERGED")
            if "iterations" in p
            else "skipped"
        )
        for p in report.em_passes
    )
    if passes:
        console.print(f"EM passes: {passes}")
    console.print(
        f"Prior (two random records match): weight {report.prior_match_weight:+.1f}"
        + (
            f", counting pairs that agree exactly on name and birth date (or an identifier) "
            f"as {report.prior_rules_recall:.0%} of true pairs, as the trained model estimates. "
            if report.prior_rules_recall is not None
            else ". "
        )
        + f"Link at {report.threshold:+.2f}; review from {report.review_lower:+g}."
    )
    chosen = report.link_threshold
    if chosen is not None:
        how = "Chosen from the model" if chosen.source == "chosen" else "Given"
        console.print(
            f"Threshold: {how}: {escape(chosen.reason)}. By the model's own match "
            f"probabilities: {chosen.links:,} links, about {chosen.expected_false_links:.1f} "
            f"of them wrong (precision {chosen.estimated_precision:.4f}), and about "
            f"{chosen.expected_missed_links:.1f} true pairs among the scored pairs below it."
            + (" Override with --threshold." if chosen.source == "chosen" else "")
        )
    if report.histogram:
        widest = max(b.pairs for b in report.histogram) or 1
        for weight_bin in report.histogram:
            bar = "█" * max(1 if weight_bin.pairs else 0, round(40 * weight_bin.pairs / widest))
            marker = ""
            if weight_bin.lower <= report.threshold < weight_bin.upper:
                marker = " ◀ link threshold"
            elif weight_bin.lower <= report.review_lower < weight_bin.upper:
                marker = " ◀ review from"
            console.print(
                f"{weight_bin.lower:+6.0f} … {weight_bin.upper:+4.0f} "
                f"{weight_bin.pairs:>8,} {bar}{marker}"
            )
        console.print(
            f"{report.pairs_linked:,} pairs linked at or above the threshold, "
            f"{report.pairs_for_review:,} to review (the review band, and pairs held back)."
        )
    for warning in report.warnings:
        err_console.print(f"[yellow]Model warning.[/yellow] {warning}")


def render_explanation(explanation: MatchExplanation) -> Table:
    table = Table(
        "comparison",
        "level",
        explanation.left,
        explanation.right,
        "weight",
        "running total",
        title=f"{explanation.left} vs {explanation.right}",
        caption=(
            f"match weight {explanation.match_weight:+.2f}, probability "
            f"{explanation.match_probability:.4f}: {explanation.decision}"
        ),
    )
    total = explanation.prior_match_weight
    table.add_row("prior", "two records picked at random", "", "", f"{total:+.2f}", f"{total:+.2f}")
    for step in explanation.steps:
        total += step.match_weight
        colour = "green" if step.match_weight > 0 else "red" if step.match_weight < 0 else "dim"
        table.add_row(
            step.comparison,
            step.level,
            step.value_left or "-",
            step.value_right or "-",
            f"[{colour}]{step.match_weight:+.2f}[/{colour}]",
            f"{total:+.2f}",
        )
    return table


@app.command("explain")
def explain(
    left: str = typer.Argument(..., help="AGENCY:RECORD_ID (or SOURCE:RECORD_ID with --file)"),
    right: str = typer.Argument(..., help="AGENCY:RECORD_ID (or SOURCE:RECORD_ID with --file)"),
    persons_csv: Path | None = typer.Option(
        None, "--file", exists=True, dir_okay=False, help="Explain two rows of a PERSONS.csv."
    ),
    model: Path | None = typer.Option(
        None, "--model", exists=True, dir_okay=False, help="Model JSON for --file."
    ),
    relationships: Path | None = typer.Option(
        None,
        "--relationships",
        exists=True,
        dir_okay=False,
        help=(
            "RELATIONSHIPS.csv for --file: link the file as `fullpicture link` does and show "
            "the relatives' comparison of the second pass when it weighed the pair."
        ),
    ),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        help="With --relationships: the --threshold the file was linked at, if one was given.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the explanation as JSON."),
    as_user: str | None = typer.Option(
        None, "--as", help="Database mode: " + AS_USER_HELP + " Needs linkage:review."
    ),
) -> None:
    """Show the match-weight waterfall for two records: which fields agreed and how much each counted.

    Example: fullpicture link explain school-oakfield:S123 gp-ashdown:G77 --as mash.worker
    Example: fullpicture link explain hv:A1 police:B7 --file persons.csv --relationships rel.csv
    """
    from fullpicture.linkage import explain as linkage_explain

    if persons_csv is None and (relationships is not None or threshold is not None):
        err_console.print(
            "[red]--relationships and --threshold are for --file.[/red] The database links "
            "on the records' own fields at its fixed line."
        )
        raise typer.Exit(code=2)
    if relationships is None and threshold is not None:
        err_console.print(
            "[red]--threshold needs --relationships.[/red] Without relationships a pair is "
            "explained on its own fields, whatever the line."
        )
        raise typer.Exit(code=2)
    try:
        left_ref, right_ref = RecordRef.parse(left), RecordRef.parse(right)
        if persons_csv is not None:
            explanation = linkage_explain.explain_file_pair(
                persons_csv,
                left_ref,
                right_ref,
                rules=default_rules(),
                model_path=model,
                relationships_path=relationships,
                threshold=threshold,
            )
        else:
            with unit_of_work(get_session_factory()) as session:
                subject = acting_user(
                    session,
                    as_user,
                    Scope.LINKAGE_REVIEW,
                    Scope.CHILDREN_READ,
                    command="Explaining stored records",
                )
                # Shows both records' names and dates of birth: the need to know is checked
                # and the read audited against the people they are about.
                explanation = linkage_explain.explain_records(
                    db_session=session,
                    subject=subject,
                    left=left_ref,
                    right=right_ref,
                    rules=default_rules(),
                )
    except linkage_review.PairNotVisible as exc:
        err_console.print(f"[red]Not found.[/red] {exc}")
        raise typer.Exit(code=2) from exc
    except (ValueError, linkage_service.LinkageStateError) as exc:
        err_console.print(f"[red]Cannot explain.[/red] {exc}")
        raise typer.Exit(code=2) from exc
    if as_json:
        typer.echo(explanation.model_dump_json(indent=2))
        return
    console.print(render_explanation(explanation))
    if explanation.second_pass is not None:
        console.print(escape(explanation.second_pass))


@app.command("review")
def review(
    status: ReviewStatus | None = typer.Option(ReviewStatus.OPEN, "--status"),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    as_user: str = typer.Option(..., "--as", help=AS_USER_HELP + " Needs linkage:review."),
) -> None:
    """List pairs in the review queue (uncertain matches for a practitioner to decide).

    Example: fullpicture link review --limit 20 --as mash.worker
    """
    with unit_of_work(get_session_factory()) as session:
        subject = acting_user(
            session,
            as_user,
            Scope.LINKAGE_REVIEW,
            Scope.CHILDREN_READ,
            command="The review queue",
        )
        items = linkage_review.list_items(
            db_session=session, subject=subject, status=status, limit=limit
        )
    table = Table("item", "left", "right", "weight", "status", "levels", title="Review queue")
    for item in items:
        levels = ", ".join(f"{k}: {v}" for k, v in item.comparison_levels.items())
        table.add_row(
            str(item.id),
            item.left,
            item.right,
            f"{item.match_weight:+.2f}",
            item.status.value,
            levels,
        )
    console.print(table)


def _decide(item_ref: str, action: ReviewAction, reason: str, as_user: str) -> None:
    try:
        with unit_of_work(get_session_factory()) as session:
            subject = acting_user(
                session,
                as_user,
                Scope.LINKAGE_REVIEW,
                Scope.CHILDREN_READ,
                command="A review decision",
            )
            decision_in = ReviewDecisionIn(action=action, reason=reason, decided_by=subject.actor)
            item = linkage_review.open_item(
                db_session=session,
                subject=subject,
                item_ref=item_ref,
                purpose="linkage review decision",
            )
            read = linkage_review.decide(
                db_session=session, item=item, decision_in=decision_in, rules=default_rules()
            )
            access_service.record_write(
                db_session=session,
                subject=subject,
                action=f"linkage.review.{action.value}",
                target=f"review_item:{read.id}",
                detail={"left": read.left, "right": read.right, "reason": reason},
            )
    except (ValueError, linkage_review.PairNotVisible) as exc:
        err_console.print(f"[red]Not recorded.[/red] {exc}")
        raise typer.Exit(code=2) from exc
    console.print(f"Review item {read.id} ({read.left} / {read.right}) is now {read.status.value}.")


@app.command("confirm")
def confirm(
    item: str = typer.Argument(..., help="Review item id"),
    reason: str = typer.Option(..., "--reason"),
    as_user: str = typer.Option(..., "--as", help=AS_USER_HELP + " Needs linkage:review."),
) -> None:
    """Confirm a queued pair is one person; every later run keeps them linked.

    Example: fullpicture link confirm 12 --reason "same NHS number, mother confirmed" --as j.okafor
    """
    _decide(item, ReviewAction.CONFIRM, reason, as_user)


@app.command("reject")
def reject(
    item: str = typer.Argument(..., help="Review item id"),
    reason: str = typer.Option(..., "--reason"),
    as_user: str = typer.Option(..., "--as", help=AS_USER_HELP + " Needs linkage:review."),
) -> None:
    """Reject a queued pair: two different people, never linked by a later run.

    Example: fullpicture link reject 12 --reason "twins: different school years" --as j.okafor
    """
    _decide(item, ReviewAction.REJECT, reason, as_user)


@app.command("undo")
def undo(
    item: str = typer.Argument(..., help="Review item id"),
    reason: str = typer.Option(..., "--reason"),
    as_user: str = typer.Option(..., "--as", help=AS_USER_HELP + " Needs linkage:review."),
) -> None:
    """Undo the standing decision on a pair (it goes back on the queue).

    Example: fullpicture link undo 12 --reason "decided on the wrong pair" --as j.okafor
    """
    _decide(item, ReviewAction.UNDO, reason, as_user)


@app.command("record")
def record(
    ref: str = typer.Argument(..., help="AGENCY:RECORD_ID of a new or changed record"),
    as_user: str = typer.Option(..., "--as", help=AS_USER_HELP + " Needs linkage:run."),
) -> None:
    """Link one new or changed record against the existing people (no full run).

    Example: fullpicture link record gp-ashdown:G77 --as admin
    """
    from fullpicture.agencies import service as agency_service

    try:
        parsed = RecordRef.parse(ref)
        with unit_of_work(get_session_factory()) as session:
            subject = acting_user(session, as_user, Scope.LINKAGE_RUN, command="Linking a record")
            agency = agency_service.get_by_code(db_session=session, code=parsed.agency)
            if agency is None:
                raise ValueError(f"no agency registered as {parsed.agency!r}")
            outcome = linkage_service.link_record(
                db_session=session,
                linker=access_service.system_principal(
                    db_session=session, job="linkage of one record", operator=subject.actor
                ),
                agency_id=agency.id,
                record_ref=parsed.record_id,
                rules=default_rules(),
                started_by=subject.actor,
            )
            access_service.record_write(
                db_session=session,
                subject=subject,
                action="linkage.record",
                target=f"{parsed.agency}:{parsed.record_id}"[:300],
                detail={
                    "person": outcome.person_public_id,
                    "joined_existing_person": outcome.joined_existing_person,
                },
            )
    except (ValueError, linkage_service.LinkageStateError) as exc:
        err_console.print(f"[red]Not linked.[/red] {exc}")
        raise typer.Exit(code=2) from exc
    joined = "joined an existing person" if outcome.joined_existing_person else "is a person alone"
    console.print(
        f"{ref} {joined} ({outcome.person_public_id}); scored {outcome.candidates_scored} "
        f"candidates in {outcome.seconds:.3f} s."
    )


@app.command("households")
def households(
    child: str = typer.Argument(..., help="The child's person public id"),
    as_json: bool = typer.Option(False, "--json", help="Print the view as JSON."),
    as_user: str = typer.Option(
        ...,
        "--as",
        help="Your username: the same need-to-know rule applies as on the web, "
        "and the read is audited.",
    ),
) -> None:
    """Show a child's households over time, every adult known there, and unseen adults.

    Example: fullpicture link households 3f2a9c1e-0b7d-4c1e-9a52-5d7c2a1b9e41 --as sw.jones
    """
    try:
        with unit_of_work(get_session_factory()) as session:
            subject = acting_user(
                session, as_user, Scope.CHILDREN_READ, command="A child's households"
            )
            # Need to know checked and the read audited inside, as on the web.
            view = linkage_households.child_household_view(
                db_session=session, reader=subject, person_public_id=child
            )
    except linkage_households.HouseholdNotFound as exc:
        err_console.print(f"[red]Not found.[/red] {exc}")
        raise typer.Exit(code=2) from exc
    if as_json:
        typer.echo(view.model_dump_json(indent=2))
        return
    for period in view.households:
        table = Table(
            "adult",
            "born",
            "roles",
            "known to",
            "from",
            "to",
            title=f"{period.address or 'household'} ({period.date_from or '?'} to {period.date_to or 'now'})",
        )
        for adult in period.adults:
            flag = " [bold red]UNSEEN ADULT[/bold red]" if adult.unseen_adult else ""
            table.add_row(
                f"{adult.name or adult.person_public_id}{flag}",
                str(adult.date_of_birth or "-"),
                ", ".join(adult.roles),
                # By name, as the child's page gives them (--json keeps the codes as well).
                ", ".join(adult.known_to_agency_names or adult.known_to_agencies),
                str(adult.date_from or "?"),
                str(adult.date_to or "now"),
            )
        console.print(table)
    console.print(f"Adults known to one agency only: {len(view.unseen_adults)}")
    if view.held_elsewhere is not None:
        console.print(f"[yellow]{view.held_elsewhere.message}[/yellow]")
