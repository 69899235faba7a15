"""``fullpicture import`` and ``fullpicture quarantine``: bring feeds in, and fix what they got wrong."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer
from rich.progress import Progress, TaskID
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.roles import Scope
from fullpicture.cli.console import console, err_console, progress_bar
from fullpicture.cli.principal import acting_user
from fullpicture.core import migrations
from fullpicture.core.database import unit_of_work
from fullpicture.core.runtime import get_engine, get_session_factory
from fullpicture.imports import quarantine, repository
from fullpicture.imports import service as import_service
from fullpicture.imports.authority import EVERY_AGENCY, FeedAuthorityMissing, upload_authority
from fullpicture.imports.flows import ingest_feed
from fullpicture.imports.follow_up import FollowUp
from fullpicture.imports.models import ImportBatch, QuarantineStatus
from fullpicture.imports.readers import FeedFile
from fullpicture.imports.schemas import ImportResult, QuarantinedRowRead

quarantine_app = typer.Typer(
    help=(
        "Rows imports quarantined: list, show, export for fixing, dismiss (each --as a user "
        "with imports:write; audited)."
    ),
    no_args_is_help=True,
)


def _default_importer() -> str:
    return f"cli:{getpass.getuser()}"


class _ProgressDisplay:
    """Draws the import's progress with rich, one bar per file."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def start_file(self, feed_file: FeedFile, total_rows: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total)
        self.task = self.progress.add_task(f"{feed_file.path.name}", total=total_rows)

    def advance(self, rows: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, rows)


def import_command(
    feeds: list[Path] = typer.Argument(
        ..., help="Feed directories and/or files (records, relationships, events)."
    ),
    show: int = typer.Option(
        100, "--show", min=0, help="Print the reasons of at most this many quarantined rows."
    ),
    follow_up: bool = typer.Option(
        True,
        "--follow-up/--no-follow-up",
        help="Then link new and changed records and rescore the children the events concern.",
    ),
    as_user: str = typer.Option(
        None,
        "--as",
        help="Import as this user (imports:write): a user of an agency writes that agency's "
        "rows only; other agencies' rows are quarantined with the reason.",
    ),
    for_agencies: str = typer.Option(
        None,
        "--for-agencies",
        help="With --as a user tied to no agency (the partnership's data team): whose feeds "
        "the batch holds, CODE[,CODE…] or * for every agency.",
    ),
) -> None:
    """Import agency feeds (CSV, JSON Lines or Parquet) as one batch: every row or none.

    Bad rows are quarantined with their reasons, never dropped; re-importing the same feed
    changes nothing, and a changed row becomes a new version. Exits 0 when the batch is
    committed (even with quarantined rows), 2 when a file cannot be imported at all (nothing
    is stored), 1 when the batch failed and was rolled back.

    The batch is attributed to the --as user (resolved like every command's --as, refused
    if unknown or without imports:write); without --as, to the machine's operator
    (cli:<your user name>), who writes every agency's rows: shell access is for
    administrators only. There is no free-text attribution.

    Example: fullpicture import var/demo-feeds/gp-ashdown --as ashdown.data
    """
    if not migrations.is_up_to_date(get_engine()):
        err_console.print("[red]The database is not up to date.[/red] Run: fullpicture db upgrade")
        raise typer.Exit(code=2)
    importer = _default_importer()
    authority = EVERY_AGENCY  # the machine's operator, audited as such
    if as_user is not None:
        with unit_of_work(get_session_factory()) as session:
            subject = acting_user(session, as_user, Scope.IMPORTS_WRITE, command="An import")
            try:
                authority = upload_authority(
                    db_session=session,
                    subject=subject,
                    for_agencies=for_agencies.split(",") if for_agencies else None,
                )
            except FeedAuthorityMissing as exc:
                err_console.print(f"[red]Nothing imported.[/red] {exc}")
                raise typer.Exit(code=2) from exc
            except access_service.AccessError as exc:
                err_console.print(f"[red]Nothing imported.[/red] {exc}")
                raise typer.Exit(code=3) from exc
        importer = subject.actor
    elif for_agencies is not None:
        err_console.print("[red]--for-agencies goes with --as USER.[/red]")
        raise typer.Exit(code=2)
    try:
        with (
            progress_bar() as progress,
            unit_of_work(get_session_factory()) as session,
        ):
            ingested = ingest_feed(
                db_session=session,
                paths=feeds,
                actor=importer,
                progress=_ProgressDisplay(progress),
                follow_up=follow_up,
                authority=authority,
            )
    except import_service.FeedFileError as exc:
        err_console.print(f"[red]Nothing imported.[/red] {exc}")
        raise typer.Exit(code=2) from exc
    except Exception as exc:
        # A step after the batch (linking, rescoring) failed: the one transaction, batch and
        # all, was rolled back. Say so plainly rather than print a traceback, and never call a
        # committed batch rolled back (issue 12 finding 6): nothing here has committed.
        err_console.print(
            "[red]The import and what it sets off failed together and were rolled back; "
            f"nothing of it is stored.[/red] ({type(exc).__name__}: {exc}) Import again with "
            "--no-follow-up, then run `fullpicture link` and `fullpicture harm score`."
        )
        raise typer.Exit(code=1) from exc
    if ingested.failure is not None:
        failure = ingested.failure
        err_console.print(
            f"[red]The import failed and was rolled back; nothing of it is stored.[/red] "
            f"Batch {failure.public_id} is recorded as failed: {failure.error}"
        )
        raise typer.Exit(code=1) from failure
    assert ingested.result is not None
    _print_result(ingested.result, show=show)
    if ingested.follow_up is not None:
        _print_follow_up(ingested.follow_up)


