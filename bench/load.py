"""API load: throughput and p50/p95/p99 latency at 50 concurrent users, on 127.0.0.1 only.

Builds a fresh SQLite database (or a PostgreSQL schema with --postgres URL) with one agency,
a few hundred children with records and chronology entries, and one practitioner (with an
API token) per simulated user; starts ``fullpicture serve`` on 127.0.0.1 in a subprocess; and
drives it with N concurrent users, each looping over a realistic mix: who am I, a child's
chronology (an audited read: every one appends to the hash-chained audit log), a child's harm
summary, and the alerts list. Bounded by --requests and --seconds. Prints a table and, as its
last line, one JSON object.

Before and after in one run: ``--baseline REV`` checks REV out into a temporary git worktree
and measures it first, served as that revision serves itself (its own code, its own database
built by its own bench/load.py, its own default server settings), then this checkout served
with ``--workers`` processes; each gets a fresh database and the same driver, --rounds times
in turn, and the last line gives both and their ratio.

    .venv/bin/python bench/load.py [--users 50] [--requests 3000] [--seconds 60] [--children 300]
        [--workers 2] [--baseline ff4c3cc --rounds 2] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.access.roles import Scope
from fullpicture.access.schemas import TokenCreate, UserCreate
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.chronology.models import (
    DatePrecision,
    Event,
    EventParticipant,
    InformationType,
    ParticipantRole,
)
from fullpicture.core import migrations
from fullpicture.core.database import make_engine, session_factory, unit_of_work
from fullpicture.people.models import Person, PersonRecordLink, SourceRecord

MIXES = {
    "full": {"me": 2, "chronology": 5, "harm": 2, "alerts": 1},
    "without-chronology": {"me": 2, "harm": 2, "alerts": 1},
}
HOST = "127.0.0.1"  # never anything else: this drives a real server hard
CONCERNS = ("PHY-INJ", "NEG-BAS", "WNB", "EDU-ATT", "DOM-ABU", "STR-ATT", "PRC-REF")


def populate(
    url: str, *, children: int, users: int, schema: str | None = None
) -> tuple[list[str], list[str]]:
    # The schema goes in connect_args here: Alembic's config cannot hold a '%' from the URL.
    engine = (
        make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        if schema
        else make_engine(url)
    )
    migrations.upgrade(engine)
    rng = random.Random(7)
    with unit_of_work(session_factory(engine)) as session:
        agency = Agency(code="school-load", name="Load Test School", kind=AgencyKind.SCHOOL)
        session.add(agency)
        session.flush()
        people: list[str] = []
        for index in range(children):
            person = Person()
            session.add(person)
            session.flush()
            ref = f"L{index:06d}"
            session.add(
                SourceRecord(
                    agency_id=agency.id,
                    record_ref=ref,
                    content_hash=uuid.uuid4().hex,
                    given_name="Sam",
                    family_name=f"Load{index}",
                    recorded_by="bench",
                )
            )
            session.add(
                PersonRecordLink(
                    person_id=person.id, agency_id=agency.id, record_ref=ref, method="confirmed"
                )
            )
            for number in range(6):
                session.add(
                    Event(
                        agency_id=agency.id,
                        event_ref=f"{ref}-E{number}",
                        content_hash=uuid.uuid4().hex,
                        event_date=__import__("datetime").date(2026, 1 + number, 10),
                        date_precision=DatePrecision.DAY,
                        concern_code=rng.choice(CONCERNS),
                        summary="Seen at school; noted for the chronology.",
                        information_type=InformationType.FACT,
                        recorded_by="bench",
                        participants=[
                            EventParticipant(record_ref=ref, role=ParticipantRole.SUBJECT)
                        ],
                    )
                )
            people.append(person.public_id)
        tokens: list[str] = []
        for index in range(users):
            user = access_service.create_user(
                db_session=session,
                user_in=UserCreate(
                    username=f"load-user-{index}",
                    display_name=f"Load User {index}",
                    role=Role.PRACTITIONER,
                    agency_code="school-load",
                    password=__import__("pydantic").SecretStr(secrets.token_urlsafe(18)),
                ),
                actor="bench",
            )
            plain, _ = access_service.issue_api_token(
                db_session=session,
                user=user,
                token_in=TokenCreate(
                    name="load", scopes=frozenset({Scope.CHILDREN_READ, Scope.CHILDREN_WRITE})
                ),
                actor="bench",
            )
            tokens.append(plain)
    engine.dispose()
    return people, tokens


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def start_server(
    url: str, port: int, log: Path, *, source: Path | None = None, workers: int = 0
) -> subprocess.Popen[bytes]:
    """``fullpicture serve`` from this checkout, or from ``source`` (another checkout's src)."""
    env = dict(
        os.environ,
        FULLPICTURE_DATABASE_URL=url,
        FULLPICTURE_SESSION_SECRET=secrets.token_urlsafe(32),
    )
    if source is not None:
        env["PYTHONPATH"] = str(source)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fullpicture.cli.main",
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            *(["--workers", str(workers)] if workers else []),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    # Several processes each building the app took 34 s to answer on a loaded machine.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(
                f"the server exited: {server.stderr.read().decode() if server.stderr else ''}"
            )
        try:
            if httpx.get(f"http://{HOST}:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start within 180 s")


