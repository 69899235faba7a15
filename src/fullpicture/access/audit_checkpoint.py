"""Signed checkpoints of the audit chain's head, kept outside the database.

The hash chain shows any entry that was changed or removed in the middle, but not entries cut
from the end when the head is set back with them, nor the whole log emptied and the head reset
(issue 12 finding 10): the chain is then short but consistent. A checkpoint records the head
(entry count and last hash) at a moment, signed with an Ed25519 key that is not in the database,
in a file the database cannot touch (append-only: one JSON line per checkpoint). ``fullpicture
audit verify`` holds the chain to the latest checkpoint: the chain must still hold at least
that many entries, and the entry at that position must still have that hash.

Checkpoints are written by ``fullpicture audit checkpoint`` (run it from cron, e.g. hourly),
after every ``FULLPICTURE_AUDIT_CHECKPOINT_EVERY`` entries by the application itself when a key
is configured, and by ``audit verify`` when the chain it checked is intact.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access.models import AuditChainHead
from fullpicture.core.database import utc_now
from fullpicture.core.settings import get_settings

log = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """Checkpoints cannot be written or read; the message says what to fix."""


@dataclass(frozen=True)
class Checkpoint:
    """The chain head at a moment: ``position`` entries, the last with ``last_hash``."""

    position: int
    last_hash: str
    written_at: str
    line: int  # 1-based line of the checkpoint file


def key_path() -> Path | None:
    configured = get_settings().audit_checkpoint_key
    return Path(configured) if configured else None


def checkpoint_path() -> Path:
    configured = get_settings().audit_checkpoint_file
    return Path(configured) if configured else get_settings().data_dir / "audit-checkpoints.jsonl"


def generate_key(path: Path) -> str:
    """Write a new Ed25519 private key to ``path`` (owner-only, never overwritten); return
    the public key (base64) to keep with the auditors."""
    if path.exists():
        raise CheckpointError(f"{path} exists; a checkpoint key is never overwritten")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return _public_text(key.public_key())


def _public_text(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _private_key() -> Ed25519PrivateKey:
    path = key_path()
    if path is None:
        raise CheckpointError(
            "no checkpoint key: run `fullpicture audit keygen --out PATH` on a path outside the "
            "repository and the database host's backups, and set FULLPICTURE_AUDIT_CHECKPOINT_KEY"
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read the checkpoint key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path} is not an Ed25519 key")
    return key


def _signed_bytes(position: int, last_hash: str, written_at: str) -> bytes:
    return f"fullpicture-audit-checkpoint:{position}:{last_hash}:{written_at}".encode()


def write_checkpoint(*, db_session: Session) -> Checkpoint:
    """Append the chain head as committed now to the checkpoint file, signed."""
    key = _private_key()
    head = db_session.execute(
        select(AuditChainHead.position, AuditChainHead.last_hash)
    ).one_or_none()
    if head is None:
        raise CheckpointError("the audit chain head row is missing; run `fullpicture audit verify`")
    written_at = utc_now().isoformat(timespec="microseconds")
    signature = key.sign(_signed_bytes(head.position, head.last_hash, written_at))
    line = json.dumps(
        {
            "position": head.position,
            "last_hash": head.last_hash,
            "written_at": written_at,
            "public_key": _public_text(key.public_key()),
            "signature": base64.b64encode(signature).decode(),
        },
        sort_keys=True,
    )
    path = checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Append-only by how it is opened; the operator can make it so for the file system too
    # (chattr +a, or a write-once store), which the application never needs to undo.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    count = sum(1 for _ in path.open(encoding="utf-8"))
    return Checkpoint(head.position, head.last_hash, written_at, count)


def latest_checkpoint() -> Checkpoint | None:
    """The last checkpoint in the file, its signature checked with the configured key's public
    half. ``None`` when no checkpoint was written yet; ``CheckpointError`` when a line is not a
    valid signed checkpoint (someone wrote to the file) or the key is missing."""
    path = checkpoint_path()
    if not path.exists():
        return None
    public = _private_key().public_key()
    latest: Checkpoint | None = None
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                fields = json.loads(text)
                position, last_hash = int(fields["position"]), str(fields["last_hash"])
                written_at = str(fields["written_at"])
                public.verify(
                    base64.b64decode(fields["signature"]),
                    _signed_bytes(position, last_hash, written_at),
                )
            except (ValueError, KeyError, TypeError, InvalidSignature) as exc:
                raise CheckpointError(
                    f"checkpoint file {path} line {number} is not a checkpoint signed with the "
                    f"configured key ({type(exc).__name__}); the file was written to by "
                    "something else"
                ) from None
            if latest is not None and position < latest.position:
                raise CheckpointError(
                    f"checkpoint file {path} line {number} records {position} entries, fewer "
                    f"than line {latest.line} ({latest.position}): the chain was cut between them"
                )
            latest = Checkpoint(position, last_hash, written_at, number)
    return latest


def checkpoint_if_due(*, db_session: Session, position: int) -> None:
    """After the commit that made ``position`` entries, write a checkpoint when it is a
    multiple of ``audit_checkpoint_every`` and a key is configured. A failure is logged, never
    raised: the audited operation has already committed."""
    every = get_settings().audit_checkpoint_every
    if every <= 0 or position % every or key_path() is None:
        return
    bind = db_session.get_bind()

    def write(_session: Session) -> None:
        try:
            with Session(bind) as session:
                write_checkpoint(db_session=session)
        except Exception:  # the operation is committed; a missed checkpoint is not its fault
            log.exception("could not write the audit checkpoint due at entry %s", position)

    from sqlalchemy import event

    event.listen(db_session, "after_commit", write, once=True)


def describe(checkpoint: Checkpoint) -> str:
    when = dt.datetime.fromisoformat(checkpoint.written_at).strftime("%Y-%m-%d %H:%M UTC")
    return f"the checkpoint of {when} ({checkpoint.position} entries)"
