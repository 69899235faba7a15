"""``fullpicture dashboard``: the partnership's learning figures, as the API serves them."""

from __future__ import annotations

from pathlib import Path

import typer

from fullpicture.access import audit
from fullpicture.access.roles import Scope
from fullpicture.cli.console import console, err_console
from fullpicture.cli.workflow import AS_USER_HELP, acting
from fullpicture.partnership import dashboard
from fullpicture.partnership.schemas import PeriodRefused, period_from_text


def dashboard_command(
    figure: str = typer.Option(None, "--figure", help=f"One of: {', '.join(dashboard.FIGURES)}."),
    fmt: str = typer.Option(
        "json", "--format", help="json, csv or parquet (csv/parquet need --figure and --out)."
    ),
    out: Path = typer.Option(None, "--out", help="Write the figure here."),
    as_of: str = typer.Option(
        None, "--as-of", help="The figures as of this day, year-month-day (default today)."
    ),
    since: str = typer.Option(
        None, "--since", help="Count records dated from this day (default: from the beginning)."
    ),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
) -> None:
    """The partnership dashboard's figures (aggregates only; needs aggregates:read; audited).

    Example: fullpicture dashboard --figure sharing_latency --format csv --out latency.csv
    --as-of 2026-11-30 --since 2026-04-01 --as analyst
    """
    if fmt not in {"json", "csv", "parquet"}:
        err_console.print("[red]--format is json, csv or parquet.[/red]")
        raise typer.Exit(code=2)
    if fmt != "json" and (figure is None or out is None):
        err_console.print("[red]--format csv or parquet needs --figure and --out.[/red]")
        raise typer.Exit(code=2)
    try:
        dates = period_from_text(as_of, since)
    except PeriodRefused as refused:
        for field, message in refused.problems:
            err_console.print(f"[red]--{field.replace('_', '-')}: {message}.[/red]")
        raise typer.Exit(code=2) from refused
    with acting(as_user, "dashboard", Scope.AGGREGATES_READ) as (session, subject):
        try:
            frames = (
                {figure: dashboard.figure(session, figure, today=dates.as_of, since=dates.since)}
                if figure
                else dashboard.all_figures(session, today=dates.as_of, since=dates.since)
            )
        except dashboard.UnknownFigure as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=2) from exc
        audit.record(
            db_session=session,
            actor=subject.actor,
            actor_user_id=subject.user_id,
            action="dashboard.export" if out else "dashboard.read",
            target=f"dashboard:{figure or 'all'}.{fmt}",
            detail=dates.metadata(),
        )
    if fmt == "csv":
        out.write_text(dashboard.as_csv(next(iter(frames.values()))), encoding="utf-8", newline="")
    elif fmt == "parquet":
        out.write_bytes(dashboard.as_parquet(next(iter(frames.values())), dates.metadata()))
    else:
        console.print(f"Figures {dates.describe()}.")
        for name, frame in frames.items():
            console.print(f"[bold]{name}[/bold]")
            console.print(str(frame))
        return
    console.print(f"Wrote {out} ({dates.describe()}).")
