"""CPU cost per API request of bench/load.py's mix, in one process (no server, no network).

``bench/load.py`` measures throughput through a real server, which on a shared machine swings
with everyone else's load. This measures what the server process itself spends: it fills a
database exactly as ``bench/load.py`` does, builds the app as ``fullpicture serve`` builds it,
and sends the same weighted mix (who am I 2 : child chronology 5 : child harm summary 2 :
alerts list 1, each with an API token) through the ASGI app, ``--concurrency`` at a time, and
reports the process's CPU time (``time.process_time()``: every thread, not the database
server's) per request. ``--profile FILE`` writes a cProfile of the timed requests.

    PYTHONPATH=src .venv/bin/python bench/load_cpu.py [--requests 1000] [--postgres URL]
        [--concurrency 8] [--profile load.prof]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import secrets
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import event, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load
from fullpicture.core.database import make_engine


async def run_mix(
    app: object,
    people: list[str],
    tokens: list[str],
    *,
    requests: int,
    concurrency: int,
    seed: int,
    only: frozenset[str],
) -> dict[str, int]:
    rng = random.Random(seed)
    weights = {name: weight for name, weight in load.MIXES["full"].items() if name in only}
    plan = [
        (rng.choices(list(weights), weights=list(weights.values()))[0], rng.choice(people))
        for _ in range(requests)
    ]
    statuses: dict[str, int] = {}
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    queue = list(enumerate(plan))
    queue.reverse()

    async def user(token: str) -> None:
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            while queue:
                _, (name, person) = queue.pop()
                path = {
                    "me": "/api/v1/me",
                    "chronology": f"/api/v1/children/{person}/chronology",
                    "harm": f"/api/v1/children/{person}/harm",
                    "alerts": "/api/v1/alerts",
                }[name]
                status = (await client.get(path)).status_code
                key = f"{name} {status}"
                statuses[key] = statuses.get(key, 0) + 1

    await asyncio.gather(*(user(tokens[i % len(tokens)]) for i in range(concurrency)))
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--children", type=int, default=300)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--postgres", default="", help="PostgreSQL URL; a schema of its own")
    parser.add_argument(
        "--only", default="", help="comma-separated endpoints of the mix to send (default all)"
    )
    parser.add_argument("--profile", default="", help="write a cProfile of the timed requests")
    args = parser.parse_args()

    schema = None
    if args.postgres:
        schema = f"fp_loadcpu_{uuid.uuid4().hex[:10]}"
        admin = make_engine(args.postgres)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = f"{args.postgres}?options=-csearch_path%3D{schema}"
    else:
        workdir = Path(tempfile.mkdtemp(prefix="fullpicture-loadcpu-"))
        url = f"sqlite:///{workdir / 'load.sqlite3'}"
    try:
        people, tokens = load.populate(
            args.postgres or url, children=args.children, users=args.users, schema=schema
        )
        os.environ["FULLPICTURE_DATABASE_URL"] = url
        os.environ["FULLPICTURE_SESSION_SECRET"] = secrets.token_urlsafe(32)
        from fullpicture.cli.serve import serving_app
        from fullpicture.core import runtime, settings

        # Building the population read the settings; the app must see this database.
        settings.get_settings.cache_clear()
        runtime.get_engine.cache_clear()
        runtime.get_session_factory.cache_clear()

        app = serving_app()
        statements = 0

        def count_statement(*_: object) -> None:
            nonlocal statements
            statements += 1

        event.listen(runtime.get_engine(), "before_cursor_execute", count_statement)
        connections = 0

        def count_connection(*_: object) -> None:
            # Each is a PostgreSQL backend started (and, when the pool closes it, ended).
            nonlocal connections
            connections += 1

        event.listen(runtime.get_engine(), "connect", count_connection)
        groups = (
            [g.split(",") for g in args.only.split(";")]
            if args.only
            else [list(load.MIXES["full"])]
        )
        for group in groups:
            only = frozenset(group)
            asyncio.run(
                run_mix(
                    app,
                    people,
                    tokens,
                    requests=args.warmup,
                    concurrency=args.concurrency,
                    seed=1,
                    only=only,
                )
            )
            profiler = cProfile.Profile(time.thread_time) if args.profile else None
            thread_profilers: list[cProfile.Profile] = []
            if profiler:
                # Sync routes and dependencies run in worker threads, which cProfile does not
                # follow; each new thread (a new event loop starts new ones) gets its own.
                def start_thread_profiler(
                    *_: object, started: list[cProfile.Profile] = thread_profilers
                ) -> None:
                    sys.setprofile(None)
                    thread_profiler = cProfile.Profile(time.thread_time)
                    started.append(thread_profiler)
                    thread_profiler.enable()

                threading.setprofile(start_thread_profiler)
            statements = 0
            connections = 0
            calls = 0
            cpu, wall = time.process_time(), time.perf_counter()
            postgres_from = load.postgres_cpu()
            if profiler:
                profiler.enable()
            statuses = asyncio.run(
                run_mix(
                    app,
                    people,
                    tokens,
                    requests=args.requests,
                    concurrency=args.concurrency,
                    seed=2,
                    only=only,
                )
            )
            if profiler:
                profiler.disable()
                threading.setprofile(None)  # type: ignore[arg-type]
                stats = pstats.Stats(profiler, *thread_profilers)
                stats.dump_stats(args.profile)
                # Load-independent: Python function calls made per request (all threads).
                calls = stats.total_calls  # type: ignore[attr-defined]
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            # The local PostgreSQL's CPU, its ended backends with it (and other users' of it).
            database = load.spent_between(postgres_from, load.postgres_cpu())
            print(
                json.dumps(
                    {
                        "backend": "postgresql" if args.postgres else "sqlite",
                        "endpoints": sorted(only),
                        "requests": args.requests,
                        "concurrency": args.concurrency,
                        "cpu_ms_per_request": round(cpu * 1000 / args.requests, 2),
                        "postgres_cpu_ms_per_request": round(database * 1000 / args.requests, 2),
                        "statements_per_request": round(statements / args.requests, 2),
                        "connections_opened": connections,
                        "python_calls_per_request": round(calls / args.requests)
                        if profiler
                        else None,
                        "wall_s": round(wall, 2),
                        "statuses": statuses,
                        "profiled": bool(profiler),
                        "load_average": Path("/proc/loadavg").read_text().split()[:3],
                    }
                ),
                flush=True,
            )
    finally:
        if schema:
            from fullpicture.core.runtime import get_engine

            get_engine().dispose()
            admin = make_engine(args.postgres)
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
