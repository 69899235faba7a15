"""``fullpicture serve``: run the web app and API."""

from __future__ import annotations

import gc
import os
from typing import Any

import typer
import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from fullpicture.cli.console import console
from fullpicture.core import migrations
from fullpicture.core.runtime import get_engine
from fullpicture.core.settings import get_settings, session_signing_key

# Python's collector walks every tracked object when the oldest generation fills; a child's
# page allocates tens of thousands of short-lived objects, so with the app's own (import-
# time, permanent) objects in that walk a full collection landed inside a request and took
# a third of a 2,000-entry page's time (bench/web.py). Those objects are frozen out of the
# walk once the app is built, and the young generation is collected less often.
GC_THRESHOLDS = (50_000, 20, 100)


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(
        0,
        min=0,
        max=32,
        help="Server processes; 0 means FULLPICTURE_WEB_WORKERS (default: one per core on "
        "PostgreSQL, one on SQLite).",
    ),
) -> None:
    """Serve the web app and REST API (OpenAPI docs at /api/docs).

    Example: fullpicture serve --port 8000 --workers 2
    """
    if not migrations.is_up_to_date(get_engine()):
        console.print("[red]The database is not up to date.[/red] Run: fullpicture db upgrade")
        raise typer.Exit(code=1)
    run_server(host=host, port=port, workers=workers or default_workers())


def default_workers() -> int:
    """``FULLPICTURE_WEB_WORKERS``, or one process per core on PostgreSQL: each process runs
    Python on one core at a time, and on this project's 2-core machine the second process was
    worth about 40 % more API requests a second (docs/benchmarks.md). SQLite takes one writer
    at a time and every read here writes (the audit log), so it keeps one process."""
    configured = get_settings().web_workers
    if configured:
        return configured
    if get_engine().dialect.name != "postgresql":
        return 1
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


def serving_app() -> FastAPI:
    """The app as a server process runs it: built once, then its objects kept out of the
    garbage collector's full walks (``GC_THRESHOLDS``)."""
    from fullpicture.web.app import create_app

    app = create_app()
    tune_garbage_collection()
    return app


def tune_garbage_collection() -> None:
    """Freeze what exists now (the app, its routes, templates, models) out of collection
    and raise the young generation's threshold; for a long-lived server process only."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run_server(*, host: str, port: int, workers: int = 1) -> None:
    console.print(
        f"fullpicture is serving on [bold]http://{host}:{port}/[/bold] (API docs: /api/docs)"
        + (f" with {workers} processes" if workers > 1 else "")
    )
    if workers == 1:
        uvicorn.Server(server_config(serving_app(), host=host, port=port)).run()
        return
    # Each process imports and builds the app itself (uvicorn's factory), so none shares a
    # database connection or a garbage-collector state with another. They must share the
    # session key, though, or a cookie signed by one process is refused by the next.
    if not get_settings().session_secret.get_secret_value():
        os.environ["FULLPICTURE_SESSION_SECRET"] = session_signing_key()
    # A process builds the app in seconds, many more on a busy machine; uvicorn's 5 s wait
    # for its first answer restarted processes that were still starting, over and over.
    config = server_config(
        "fullpicture.cli.serve:serving_app",
        host=host,
        port=port,
        factory=True,
        workers=workers,
        timeout_worker_healthcheck=120,
    )
    socket = config.bind_socket()
    Multiprocess(config, sockets=[socket]).run()


def server_config(app: Any, *, host: str, port: int, **options: Any) -> uvicorn.Config:
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
        **options,
    )
