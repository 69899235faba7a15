"""``fullpicture demo``: a working fullpicture on this machine in one command.

It builds a fresh embedded database (or uses ``FULLPICTURE_DATABASE_URL`` when set), writes a
small synthetic population, imports every agency's feed, links the records into people, scores
cumulative harm and raises its alerts, creates
a demo sign-in with a random password, and serves the web app on 127.0.0.1.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import secrets
import shutil
import time
from pathlib import Path

import typer
from pydantic import SecretStr

from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.access.schemas import UserCreate
from fullpicture.agencies import service as agency_service
from fullpicture.agencies.models import AgencyKind
from fullpicture.cli.console import console, err_console
from fullpicture.cli.serve import run_server
from fullpicture.core import migrations, runtime
from fullpicture.core.database import unit_of_work
from fullpicture.core.settings import get_settings
from fullpicture.harm import service as harm_service
from fullpicture.imports import flows as import_flows
from fullpicture.linkage import service as linkage_service
from fullpicture.linkage.rules import default_rules
from fullpicture.synth import service as synth_service

DEMO_USER = "demo.frontdoor"


def demo(
    port: int = typer.Option(8000, "--port", help="Port for the web app on 127.0.0.1."),
    children: int = typer.Option(300, "--children", min=10, help="Children in the population."),
    seed: int = typer.Option(7, "--seed", help="Seed for the synthetic population."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Start the web app at the end."),
) -> None:
    """Set up a demo: fresh database, synthetic population imported and linked, web app served.

    Uses a fresh SQLite file under var/demo/ unless FULLPICTURE_DATABASE_URL is set.

    Example: fullpicture demo --port 8000
    """
    started = time.perf_counter()
    demo_dir = get_settings().data_dir / "demo"
    if not os.environ.get("FULLPICTURE_DATABASE_URL"):
        if demo_dir.exists():
            shutil.rmtree(demo_dir)
        demo_dir.mkdir(parents=True)
        os.environ["FULLPICTURE_DATABASE_URL"] = (
            f"sqlite:///{(demo_dir / 'fullpicture.sqlite3').as_posix()}"
        )
        _forget_cached_configuration()
    engine = runtime.get_engine()
    console.print(f"[bold]Database[/bold] {engine.url.render_as_string(hide_password=True)}")
    migrations.upgrade(engine)

    population = demo_dir / "population"
    with console.status(f"Synthesising {children} children and their households"):
        manifest = synth_service.generate(children=children, seed=seed, out=population)
    console.print(
        f"[bold]Synthetic population[/bold] written to {population} ({_counts(manifest)})"
    )

    factory = runtime.get_session_factory()
    with unit_of_work(factory) as session:
        agencies = agency_service.register_from_csv(
            db_session=session, path=population / "agencies.csv"
        )
    console.print(f"[bold]Agencies[/bold] {len(agencies)} registered")

    feeds = sorted(p for p in (population / "feeds").iterdir() if p.is_dir())
    quarantined = 0
    with console.status("Importing each agency's feed"):
        for feed in feeds:
            result = import_flows.run_import(
                session_factory=factory, paths=[feed], imported_by="demo"
            )
            quarantined += len(result.quarantined)
    console.print(f"[bold]Imports[/bold] {len(feeds)} feeds, {quarantined} rows quarantined")

    with console.status("Linking records into people"), unit_of_work(factory) as session:
        run = linkage_service.link_database(
            db_session=session, rules=default_rules(), started_by="demo"
        )
        link_counts = dict(run.counts)
    console.print(
        f"[bold]Linkage[/bold] {link_counts.get('records', 0)} records into "
        f"{link_counts.get('persons', link_counts.get('people', '?'))} people, "
        f"{link_counts.get('review_queued', 0)} pairs queued for review"
    )

    with (
        console.status("Scoring cumulative harm for every child"),
        unit_of_work(factory) as session,
    ):
        scored = harm_service.score_population(db_session=session, as_of=dt.date.today())
        alerts = harm_service.record_alerts(db_session=session, result=scored)
    console.print(
        f"[bold]Cumulative harm[/bold] {scored.scores.num_rows} children scored, "
        f"{len(alerts)} alerts raised with their evidence"
    )

    password = secrets.token_urlsafe(12)
    with unit_of_work(factory) as session:
        access_service.create_user(
            db_session=session,
            user_in=UserCreate(
                username=DEMO_USER,
                display_name="Demo front-door (MASH) worker",
                role=Role.FRONT_DOOR,
                agency_code=_front_door_agency(population),
                password=SecretStr(password),
            ),
            actor="demo",
        )
    console.print(f"Ready in {time.perf_counter() - started:.0f} s.")
    console.print(
        f"[bold]Demo sign-in[/bold]: user [cyan]{DEMO_USER}[/cyan] password [cyan]{password}[/cyan]"
    )
    if serve:
        run_server(host="127.0.0.1", port=port)


def _forget_cached_configuration() -> None:
    get_settings.cache_clear()
    runtime.get_engine.cache_clear()
    runtime.get_session_factory.cache_clear()


def _counts(manifest: dict[str, object]) -> str:
    counts = manifest.get("counts")
    if not isinstance(counts, dict):
        return "no counts"
    return ", ".join(f"{value} {key}" for key, value in counts.items() if isinstance(value, int))


def _front_door_agency(population: Path) -> str:
    with (population / "agencies.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["kind"] == AgencyKind.CHILDRENS_SOCIAL_CARE.value:
                return row["code"]
    err_console.print("[red]The synthetic population has no children's social care agency.[/red]")
    raise typer.Exit(code=1)
