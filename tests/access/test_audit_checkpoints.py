"""Audit truncation is detected (issue 12 finding 10): signed checkpoints of the chain head,
kept outside the database, and a chain head that disagrees with the entries never makes every
audited operation fail nor ``verify`` crash. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fullpicture.access import audit, audit_checkpoint
from fullpicture.access.models import AuditChainHead, AuditEntry
from fullpicture.cli.main import app
from fullpicture.core import runtime
from fullpicture.core.database import utc_now
from fullpicture.core.settings import get_settings
from tests.access.test_audit import _append_some, _drop_guards
from tests.conftest import TestDatabase


@pytest.fixture
def signing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A checkpoint key and file outside the database, as an operator would set them."""
    key = tmp_path / "keys" / "audit-checkpoint.key"
    audit_checkpoint.generate_key(key)
    monkeypatch.setenv("FULLPICTURE_AUDIT_CHECKPOINT_KEY", str(key))
    monkeypatch.setenv("FULLPICTURE_AUDIT_CHECKPOINT_FILE", str(tmp_path / "checkpoints.jsonl"))
    monkeypatch.setenv("FULLPICTURE_AUDIT_CHECKPOINT_EVERY", "0")
    get_settings.cache_clear()
    yield tmp_path / "checkpoints.jsonl"
    monkeypatch.undo()
    get_settings.cache_clear()


def _verify(db_session: Session) -> audit.ChainVerdict:
    db_session.expire_all()
    return audit.verify_chain(
        db_session=db_session, checkpoint=audit_checkpoint.latest_checkpoint()
    )


def _set_head(db_session: Session, position: int, last_hash: str) -> None:
    db_session.execute(
        text("UPDATE audit_chain_head SET position = :p, last_hash = :h"),
        {"p": position, "h": last_hash},
    )


def test_cutting_the_last_entries_and_setting_the_head_back_is_detected(
    db_session: Session, backend: str, signing: Path
) -> None:
    entries = _append_some(db_session, 4)
    audit_checkpoint.write_checkpoint(db_session=db_session)
    assert _verify(db_session).intact
    _drop_guards(db_session, backend)
    keep = entries[1]
    db_session.execute(text("DELETE FROM audit_entry WHERE position > :p"), {"p": keep.position})
    _set_head(db_session, keep.position, keep.entry_hash)
    verdict = _verify(db_session)
    assert not verdict.intact
    assert verdict.first_broken_position == keep.position + 1
    assert "removed and the head set back" in (verdict.problem or "")
    # Without the checkpoint the shortened chain is consistent: this is what it adds.
    assert audit.verify_chain(db_session=db_session).intact


def test_deleting_every_entry_and_resetting_the_head_is_detected(
    db_session: Session, backend: str, signing: Path
) -> None:
    _append_some(db_session, 3)
    audit_checkpoint.write_checkpoint(db_session=db_session)
    _drop_guards(db_session, backend)
    db_session.execute(text("DELETE FROM audit_entry"))
    _set_head(db_session, 0, audit.GENESIS_HASH)
    verdict = _verify(db_session)
    assert not verdict.intact and verdict.first_broken_position == 1
    assert "were removed" in (verdict.problem or "")


def test_a_rewritten_chain_differs_from_the_checkpoint(
    db_session: Session, backend: str, signing: Path
) -> None:
    entries = _append_some(db_session, 3)
    audit_checkpoint.write_checkpoint(db_session=db_session)
    _drop_guards(db_session, backend)
    # Rewrite the last entry consistently (its hash recomputed) and the head with it.
    last = entries[-1]
    last.reason = "rewritten"
    last.entry_hash = audit.digest_of(last)
    db_session.flush()
    _set_head(db_session, last.position, last.entry_hash)
    verdict = _verify(db_session)
    assert not verdict.intact and verdict.first_broken_position == last.position
    assert "rewritten" in (verdict.problem or "")


def _append_behind_the_heads_back(db_session: Session) -> AuditEntry:
    last = db_session.scalars(select(AuditEntry).order_by(AuditEntry.position.desc())).first()
    assert last is not None
    forged = AuditEntry(
        position=last.position + 1, occurred_at=utc_now(), actor="user:mallory",
        actor_user_id=None, action="person.read", person_id=None, target="x", reason=None,
        detail={}, previous_hash=last.entry_hash,
    )  # fmt: skip
    forged.entry_hash = audit.digest_of(forged)
    db_session.add(forged)
    db_session.flush()
    return forged


