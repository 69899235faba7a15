"""The hash-chained audit log: append entries, verify the chain.

Each entry's hash is SHA-256 over the canonical JSON of its fields and the previous entry's
hash, so changing, removing or reordering any entry breaks every hash after it. Appends take
a lock on the single ``audit_chain_head`` row first (a row lock on PostgreSQL, the database
write lock on SQLite), so two transactions can never both extend the same entry and fork
the chain. On PostgreSQL the whole append is one call to the database function
``audit_append`` (migration 0082), which hashes the canonical JSON sent to it around each
entry's chain link, so the lock is held for one round trip and the commit; the hash is the
one ``entry_digest`` gives.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import bindparam, event, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, make_transient_to_detached

from fullpicture.access import audit_checkpoint
from fullpicture.access.models import AuditChainHead, AuditEntry
from fullpicture.core.database import utc_now

GENESIS_HASH = "0" * 64
CHAIN_HEAD_ID = 1


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _body(
    *,
    occurred_at: dt.datetime,
    actor: str,
    actor_user_id: int | None,
    action: str,
    person_id: int | None,
    target: str | None,
    reason: str | None,
    detail: dict[str, Any],
) -> dict[str, Any]:
    """An entry's hashed fields but its two chain fields (``position``, ``previous_hash``)."""
    return {
        "occurred_at": _timestamp(occurred_at),
        "actor": actor,
        "actor_user_id": actor_user_id,
        "action": action,
        "person_id": person_id,
        "target": target,
        "reason": reason,
        "detail": detail,
    }


def entry_digest(
    *,
    position: int,
    occurred_at: dt.datetime,
    actor: str,
    actor_user_id: int | None,
    action: str,
    person_id: int | None,
    target: str | None,
    reason: str | None,
    detail: dict[str, Any],
    previous_hash: str,
) -> str:
    body = _body(
        occurred_at=occurred_at,
        actor=actor,
        actor_user_id=actor_user_id,
        action=action,
        person_id=person_id,
        target=target,
        reason=reason,
        detail=detail,
    )
    body["position"] = position
    body["previous_hash"] = previous_hash
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def text_around_link(**fields: Any) -> tuple[str, str]:
    """An entry's canonical JSON (as ``entry_digest`` hashes it) without its chain link: the
    text before ``"position":N,"previous_hash":"H"`` and the text after it. Sorted, the two
    chain fields are adjacent (``person_id`` < ``position`` < ``previous_hash`` < ``reason``),
    so the database can splice the link in once it holds the chain head's lock and knows it
    (``audit_append``, PostgreSQL)."""
    body = _body(**fields)
    before = {key: value for key, value in body.items() if key < "position"}
    after = {key: value for key, value in body.items() if key > "previous_hash"}
    return canonical_json(before)[:-1] + ",", "," + canonical_json(after)[1:]


def link_text(*, position: int, previous_hash: str) -> str:
    """What goes between ``text_around_link``'s two halves."""
    return f'"position":{canonical_json(position)},"previous_hash":{canonical_json(previous_hash)}'


def digest_of(entry: AuditEntry) -> str:
    return entry_digest(
        position=entry.position,
        occurred_at=entry.occurred_at,
        actor=entry.actor,
        actor_user_id=entry.actor_user_id,
        action=entry.action,
        person_id=entry.person_id,
        target=entry.target,
        reason=entry.reason,
        detail=entry.detail,
        previous_hash=entry.previous_hash,
    )


def hold_write_lock(db_session: Session) -> None:
    """On SQLite, take the database write lock now, before the transaction reads anything.

    A request that reads and then writes (every authenticated request may: token use, audit
    entries) would otherwise fail at once with "database is locked" whenever another writer
    committed after its first read (SQLite cannot upgrade a stale read snapshot). Taking the
    lock first makes requests queue on the busy timeout instead. PostgreSQL needs nothing:
    its row locks wait.
    """
    if db_session.get_bind().dialect.name != "sqlite":
        return
    db_session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == CHAIN_HEAD_ID)
        .values(position=AuditChainHead.position)
        .execution_options(synchronize_session=False)
    )


def append(
    *,
    db_session: Session,
    actor: str,
    action: str,
    actor_user_id: int | None = None,
    person_id: int | None = None,
    target: str | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
    occurred_at: dt.datetime | None = None,
) -> AuditEntry:
    """Add one entry at the end of the chain, in the caller's transaction."""
    (entry,) = append_all(
        db_session=db_session,
        entries=[
            {
                "actor": actor,
                "action": action,
                "actor_user_id": actor_user_id,
                "person_id": person_id,
                "target": target,
                "reason": reason,
                "detail": detail,
                "occurred_at": occurred_at,
            }
        ],
    )
    return entry


