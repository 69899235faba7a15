"""``fullpicture serve``: run the web app and API."""

from __future__ import annotations

from typing import Any

import typer
import uvicorn

from fullpicture.cli.console import console
from fullpicture.core import migrations
from fullpicture.core.runtime import get_engine
from fullpicture.core.settings import get_settings


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Serve the web app and REST API (OpenAPI docs at /api/docs).

    Example: fullpicture serve --port 8000
    """
    if not migrations.is_up_to_date(get_engine()):
        console.print("[red]The database is not up to date.[/red] Run: fullpicture db upgrade")
        raise typer.Exit(code=1)
    run_server(host=host, port=port)


def run_server(*, host: str, port: int) -> None:
    from fullpicture.web.app import create_app

    console.print(
        f"fullpicture is serving on [bold]http://{host}:{port}/[/bold] (API docs: /api/docs)"
    )
    uvicorn.Server(server_config(create_app(), host=host, port=port)).run()


def server_config(app: Any, *, host: str, port: int) -> uvicorn.Config:
    """How uvicorn serves the app: with h11, which stops reading a request head at
    ``max_request_header_bytes`` and answers 400 (httptools, uvicorn's default when
    installed, reads a head of any size: a 32 MB header was accepted, issue 12 finding 11).
    Bodies are capped by the app's ``BodyLimitMiddleware``."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        http="h11",
        h11_max_incomplete_event_size=get_settings().max_request_header_bytes,
    )
