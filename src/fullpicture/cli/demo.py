"""``fullpicture demo``: a working fullpicture on this machine in one command.

It builds a fresh embedded database (or reuses ``FULLPICTURE_DATABASE_URL`` when set), writes a
small synthetic population under ``FULLPICTURE_DATA_DIR/demo``, and runs every agency's feed
through the one ingest flow (import, linkage into people and households, cumulative harm and
its alerts); then it creates a sign-in for each of the practitioners the web app is built
for, front door, social worker, school lead and health visitor (or gives them a new password on
a re-run), and serves the web app on 127.0.0.1.
"""

from __future__ import annotations

import csv
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import typer
from pydantic import SecretStr
from sqlalchemy import func, select

from fullpicture.access import repository as access_repository
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
from fullpicture.harm.models import HarmAlert
from fullpicture.imports import flows as import_flows
from fullpicture.imports.follow_up import LargeBatch
from fullpicture.people.models import Household, Person
from fullpicture.synth import service as synth_service

DEMO_USER = "demo.frontdoor"


@dataclass(frozen=True)
class DemoSignIn:
    username: str
    display_name: str
    role: Role
    agency_kind: AgencyKind


#: One sign-in for each practitioner issue 14 builds the web app for, so the demo shows each
#: their own view (what a school may see is not what the front door may); one password for all.
DEMO_SIGN_INS = (
    DemoSignIn(
        DEMO_USER,
        "Demo front-door (MASH) worker",
        Role.FRONT_DOOR,
        AgencyKind.CHILDRENS_SOCIAL_CARE,
    ),
    DemoSignIn(
        "demo.socialworker",
        "Demo social worker",
        Role.SOCIAL_WORKER,
        AgencyKind.CHILDRENS_SOCIAL_CARE,
    ),
    DemoSignIn(
        "demo.schoollead",
        "Demo designated safeguarding lead",
        Role.DESIGNATED_LEAD,
        AgencyKind.SCHOOL,
    ),
    DemoSignIn(
        "demo.healthvisitor", "Demo health visitor", Role.PRACTITIONER, AgencyKind.HEALTH_VISITING
    ),
)


def demo(
    port: int = typer.Option(8000, "--port", help="Port for the web app on 127.0.0.1."),
    children: int = typer.Option(300, "--children", min=10, help="Children in the population."),
    seed: int = typer.Option(7, "--seed", help="Seed for the synthetic population."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Start the web app at the end."),
) -> None:
    """Set up a demo: synthetic population imported, linked into people and households,
    scored, a sign-in made, and the web app served. Safe to run again.

    Every file it writes is under FULLPICTURE_DATA_DIR/demo (default var/demo). Without
    FULLPICTURE_DATABASE_URL it uses a fresh SQLite file there, reset on each run; with it, the
    database is reused (the import changes nothing the second time) and the demo user gets a
    new password.

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
    if population.exists():
        shutil.rmtree(population)  # the same seed writes the same population again
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
    with (
        console.status("Importing every agency's feed, linking, building households, scoring"),
        unit_of_work(factory) as session,
    ):
        # The one ingest flow the CLI and the API use; a whole population is linked and
        # scored in batch rather than record by record.
        ingested = import_flows.ingest_feed(
            db_session=session, paths=feeds, actor="demo", large_batch=LargeBatch.RUN
        )
    if ingested.failure is not None or ingested.result is None or ingested.follow_up is None:
        err_console.print(f"[red]The demo import failed:[/red] {ingested.failure}")
        raise typer.Exit(code=1)
    outcome = ingested.follow_up
    console.print(
        f"[bold]Imports[/bold] {len(feeds)} feeds, {len(ingested.result.quarantined)} rows "
        "quarantined"
    )
    with runtime.get_session_factory()() as session:
        people = session.scalar(select(func.count()).select_from(Person)) or 0
        households = session.scalar(select(func.count()).select_from(Household)) or 0
        alerts = session.scalar(select(func.count()).select_from(HarmAlert)) or 0
    console.print(
        f"[bold]Linkage[/bold] {outcome.records_linked} new or changed records; "
        f"{people} people in {households} households"
    )
    console.print(
        f"[bold]Cumulative harm[/bold] {outcome.children_rescored} children scored, "
        f"{len(outcome.alert_ids)} new alerts ({alerts} in all) with their evidence"
    )

    password = secrets.token_urlsafe(12)
    with unit_of_work(factory) as session:
        for sign_in in DEMO_SIGN_INS:
            existing = access_repository.user_by_username(session, sign_in.username)
            if existing is None:
                access_service.create_user(
                    db_session=session,
                    user_in=UserCreate(
                        username=sign_in.username,
                        display_name=sign_in.display_name,
                        role=sign_in.role,
                        agency_code=_agency_of_kind(population, sign_in.agency_kind),
                        password=SecretStr(password),
                    ),
                    actor="demo",
                )
            else:
                # Run again on the same database: the account stays, with a password shown now.
                access_service.set_password(
                    db_session=session, user=existing, password=password, actor="demo"
                )
    console.print(f"Ready in {time.perf_counter() - started:.0f} s.")
    console.print(
        f"[bold]Demo sign-in[/bold]: user [cyan]{DEMO_USER}[/cyan] password [cyan]{password}[/cyan]"
    )
    others = ", ".join(
        f"[cyan]{s.username}[/cyan] ({s.display_name.removeprefix('Demo ')})"
        for s in DEMO_SIGN_INS
        if s.username != DEMO_USER
    )
    console.print(f"Each other role, with the same password: {others}")
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


def _agency_of_kind(population: Path, kind: AgencyKind) -> str:
    """The first agency of this kind the synthetic population registered."""
    with (population / "agencies.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["kind"] == kind.value:
                return row["code"]
    err_console.print(f"[red]The synthetic population has no {kind.value} agency.[/red]")
    raise typer.Exit(code=1)
