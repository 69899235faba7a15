"""Find a child at 20,001 children: three searches timed through the web app (issue 14).

Builds a PostgreSQL database with ``bench/web.py``'s ``populate`` (--background-children
children with two agency records each, all in the linkage index; a few events, since the
search's cost follows records and children, not events), analyses it, signs in the pooled
children's social care worker and times --requests requests of each search in process (the
ASGI app as ``fullpicture serve`` builds it, garbage collector tuned), printing p50/p95/max,
what each search found (children shown, more, held elsewhere: the same before and after a
change) and one JSON line with the load average.

--database NAME keeps the database (created and filled if it does not exist, reused as it is
if it does, a new bench user signed in), so code before and after a change can be timed on
the same data back to back (bring it to the newer code's migrations with
``FULLPICTURE_DATABASE_URL=... fullpicture db upgrade`` first: the older code runs on it
unchanged); drop it with --drop.

    .venv/bin/python bench/find.py [--requests 40] [--database bench_find_NAME [--drop]]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
import uuid
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.access.schemas import UserCreate
from fullpicture.cli.serve import serving_app
from fullpicture.core import migrations
from fullpicture.core.database import make_engine, session_factory, unit_of_work
from fullpicture.core.runtime import request_session
from web import POSTGRES, _load_average, _percentiles, found_on, populate

#: What the last session profiled: a full name misspelt both ways (a sound-alike each), a
#: common surname alone (hundreds of children, more than are shown) and a date of birth.
SEARCHES = {
    "full_name_misspelt": {"name": "Amelya Okafur"},
    "surname_alone": {"name": "Okafor"},
    "date_of_birth": {"dob_day": "4", "dob_month": "3", "dob_year": "2015"},
}


def _admin(args: argparse.Namespace) -> Engine:
    return make_engine(args.postgres, isolation_level="AUTOCOMMIT")


def _database(args: argparse.Namespace) -> tuple[Engine, str, bool]:
    """(engine, database name, whether it must be filled)."""
    database = args.database or f"bench_find_{uuid.uuid4().hex[:8]}"
    admin = _admin(args)
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
        ).scalar()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    engine = make_engine(make_url(args.postgres).set(database=database).render_as_string(False))
    if not exists:
        migrations.upgrade(engine)
    return engine, database, not exists


def _drop(args: argparse.Namespace, database: str) -> None:
    admin = _admin(args)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()


def _bench_user(engine: Engine, password: str) -> str:
    username = f"bench.find.{uuid.uuid4().hex[:8]}"
    with unit_of_work(session_factory(engine)) as session:
        access_service.create_user(
            db_session=session,
            user_in=UserCreate(
                username=username,
                display_name="Bench social worker",
                role=Role.SOCIAL_WORKER,
                agency_code="bench-csc",
                password=SecretStr(password),
            ),
            actor="bench",
        )
    return username


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--background-children", type=int, default=20_000)
    parser.add_argument("--background-events", type=int, default=20_000)
    parser.add_argument("--entries", type=int, default=100)
    parser.add_argument(
        "--postgres", default=os.environ.get("FULLPICTURE_TEST_POSTGRES_URL", POSTGRES)
    )
    parser.add_argument("--database", default="", help="keep (or reuse) this database")
    parser.add_argument("--drop", action="store_true", help="drop --database at the end")
    args = parser.parse_args()
    password = "Bench-" + uuid.uuid4().hex
    engine, database, fill = _database(args)
    try:
        started = time.perf_counter()
        if fill:
            populate(engine, args, password)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                # As autovacuum would on a live server (bench/web.py does the same).
                connection.execute(text("VACUUM (ANALYZE)"))
        build_seconds = time.perf_counter() - started
        username = _bench_user(engine, password)
        factory = session_factory(engine)
        app = serving_app()

        def _session() -> Any:
            with factory.begin() as session:
                yield session

        app.dependency_overrides[request_session] = _session
        results: dict[str, Any] = {}
        with TestClient(app) as client:
            form = client.get("/sign-in")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert csrf
            client.post(
                "/sign-in",
                data={"username": username, "password": password, "csrf_token": csrf.group(1)},
            )
            for name, params in SEARCHES.items():
                first = client.get("/children", params=params)
                assert first.status_code == 200, first.text[:500]
                found = found_on(first.text)
                times = []
                for _ in range(args.requests):
                    begun = time.perf_counter()
                    response = client.get("/children", params=params)
                    times.append(time.perf_counter() - begun)
                    assert response.status_code == 200
                results[name] = {
                    **_percentiles(times),
                    "shown": len(found["shown"]),
                    "more": found["more"],
                    "held_elsewhere": found["held_elsewhere"],
                    # The children shown, in order: compare runs before and after a change.
                    "shown_digest": uuid.uuid5(uuid.NAMESPACE_OID, " ".join(found["shown"])).hex[
                        :12
                    ],
                }
        summary = {
            "backend": engine.dialect.name,
            "database": database,
            "children": args.background_children + 1,
            "requests_each": args.requests,
            "build_seconds": round(build_seconds, 1) if fill else None,
            "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
            "load_average": _load_average(),
            **results,
        }
        for name, found in results.items():
            print(
                f"{name:20} p50 {found['p50_ms']} ms  p95 {found['p95_ms']} ms  "
                f"max {found['max_ms']} ms  (shown {found['shown']}, more {found['more']}, "
                f"held elsewhere {found['held_elsewhere']}, {found['shown_digest']})"
            )
        print(json.dumps(summary))
    finally:
        engine.dispose()
        if not args.database or args.drop:
            _drop(args, database)


if __name__ == "__main__":
    main()