class KeptAliveConnection:
    """One HTTP/1.1 keep-alive connection to the server, on asyncio streams: a GET with the
    user's token and the answer's status, its body read to the end and dropped.

    The driver shares the machine's cores with the server it measures; httpx spent about
    2 ms of CPU a request here, a sixth of what the server, PostgreSQL and the driver spent
    together (docs/benchmarks.md). This does what the load needs and no more."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.head = (
            f"GET {{}} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: */*\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        )
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        """The answer's status, or 0 when there was none (refused, cut off, over 60 s)."""
        try:
            async with asyncio.timeout(60):
                return await self._exchange(path)
        except (OSError, EOFError, ValueError, IndexError, TimeoutError):
            self.close()
            return 0

    async def _exchange(self, path: str) -> int:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        self.writer.write(self.head.format(path).encode())
        lines = (await self.reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length: int | None = None
        chunked = closing = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                closing = b"close" in value
        if chunked:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)  # the chunk and its CRLF
                if size == 0:
                    break
        elif length is not None:
            await self.reader.readexactly(length)
        else:
            await self.reader.read()  # the body runs to the end of the connection
            closing = True
        if closing:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


DRIVERS = ("streams", "httpx")


async def drive(
    port: int,
    people: list[str],
    tokens: list[str],
    *,
    requests: int,
    seconds: float,
    weights: dict[str, int],
    driver: str = "streams",
) -> tuple[list[tuple[str, int, float]], float]:
    """Each token's user sends the mix until ``requests`` are issued or ``seconds`` pass.
    ``driver``: "streams" (KeptAliveConnection) or "httpx" (httpx.AsyncClient, the driver
    until 2026-12-07); the same requests, order and status checks either way."""
    base = f"http://{HOST}:{port}"
    results: list[tuple[str, int, float]] = []
    issued = 0
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))

    async def send_mix(get: Callable[[str], Awaitable[int]], seed: int) -> None:
        nonlocal issued
        rng = random.Random(seed)
        while issued < requests and time.monotonic() < stop_at:
            issued += 1
            person = rng.choice(people)
            paths = {
                "me": "/api/v1/me",
                "chronology": f"/api/v1/children/{person}/chronology",
                "harm": f"/api/v1/children/{person}/harm",
                "alerts": "/api/v1/alerts",
            }
            name = rng.choices(list(weights), weights=list(weights.values()))[0]
            path = paths[name]
            started = time.perf_counter()
            status = await get(path)
            results.append((name, status, time.perf_counter() - started))

    async def user(token: str, seed: int) -> None:
        if driver == "streams":
            connection = KeptAliveConnection(port, token)
            try:
                await send_mix(connection.get, seed)
            finally:
                connection.close()
            return
        async with httpx.AsyncClient(
            base_url=base,
            headers={"Authorization": f"Bearer {token}"},
            limits=limits,
            timeout=60,
        ) as client:

            async def get(path: str) -> int:
                try:
                    return (await client.get(path)).status_code
                except httpx.HTTPError:
                    return 0

            await send_mix(get, seed)

    started = time.perf_counter()
    await asyncio.gather(*(user(token, index) for index, token in enumerate(tokens)))
    return results, time.perf_counter() - started


def process_tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds (user + system) of ``root`` and every process descended from it, by
    process id, from /proc (Linux); empty where /proc cannot say."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    spent: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        spent[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return {pid: spent[pid] for pid in tree if pid in spent}