def _print_follow_up(outcome: FollowUp) -> None:
    households = (
        f"; {outcome.households:,} household(s) after the rebuild"
        if outcome.households is not None
        else ""
    )
    console.print(
        f"Linked {outcome.records_linked:,} new or changed record(s){households}; rescored "
        f"{outcome.children_rescored:,} child(ren); {len(outcome.alert_ids):,} new alert(s)."
    )
    for advice in outcome.advice:
        console.print(f"[yellow]{advice}[/yellow]")


def _print_result(result: ImportResult, *, show: int) -> None:
    batch = result.batch
    table = Table(
        "table", "read", "new", "changed", "unchanged", "repeated", "quarantined",
        title=f"Batch {batch.public_id} committed (imported by {batch.imported_by})",
    )  # fmt: skip
    for name, counts in batch.tables.items():
        table.add_row(
            name,
            *(
                f"{getattr(counts, outcome):,}"
                for outcome in ("read", "new", "changed", "unchanged", "repeated", "quarantined")
            ),
        )
    console.print(table)
    if batch.repaired:
        console.print(f"Repaired {batch.repaired:,} row(s) quarantined by earlier batches.")
    if not result.quarantined:
        return
    console.print(
        f"[yellow]{len(result.quarantined):,} row(s) quarantined[/yellow] — fix them and "
        f"import again (fullpicture quarantine export {batch.public_id} --out DIR --as USER):"
    )
    for row in result.quarantined[:show]:
        _print_reasons(row)
    if len(result.quarantined) > show:
        console.print(
            f"… and {len(result.quarantined) - show:,} more: "
            f"fullpicture quarantine list --batch {batch.public_id} --as USER"
        )


def _print_reasons(row: QuarantinedRowRead) -> None:
    where = f"{row.table_name} row {row.row_number}"
    who = " ".join(part for part in (row.agency_code, row.row_ref) if part)
    console.print(f"  [bold]{where}[/bold] ({who or 'unreadable'}) [dim]#{row.id}[/dim]")
    for reason in row.reasons:
        console.print(f"    {reason.field}: {reason.message}", markup=False)


def _batch_or_exit(session: Session, public_id: str) -> ImportBatch:
    batch = repository.get_batch(db_session=session, public_id=public_id)
    if batch is None:
        err_console.print(f"[red]No import batch {public_id}.[/red]")
        raise typer.Exit(code=2)
    return batch


AS_USER_HELP = (
    "Your username: needs imports:write; you see your agency's feeds (every feed if your "
    "account belongs to no agency), and the read is audited."
)


@quarantine_app.command("list")
def list_rows(
    as_user: str = typer.Option(..., "--as", help=AS_USER_HELP),
    batch: str = typer.Option(None, "--batch", help="Only this batch (its public id)."),
    status: str = typer.Option("open", "--status", help="open, repaired, dismissed, or all."),
    limit: int = typer.Option(500, "--limit", min=1, help="At most this many rows."),
) -> None:
    """List quarantined rows with their first reason.

    Example: fullpicture quarantine list --batch 6f1c9a4e-0b7d-4e53-9a53-2f0c8f7d1e21 --as data.team
    """
    wanted = None if status == "all" else _status_or_exit(status)
    with unit_of_work(get_session_factory()) as session:
        subject = acting_user(session, as_user, Scope.IMPORTS_WRITE)
        found = _batch_or_exit(session, batch) if batch else None
        rows = quarantine.quarantined_rows(
            db_session=session,
            subject=subject,
            purpose="quarantined import rows",
            target=f"import_batch:{found.public_id}" if found else "quarantine",
            batch_id=found.id if found else None,
            status=wanted,
            limit=limit,
        )
        batch_ids = {row.import_batch_id for row in rows}
        public_ids = {
            id_: public_id
            for id_, public_id in session.execute(
                select(ImportBatch.id, ImportBatch.public_id).where(ImportBatch.id.in_(batch_ids))
            )
        }
        table = Table("id", "batch", "table", "row", "agency", "ref", "status", "first reason")
        for row in rows:
            first = row.reasons[0] if row.reasons else {"field": "", "message": ""}
            table.add_row(
                str(row.id),
                public_ids.get(row.import_batch_id, str(row.import_batch_id)),
                row.table_name,
                str(row.row_number),
                row.agency_code or "",
                row.row_ref or "",
                row.status.value,
                f"{first.get('field')}: {first.get('message')}",
            )
    console.print(table)