# Every audited request runs these; built once here, each use only gives its values
# (building them was part of every API read's statement-building cost, issue 14).
_LOCK_HEAD = (
    update(AuditChainHead)
    .where(AuditChainHead.id == CHAIN_HEAD_ID)
    .values(position=AuditChainHead.position)
    .returning(AuditChainHead.position, AuditChainHead.last_hash)
)
_LAST_ENTRY = (
    select(AuditEntry.position, AuditEntry.entry_hash).order_by(AuditEntry.position.desc()).limit(1)
)
_MOVE_HEAD = (
    update(AuditChainHead)
    .where(AuditChainHead.id == CHAIN_HEAD_ID)
    .values(position=bindparam("head_position"), last_hash=bindparam("head_last_hash"))
)
#: PostgreSQL: lock, read the last entry, hash, insert and move the head in one round trip
#: (migration 0082). Casts name every array's type: a list of only ``None`` has none.
_APPEND_IN_DATABASE = text(
    "SELECT entry_id, entry_position, entry_previous_hash, entry_hash FROM audit_append("
    "CAST(:text_before AS text[]), CAST(:text_after AS text[]), "
    "CAST(:occurred_at AS timestamptz[]), CAST(:actor AS text[]), "
    "CAST(:actor_user_id AS integer[]), CAST(:action AS text[]), "
    "CAST(:person_id AS integer[]), CAST(:target AS text[]), CAST(:reason AS text[]), "
    "CAST(:detail AS text[]))"
)
_COLUMNS = (
    "occurred_at",
    "actor",
    "actor_user_id",
    "action",
    "person_id",
    "target",
    "reason",
    "detail",
)


def _entry_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """One entry's columns but its chain fields, as the database will give them back: the
    detail round-tripped through canonical JSON, the time in UTC."""
    return {
        "occurred_at": (fields.get("occurred_at") or utc_now()).astimezone(dt.UTC),
        "actor": fields["actor"],
        "actor_user_id": fields.get("actor_user_id"),
        "action": fields["action"],
        "person_id": fields.get("person_id"),
        "target": fields.get("target"),
        "reason": fields.get("reason"),
        "detail": json.loads(canonical_json(dict(fields.get("detail") or {}))),
    }


def append_all(*, db_session: Session, entries: Sequence[dict[str, Any]]) -> list[AuditEntry]:
    """Add these entries (each the keyword arguments of ``append``) at the end of the chain,
    in order, in the caller's transaction: the same entries and hashes as appending them one
    by one, for one lock, one read of the last entry and one insert (a search showing 50
    children records 50 reads; one by one they took 200 round trips, issue 14)."""
    return _append(db_session, entries, give_entries=True)


def _append(
    db_session: Session, entries: Sequence[dict[str, Any]], *, give_entries: bool
) -> list[AuditEntry]:
    if not entries:
        return []
    rows = [_entry_fields(fields) for fields in entries]
    db_session.flush()
    if db_session.get_bind().dialect.name == "postgresql":
        added = _append_in_database(db_session, rows, give_entries=give_entries)
        if added is not None:
            return added
        # The function found the head missing or disagreeing with the entries and appended
        # nothing; the head (when present) is locked by this transaction now.
    return _append_in_python(db_session, rows)


