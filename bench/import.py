"""Import speed: events per second into SQLite and PostgreSQL, beside row-by-row ORM inserts.

Generates its own deterministic feed (records and the events that refer to them), imports it
into a fresh SQLite file and a fresh PostgreSQL schema with ``fullpicture.imports``, and
times a baseline that adds the same events one ORM object at a time (on a smaller sample,
reported per second so the figures compare). Prints a table, the ratios, and as its last line
one JSON object with every figure.

    .venv/bin/python bench/import.py [--events 200000] [--records 50000] [--baseline 5000]
                                     [--format csv|jsonl|parquet]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fullpicture.agencies import service as agency_service
from fullpicture.agencies.models import AgencyKind
from fullpicture.agencies.schemas import AgencyCreate
from fullpicture.chronology.models import (
    DatePrecision,
    Event,
    EventParticipant,
    InformationType,
    ParticipantRole,
)
from fullpicture.core import migrations
from fullpicture.core.database import make_engine, session_factory, unit_of_work, utc_now
from fullpicture.imports.flows import run_import
from fullpicture.wiring import connect_capabilities

POSTGRES_URL = os.environ.get(
    "FULLPICTURE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
AGENCIES = [
    ("school-oakfield", AgencyKind.SCHOOL),
    ("gp-ashdown", AgencyKind.GP),
    ("police-met-south", AgencyKind.POLICE),
    ("hospital-croydon-ed", AgencyKind.HOSPITAL),
    ("hv-croydon", AgencyKind.HEALTH_VISITING),
]
CODES = ["WNB", "EDU-ATT", "NEG-BAS", "DOM-ABU", "HOU-INS", "PAR-MH", "STR-ENG", "PRC-REF"]
ROLES = ["subject", "victim", "witness", "household_member"]
SUMMARIES = [
    "Not brought to the dental appointment; second in three months.",
    "Attended school hungry and in the same clothes as yesterday.",
    "Police attended a verbal argument between adults; children present upstairs.",
    "Attended ED with a burn to the hand; explanation consistent.",
    "Home visit: mother engaged well, home warm and tidy.",
]


def nhs_number(rng: random.Random) -> str:
    while True:
        digits = [rng.randrange(10) for _ in range(9)]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, digits)) + str(check)


def write_feed(directory: Path, *, records: int, events: int, seed: int = 20261125) -> None:
    """A deterministic feed: ``records`` people spread over the agencies, ``events`` events."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    people: dict[str, list[str]] = {code: [] for code, _ in AGENCIES}
    with (directory / "records.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "agency",
                "record_id",
                "given_name",
                "family_name",
                "date_of_birth",
                "sex",
                "nhs_number",
            ]
        )
        for number in range(records):
            agency = AGENCIES[number % len(AGENCIES)][0]
            record_id = f"R{number:07d}"
            people[agency].append(record_id)
            writer.writerow(
                [
                    agency,
                    record_id,
                    rng.choice(["Amelia", "Oliver", "Isla", "Noah", "Ava", "Leo"]),
                    rng.choice(["Smith", "Jones", "Taylor", "Brown", "Khan", "Patel"]),
                    f"{rng.randrange(2008, 2025)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                    rng.choice("FMU"),
                    nhs_number(rng),
                ]
            )
    with (directory / "events.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "agency",
                "event_id",
                "event_date",
                "date_recorded",
                "concern_code",
                "severity",
                "summary",
                "information_type",
                "practitioner",
                "people",
            ]
        )
        for number in range(events):
            agency = AGENCIES[number % len(AGENCIES)][0]
            year, month, day = rng.randrange(2019, 2026), rng.randrange(1, 13), rng.randrange(1, 29)
            involved = rng.sample(people[agency], rng.choice([1, 1, 2, 3]))
            writer.writerow(
                [
                    agency,
                    f"E{number:08d}",
                    f"{year}-{month:02d}-{day:02d}" if number % 10 else f"{year}-{month:02d}",
                    f"{year}-{month:02d}-28",
                    rng.choice(CODES),
                    rng.choice(["", "2", "3"]),
                    rng.choice(SUMMARIES),
                    rng.choice(["fact", "reported", "opinion"]),
                    f"P{rng.randrange(200):03d}",
                    "|".join(f"{ref}:{rng.choice(ROLES)}" for ref in involved),
                ]
            )


def _register_agencies(engine: Engine) -> None:
    with unit_of_work(session_factory(engine)) as session:
        for code, kind in AGENCIES:
            agency_service.register(
                db_session=session, agency_in=AgencyCreate(code=code, name=code, kind=kind)
            )


def _fresh(backend: str, workdir: Path) -> tuple[Engine, str | None]:
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.sqlite3'}")
        migrations.upgrade(engine)
        return engine, None
    schema = f"fp_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    migrations.upgrade(engine)
    return engine, schema


def _drop(engine: Engine, schema: str | None) -> None:
    engine.dispose()
    if schema:
        admin = make_engine(POSTGRES_URL)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def bench_import(backend: str, feed: Path, workdir: Path, events_file: Path) -> dict[str, float]:
    """Records first (untimed for events/s), then the events file on its own, as agencies send."""
    engine, schema = _fresh(backend, workdir)
    try:
        _register_agencies(engine)
        factory = session_factory(engine)
        started = time.perf_counter()
        records = run_import(
            session_factory=factory, paths=[feed / "records.csv"], imported_by="bench"
        )
        records_seconds = time.perf_counter() - started
        started = time.perf_counter()
        cpu_started = time.process_time()
        events = run_import(session_factory=factory, paths=[events_file], imported_by="bench")
        events_seconds = time.perf_counter() - started
        events_cpu_seconds = time.process_time() - cpu_started
        started = time.perf_counter()
        again = run_import(session_factory=factory, paths=[events_file], imported_by="bench")
        again_seconds = time.perf_counter() - started
        stored = events.batch.tables["events"].new
        assert again.batch.tables["events"].unchanged == stored, "re-import was not idempotent"
        return {
            "records": records.batch.tables["records"].new,
            "records_per_second": records.batch.tables["records"].new / records_seconds,
            "events": stored,
            "events_seconds": events_seconds,
            "events_per_second": stored / events_seconds,
            # CPU time of this process only: on SQLite that includes the database's own work,
            # on PostgreSQL the server's work is not in it. Less sensitive to a busy machine.
            "events_cpu_seconds": events_cpu_seconds,
            "events_per_cpu_second": stored / events_cpu_seconds,
            "reimport_events_per_second": stored / again_seconds,
        }
    finally:
        _drop(engine, schema)


