"""Concurrency on PostgreSQL: 20 writers correcting the same child's chronology entry at once
lose no update — a clashing version is refused (the unique version acts as an optimistic lock)
and the writer's retry lands it, so every writer's change is stored exactly once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from fullpicture.access import audit
from fullpicture.chronology import service as chronology_service
from fullpicture.chronology.models import Event
from fullpicture.core.database import session_factory, unit_of_work
from tests.access.principals import link_record, make_agency, make_event, make_person
from tests.conftest import TestDatabase

WRITERS = 20


@pytest.mark.postgres_only
def test_twenty_concurrent_corrections_lose_nothing(fresh_database: TestDatabase) -> None:
    factory = session_factory(fresh_database.engine)
    with unit_of_work(factory) as session:
        school = make_agency(session, "school-busy")
        person = make_person(session)
        record = link_record(session, person=person, agency=school)
        event_ref = make_event(session, record=record).event_ref

    barrier = threading.Barrier(WRITERS)
    failures: list[BaseException] = []
    retries = [0] * WRITERS

    def writer(index: int) -> None:
        try:
            barrier.wait()
            for _attempt in range(50):
                try:
                    with unit_of_work(factory) as session:
                        chronology_service.correct_event(
                            db_session=session,
                            agency_code="school-busy",
                            event_ref=event_ref,
                            changes={"action_taken": f"writer {index} followed up"},
                            changed_by=f"writer-{index}",
                            reason="concurrency test",
                        )
                        audit.append(
                            db_session=session,
                            actor=f"user:writer-{index}",
                            action="event.correct",
                            person_id=person.id,
                            target=event_ref,
                        )
                    return
                except (IntegrityError, OperationalError):
                    retries[index] += 1  # another writer took this version: read again, retry
            raise AssertionError(f"writer {index} never landed its correction")
        except BaseException as exc:  # a thread cannot fail the test; collect and assert below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    with unit_of_work(factory) as session:
        versions = session.scalars(
            select(Event).where(Event.event_ref == event_ref).order_by(Event.version)
        ).all()
        verdict = audit.verify_chain(db_session=session)
    assert [v.version for v in versions] == list(range(1, WRITERS + 2))
    landed = sorted(v.recorded_by for v in versions[1:])
    assert landed == sorted(f"writer-{i}" for i in range(WRITERS))
    assert verdict.intact, verdict.problem
    assert sum(retries) > 0, "the writers never actually clashed; the test proved nothing"