def test_a_row_appended_without_the_head_is_named_and_audit_goes_on(
    db_session: Session, signing: Path
) -> None:
    _append_some(db_session, 2)
    forged = _append_behind_the_heads_back(db_session)
    verdict = _verify(db_session)
    assert not verdict.intact and verdict.first_broken_position == forged.position
    assert "added without the application" in (verdict.problem or "")
    # Every audited operation still works (it used to fail on the duplicate position) ...
    entry = audit.append(db_session=db_session, actor="user:alice", action="person.read")
    assert entry.position == forged.position + 1
    assert entry.detail["chain_head_repair"]["last_entry_position"] == forged.position
    # ... and verify still names the forged entry, now from the entry that found it.
    verdict = _verify(db_session)
    assert not verdict.intact and verdict.first_broken_position == forged.position


def test_a_deleted_head_row_is_named_and_audit_goes_on(db_session: Session, signing: Path) -> None:
    entries = _append_some(db_session, 2)
    db_session.execute(text("DELETE FROM audit_chain_head"))
    verdict = _verify(db_session)
    assert not verdict.intact and "head row is missing" in (verdict.problem or "")
    entry = audit.append(db_session=db_session, actor="user:alice", action="person.read")
    assert entry.position == entries[-1].position + 1
    assert db_session.get(AuditChainHead, audit.CHAIN_HEAD_ID) is not None
    verdict = _verify(db_session)
    assert not verdict.intact and verdict.first_broken_position == entry.position
    assert "head row was missing" in (verdict.problem or "")


def test_a_checkpoint_file_written_by_anything_else_is_refused(
    db_session: Session, signing: Path
) -> None:
    _append_some(db_session, 2)
    audit_checkpoint.write_checkpoint(db_session=db_session)
    text_ = signing.read_text(encoding="utf-8").replace('"position": ', '"position": 1')
    signing.write_text(text_, encoding="utf-8")
    with pytest.raises(audit_checkpoint.CheckpointError, match="line 1 is not a checkpoint"):
        audit_checkpoint.latest_checkpoint()


@pytest.fixture
def cli_database(
    fresh_database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestDatabase]:
    url = fresh_database.url
    if fresh_database.schema:
        url = f"{url}?options=-csearch_path%3D{fresh_database.schema}"
    monkeypatch.setenv("FULLPICTURE_DATABASE_URL", url)
    for cached in (
        get_settings,
        runtime.get_engine,
        runtime.get_session_factory,
    ):
        cached.cache_clear()
    yield fresh_database
    runtime.get_engine().dispose()
    for cached in (
        get_settings,
        runtime.get_engine,
        runtime.get_session_factory,
    ):
        cached.cache_clear()


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    return result.exit_code, " ".join(result.output.split())


def test_keygen_checkpoint_and_verify_on_the_command_line(
    cli_database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    key = tmp_path / "audit.key"
    code, out = _run("audit", "keygen", "--out", str(key))
    assert code == 0 and "Public key" in out, out
    assert key.stat().st_mode & 0o777 == 0o600
    code, out = _run("audit", "keygen", "--out", str(key))
    assert code == 2 and "never overwritten" in out
    monkeypatch.setenv("FULLPICTURE_AUDIT_CHECKPOINT_KEY", str(key))
    monkeypatch.setenv("FULLPICTURE_AUDIT_CHECKPOINT_FILE", str(tmp_path / "cp.jsonl"))
    monkeypatch.setenv("FULLPICTURE_AUDIT_CHECKPOINT_EVERY", "2")
    get_settings.cache_clear()
    code, out = _run("audit", "verify")  # appends one entry; intact, writes a checkpoint
    assert code == 0 and "no checkpoint written yet" in out, out
    assert "Checkpoint written: 1 entries" in out  # the verification's own entry included
    code, out = _run("audit", "verify")  # the second entry: the application checkpoints too
    assert code == 0, out
    lines = (tmp_path / "cp.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 3
    code, out = _run("audit", "checkpoint")
    assert code == 0 and "entries" in out
    with Session(cli_database.engine) as session:
        _drop_guards(session, backend)
        session.execute(text("DELETE FROM audit_entry"))
        _set_head(session, 0, audit.GENESIS_HASH)
        session.commit()
    code, out = _run("audit", "verify")
    assert code == 1, out
    assert "Audit chain broken at entry 1" in out and "Traceback" not in out
