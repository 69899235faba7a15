"""The audit log: hash-chained, append-only in the database, serialised under concurrency."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access.models import AuditEntry
from fullpicture.core.database import session_factory, unit_of_work
from tests.conftest import TestDatabase


def _append_some(db_session: Session, count: int) -> list[AuditEntry]:
    return [
        audit.append(
            db_session=db_session,
            actor="user:alice",
            action="person.read",
            person_id=index,
            target="chronology",
            detail={"n": index, "note": "Ünïcode ok"},
        )
        for index in range(count)
    ]


def test_entries_chain_to_each_other_and_verify(db_session: Session) -> None:
    start = audit.verify_chain(db_session=db_session).entries_checked
    entries = _append_some(db_session, 3)
    assert entries[1].previous_hash == entries[0].entry_hash
    assert entries[2].previous_hash == entries[1].entry_hash
    assert [e.position for e in entries] == [start + 1, start + 2, start + 3]
    db_session.expire_all()
    verdict = audit.verify_chain(db_session=db_session)
    assert verdict.intact, verdict.problem
    assert verdict.entries_checked == start + 3


def test_entries_appended_together_chain_in_order_and_verify(db_session: Session) -> None:
    before = _append_some(db_session, 1)[0]
    together = audit.append_all(
        db_session=db_session,
        entries=[
            {"actor": "user:alice", "action": "person.read", "person_id": index, "detail": {}}
            for index in (7, 3, 5)
        ],
    )
    after = _append_some(db_session, 1)[0]
    assert [e.person_id for e in together] == [7, 3, 5]
    assert [e.position for e in together] == [before.position + n for n in (1, 2, 3)]
    assert together[0].previous_hash == before.entry_hash
    assert together[2].previous_hash == together[1].entry_hash
    assert after.previous_hash == together[2].entry_hash
    assert all(e.entry_hash == audit.digest_of(e) for e in together)
    db_session.expire_all()
    verdict = audit.verify_chain(db_session=db_session)
    assert verdict.intact, verdict.problem


def test_database_refuses_update_and_delete(db_session: Session) -> None:
    entry = _append_some(db_session, 1)[0]
    for statement in (
        "UPDATE audit_entry SET actor = 'user:mallory' WHERE id = :id",
        "DELETE FROM audit_entry WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
            db_session.execute(text(statement), {"id": entry.id})


@pytest.mark.postgres_only
def test_postgresql_refuses_truncate(db_session: Session) -> None:
    _append_some(db_session, 1)
    with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
        db_session.execute(text("TRUNCATE audit_entry"))


def _drop_guards(db_session: Session, backend: str) -> None:
    """What an attacker with the database owner's rights could do; the chain must still tell."""
    if backend == "postgresql":
        db_session.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only"))
    else:
        db_session.execute(text("DROP TRIGGER audit_entry_no_update"))
        db_session.execute(text("DROP TRIGGER audit_entry_no_delete"))


def test_verify_names_the_first_altered_entry(db_session: Session, backend: str) -> None:
    entries = _append_some(db_session, 4)
    _drop_guards(db_session, backend)
    db_session.execute(
        text("UPDATE audit_entry SET reason = 'covered up' WHERE id = :id"), {"id": entries[1].id}
    )
    db_session.expire_all()
    verdict = audit.verify_chain(db_session=db_session)
    assert not verdict.intact
    assert verdict.first_broken_position == entries[1].position
    assert verdict.first_broken_id == entries[1].id
    assert "altered" in (verdict.problem or "")


def test_verify_notices_a_removed_entry(db_session: Session, backend: str) -> None:
    entries = _append_some(db_session, 3)
    _drop_guards(db_session, backend)
    db_session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": entries[1].id})
    db_session.expire_all()
    verdict = audit.verify_chain(db_session=db_session)
    assert not verdict.intact
    assert verdict.first_broken_position == entries[2].position


def test_verify_notices_entries_cut_from_the_end(db_session: Session, backend: str) -> None:
    entries = _append_some(db_session, 2)
    _drop_guards(db_session, backend)
    db_session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": entries[-1].id})
    db_session.expire_all()
    verdict = audit.verify_chain(db_session=db_session)
    assert not verdict.intact
    assert "removed from the end" in (verdict.problem or "")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(detail=st.dictionaries(st.text(max_size=10), json_values, max_size=5))
def test_canonical_json_does_not_depend_on_key_order(detail: dict[str, object]) -> None:
    reordered = dict(reversed(list(detail.items())))
    assert audit.canonical_json(detail) == audit.canonical_json(reordered)


def test_concurrent_appends_never_fork_the_chain(fresh_database: TestDatabase) -> None:
    factory = session_factory(fresh_database.engine)
    writers, per_writer = 8, 5
    failures: list[BaseException] = []
    barrier = threading.Barrier(writers)

    def write() -> None:
        try:
            barrier.wait()
            for _ in range(per_writer):
                with unit_of_work(factory) as session:
                    _append_some(session, 1)
        except BaseException as exc:  # reported below; a thread cannot fail the test itself
            failures.append(exc)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with unit_of_work(factory) as session:
        verdict = audit.verify_chain(db_session=session)
    assert verdict.intact, verdict.problem
    assert verdict.entries_checked == writers * per_writer


@pytest.mark.postgres_only
def test_an_application_role_cannot_change_the_log_or_its_guards(
    db_session: Session, database: TestDatabase
) -> None:
    """The production set-up in docs/security.md: the app's role may read and append only."""
    import uuid

    entry = _append_some(db_session, 1)[0]
    role = f"fp_app_{uuid.uuid4().hex[:10]}"
    db_session.execute(text(f"CREATE ROLE {role} NOLOGIN"))
    db_session.execute(text(f'GRANT USAGE ON SCHEMA "{database.schema}" TO {role}'))
    db_session.execute(text(f"GRANT SELECT, INSERT ON audit_entry TO {role}"))
    db_session.execute(text(f"SET LOCAL ROLE {role}"))
    for statement in (
        "UPDATE audit_entry SET actor = 'user:mallory' WHERE id = :id",
        "DELETE FROM audit_entry WHERE id = :id",
        "ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only",
    ):
        with (
            pytest.raises(DBAPIError, match=r"permission denied|must be owner"),
            db_session.begin_nested(),
        ):
            db_session.execute(text(statement), {"id": entry.id})
    # Everything here, the role included, goes with the test's rolled-back transaction.
