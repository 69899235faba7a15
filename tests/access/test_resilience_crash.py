"""Crash safety: SIGKILL an import midway; the database is consistent and a rerun completes,
nothing lost or doubled (issue 7 §5)."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.chronology.models import Event
from fullpicture.core.database import session_factory, unit_of_work
from fullpicture.imports import flows
from fullpicture.imports.models import ImportBatch
from fullpicture.people.models import SourceRecord
from tests.conftest import TestDatabase

# Large enough that the import is still writing well after the kill (about 0.3 s in).
ROWS = 50_000
AGENCY = "school-crash"


def write_feed(directory: Path, rows: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "records.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["agency", "record_id", "given_name", "family_name", "date_of_birth", "sex"]
        )
        for i in range(rows):
            writer.writerow(
                [
                    AGENCY,
                    f"R{i:07d}",
                    "Alex",
                    f"Family{i % 5000}",
                    f"2015-{1 + i % 12:02d}-{1 + i % 28:02d}",
                    "FMU"[i % 3],
                ]
            )
    with (directory / "events.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "agency",
                "event_id",
                "event_date",
                "concern_code",
                "summary",
                "information_type",
                "people",
            ]
        )
        for i in range(rows):
            writer.writerow(
                [
                    AGENCY,
                    f"E{i:07d}",
                    "2025-03-04",
                    "STR-ATT",
                    "Attended all week",
                    "fact",
                    f"R{i:07d}:subject",
                ]
            )


def _database_url(database: TestDatabase) -> str:
    if database.schema:
        return f"{database.url}?options=-csearch_path%3D{database.schema}"
    return database.url


def _import_is_writing(database: TestDatabase) -> bool:
    """True once the import's transaction holds write locks (it has inserted its batch row)."""
    if database.backend == "sqlite":
        path = database.engine.url.database
        assert path is not None
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    with database.engine.connect() as connection:
        held = connection.execute(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = 'source_record' AND n.nspname = :schema "
                "AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()"
            ),
            {"schema": database.schema},
        ).scalar_one()
    return bool(held)


def _counts(engine: Engine) -> dict[str, int]:
    with unit_of_work(session_factory(engine)) as session:
        return {
            "records": session.scalar(select(func.count()).select_from(SourceRecord)) or 0,
            "events": session.scalar(select(func.count()).select_from(Event)) or 0,
            "batches": session.scalar(select(func.count()).select_from(ImportBatch)) or 0,
        }


@pytest.mark.slow
def test_sigkill_midway_leaves_nothing_and_the_rerun_completes(
    fresh_database: TestDatabase, tmp_path: Path
) -> None:
    with unit_of_work(session_factory(fresh_database.engine)) as session:
        session.add(Agency(code=AGENCY, name="Crash Test School", kind=AgencyKind.SCHOOL))
    feed = tmp_path / "feed"
    write_feed(feed, ROWS)
    env = dict(os.environ, FULLPICTURE_DATABASE_URL=_database_url(fresh_database))
    importer = subprocess.Popen(
        [sys.executable, "-m", "fullpicture.cli.main", "import", str(feed)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not _import_is_writing(fresh_database):
            assert importer.poll() is None, importer.stderr.read() if importer.stderr else ""
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.02)
        if fresh_database.backend == "sqlite":
            # SQLite shows only that the batch began (its write lock); give it time to get going.
            # PostgreSQL already showed source_record rows being written.
            time.sleep(0.3)
        assert importer.poll() is None, "the import finished before it could be killed"
        os.kill(importer.pid, signal.SIGKILL)
        importer.wait(timeout=30)
    finally:
        if importer.poll() is None:
            importer.kill()
    assert importer.returncode == -signal.SIGKILL

    fresh_database.engine.dispose()
    assert _counts(fresh_database.engine) == {"records": 0, "events": 0, "batches": 0}
    if fresh_database.backend == "sqlite":
        with fresh_database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"

    factory = session_factory(fresh_database.engine)
    first = flows.run_import(session_factory=factory, paths=[feed], imported_by="rerun")
    assert first.batch.tables["records"].new == ROWS
    assert first.batch.tables["events"].new == ROWS
    again = flows.run_import(session_factory=factory, paths=[feed], imported_by="rerun")
    assert again.batch.tables["records"].unchanged == ROWS
    assert _counts(fresh_database.engine) == {"records": ROWS, "events": ROWS, "batches": 2}
