"""Web app server time: a child's page with 2,000 chronology entries, and find a child by every
kind of search a practitioner types.

Creates a PostgreSQL database of its own (``bench_web_<random>`` on the server of --postgres,
dropped at the end; or an SQLite file with --sqlite) holding one child with --entries entries
from several agencies, and --background-events entries about --background-children other
children (1,000,000 events in all by default), all in the linkage index; vacuums and
analyses the tables as autovacuum would on a live server; signs in a children's social care
worker (the pooled view: every agency's entries); then times --requests requests of each page in process (the
app's own time, no network: ASGI in the same process, the app built and its garbage
collector tuned as ``fullpicture serve`` does) and prints p50/p95/max (and the process's CPU
a request, p50/p95) and one JSON line.

Find a child is timed for each kind of search (``searches``), each of the first child's
details: ``find_a_child`` (both names misspelt, "Amelya Okafur": the search timed alone
before, its key kept so its figures stay comparable), a misspelt given name with the
surname, a nickname with the surname, the surname alone (one of nine: 2,200 children, far
more than a page shows), the date of birth alone, the NHS number, the UPN and the postcode
alone. Each prints what it found (children shown, more, held elsewhere, a digest of the
children shown in order: the same before and after a change).

The children's postcodes are shared as a local authority's are (``_postcodes_of``): most by
one to a dozen children, one postcode in a hundred by 50-250, and the first child's
(TOWER_BLOCK) by 300, the largest block of flats; the postcode search is of that one.
Before 2026-12-07 every child had the same postcode, so a postcode search matched all
20,001 (seconds, and like no real area). Records carry an NHS number (health, police and
social care) or a UPN (schools). These are drawn from random generators of their own, so
the names, dates of birth and entries are those drawn before; a database built before then
has neither (rebuild it: the NHS number and UPN searches find no one there).

    .venv/bin/python bench/web.py [--entries 2000] [--background-events 998000] [--requests 200]
        [--keep | --reuse DATABASE]

The entries go in with COPY on PostgreSQL, as the importer writes events (through the ORM a
million took twenty minutes). ``--keep`` leaves the database behind and names it (``--database``
names it at the start); ``--reuse DATABASE`` times it again without building (the first run's
``VACUUM (ANALYZE)`` stays). To time code before and after a change on the same database, run
this file with the other checkout's ``src`` first on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import statistics
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.access.schemas import UserCreate
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.cli.serve import serving_app
from fullpicture.core import migrations
from fullpicture.core.database import make_engine, session_factory, unit_of_work
from fullpicture.core.runtime import request_session
from fullpicture.linkage import repository as linkage_repository
from fullpicture.linkage.preparation import prepare
from fullpicture.people.models import Person, PersonRecordLink, SourceRecord

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CODES = ["WNB", "NEG-BAS", "NEG-HLT", "EDU-ATT", "DOM-ABU", "PAR-MH", "PRC-RTN", "STR-ATT"]
GIVEN = ["Amelia", "Oliver", "Isla", "Noah", "Ava", "Leo", "Mia", "Jack", "Ella", "Harry"]
FAMILY = ["Okafor", "Smith", "Jones", "Khan", "Brown", "Taylor", "Wilson", "Evans", "Patel"]


#: The tower block the first child lives in: the most children any one postcode holds.
TOWER_BLOCK = "CR0 1AA"
TOWER_BLOCK_CHILDREN = 300


def _postcodes_of(children: int) -> list[str]:
    """Each child's postcode, shared as a local authority's are: most by one to a dozen
    children (a street's few houses), one in a hundred by 50-250 (an estate, a block of
    flats), and the first child's by TOWER_BLOCK_CHILDREN (the largest block). Drawn from a
    random generator of their own, so the names, dates of birth and entries drawn before
    postcodes were shared this way are unchanged (every child once had TOWER_BLOCK)."""
    rng = random.Random(14)
    postcodes = [TOWER_BLOCK] * min(children, TOWER_BLOCK_CHILDREN)
    number = 0
    while len(postcodes) < children:
        number += 1
        # Postcodes are of the form CR<district> <sector><unit><unit>, each made once.
        district, rest = divmod(number, 2600)
        sector, unit = divmod(rest, 676)
        postcode = f"CR{district + 2} {sector + 1}{chr(65 + unit // 26)}{chr(65 + unit % 26)}"
        sharing = rng.randint(50, 250) if rng.random() < 0.01 else rng.randint(1, 12)
        postcodes.extend([postcode] * sharing)
    order = postcodes[TOWER_BLOCK_CHILDREN:]
    rng.shuffle(order)
    return (postcodes[:TOWER_BLOCK_CHILDREN] + order)[:children]


def nhs_number_of(index: int) -> str:
    """A valid NHS number for the index-th child (modulus 11 check digit), each different."""
    while True:
        digits = [int(d) for d in f"{600_000_000 + index * 7:09d}"]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        if check == 11:
            check = 0
        if check != 10:  # 10: no valid number has these nine digits
            return "".join(map(str, digits)) + str(check)
        index += 1_000_000  # a number with no check digit: another, outside every child's


def upn_of(index: int) -> str:
    """A unique pupil number for the index-th child: a letter and twelve digits."""
    return f"H{index + 820_000_000_000:012d}"


def _engine(args: argparse.Namespace) -> tuple[Engine, str | None]:
    if args.sqlite:
        engine = make_engine(f"sqlite:///{args.sqlite}")
        migrations.upgrade(engine)
        return engine, None
    if args.reuse:
        url = make_url(args.postgres).set(database=args.reuse).render_as_string(False)
        return make_engine(url), args.reuse
    database = args.database or f"bench_web_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    engine = make_engine(make_url(args.postgres).set(database=database).render_as_string(False))
    migrations.upgrade(engine)
    return engine, database


def _drop(args: argparse.Namespace, database: str) -> None:
    admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()


EVENT_COLUMNS = (
    "id",
    "agency_id",
    "event_ref",
    "version",
    "content_hash",
    "event_date",
    "date_precision",
    "concern_code",
    "summary",
    "information_type",
    "recorded_at",
    "recorded_by",
)


def _copy_entries(session: Session, entries: Iterable[tuple[dict[str, Any], str]]) -> None:
    """Entries and their participants with COPY (as ``bench/dashboard.py`` and the importer
    write events): through the ORM a million entries took twenty minutes to build."""
    connection = session.connection()
    raw = connection.connection.driver_connection
    assert raw is not None
    first = int(session.scalar(text("SELECT coalesce(max(id), 0) FROM event")) or 0) + 1
    participants: list[tuple[int, int, str, str]] = []
    recorded_at = dt.datetime.now(dt.UTC)
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY event ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for event_id, (row, record_ref) in enumerate(entries, start=first):
                copy.write_row(
                    (event_id, *(row[c] for c in EVENT_COLUMNS[1:-2]), recorded_at, "bench")
                )
                participants.append((event_id, event_id, record_ref, "subject"))
        with cursor.copy(
            "COPY event_participant (id, event_id, record_ref, role) FROM STDIN"
        ) as copy:
            for participant in participants:
                copy.write_row(participant)
    for table in ("event", "event_participant"):
        # The rows went in with their ids; the sequences carry on after the last one.
        last = f"(SELECT max(id) FROM {table})"  # noqa: S608 (a model's own table name)
        connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last})"))


def populate(engine: Engine, args: argparse.Namespace, password: str) -> dict[str, Any]:
    rng = random.Random(7)
    factory = session_factory(engine)
    with unit_of_work(factory) as session:
        kinds = [
            ("school", AgencyKind.SCHOOL),
            ("gp", AgencyKind.GP),
            ("police", AgencyKind.POLICE),
            ("hv", AgencyKind.HEALTH_VISITING),
            ("csc", AgencyKind.CHILDRENS_SOCIAL_CARE),
        ]
        agencies = [Agency(code=f"bench-{c}", name=f"Bench {c}", kind=k) for c, k in kinds]
        session.add_all(agencies)
        session.flush()
        children = args.background_children + 1
        people = [Person() for _ in range(children)]
        session.add_all(people)
        session.flush()
        records: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        postcodes = _postcodes_of(children)
        first_born: dt.date | None = None
        for index, person in enumerate(people):
            given = "Amelia" if index == 0 else rng.choice(GIVEN)
            family = "Okafor" if index == 0 else rng.choice(FAMILY)
            born = dt.date(2012, 1, 1) + dt.timedelta(days=rng.randrange(3650))
            if index == 0:
                first_born = born
            for agency in agencies if index == 0 else rng.sample(agencies, 2):
                ref = f"r{index}-{agency.id}"
                school = agency.kind == AgencyKind.SCHOOL
                records.append(
                    {
                        "agency_id": agency.id,
                        "record_ref": ref,
                        "version": 1,
                        "content_hash": uuid.uuid4().hex,
                        "given_name": given,
                        "family_name": family,
                        "other_names": [],
                        "previous_family_names": [],
                        "date_of_birth": born,
                        # A school knows the pupil's UPN; health, police and social care
                        # records carry the NHS number.
                        "nhs_number": None if school else nhs_number_of(index),
                        "upn": upn_of(index) if school else None,
                        "addresses": [{"line1": "1 High St", "postcode": postcodes[index]}],
                        "recorded_by": "bench",
                    }
                )
                links.append(
                    {
                        "person_id": person.id,
                        "agency_id": agency.id,
                        "record_ref": ref,
                        "method": "probabilistic",
                        "cluster_confidence": 0.99,
                        "evidence": {},
                    }
                )
        session.execute(insert(SourceRecord), records)
        session.execute(insert(PersonRecordLink), links)
        by_person: dict[int, list[dict[str, Any]]] = {}
        for link in links:
            by_person.setdefault(link["person_id"], []).append(link)
        today = dt.date.today()
        # The remainder goes one each to the first children, so the events add up to what was
        # asked (998,000 // 20,000 alone gave 982,000 events in all, not 1,000,000).
        per_child, extra = divmod(args.background_events, max(1, args.background_children))
        subjects = [(people[0].id, args.entries)] + [
            (p.id, per_child + (1 if index < extra else 0)) for index, p in enumerate(people[1:])
        ]

        def entries() -> Iterator[tuple[dict[str, Any], str]]:
            """Each entry with the record it is about (one of its child's linked records)."""
            for person_id, count in subjects:
                for _ in range(count):
                    link = rng.choice(by_person[person_id])
                    yield (
                        {
                            "agency_id": link["agency_id"],
                            "event_ref": uuid.uuid4().hex[:20],
                            "version": 1,
                            "content_hash": uuid.uuid4().hex,
                            "event_date": today - dt.timedelta(days=rng.randrange(3000)),
                            "date_precision": "day",
                            "concern_code": rng.choice(CODES),
                            "summary": "Seen at the clinic; mother present throughout.",
                            "information_type": rng.choice(["fact", "reported", "opinion"]),
                            "recorded_by": "bench",
                        },
                        link["record_ref"],
                    )

        if engine.dialect.name == "postgresql":
            _copy_entries(session, entries())
        else:
            rows = list(entries())
            ids = session.execute(
                insert(Event).returning(Event.id, sort_by_parameter_order=True),
                [row for row, _ in rows],
            ).scalars()
            session.execute(
                insert(EventParticipant),
                [
                    {"event_id": i, "record_ref": ref, "role": "subject"}
                    for i, (_, ref) in zip(ids, rows, strict=True)
                ],
            )
        found = linkage_repository.current_source_records(
            db_session=session,
            linker=access_service.system_principal(
                db_session=session, job="web benchmark", operator="bench"
            ),
        )
        prepared = prepare(linkage_repository.records_frame(db_session=session, records=found))
        linkage_repository.upsert_index(
            db_session=session,
            prepared=prepared,
            source_record_ids={
                linkage_repository.record_key(r.agency_id, r.record_ref): r.id for r in found
            },
        )
        access_service.create_user(
            db_session=session,
            user_in=UserCreate(
                username="bench.social.worker",
                display_name="Bench social worker",
                role=Role.SOCIAL_WORKER,
                agency_code="bench-csc",
                password=SecretStr(password),
            ),
            actor="bench",
        )
        events = sum(count for _person, count in subjects)
        return {
            "child": people[0].public_id,
            "born": first_born,
            "children": children,
            "events": events,
        }


def _reused(engine: Engine) -> dict[str, Any]:
    """The child and a fresh password for a database an earlier run left (--keep): its
    password was not kept."""
    password = "Bench-" + uuid.uuid4().hex
    with unit_of_work(session_factory(engine)) as session:
        user = access_repository.user_by_username(session, "bench.social.worker")
        assert user is not None, "not a database bench/web.py built"
        access_service.set_password(db_session=session, user=user, password=password, actor="bench")
        child = session.scalar(
            select(Person.public_id)
            .join(PersonRecordLink, PersonRecordLink.person_id == Person.id)
            .where(PersonRecordLink.record_ref.like("r0-%"))
            .limit(1)
        )
        born = session.scalar(
            select(SourceRecord.date_of_birth).where(SourceRecord.record_ref.like("r0-%")).limit(1)
        )
        children = session.scalar(select(func.count()).select_from(Person))
        events = session.scalar(select(func.count()).select_from(Event))
    return {
        "child": child,
        "born": born,
        "children": children,
        "events": events,
        "password": password,
    }


def searches(built: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Each kind of search a practitioner types (issue 14), of the first child's details.
    ``find_a_child`` is the search timed before the others were (both names misspelt), kept
    under its name so its figures stay comparable."""
    born: dt.date = built["born"]
    return {
        "find_a_child": {"name": "Amelya Okafur"},
        "misspelt_given_and_surname": {"name": "Ameila Okafor"},
        "nickname_and_surname": {"name": "Millie Okafor"},
        # One of nine surnames: 2,200 children, far more than are shown.
        "surname_alone": {"name": "Okafor"},
        "date_of_birth_alone": {
            "dob_day": str(born.day),
            "dob_month": str(born.month),
            "dob_year": str(born.year),
        },
        "nhs_number": {"nhs_number": nhs_number_of(0)},
        "upn": {"upn": upn_of(0)},
        # The largest block of flats: TOWER_BLOCK_CHILDREN children share it.
        "postcode_alone": {"postcode": TOWER_BLOCK},
    }


def found_on(page: str) -> dict[str, Any]:
    """What a results page shows: the children (in order), how many more matched, how many
    are held elsewhere."""
    results = page.split('id="find-results"', 1)[-1] if 'id="find-results"' in page else ""
    more = re.search(r"(\d+) more (?:children )?matched", page)
    held = re.search(r'id="held-elsewhere">(\d+) other', page)
    return {
        "shown": re.findall(r'href="/children/([0-9a-f-]{36})"', results),
        "more": int(more.group(1)) if more else 0,
        "held_elsewhere": int(held.group(1)) if held else 0,
    }


def _load_average() -> list[str] | None:
    # The machine may be shared: the figures are upper bounds, and this says how busy it was.
    try:
        with open("/proc/loadavg") as loadavg:
            return loadavg.read().split()[:3]
    except OSError:
        return None


def _percentiles(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--background-events", type=int, default=998_000)
    parser.add_argument("--background-children", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--postgres", default=os.environ.get("FULLPICTURE_TEST_POSTGRES_URL", POSTGRES)
    )
    parser.add_argument("--sqlite", default="")
    parser.add_argument("--database", default="", help="name the database to build")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the PostgreSQL database behind (named at the end)",
    )
    parser.add_argument(
        "--reuse",
        default="",
        metavar="DATABASE",
        help="time a database an earlier --keep run built, without building one",
    )
    args = parser.parse_args()
    password = "Bench-" + uuid.uuid4().hex
    engine, database = _engine(args)
    try:
        started = time.perf_counter()
        if args.reuse:
            built = _reused(engine)
            password = built["password"]
        else:
            built = populate(engine, args, password)
        if engine.dialect.name == "postgresql":
            # A live server's autovacuum has statistics and visibility maps; a just-filled
            # table has neither: the planner then guesses (seconds for one child's entries)
            # and every index-only lookup visits the table as well. A reused database is
            # vacuumed too: some servers run with autovacuum off, and an experiment on a kept
            # database (a rolled-back import) leaves dead rows that every lookup then visits.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM (ANALYZE)"))
        build_seconds = time.perf_counter() - started
        factory = session_factory(engine)
        app = serving_app()

        def _session() -> Any:
            with factory.begin() as session:
                yield session

        app.dependency_overrides[request_session] = _session
        with TestClient(app) as client:
            form = client.get("/sign-in")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert csrf
            client.post(
                "/sign-in",
                data={
                    "username": "bench.social.worker",
                    "password": password,
                    "csrf_token": csrf.group(1),
                },
            )
            page = client.get(f"/children/{built['child']}")
            assert page.status_code == 200, page.text[:500]
            shown = page.text.count('class="govuk-table__row"')
            results: dict[str, Any] = {}
            found: dict[str, dict[str, Any]] = {}
            pages = {"child_page": f"/children/{built['child']}"}
            for kind, params in searches(built).items():
                pages[kind] = "/children?" + urlencode(params)
                first = client.get(pages[kind])
                assert first.status_code == 200, first.text[:500]
                found[kind] = found_on(first.text)
                # Each search is of something the first child's records hold; the first
                # child shares a name with hundreds, but no one shares an NHS number or UPN.
                assert found[kind]["shown"], (kind, found[kind])
                if kind in {"nhs_number", "upn"}:
                    assert found[kind]["shown"] == [built["child"]], (kind, found[kind])
            for name, path in pages.items():
                times = []
                # The process's CPU a request (the app's threads and the client's): on a shared
                # machine the wall time also counts the turns other processes took.
                cpu = []
                for _ in range(args.requests):
                    begun, begun_cpu = time.perf_counter(), time.process_time()
                    response = client.get(path)
                    times.append(time.perf_counter() - begun)
                    cpu.append(time.process_time() - begun_cpu)
                    assert response.status_code == 200
                results[name] = _percentiles(times)
                results[name].update(
                    {f"cpu_{k}": v for k, v in _percentiles(cpu).items() if k != "max_ms"}
                )
                if name in found:
                    results[name].update(
                        {
                            "shown": len(found[name]["shown"]),
                            "more": found[name]["more"],
                            "held_elsewhere": found[name]["held_elsewhere"],
                            # The children shown, in order: compare runs before and after.
                            "shown_digest": uuid.uuid5(
                                uuid.NAMESPACE_OID, " ".join(found[name]["shown"])
                            ).hex[:12],
                        }
                    )
        summary = {
            "backend": engine.dialect.name,
            "entries_on_child_page": args.entries,
            "table_rows_rendered": shown,
            # A reused database says what it holds; the arguments did not build it.
            "background_events": None if args.reuse else args.background_events,
            "events": built.get("events"),
            "children": built["children"],
            "requests_each": args.requests,
            "build_seconds": None if args.reuse else round(build_seconds, 1),
            "database": database if args.keep or args.reuse else None,
            "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
            "load_average": _load_average(),
            **results,
        }
        for name, timed in results.items():
            shown = (
                f"  [shown {timed['shown']}, more {timed['more']}, held elsewhere "
                f"{timed['held_elsewhere']}, {timed['shown_digest']}]"
                if "shown" in timed
                else ""
            )
            print(
                f"{name:27} p50 {timed['p50_ms']} ms  p95 {timed['p95_ms']} ms  max {timed['max_ms']} ms"
                f"  (CPU p50 {timed['cpu_p50_ms']} ms, p95 {timed['cpu_p95_ms']} ms){shown}"
            )
        print(json.dumps(summary))
    finally:
        engine.dispose()
        if database and not (args.keep or args.reuse):
            _drop(args, database)


if __name__ == "__main__":
    main()
