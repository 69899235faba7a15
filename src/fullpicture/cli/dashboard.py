"""``fullpicture dashboard``: the partnership's learning figures, as the API serves them."""

from __future__ import annotations

from pathlib import Path

import typer

from fullpicture.access import audit
from fullpicture.access.roles import Scope
from fullpicture.cli.console import console, err_console
from fullpicture.cli.workflow import AS_USER_HELP, acting
from fullpicture.partnership import dashboard


def dashboard_command(
    figure: str = typer.Option(None, "--figure", help=f"One of: {', '.join(dashboard.FIGURES)}."),
    fmt: str = typer.Option(
        "json", "--format", help="json, csv or parquet (csv/parquet need --figure and --out)."
    ),
    out: Path = typer.Option(None, "--out", help="Write the figure here."),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
) -> None:
    """The partnership dashboard's figures (aggregates only; needs aggregates:read; audited).

    Example: fullpicture dashboard --figure sharing_latency --format csv --out latency.csv --as analyst
    """
    if fmt not in {"json", "csv", "parquet"}:
        err_console.print("[red]--format is json, csv or parquet.[/red]")
        raise typer.Exit(code=2)
    if fmt != "json" and (figure is None or out is None):
        err_console.print("[red]--format csv or parquet needs --figure and --out.[/red]")
        raise typer.Exit(code=2)
    with acting(as_user, "dashboard", Scope.AGGREGATES_READ) as (session, subject):
        try:
            frames = (
                {figure: dashboard.figure(session, figure)}
                if figure
                else dashboard.all_figures(session)
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
        )
    if fmt == "csv":
        out.write_text(dashboard.as_csv(next(iter(frames.values()))), encoding="utf-8", newline="")
    elif fmt == "parquet":
        out.write_bytes(dashboard.as_parquet(next(iter(frames.values()))))
    else:
        for name, frame in frames.items():
            console.print(f"[bold]{name}[/bold]")
            console.print(str(frame))
        return
    console.print(f"Wrote {out}.")
