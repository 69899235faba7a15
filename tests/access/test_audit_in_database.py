"""The audit append done by the database (PostgreSQL's ``audit_append``, migration 0082) must
give the chain ``entry_digest`` gives, never fork it under concurrency, and still hand a head
that disagrees with the entries to the Python repair. Runs on SQLite and PostgreSQL: on SQLite
the same assertions hold the Python append to the same chain."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from fullpicture.access import audit, audit_checkpoint
from fullpicture.access.models import AuditChainHead, AuditEntry
from fullpicture.core.database import session_factory, unit_of_work
from tests.access.test_audit import _append_some, _drop_guards, json_values
from tests.access.test_audit_checkpoints import signing  # noqa: F401 (a fixture)
from tests.conftest import TestDatabase


@contextmanager
def appends_in_database(engine: Engine) -> Iterator[list[str]]:
    """The statements that called ``audit_append`` while inside, across every connection."""
    calls: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "audit_append(" in statement:
            calls.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield calls
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def _engine(db_session: Session) -> Engine:
    bind = db_session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


# Text that canonical JSON and SQL treat specially: quotes, backslashes, control characters,
# astral-plane characters, combining marks; surrogates cannot be encoded as UTF-8 at all.
awkward_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=30,
) | st.sampled_from(['"', "\\", '\\"', "\n\r\t", "é", "🧒🏽", "ﬁ", "\u2028", "'; --", "null"])
optional_text = st.none() | awkward_text
optional_id = st.none() | st.integers(-(2**31), 2**31 - 1)
entry_fields = st.fixed_dictionaries(
    {
        "actor": awkward_text,
        "action": awkward_text.map(lambda value: value[:64]),
        "actor_user_id": optional_id,
        "person_id": optional_id,
        "target": optional_text,
        "reason": optional_text,
        "detail": st.none() | st.dictionaries(awkward_text, json_values, max_size=4),
        "occurred_at": st.datetimes(
            min_value=dt.datetime(1970, 1, 2),
            max_value=dt.datetime(2200, 1, 1),
            timezones=st.sampled_from(
                [
                    dt.UTC,
                    dt.timezone(dt.timedelta(hours=5, minutes=30)),
                    dt.timezone(-dt.timedelta(hours=11)),
                ]
            ),
        ),
    }
)


@settings(max_examples=150, deadline=None)
@given(
    fields=entry_fields,
    position=st.integers(1, 2**31 - 1),
    previous=st.text("0123456789abcdef", min_size=64, max_size=64),
)
def test_the_text_around_the_link_is_the_digests_canonical_json(
    fields: dict[str, Any], position: int, previous: str
) -> None:
    """What the database splices together is, byte for byte, what ``entry_digest`` hashes."""
    row = {**fields, "detail": fields["detail"] or {}}
    before, after = audit.text_around_link(**row)
    whole = {
        **row,
        "occurred_at": row["occurred_at"].astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "position": position,
        "previous_hash": previous,
    }
    spliced = before + audit.link_text(position=position, previous_hash=previous) + after
    assert spliced == audit.canonical_json(whole)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(entry_fields, min_size=1, max_size=4))
def test_stored_entries_hash_as_entry_digest_says(
    db_session: Session, backend: str, batch: list[dict[str, Any]]
) -> None:
    """Awkward entries (unicode, nested JSON, None fields, any offset) appended together: read
    back from the database, each hashes with ``entry_digest`` to what was stored, and links to
    the entry before. On PostgreSQL the database computed those hashes."""
    with appends_in_database(_engine(db_session)) as calls:
        added = audit.append_all(db_session=db_session, entries=batch)
    assert len(calls) == (1 if backend == "postgresql" else 0)
    ids = [entry.id for entry in added]
    db_session.expire_all()
    stored = db_session.scalars(
        select(AuditEntry).where(AuditEntry.id.in_(ids)).order_by(AuditEntry.position)
    ).all()
    assert [entry.id for entry in stored] == ids
    for entry, fields in zip(stored, batch, strict=True):
        assert entry.entry_hash == audit.digest_of(entry)
        assert entry.actor == fields["actor"] and entry.reason == fields["reason"]
        assert entry.detail == json.loads(audit.canonical_json(fields["detail"] or {}))
        assert entry.occurred_at == fields["occurred_at"]
    for earlier, later in itertools.pairwise(stored):
        assert later.previous_hash == earlier.entry_hash
        assert later.position == earlier.position + 1
    head = db_session.get(AuditChainHead, audit.CHAIN_HEAD_ID)
    assert head is not None
    assert (head.position, head.last_hash) == (stored[-1].position, stored[-1].entry_hash)


def test_entries_given_back_are_those_stored(db_session: Session) -> None:
    """The caller's entries (built from what the function returned on PostgreSQL) are the
    session's persistent rows: same ids, chain fields and content as a fresh read."""
    added = audit.append_all(
        db_session=db_session,
        entries=[
            {"actor": "user:ayo", "action": "person.read", "person_id": 4, "detail": {"b": [1]}},
            {"actor": "user:ayo", "action": "person.read", "reason": "Ünïcode", "detail": None},
        ],
    )
    seen = [
        (e.id, e.position, e.previous_hash, e.entry_hash, e.person_id, e.reason, e.detail)
        for e in added
    ]
    assert added[1].previous_hash == added[0].entry_hash
    assert all(db_session.get(AuditEntry, e.id) is e for e in added)
    db_session.expire_all()
    fresh = [db_session.get(AuditEntry, e.id) for e in added]
    assert [
        (e.id, e.position, e.previous_hash, e.entry_hash, e.person_id, e.reason, e.detail)
        for e in fresh
        if e is not None
    ] == seen


