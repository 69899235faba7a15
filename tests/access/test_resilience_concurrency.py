"""Concurrency on PostgreSQL: 20 writers at once lose no update.

Correcting the same chronology entry: a clashing version is refused (the unique version acts as
an optimistic lock) and the writer's retry lands it, so every change is stored exactly once.
Importing events for the same children in 20 concurrent batches: every event lands once.
Acknowledging the same alert (12 writers, all reading it before any writes): exactly one decision is recorded; everyone else is told it was
already acknowledged, and no decision silently overwrites another."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from fullpicture.access import audit
from fullpicture.chronology.models import Event
from fullpicture.core.database import session_factory, unit_of_work
from fullpicture.imports import corrections
from tests.access.principals import (
    link_record,
    make_agency,
    make_event,
    make_person,
    make_user,
    subject_of,
)
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
                        corrections.correct_event(
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


@pytest.mark.postgres_only
def test_concurrent_acknowledgements_record_one_decision(
    fresh_database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    from fullpicture.harm import service as harm_service
    from fullpicture.harm.models import AlertStatus, HarmAlert

    factory = session_factory(fresh_database.engine)
    with unit_of_work(factory) as session:
        school = make_agency(session, "school-alerts")
        person = make_person(session, held_by=[school])
        # Each writer is a user of the agency the alert is routed to; decisions are theirs.
        deciders = [
            subject_of(make_user(session, agency=school, username=f"writer-{index}"))
            for index in range(12)
        ]
        alert = HarmAlert(
            person_id=person.id,
            kind="threshold",
            raised_on=dt.date(2026, 11, 1),
            score=12.5,
            reason="cumulative score crossed the threshold",
            evidence={},
            model_version="test",
            status=AlertStatus.NEW,
            routed_to_agency_id=school.id,
            routing_reason="test",
        )
        session.add(alert)
        session.flush()
        alert_id = alert.public_id

    # Widen the race: every writer has read the alert before any writes (unless the read
    # takes a lock, in which case the others wait at the read and the barrier gives up).
    writers = 12  # below the connection pool (5 + 10 overflow), so nobody waits for one
    start, after_read = threading.Barrier(writers), threading.Barrier(writers, timeout=2)
    original_alert_row = harm_service._alert_row

    def slow_alert_row(**kwargs: Any) -> HarmAlert:
        alert = original_alert_row(**kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            after_read.wait()
        return alert

    monkeypatch.setattr(harm_service, "_alert_row", slow_alert_row)
    outcomes: list[str] = []
    failures: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            start.wait()
            with unit_of_work(factory) as session:
                harm_service.acknowledge_alert(
                    db_session=session,
                    decider=deciders[index],
                    public_id=alert_id,
                    decision=f"writer {index} decided to refer",
                )
            outcomes.append(deciders[index].actor)
        except harm_service.AlertWorkflowError:
            outcomes.append("refused")
        except BaseException as exc:  # collected; asserted below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    winners = [o for o in outcomes if o != "refused"]
    assert len(winners) == 1, f"{len(winners)} writers each believe their decision stood"
    with unit_of_work(factory) as session:
        stored = session.scalars(select(HarmAlert).where(HarmAlert.public_id == alert_id)).one()
    assert stored.decided_by == winners[0]


@pytest.mark.postgres_only
def test_twenty_concurrent_imports_of_events_for_the_same_children_all_land(
    fresh_database: TestDatabase, tmp_path: Path
) -> None:
    from fullpicture.agencies.models import Agency, AgencyKind
    from fullpicture.imports import flows

    factory = session_factory(fresh_database.engine)
    with unit_of_work(factory) as session:
        session.add(Agency(code="school-many", name="Many Writers School", kind=AgencyKind.SCHOOL))
    base = tmp_path / "base"
    base.mkdir()
    (base / "records.csv").write_text(
        "agency,record_id,given_name,family_name,date_of_birth\n"
        + "".join(f"school-many,C{i},Kit,Child{i},2016-0{i + 1}-0{i + 1}\n" for i in range(3)),
        encoding="utf-8",
    )
    flows.run_import(session_factory=factory, paths=[base], imported_by="setup")
    per_writer = 5
    feeds = []
    for number in range(WRITERS):
        feed = tmp_path / f"writer-{number}"
        feed.mkdir()
        (feed / "events.csv").write_text(
            "agency,event_id,event_date,concern_code,summary,information_type,people\n"
            + "".join(
                f"school-many,W{number}-E{n},2025-0{1 + n % 9}-1{n % 9},STR-ATT,"
                f"Writer {number} entry {n},fact,C{n % 3}:subject\n"
                for n in range(per_writer)
            ),
            encoding="utf-8",
        )
        feeds.append(feed)
    barrier = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            barrier.wait()
            flows.run_import(
                session_factory=factory, paths=[feeds[index]], imported_by=f"writer-{index}"
            )
        except BaseException as exc:  # collected; asserted below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert failures == []
    with unit_of_work(factory) as session:
        events = session.scalars(select(Event.event_ref)).all()
        verdict = audit.verify_chain(db_session=session)
    assert sorted(events) == sorted(f"W{w}-E{n}" for w in range(WRITERS) for n in range(per_writer))
    assert verdict.intact, verdict.problem