def _parameters(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``audit_append``'s arguments: one array per column, an element per entry."""
    halves = [text_around_link(**row) for row in rows]
    parameters: dict[str, Any] = {
        "text_before": [before for before, _ in halves],
        "text_after": [after for _, after in halves],
    }
    for column in _COLUMNS:
        parameters[column] = [row[column] for row in rows]
    parameters["detail"] = [canonical_json(detail) for detail in parameters["detail"]]
    return parameters


def _append_in_database(
    db_session: Session, rows: list[dict[str, Any]], *, give_entries: bool
) -> list[AuditEntry] | None:
    """Append on PostgreSQL with ``audit_append``: the chain head's lock is then held for this
    one round trip and the commit, where the Python append holds it over four round trips
    and, with a busy server process, over each wait to win the interpreter back after each
    (issue 14). ``None`` when the function appended nothing (the head needs repair)."""
    chained = db_session.execute(_APPEND_IN_DATABASE, _parameters(rows)).all()
    if not chained:
        return None
    added: list[AuditEntry] = []
    if give_entries:
        # Built only now, from what the database wrote; attached as if loaded, so the caller
        # holds persistent entries as the Python append gives.
        added = [
            AuditEntry(
                id=entry_id,
                position=position,
                previous_hash=previous_hash,
                entry_hash=entry_hash,
                **row,
            )
            for row, (entry_id, position, previous_hash, entry_hash) in zip(
                rows, chained, strict=True
            )
        ]
        for entry in added:
            make_transient_to_detached(entry)
            db_session.add(entry)
    for _, position, _, _ in chained:
        audit_checkpoint.checkpoint_if_due(db_session=db_session, position=position)
    return added


def _append_in_python(db_session: Session, rows: list[dict[str, Any]]) -> list[AuditEntry]:
    # Taking the head row's lock first serialises appenders: on PostgreSQL the UPDATE holds a
    # row lock until commit; on SQLite a write takes the database's single write lock.
    head = db_session.execute(_LOCK_HEAD).one_or_none()
    last = db_session.execute(_LAST_ENTRY).one_or_none()
    found = (last.position, last.entry_hash) if last is not None else (0, GENESIS_HASH)
    repair: dict[str, Any] | None = None
    if head is None or (head.position, head.last_hash) != found:
        # The head and the entries disagree: someone changed the log outside the application
        # (issue 12 finding 10). Refusing every audited operation would hand them a denial of
        # service, so the entry continues from the last entry present and says what it found;
        # `audit verify` reports the disagreement, and the checkpoints what was cut.
        repair = {
            "head_position": None if head is None else head.position,
            "head_hash": None if head is None else head.last_hash,
            "last_entry_position": found[0],
        }
        if head is None:
            db_session.add(AuditChainHead(id=CHAIN_HEAD_ID, position=found[0], last_hash=found[1]))
            db_session.flush()
    position, previous_hash = found
    added: list[AuditEntry] = []
    for row in rows:
        detail = row["detail"]
        if repair is not None:
            # Only the first entry finds the disagreement: it repairs the head for the rest.
            detail = {**detail, "chain_head_repair": repair}
            repair = None
        position += 1
        entry = AuditEntry(
            position=position, previous_hash=previous_hash, **{**row, "detail": detail}
        )
        entry.entry_hash = digest_of(entry)
        previous_hash = entry.entry_hash
        added.append(entry)
    db_session.add_all(added)
    db_session.execute(_MOVE_HEAD, {"head_position": position, "head_last_hash": previous_hash})
    db_session.flush()
    for entry in added:
        audit_checkpoint.checkpoint_if_due(db_session=db_session, position=entry.position)
    return added


#: Set on a request's session by the access dependency: entries recorded during the request
#: wait here and are appended when the handler has finished (see ``record``).
DEFERRED_ENTRIES = "fullpicture.audit.deferred"


def record(
    *,
    db_session: Session,
    actor: str,
    action: str,
    actor_user_id: int | None = None,
    person_id: int | None = None,
    target: str | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
    occurred_at: dt.datetime | None = None,
) -> None:
    """Record an entry: at the end of the request when inside one, otherwise now.

    Appending locks the chain head until commit. Inside a request the entry waits until the
    handler has finished, so building a large view never holds that lock; the entry still
    commits (or rolls back) with the request.
    """
    fields: dict[str, Any] = {
        "actor": actor,
        "action": action,
        "actor_user_id": actor_user_id,
        "person_id": person_id,
        "target": target,
        "reason": reason,
        "detail": detail,
        "occurred_at": occurred_at or utc_now(),
    }
    pending = db_session.info.get(DEFERRED_ENTRIES)
    if pending is None:
        append(db_session=db_session, **fields)
    else:
        pending.append(fields)


#: Set beside ``DEFERRED_ENTRIES``: entries ``append_at_commit`` gave during the request, appended
#: after the request's own when it commits.
AT_COMMIT_ENTRIES = "fullpicture.audit.at_commit"
#: ``audit_append_or_refuse``'s SQLSTATE: the chain head is missing or disagrees (migration 0083).
HEAD_DISAGREES = "FPA01"
_BEFORE_APPEND = "audit_append"  # the savepoint's name
_APPEND_OR_REFUSE = (
    "SELECT entry_position FROM audit_append_or_refuse("
    "%(text_before)s::text[], %(text_after)s::text[], %(occurred_at)s::timestamptz[], "
    "%(actor)s::text[], %(actor_user_id)s::integer[], %(action)s::text[], "
    "%(person_id)s::integer[], %(target)s::text[], %(reason)s::text[], %(detail)s::text[])"
)
_APPEND_AND_COMMIT = (
    f"SAVEPOINT {_BEFORE_APPEND}; {_APPEND_OR_REFUSE}; RELEASE SAVEPOINT {_BEFORE_APPEND}; COMMIT"
)


def defer_entries(db_session: Session) -> None:
    db_session.info[DEFERRED_ENTRIES] = []
    db_session.info[AT_COMMIT_ENTRIES] = []


def drop_deferred(db_session: Session) -> None:
    db_session.info.pop(DEFERRED_ENTRIES, None)
    db_session.info.pop(AT_COMMIT_ENTRIES, None)


def commit_with_deferred(db_session: Session) -> None:
    """Append the entries the request recorded (then those given to ``append_at_commit``), in
    order, and commit them with the request; stop deferring.

    On PostgreSQL the append and the COMMIT go to the server together in one message, so the
    chain head's lock, taken by the append, is released by the server's own COMMIT: no answer
    has to reach this process, and no thread of it win the interpreter back, while every
    other audited request waits on that lock (issue 14). A head that disagrees with the
    entries makes the append refuse; the server then skips the COMMIT, and the request rolls
    back to the savepoint before the append and repairs in Python, in the same transaction,
    so the request's writes and its entries still commit or roll back together.
    """
    entries = [
        *(db_session.info.pop(DEFERRED_ENTRIES, None) or []),
        *(db_session.info.pop(AT_COMMIT_ENTRIES, None) or []),
    ]
    if entries and _can_commit_with_the_append(db_session):
        rows = [_entry_fields(fields) for fields in entries]
        db_session.flush()
        positions = _append_and_commit_in_database(db_session, rows)
        if positions is None:
            _append_in_python(db_session, rows)
        else:
            for position in positions:
                audit_checkpoint.checkpoint_if_due(db_session=db_session, position=position)
    else:
        _append(db_session, entries, give_entries=False)
    # After the append this sends nothing (the connection is already out of its transaction)
    # but ends the session's transaction and runs its after_commit hooks (checkpoints).
    db_session.commit()


def _can_commit_with_the_append(db_session: Session) -> bool:
    bind = db_session.get_bind()
    return (
        bind.dialect.name == "postgresql"
        and bind.dialect.driver == "psycopg"
        # A session given a connection may be inside its owner's transaction (a test's): its
        # commit is not the database's COMMIT.
        and isinstance(bind, Engine)
        and not db_session.connection().in_nested_transaction()
        # A before_commit hook would otherwise run after the COMMIT, outside the transaction.
        and not db_session.dispatch.before_commit
    )


def _append_and_commit_in_database(
    db_session: Session, rows: list[dict[str, Any]]
) -> list[int] | None:
    """Send the append and the COMMIT as one message; the positions appended, or ``None``
    when the head disagreed (the transaction is then back at the savepoint, still open).

    One simple-protocol message, parameters bound by the client: the server runs its four
    statements back to back. (psycopg's pipeline mode sends each statement as it is given,
    so the COMMIT would still wait for this process between the append and itself.)"""
    connection = db_session.connection().connection.driver_connection
    assert isinstance(connection, psycopg.Connection)
    cursor = psycopg.ClientCursor(connection)
    try:
        cursor.execute(_APPEND_AND_COMMIT, _parameters(rows))
    except psycopg.Error as error:
        if error.sqlstate != HEAD_DISAGREES:
            raise
        connection.execute(f"ROLLBACK TO SAVEPOINT {_BEFORE_APPEND}")
        return None
    cursor.nextset()  # past the SAVEPOINT's result to the append's
    return [position for (position,) in cursor.fetchall()]


def append_at_commit(
    *,
    db_session: Session,
    actor: str,
    action: str,
    actor_user_id: int | None = None,
    person_id: int | None = None,
    target: str | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an entry when the session commits (and not at all if it rolls back).

    Appending takes the chain head's lock until commit; for a long request (an import over
    the API) taking it at the start would make every other audited request wait for the
    whole of it on PostgreSQL. Taking it at commit keeps the wait to the commit itself.
    Inside a request (``defer_entries``) the entry waits for ``commit_with_deferred``, the
    request's one commit, and goes after the request's own entries.
    """
    occurred_at = utc_now()
    at_commit = db_session.info.get(AT_COMMIT_ENTRIES)
    if at_commit is not None:
        # Inside a request: appended with the request's own entries when it commits.
        at_commit.append(
            {
                "actor": actor,
                "action": action,
                "actor_user_id": actor_user_id,
                "person_id": person_id,
                "target": target,
                "reason": reason,
                "detail": detail,
                "occurred_at": occurred_at,
            }
        )
        return

    def write_entry(session: Session) -> None:
        append(
            db_session=session,
            actor=actor,
            action=action,
            actor_user_id=actor_user_id,
            person_id=person_id,
            target=target,
            reason=reason,
            detail=detail,
            occurred_at=occurred_at,
        )

    event.listen(db_session, "before_commit", write_entry, once=True)


@dataclass(frozen=True)
class ChainVerdict:
    """The outcome of checking the chain; ``first_broken`` names the first bad entry."""

    intact: bool
    entries_checked: int
    first_broken_position: int | None = None
    first_broken_id: int | None = None
    problem: str | None = None


def verify_chain(
    *,
    db_session: Session,
    batch_size: int = 5_000,
    checkpoint: audit_checkpoint.Checkpoint | None = None,
) -> ChainVerdict:
    """Walk the chain in order and report the first entry whose hash or link does not hold,
    then hold the chain to its head row and to ``checkpoint`` (the latest signed one)."""
    expected_previous = GENESIS_HASH
    expected_position = 1
    checked = 0
    hash_at_checkpoint: str | None = None
    rows = db_session.scalars(
        select(AuditEntry).order_by(AuditEntry.position).execution_options(yield_per=batch_size)
    )
    for entry in rows:
        problem = None
        if entry.position != expected_position:
            problem = f"expected position {expected_position}, found {entry.position} (an entry is missing)"
        elif entry.previous_hash != expected_previous:
            problem = "its previous_hash does not match the entry before it"
        elif digest_of(entry) != entry.entry_hash:
            problem = "its content does not match its hash (the entry was altered)"
        if problem is not None:
            return ChainVerdict(False, checked, entry.position, entry.id, problem)
        repair = (entry.detail or {}).get("chain_head_repair")
        if isinstance(repair, dict):
            return _repaired_head(entry, repair, checked)
        checked += 1
        expected_previous = entry.entry_hash
        expected_position += 1
        if checkpoint is not None and entry.position == checkpoint.position:
            hash_at_checkpoint = entry.entry_hash
    head = db_session.execute(
        select(AuditChainHead.position, AuditChainHead.last_hash).where(
            AuditChainHead.id == CHAIN_HEAD_ID
        )
    ).one_or_none()
    if head is None:
        return ChainVerdict(
            False, checked, checked, None, "the chain head row is missing (it was deleted)"
        )
    if head.position < checked:
        return ChainVerdict(
            False,
            checked,
            head.position + 1,
            None,
            f"the chain head records {head.position} entries but {checked} are present "
            f"(entries from {head.position + 1} were added without the application)",
        )
    if head.position != checked or head.last_hash != expected_previous:
        return ChainVerdict(
            False,
            checked,
            checked + 1,
            None,
            f"the chain head records {head.position} entries but {checked} are present "
            "(entries were removed from the end)",
        )
    if checkpoint is not None:
        if checkpoint.position > checked:
            return ChainVerdict(
                False,
                checked,
                checked + 1,
                None,
                f"{audit_checkpoint.describe(checkpoint)} recorded {checkpoint.position} "
                f"entries but {checked} are present: entries {checked + 1} to "
                f"{checkpoint.position} were removed and the head set back",
            )
        if checkpoint.position and hash_at_checkpoint != checkpoint.last_hash:
            return ChainVerdict(
                False,
                checked,
                checkpoint.position,
                None,
                f"entry {checkpoint.position} differs from {audit_checkpoint.describe(checkpoint)}"
                ": the chain up to it was rewritten",
            )
    return ChainVerdict(True, checked)


def _repaired_head(entry: AuditEntry, repair: dict[str, Any], checked: int) -> ChainVerdict:
    """The verdict on an entry appended when the head and the entries disagreed."""
    head_position = repair.get("head_position")
    last = int(repair.get("last_entry_position") or 0)
    if head_position is None:
        problem = (
            f"entry {entry.position} was appended when the chain head row was missing "
            "(it had been deleted outside the application)"
        )
        first = entry.position
    elif int(head_position) < last:
        problem = (
            f"when entry {entry.position} was appended the chain head recorded {head_position} "
            f"entries but {last} were present: entries from {int(head_position) + 1} were "
            "added without the application"
        )
        first = int(head_position) + 1
    else:
        problem = (
            f"when entry {entry.position} was appended the chain head recorded {head_position} "
            f"entries but {last} were present: entries after {last} were removed"
        )
        first = last + 1
    return ChainVerdict(False, checked, first, None, problem)