def test_concurrent_appenders_on_many_connections_never_fork_the_chain(
    fresh_database: TestDatabase,
) -> None:
    """Writers on their own connections append batches of 1-4 entries with jitter, some
    rolling back; the committed chain is one unbroken line with every committed entry."""
    factory = session_factory(fresh_database.engine)
    writers, rounds = 6, 8
    failures: list[BaseException] = []
    committed: list[int] = []
    barrier = threading.Barrier(writers)

    def write(seed: int) -> None:
        rng = random.Random(seed)
        try:
            barrier.wait()
            for number in range(rounds):
                size = rng.randint(1, 4)
                entries = [
                    {"actor": f"user:w{seed}", "action": "person.read", "detail": {"n": number}}
                    for _ in range(size)
                ]
                session = factory()
                try:
                    audit.append_all(db_session=session, entries=entries)
                    time.sleep(rng.random() / 200)  # hold the lock a little, as a request does
                    if number % 4 == 3:
                        session.rollback()  # its entries must leave no gap
                    else:
                        session.commit()
                        committed.append(size)
                finally:
                    session.close()
        except BaseException as exc:  # reported below; a thread cannot fail the test itself
            failures.append(exc)

    with appends_in_database(fresh_database.engine) as calls:
        threads = [threading.Thread(target=write, args=(seed,)) for seed in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    assert len(calls) == (writers * rounds if fresh_database.backend == "postgresql" else 0)
    with unit_of_work(factory) as session:
        verdict = audit.verify_chain(db_session=session)
        repairs = [
            detail
            for detail in session.scalars(select(AuditEntry.detail))
            if "chain_head_repair" in detail
        ]
    assert verdict.intact, verdict.problem
    assert verdict.entries_checked == sum(committed)
    assert repairs == []


def test_an_appender_waiting_on_the_lock_chains_onto_what_the_holder_committed(
    fresh_database: TestDatabase,
) -> None:
    """The second appender's read of the last entry must come after its wait for the lock:
    read with a snapshot from before the wait it would see the head moved but not the entry,
    and take the repair path (or fork the chain)."""
    factory = session_factory(fresh_database.engine)
    holder = factory()
    (first,) = audit.append_all(
        db_session=holder, entries=[{"actor": "user:first", "action": "person.read"}]
    )
    first_hash = first.entry_hash
    waiting: list[AuditEntry] = []
    failures: list[BaseException] = []
    started = threading.Event()

    def append_second() -> None:
        try:
            with unit_of_work(factory) as session:
                session.execute(select(AuditEntry.id).limit(1)).all()  # its transaction begins
                started.set()
                waiting.extend(
                    audit.append_all(
                        db_session=session,
                        entries=[{"actor": "user:second", "action": "person.read"}],
                    )
                )
        except BaseException as exc:
            failures.append(exc)
            started.set()

    if fresh_database.backend == "sqlite":
        holder.commit()  # SQLite takes one writer at a time: the second cannot begin to wait
    second = threading.Thread(target=append_second)
    second.start()
    started.wait(10)
    time.sleep(0.3)  # the second append is now waiting for the head's lock
    if fresh_database.backend == "postgresql":
        assert second.is_alive()
        holder.commit()
    second.join(30)
    holder.close()
    assert failures == []
    (entry,) = waiting
    assert entry.previous_hash == first_hash
    assert "chain_head_repair" not in entry.detail
    with unit_of_work(factory) as session:
        verdict = audit.verify_chain(db_session=session)
    assert verdict.intact and verdict.entries_checked == 2, verdict.problem


def test_entries_removed_behind_the_heads_back_are_repaired_then_appends_go_on(
    db_session: Session, backend: str
) -> None:
    """The head ahead of the entries: the database appends nothing and the Python path
    repairs, in the same transaction; the next append is the database's again."""
    entries = _append_some(db_session, 3)
    _drop_guards(db_session, backend)
    db_session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": entries[-1].id})
    db_session.expunge(entries[-1])  # gone from the table (SQLite may give its id again)
    with appends_in_database(_engine(db_session)) as calls:
        repaired = audit.append(db_session=db_session, actor="user:alice", action="person.read")
        after = audit.append(db_session=db_session, actor="user:alice", action="person.read")
    assert len(calls) == (2 if backend == "postgresql" else 0)
    assert repaired.position == entries[1].position + 1
    assert repaired.previous_hash == entries[1].entry_hash
    assert repaired.detail["chain_head_repair"] == {
        "head_position": entries[2].position,
        "head_hash": entries[2].entry_hash,
        "last_entry_position": entries[1].position,
    }
    assert after.previous_hash == repaired.entry_hash and "chain_head_repair" not in after.detail
    db_session.expire_all()
    verdict = audit.verify_chain(db_session=db_session)
    assert not verdict.intact and verdict.first_broken_position == entries[1].position + 1
    assert "removed" in (verdict.problem or "")


def test_a_checkpoint_falls_due_on_an_append(
    fresh_database: TestDatabase,
    signing: Path,  # noqa: F811 (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Appends made by the database still write the checkpoint at every N entries."""
    monkeypatch.setenv("FULLPICTURE_AUDIT_CHECKPOINT_EVERY", "3")
    audit_checkpoint.get_settings.cache_clear()
    factory = session_factory(fresh_database.engine)
    with unit_of_work(factory) as session:
        audit.append_all(
            db_session=session,
            entries=[{"actor": "user:a", "action": "person.read"} for _ in range(2)],
        )
    assert not signing.exists()
    with unit_of_work(factory) as session:
        audit.append_all(
            db_session=session,
            entries=[{"actor": "user:a", "action": "person.read"} for _ in range(5)],
        )
    checkpoint = audit_checkpoint.latest_checkpoint()
    assert checkpoint is not None and checkpoint.position == 7  # due at 3 and 6, written at 7
    assert len(signing.read_text(encoding="utf-8").splitlines()) == 2
    with unit_of_work(factory) as session:
        assert audit.verify_chain(db_session=session, checkpoint=checkpoint).intact


@pytest.mark.postgres_only
def test_the_application_role_appends_through_the_function_with_its_own_grants(
    db_session: Session, database: TestDatabase
) -> None:
    """The production role of docs/security.md (audit_entry: SELECT and INSERT only) appends
    through ``audit_append``, which runs with the caller's rights: it needs nothing more."""
    import uuid

    before = _append_some(db_session, 1)[0]
    role = f"fp_app_{uuid.uuid4().hex[:10]}"
    db_session.execute(text(f"CREATE ROLE {role} NOLOGIN"))
    db_session.execute(text(f'GRANT USAGE ON SCHEMA "{database.schema}" TO {role}'))
    db_session.execute(text(f"GRANT SELECT, INSERT ON audit_entry TO {role}"))
    db_session.execute(text(f"GRANT SELECT, UPDATE ON audit_chain_head TO {role}"))
    db_session.execute(
        text(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{database.schema}" TO {role}')
    )
    db_session.execute(text(f"SET LOCAL ROLE {role}"))
    with appends_in_database(_engine(db_session)) as calls:
        added = audit.append_all(
            db_session=db_session,
            entries=[{"actor": "user:app", "action": "person.read"} for _ in range(2)],
        )
    assert len(calls) == 1
    assert added[0].previous_hash == before.entry_hash
    db_session.execute(text("RESET ROLE"))
    db_session.expire_all()
    assert audit.verify_chain(db_session=db_session).intact
    # Everything here, the role included, goes with the test's rolled-back transaction.
