"""``fullpicture agency``: the register of agencies whose feeds are accepted."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import select

from fullpicture.agencies import service as agency_service
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.agencies.schemas import AgencyCreate
from fullpicture.cli.console import console, err_console
from fullpicture.core.database import unit_of_work
from fullpicture.core.runtime import get_session_factory

app = typer.Typer(
    help="Register the agencies whose feeds fullpicture accepts.", no_args_is_help=True
)


@app.command("add")
def add(
    code: str = typer.Argument(..., help="Short stable code used in feeds, e.g. school-oakfield."),
    name: str = typer.Option(..., "--name", help="The agency's name."),
    kind: AgencyKind = typer.Option(..., "--kind", help="What kind of agency it is."),
) -> None:
    """Register one agency (or rename it).

    Example: fullpicture agency add gp-ashdown --name "Ashdown Surgery" --kind gp
    """
    with unit_of_work(get_session_factory()) as session:
        agency = agency_service.register(
            db_session=session, agency_in=AgencyCreate(code=code, name=name, kind=kind)
        )
        console.print(f"Registered {agency.code} ({agency.kind.value}): {agency.name}")


@app.command("load")
def load(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV: code,name,kind"),
) -> None:
    """Register every agency listed in a CSV file (all rows or none).

    Example: fullpicture agency load var/demo-feeds/agencies.csv
    """
    try:
        with unit_of_work(get_session_factory()) as session:
            agencies = agency_service.register_from_csv(db_session=session, path=path)
    except agency_service.AgencyFileError as exc:
        err_console.print(f"[red]Nothing registered.[/red] {exc}")
        raise typer.Exit(code=2) from exc
    console.print(f"Registered {len(agencies)} agencies from {path}.")


@app.command("list")
def list_agencies() -> None:
    """List registered agencies.

    Example: fullpicture agency list
    """
    with unit_of_work(get_session_factory()) as session:
        rows = session.scalars(select(Agency).order_by(Agency.code)).all()
        table = Table("code", "kind", "name")
        for agency in rows:
            table.add_row(agency.code, agency.kind.value, agency.name)
    console.print(table)