def spent_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the processes alive at the end spent since ``before`` (all of it for one
    started since); what a process that ended in between spent is not counted."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def postmaster() -> int | None:
    """The local PostgreSQL server's first process (the one whose parent is not PostgreSQL)."""
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "postgres":
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if (Path("/proc") / str(parent) / "comm").read_text().strip() != "postgres":
                    return int(entry.name)
        except (OSError, ValueError):
            continue
    return None


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of the local PostgreSQL server's processes (the postmaster's tree: its
    backends, including other users' of the same server), by process id; under the key -1,
    what its backends that have ended spent (the postmaster's reaped children's time), so a
    connection opened and closed during a drive is counted here and not in "the rest"."""
    root = postmaster()
    if root is None:
        return {}
    spent = process_tree_cpu(root)
    try:
        fields = (Path("/proc") / str(root) / "stat").read_text().rsplit(")", 1)[1].split()
        spent[-1] = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    return spent


def machine_busy_cpu() -> float:
    """CPU seconds every core of the machine has spent busy since boot (/proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def baseline_checkout(revision: str, into: Path) -> Path:
    """REV checked out (detached) into a temporary worktree of this repository."""
    repo = Path(__file__).resolve().parent.parent
    subprocess.run(
        ["git", "-C", str(repo), "worktree", "add", "--detach", "--quiet", str(into), revision],
        check=True,
    )
    return into


def populate_with(
    checkout: Path, url: str, *, children: int, users: int, schema: str | None
) -> tuple[list[str], list[str]]:
    """``populate`` as another checkout's own bench/load.py does it, with its own code and
    migrations (its schema may differ from this checkout's)."""
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import load; "
        "people, tokens = load.populate(sys.argv[2], children=int(sys.argv[3]), "
        "users=int(sys.argv[4]), schema=sys.argv[5] or None); "
        "print(json.dumps([people, tokens]))"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            str(checkout / "bench"),
            url,
            str(children),
            str(users),
            schema or "",
        ],
        env=dict(os.environ, PYTHONPATH=str(checkout / "src")),
        check=True,
        capture_output=True,
    )
    people, tokens = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return people, tokens


def measure(
    args: argparse.Namespace,
    workdir: Path,
    label: str,
    *,
    checkout: Path | None,
    workers: int,
) -> tuple[list[tuple[str, int, float]], float, dict[str, float]]:
    """One fresh database, one server, one drive; the database is dropped afterwards."""
    schema = None
    if args.postgres:
        schema = f"fp_load_{uuid.uuid4().hex[:10]}"
        admin = make_engine(args.postgres)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = f"{args.postgres}?options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{workdir / f'load-{label}-{uuid.uuid4().hex[:6]}.sqlite3'}"
    populate_url = args.postgres or url
    try:
        if checkout is None:
            people, tokens = populate(
                populate_url, children=args.children, users=args.users, schema=schema
            )
        else:
            people, tokens = populate_with(
                checkout, populate_url, children=args.children, users=args.users, schema=schema
            )
        port = free_port()
        server = start_server(
            url,
            port,
            workdir / f"server-{label}.log",
            source=checkout / "src" if checkout else None,
            workers=workers,
        )
        try:
            driver_from, server_from = own_cpu(), process_tree_cpu(server.pid)
            postgres_from, machine_from = postgres_cpu(), machine_busy_cpu()
            results, elapsed = asyncio.run(
                drive(
                    port,
                    people,
                    tokens,
                    requests=args.requests,
                    seconds=args.seconds,
                    weights=MIXES[args.mix],
                    driver=args.driver,
                )
            )
            driver = own_cpu() - driver_from
            served = spent_between(server_from, process_tree_cpu(server.pid))
            database = spent_between(postgres_from, postgres_cpu())
            machine = machine_busy_cpu() - machine_from
            # Per request, in ms: what the driver itself spent (it shares the cores with the
            # server under test), the server's processes, and the rest of the machine
            # (anything else running). PostgreSQL's processes are counted with other users' of
            # it, and with its backends that ended during the drive (until 2026-12-07 those
            # went to the rest: a server opening and closing connections looked cheaper).
            per_request = 1000 / max(1, len(results))
            cpu = {
                "driver_cpu_ms_per_request": round(driver * per_request, 2),
                "server_cpu_ms_per_request": round(served * per_request, 2),
                "postgres_cpu_ms_per_request": round(database * per_request, 2),
                "rest_cpu_ms_per_request": round(
                    max(0.0, machine - driver - served - database) * per_request, 2
                ),
            }
            return results, elapsed, cpu
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    finally:
        if schema:
            admin = make_engine(args.postgres)
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


