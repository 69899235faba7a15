"""``fullpicture db``: database migrations."""

from __future__ import annotations

import typer

from fullpicture.cli.console import console
from fullpicture.core import migrations
from fullpicture.core.runtime import get_engine

app = typer.Typer(help="Database schema commands.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(
    revision: str = typer.Argument(
        "heads", help="Target revision; every capability's head by default."
    ),
) -> None:
    """Apply migrations to the configured database.

    Example: FULLPICTURE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/test fullpicture db upgrade
    """
    engine = get_engine()
    migrations.upgrade(engine, revision)
    console.print(
        f"Database at [bold]{engine.url.render_as_string(hide_password=True)}[/bold] "
        f"is at {', '.join(sorted(migrations.current_heads(engine)))}."
    )


@app.command("status")
def status() -> None:
    """Say whether the database has every migration applied.

    Example: fullpicture db status
    """
    engine = get_engine()
    current = migrations.current_heads(engine)
    expected = migrations.expected_heads()
    if current == expected:
        console.print(f"Up to date ({', '.join(sorted(current))}).")
        return
    console.print(
        f"Behind: at {', '.join(sorted(current)) or 'nothing'}, expected {', '.join(sorted(expected))}. "
        "Run: fullpicture db upgrade"
    )
    raise typer.Exit(code=1)