def bench_orm_baseline(backend: str, feed: Path, workdir: Path, sample: int) -> dict[str, float]:
    """The same events added one ORM object at a time, flushed one by one, one commit."""
    engine, schema = _fresh(backend, workdir)
    try:
        _register_agencies(engine)
        factory = session_factory(engine)
        with unit_of_work(factory) as session:
            agency_ids = agency_service.codes_to_ids(db_session=session)
        with (feed / "events.csv").open(encoding="utf-8", newline="") as handle:
            rows = [row for _, row in zip(range(sample), csv.DictReader(handle), strict=False)]
        started = time.perf_counter()
        cpu_started = time.process_time()
        with unit_of_work(factory) as session:
            for row in rows:
                date_text = row["event_date"]
                precision = DatePrecision.DAY if len(date_text) == 10 else DatePrecision.MONTH
                event = Event(
                    agency_id=agency_ids[row["agency"]],
                    event_ref=row["event_id"],
                    version=1,
                    content_hash=uuid.uuid4().hex * 2,
                    event_date=_day(date_text),
                    date_precision=precision,
                    date_recorded=_day(row["date_recorded"]),
                    concern_code=row["concern_code"],
                    severity=int(row["severity"]) if row["severity"] else None,
                    summary=row["summary"],
                    information_type=InformationType(row["information_type"]),
                    practitioner_ref=row["practitioner"],
                    recorded_by="bench",
                    recorded_at=utc_now(),
                )
                for person in row["people"].split("|"):
                    record_ref, role = person.rsplit(":", 1)
                    event.participants.append(
                        EventParticipant(record_ref=record_ref, role=ParticipantRole(role))
                    )
                session.add(event)
                session.flush()
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        return {
            "events": len(rows),
            "events_per_second": len(rows) / seconds,
            "events_per_cpu_second": len(rows) / cpu_seconds,
        }
    finally:
        _drop(engine, schema)


def _day(value: str) -> Any:
    import calendar
    import datetime as dt

    year, month = int(value[:4]), int(value[5:7])
    day = int(value[8:10]) if len(value) == 10 else calendar.monthrange(year, month)[1]
    return dt.date(year, month, day)


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "load_average": [round(value, 1) for value in os.getloadavg()],
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gb": memory_gb,
        "python": platform.python_version(),
    }


def events_in_format(feed: Path, workdir: Path, file_format: str) -> Path:
    """The feed's events file in ``file_format``: the same rows, every column text, blank
    cells null (as an agency's JSON or Parquet export would hold them)."""
    if file_format == "csv":
        return feed / "events.csv"
    frame = pl.read_csv(feed / "events.csv", infer_schema=False)
    target = workdir / f"events-{file_format}" / f"events.{file_format}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "jsonl":
        frame.write_ndjson(target)
    else:
        frame.write_parquet(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--baseline", type=int, default=5_000, help="events for the ORM baseline")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--format",
        choices=["csv", "jsonl", "parquet"],
        default="csv",
        help="file format of the events feed (the same rows; blank cells become null)",
    )
    args = parser.parse_args()
    connect_capabilities()  # the import ends with the seen-elsewhere step, as in the app
    console = Console()
    workdir = Path(tempfile.mkdtemp(prefix="fp-bench-import-"))
    try:
        feed = workdir / "feed"
        started = time.perf_counter()
        write_feed(feed, records=args.records, events=args.events)
        console.print(
            f"Generated {args.records:,} records and {args.events:,} events "
            f"in {time.perf_counter() - started:.1f}s"
        )
        events_file = events_in_format(feed, workdir, args.format)
        results: dict[str, Any] = {
            "machine": machine(),
            "events_in_feed": args.events,
            "format": args.format,
        }
        table = Table(
            "backend",
            "bulk events/s",
            "bulk events/CPU-s",
            "re-import events/s",
            "ORM row-by-row events/s",
            "bulk / ORM",
            "records/s",
            title="fullpicture import",
        )
        for backend in args.backends.split(","):
            bulk = bench_import(backend, feed, workdir, events_file)
            baseline = bench_orm_baseline(backend, feed, workdir, args.baseline)
            ratio = bulk["events_per_second"] / baseline["events_per_second"]
            results[backend] = {"bulk": bulk, "orm_baseline": baseline, "ratio": ratio}
            table.add_row(
                backend,
                f"{bulk['events_per_second']:,.0f}",
                f"{bulk['events_per_cpu_second']:,.0f}",
                f"{bulk['reimport_events_per_second']:,.0f}",
                f"{baseline['events_per_second']:,.0f} (on {baseline['events']:,})",
                f"{ratio:.1f}x",
                f"{bulk['records_per_second']:,.0f}",
            )
        console.print(table)
        results["load_average_after"] = [round(value, 1) for value in os.getloadavg()]
        print(json.dumps(results, sort_keys=True))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