def summarise(
    args: argparse.Namespace,
    title: str,
    results: list[tuple[str, int, float]],
    elapsed: float,
    cpu: dict[str, float],
    console: Console,
) -> dict[str, Any]:
    table = Table("endpoint", "requests", "errors", "p50 ms", "p95 ms", "p99 ms", title=title)
    summary: dict[str, Any] = {}
    for name in sorted({r[0] for r in results}):
        latencies = [r[2] for r in results if r[0] == name]
        errors = sum(1 for r in results if r[0] == name and not 200 <= r[1] < 300)
        row = {
            "requests": len(latencies),
            "errors": errors,
            "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
            "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        }
        summary[name] = row
        table.add_row(name, *(str(v) for v in row.values()))
    all_latencies = [r[2] for r in results]
    errors = sum(1 for r in results if not 200 <= r[1] < 300)
    overall = {
        "backend": "postgresql" if args.postgres else "sqlite",
        "mix": args.mix,
        "driver": args.driver,
        "users": args.users,
        "requests": len(results),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "throughput_rps": round(len(results) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(all_latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(all_latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(all_latencies, 0.99) * 1000, 1),
        "statuses": {
            str(s): sum(1 for r in results if r[1] == s) for s in sorted({r[1] for r in results})
        },
        "endpoints": summary,
        **cpu,
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
        "load_average": Path("/proc/loadavg").read_text().split()[:3]
        if Path("/proc/loadavg").exists()
        else None,
    }
    table.add_row(
        "all",
        str(len(results)),
        str(errors),
        str(overall["p50_ms"]),
        str(overall["p95_ms"]),
        str(overall["p99_ms"]),
    )
    console.print(table)
    console.print(
        f"{title}: throughput {overall['throughput_rps']} requests/s over {overall['seconds']} s;"
        f" CPU ms a request: driver {cpu['driver_cpu_ms_per_request']}, server"
        f" {cpu['server_cpu_ms_per_request']}, PostgreSQL {cpu['postgres_cpu_ms_per_request']},"
        f" rest of the machine"
        f" {cpu['rest_cpu_ms_per_request']}"
    )
    return overall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--children", type=int, default=300)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="server processes for this checkout (default: the cores)",
    )
    parser.add_argument(
        "--baseline",
        default="",
        help="git revision to measure first, as it serves itself, for a before/after ratio",
    )
    parser.add_argument("--rounds", type=int, default=1, help="baseline then this, N times")
    parser.add_argument(
        "--postgres", default="", help="PostgreSQL URL; a schema of its own is used"
    )
    parser.add_argument(
        "--driver",
        choices=DRIVERS,
        default="streams",
        help="the client: streams (asyncio, light) or httpx (the driver before 2026-12-07)",
    )
    parser.add_argument(
        "--mix",
        choices=sorted(MIXES),
        default="full",
        help="full: me 2, chronology 5, harm 2, alerts 1; without-chronology drops chronology",
    )
    args = parser.parse_args()
    if args.users < 1 or args.requests < 1 or args.seconds <= 0 or args.rounds < 1:
        raise SystemExit("users, requests, seconds and rounds must be positive")
    if args.workers < 1:
        raise SystemExit("workers must be at least 1")

    workdir = Path(tempfile.mkdtemp(prefix="fullpicture-load-"))
    console = Console()
    checkout = baseline_checkout(args.baseline, workdir / "baseline") if args.baseline else None
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "this": []}
    try:
        for round_number in range(1, args.rounds + 1):
            plan: list[tuple[str, Path | None, int]] = []
            if checkout is not None:
                plan.append(("baseline", checkout, 0))
            plan.append(("this", None, args.workers))
            for label, source, workers in plan:
                results, elapsed, cpu = measure(
                    args, workdir, f"{label}-{round_number}", checkout=source, workers=workers
                )
                title = (
                    f"round {round_number}: baseline {args.baseline} (its own server settings)"
                    if label == "baseline"
                    else f"round {round_number}: this checkout, {args.workers} worker processes"
                )
                runs[label].append(summarise(args, title, results, elapsed, cpu, console))
    finally:
        if checkout is not None:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(checkout)],
                cwd=Path(__file__).resolve().parent.parent,
                check=False,
            )
    overall = runs["this"][-1]
    if checkout is not None:
        before = sum(r["throughput_rps"] for r in runs["baseline"]) / args.rounds
        after = sum(r["throughput_rps"] for r in runs["this"]) / args.rounds
        overall = {
            "baseline_revision": args.baseline,
            "workers": args.workers,
            "rounds": args.rounds,
            "baseline_throughput_rps": round(before, 1),
            "this_throughput_rps": round(after, 1),
            "ratio": round(after / before, 2) if before else None,
            "baseline_runs": runs["baseline"],
            "this_runs": runs["this"],
        }
        console.print(
            f"throughput: baseline {before:.1f} requests/s, this checkout {after:.1f} "
            f"requests/s, ratio {overall['ratio']} (mean of {args.rounds} round(s))"
        )
    print(json.dumps(overall))


if __name__ == "__main__":
    main()
