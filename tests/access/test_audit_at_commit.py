"""A request's audit entries are appended and committed together (``audit.commit_with_deferred``):
on PostgreSQL the append and the COMMIT go in one message, so the chain head's lock is released
by the server's COMMIT, with no Python of the request's process between them (issue 14). The
write and its entries still commit or roll back together, and a head that disagrees with the
entries is still repaired, with the request's write, in the same transaction. Runs on SQLite
and PostgreSQL with sessions bound to the engine, as a server's are."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access.models import AuditChainHead, AuditEntry
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.core.database import session_factory, unit_of_work
from tests.access.test_audit import _append_some, _drop_guards
from tests.access.test_audit_in_database import entry_fields
from tests.conftest import TestDatabase


def _request_session(factory: Callable[[], Session]) -> Session:
    """A session as the access dependency leaves it: entries deferred to the commit."""
    session = factory()
    audit.defer_entries(session)
    return session


def _record_read(session: Session, actor: str) -> None:
    audit.record(db_session=session, actor=actor, action="person.read", detail={"by": actor})


def _entries(factory: Callable[[], Session]) -> list[AuditEntry]:
    with unit_of_work(factory) as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.position)))


@pytest.mark.postgres_only
def test_the_chain_heads_lock_is_released_by_the_commit_sent_with_the_append(
    fresh_database: TestDatabase,
) -> None:
    """While the request's process is still busy after its COMMIT was issued (here: held in
    the engine's commit hook for up to 5 s), another appender must already get the lock. With
    the COMMIT sent after the append's answer came back, that appender waited the whole time
    and gave up at its 2 s lock timeout."""
    factory = session_factory(fresh_database.engine)
    failures: list[BaseException] = []
    appended: list[AuditEntry] = []

    def append_meanwhile() -> None:
        try:
            with unit_of_work(factory) as session:
                session.execute(text("SET LOCAL lock_timeout = '2s'"))
                appended.extend(
                    audit.append_all(
                        db_session=session,
                        entries=[{"actor": "user:second", "action": "person.read"}],
                    )
                )
        except BaseException as exc:  # reported below; a thread cannot fail the test itself
            failures.append(exc)

    def busy_while_committing(_connection: Any) -> None:
        other = threading.Thread(target=append_meanwhile)
        other.start()
        other.join(5)

    request = _request_session(factory)
    _record_read(request, "user:first")
    event.listen(fresh_database.engine, "commit", busy_while_committing, once=True)
    try:
        audit.commit_with_deferred(request)
    finally:
        request.close()
    assert failures == []
    first, second = _entries(factory)
    assert (first.actor, second.actor) == ("user:first", "user:second")
    assert appended[0].previous_hash == first.entry_hash
    with unit_of_work(factory) as session:
        verdict = audit.verify_chain(db_session=session)
    assert verdict.intact and verdict.entries_checked == 2, verdict.problem


def test_a_head_that_disagrees_is_repaired_with_the_requests_write(
    fresh_database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries removed behind the head's back: on PostgreSQL the append sent with the COMMIT refuses, the
    COMMIT behind it does not happen, and the request repairs in Python in the same
    transaction; the write, the repaired entry and the write's own entry commit together, in
    order, and the next request's append goes with its COMMIT again."""
    factory = session_factory(fresh_database.engine)
    with unit_of_work(factory) as session:
        entries = _append_some(session, 3)
        _drop_guards(session, fresh_database.backend)
        session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": entries[-1].id})
    with_commit: list[list[int] | None] = []
    in_database = audit._append_and_commit_in_database

    def spy(db_session: Session, rows: list[dict[str, Any]]) -> list[int] | None:
        with_commit.append(in_database(db_session, rows))
        return with_commit[-1]

    monkeypatch.setattr(audit, "_append_and_commit_in_database", spy)

    request = _request_session(factory)
    try:
        request.add(Agency(code="school-repair", name="Repair School", kind=AgencyKind.SCHOOL))
        _record_read(request, "user:alice")
        audit.append_at_commit(db_session=request, actor="user:alice", action="request.write")
        audit.commit_with_deferred(request)
    finally:
        request.close()
    request = _request_session(factory)
    try:
        _record_read(request, "user:bob")
        audit.commit_with_deferred(request)
    finally:
        request.close()

    *_, repaired, written, after = _entries(factory)
    assert (repaired.action, written.action, after.action) == (
        "person.read",
        "request.write",
        "person.read",
    )
    assert repaired.position == entries[1].position + 1
    assert repaired.previous_hash == entries[1].entry_hash
    assert repaired.detail["chain_head_repair"]["last_entry_position"] == entries[1].position
    assert written.previous_hash == repaired.entry_hash
    assert after.previous_hash == written.entry_hash and "chain_head_repair" not in after.detail
    with unit_of_work(factory) as session:
        assert session.scalar(select(func.count()).where(Agency.code == "school-repair")) == 1
        head = session.get(AuditChainHead, audit.CHAIN_HEAD_ID)
        assert head is not None and (head.position, head.last_hash) == (
            after.position,
            after.entry_hash,
        )
    if fresh_database.backend == "postgresql":
        assert with_commit == [None, [after.position]]
    else:
        assert with_commit == []


