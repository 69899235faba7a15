"""Crash safety for linkage: SIGKILL ``fullpicture link run`` while it writes; nothing of the
run is stored, and a rerun links every current record to exactly one person (issue 7 §5)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select, text

from fullpicture.access.models import Role
from fullpicture.core.database import session_factory, unit_of_work
from fullpicture.linkage import service as linkage_service
from fullpicture.linkage.models import LinkageModelVersion, LinkageRun
from fullpicture.linkage.rules import default_rules
from fullpicture.people.models import Person, PersonRecordLink, SourceRecord
from tests.access.fixtures import database_url
from tests.access.principals import make_user
from tests.conftest import TestDatabase
from tests.linkage.population import build_population, store_population


def _linkage_is_writing(database: TestDatabase) -> bool:
    with database.engine.connect() as connection:
        held = connection.execute(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname IN ('person', 'person_record_link', 'linkage_record') "
                "AND n.nspname = :schema AND l.mode = 'RowExclusiveLock' "
                "AND l.pid <> pg_backend_pid()"
            ),
            {"schema": database.schema},
        ).scalar_one()
    return bool(held)


@pytest.mark.slow
@pytest.mark.postgres_only
def test_sigkill_during_a_linkage_run_leaves_nothing_and_the_rerun_completes(
    fresh_database: TestDatabase,
) -> None:
    factory = session_factory(fresh_database.engine)
    population = build_population(people=300, seed=5)
    with unit_of_work(factory) as session:
        store_population(session, population.records)
        make_user(session, role=Role.ADMINISTRATOR, username="crash.admin")
    env = dict(os.environ, FULLPICTURE_DATABASE_URL=database_url(fresh_database))
    linker = subprocess.Popen(
        [sys.executable, "-m", "fullpicture.cli.main", "link", "run", "--as", "crash.admin"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not _linkage_is_writing(fresh_database):
            assert linker.poll() is None, linker.stderr.read() if linker.stderr else ""
            assert time.monotonic() < deadline, "the linkage run never started writing"
            time.sleep(0.02)
        os.kill(linker.pid, signal.SIGKILL)
        linker.wait(timeout=30)
    finally:
        if linker.poll() is None:
            linker.kill()
    assert linker.returncode == -signal.SIGKILL

    with unit_of_work(factory) as session:
        for model in (Person, PersonRecordLink, LinkageRun, LinkageModelVersion):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model.__name__

    with unit_of_work(factory) as session:
        linkage_service.link_database(db_session=session, rules=default_rules(), started_by="rerun")
    with unit_of_work(factory) as session:
        records = session.scalar(
            select(func.count()).select_from(
                select(SourceRecord.agency_id, SourceRecord.record_ref).distinct().subquery()
            )
        )
        per_record = (
            session.execute(
                select(func.count())
                .select_from(PersonRecordLink)
                .where(PersonRecordLink.ended_at.is_(None))
                .group_by(PersonRecordLink.agency_id, PersonRecordLink.record_ref)
            )
            .scalars()
            .all()
        )
    assert len(per_record) == records == population.records.height
    assert set(per_record) == {1}, "a record is linked to more than one person"