def _status_or_exit(status: str) -> QuarantineStatus:
    try:
        return QuarantineStatus(status)
    except ValueError:
        err_console.print("[red]--status must be open, repaired, dismissed or all.[/red]")
        raise typer.Exit(code=2) from None


@quarantine_app.command("show")
def show_row(
    row_id: int = typer.Argument(..., help="The quarantined row's id."),
    as_user: str = typer.Option(..., "--as", help=AS_USER_HELP),
) -> None:
    """Show one quarantined row as it arrived, with every reason.

    Example: fullpicture quarantine show 42 --as data.team
    """
    with unit_of_work(get_session_factory()) as session:
        subject = acting_user(session, as_user, Scope.IMPORTS_WRITE)
        try:
            # Another agency's row and an unknown one get the same answer.
            row = quarantine.open_quarantined_row(
                db_session=session, subject=subject, row_id=row_id, purpose="quarantined import row"
            )
        except quarantine.QuarantinedRowNotVisible as exc:
            err_console.print(f"[red]{exc}.[/red]")
            raise typer.Exit(code=2) from exc
        batch = session.get(ImportBatch, row.import_batch_id)
        console.print(
            f"Row {row.row_number} of {row.table_name} in batch "
            f"{batch.public_id if batch else row.import_batch_id}: {row.status.value}"
        )
        if row.dismissed_by:
            console.print(f"Dismissed by {row.dismissed_by}: {row.dismissal_reason}")
        for reason in row.reasons:
            console.print(f"  {reason.get('field')}: {reason.get('message')}", markup=False)
        console.print("As it arrived:")
        console.print(row.raw, markup=False, highlight=False)


@quarantine_app.command("export")
def export_rows(
    batch: str = typer.Argument(..., help="The batch's public id."),
    out: Path = typer.Option(..., "--out", help="Directory to write records/events CSVs into."),
    as_user: str = typer.Option(..., "--as", help=AS_USER_HELP),
) -> None:
    """Write a batch's open quarantined rows back out as feed CSV files, to fix and re-import.

    Each row keeps a quarantined_row_id column: importing the fixed file marks it repaired.
    A user of an agency gets that agency's rows of the batch; a user tied to no agency every
    row, including those whose agency could not be read. The export is audited.

    Example: fullpicture quarantine export 6f1c9a4e-0b7d-4e53-9a53-2f0c8f7d1e21 --out fixes/ --as data.team
    """
    with unit_of_work(get_session_factory()) as session:
        subject = acting_user(session, as_user, Scope.IMPORTS_WRITE)
        found = _batch_or_exit(session, batch)
        try:
            exported = quarantine.export_quarantined_rows(
                db_session=session, subject=subject, batch_public_id=found.public_id, out_dir=out
            )
        except import_service.QuarantineError as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=2) from exc
        for table, path in exported.files.items():
            console.print(f"Wrote {exported.rows_written[table]:,} {table} row(s) to {path}")
        if not exported.files:
            console.print(
                "The batch has no open quarantined rows of "
                f"{quarantine.feed_scope(db_session=session, subject=subject).describe()} "
                "that can be written as CSV."
            )
        for row in exported.not_exportable:
            console.print(
                f"[yellow]Row {row.row_number} of {row.table_name} (#{row.id}) could not be "
                "read as a table row; fix it in the source file:[/yellow]"
            )
            console.print(row.raw, markup=False, highlight=False)


@quarantine_app.command("dismiss")
def dismiss_rows(
    row_ids: list[int] = typer.Argument(..., help="Quarantined row ids."),
    reason: str = typer.Option(..., "--reason", help="Why it will not be fixed (kept on record)."),
    as_user: str = typer.Option(
        ...,
        "--as",
        help=(
            "Your username: needs imports:write; you dismiss your agency's rows (any feed's if "
            "your account belongs to no agency), recorded as yours and audited."
        ),
    ),
) -> None:
    """Close quarantined rows that will not be fixed, saying why (they stay on record).

    All or none: if one row cannot be dismissed, none is.

    Example: fullpicture quarantine dismiss 42 43 --reason "test rows sent by mistake" --as data.team
    """
    with unit_of_work(get_session_factory()) as session:
        subject = acting_user(session, as_user, Scope.IMPORTS_WRITE)
        try:
            for row_id in row_ids:
                # Another agency's row and an unknown one get the same answer.
                quarantine.dismiss_quarantined_row(
                    db_session=session, subject=subject, row_id=row_id, reason=reason
                )
        except (quarantine.QuarantinedRowNotVisible, import_service.QuarantineError) as exc:
            # Leaving the unit of work by the exit rolls back the rows dismissed before it.
            err_console.print(f"[red]Nothing dismissed.[/red] {exc}.")
            raise typer.Exit(code=2) from exc
    console.print(f"Dismissed {len(row_ids)} row(s) as {subject.actor}.")