def test_a_write_refused_at_commit_leaves_neither_it_nor_its_entries(
    fresh_database: TestDatabase,
) -> None:
    """A constraint checked only at COMMIT fails there, after the append: the transaction
    rolls back whole, so the log keeps no entry for a write that never happened, the head does
    not move, and the next request appends after the last committed entry."""
    factory = session_factory(fresh_database.engine)
    with unit_of_work(factory) as session:
        session.execute(text("CREATE TABLE parcel (id integer PRIMARY KEY)"))
        session.execute(
            text(
                "CREATE TABLE parcel_label (parcel_id integer REFERENCES parcel (id) "
                "DEFERRABLE INITIALLY DEFERRED)"
            )
        )
        (kept,) = _append_some(session, 1)

    request = _request_session(factory)
    try:
        request.execute(text("INSERT INTO parcel_label (parcel_id) VALUES (42)"))
        _record_read(request, "user:alice")
        audit.append_at_commit(db_session=request, actor="user:alice", action="request.write")
        with pytest.raises(Exception, match=r"(?i)foreign key"):
            audit.commit_with_deferred(request)
        request.rollback()
    finally:
        request.close()
    request = _request_session(factory)
    try:
        _record_read(request, "user:bob")
        audit.commit_with_deferred(request)
    finally:
        request.close()

    first, after = _entries(factory)
    assert first.entry_hash == kept.entry_hash
    assert after.actor == "user:bob" and after.previous_hash == kept.entry_hash
    with unit_of_work(factory) as session:
        assert session.scalar(text("SELECT count(*) FROM parcel_label")) == 0
        verdict = audit.verify_chain(db_session=session)
    assert verdict.intact and verdict.entries_checked == 2, verdict.problem


@pytest.mark.postgres_only
def test_the_application_role_may_call_the_refusing_append(
    db_session: Session, database: TestDatabase
) -> None:
    """The production role of docs/security.md needs no grant for ``audit_append_or_refuse``
    either (it runs with the caller's rights), and the entry it appends chains on."""
    import uuid

    (before,) = _append_some(db_session, 1)
    role = f"fp_app_{uuid.uuid4().hex[:10]}"
    db_session.execute(text(f"CREATE ROLE {role} NOLOGIN"))
    db_session.execute(text(f'GRANT USAGE ON SCHEMA "{database.schema}" TO {role}'))
    db_session.execute(text(f"GRANT SELECT, INSERT ON audit_entry TO {role}"))
    db_session.execute(text(f"GRANT SELECT, UPDATE ON audit_chain_head TO {role}"))
    db_session.execute(
        text(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{database.schema}" TO {role}')
    )
    db_session.execute(text(f"SET LOCAL ROLE {role}"))
    rows = [audit._entry_fields({"actor": "user:app", "action": "person.read"})]
    positions = db_session.connection().exec_driver_sql(
        audit._APPEND_OR_REFUSE, audit._parameters(rows)
    )
    assert [position for (position,) in positions] == [before.position + 1]
    db_session.execute(text("RESET ROLE"))
    db_session.expire_all()
    verdict = audit.verify_chain(db_session=db_session)
    assert verdict.intact, verdict.problem
    # Everything here, the role included, goes with the test's rolled-back transaction.


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(entry_fields, min_size=1, max_size=3))
def test_awkward_entries_sent_with_the_commit_hash_as_entry_digest_says(
    fresh_database: TestDatabase, batch: list[dict[str, Any]]
) -> None:
    """On PostgreSQL the entries go with the COMMIT with their values written into the message
    by the client (quotes, backslashes, any Unicode, nested JSON, None, any offset): stored,
    they still hash as ``entry_digest`` says and chain on."""
    factory = session_factory(fresh_database.engine)
    request = _request_session(factory)
    try:
        for fields in batch:
            audit.record(db_session=request, **fields)
        audit.commit_with_deferred(request)
    finally:
        request.close()
    stored = _entries(factory)[-len(batch) :]
    for entry, fields in zip(stored, batch, strict=True):
        assert entry.entry_hash == audit.digest_of(entry)
        assert (entry.actor, entry.target, entry.reason) == (
            fields["actor"],
            fields["target"],
            fields["reason"],
        )
        assert entry.detail == json.loads(audit.canonical_json(fields["detail"] or {}))
        assert entry.occurred_at == fields["occurred_at"]
    with unit_of_work(factory) as session:
        verdict = audit.verify_chain(db_session=session)
    assert verdict.intact, verdict.problem
