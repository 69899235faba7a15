"""Backup and restore of the whole database, verified by row counts and the audit chain.

SQLite uses the online backup API (a consistent copy while the app runs); PostgreSQL uses
``pg_dump`` / ``pg_restore`` (custom format). Each backup has a manifest beside it with every
table's row count and the audit chain's head, so a restore can prove it brought everything back.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.engine import Engine

from fullpicture.access import audit
from fullpicture.access.models import AuditChainHead
from fullpicture.core.database import make_engine, session_factory, unit_of_work, utc_now


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; the message says why."""


@dataclass(frozen=True)
class BackupManifest:
    backend: str
    taken_at: str
    row_counts: dict[str, int]
    audit_position: int
    audit_last_hash: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_file(cls, path: Path) -> BackupManifest:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return cls(**data)


def manifest_path(backup_path: Path) -> Path:
    return backup_path.with_name(backup_path.name + ".manifest.json")


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table of the database's own schema."""
    names = sorted(inspect(engine).get_table_names())
    with engine.connect() as connection:
        return {
            name: int(
                connection.execute(select(func.count()).select_from(table(name))).scalar_one()
            )
            for name in names
        }


def _audit_head(engine: Engine) -> tuple[int, str]:
    with unit_of_work(session_factory(engine)) as session:
        head = session.execute(
            select(AuditChainHead.position, AuditChainHead.last_hash).where(
                AuditChainHead.id == audit.CHAIN_HEAD_ID
            )
        ).one()
        return int(head.position), str(head.last_hash)


def take_manifest(engine: Engine, *, taken_at: dt.datetime | None = None) -> BackupManifest:
    position, last_hash = _audit_head(engine)
    return BackupManifest(
        backend=engine.dialect.name,
        taken_at=(taken_at or utc_now()).isoformat(),
        row_counts=row_counts(engine),
        audit_position=position,
        audit_last_hash=last_hash,
    )


def backup_database(engine: Engine, destination: Path) -> BackupManifest:
    """Write a consistent copy of the database to ``destination`` and its manifest beside it."""
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose a new file name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        manifest = _backup_sqlite(engine, destination)
    elif engine.dialect.name == "postgresql":
        manifest = _backup_postgresql(engine, destination)
    else:
        raise BackupError(f"backups of {engine.dialect.name} are not supported")
    manifest_path(destination).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def _backup_sqlite(engine: Engine, destination: Path) -> BackupManifest:
    raw = engine.raw_connection()
    try:
        source: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]
        target = sqlite3.connect(destination)
        try:
            # The backup API copies a consistent snapshot even while others write.
            source.backup(target)
        finally:
            target.close()
    finally:
        raw.close()
    # The manifest describes the copy itself, so it is exact even if the live file moved on.
    copy = make_engine(f"sqlite:///{destination}")
    try:
        return take_manifest(copy)
    finally:
        copy.dispose()


def _libpq_environment(engine: Engine) -> dict[str, str]:
    url = engine.url
    env = dict(os.environ)
    for key, value in (
        ("PGHOST", url.host),
        ("PGPORT", str(url.port) if url.port else None),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password if isinstance(url.password, str) else None),
        ("PGDATABASE", url.database),
    ):
        if value:
            env[key] = value
    return env


def _current_schema(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(connection.execute(text("SELECT current_schema()")).scalar_one())


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed; install the PostgreSQL client tools")
    return found


def _backup_postgresql(engine: Engine, destination: Path) -> BackupManifest:
    schema = _current_schema(engine)
    # Counts first, then the dump in one snapshot; the manifest is checked after restore
    # against the restored database, so a write between the two would show up there.
    manifest = take_manifest(engine)
    command = [
        _tool("pg_dump"),
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        f"--schema={schema}",
        f"--file={destination}",
    ]
    completed = subprocess.run(
        command, env=_libpq_environment(engine), capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        destination.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {completed.stderr.strip()}")
    return manifest


@dataclass(frozen=True)
class RestoreReport:
    manifest: BackupManifest
    restored_counts: dict[str, int]
    audit_intact: bool
    audit_problem: str | None

    @property
    def counts_match(self) -> bool:
        return self.restored_counts == self.manifest.row_counts

    @property
    def verified(self) -> bool:
        return self.counts_match and self.audit_intact


def restore_database(engine: Engine, source: Path) -> RestoreReport:
    """Replace the database's contents with a backup, then check counts and the audit chain."""
    if not source.is_file():
        raise BackupError(f"{source} is not a backup file")
    manifest_file = manifest_path(source)
    if not manifest_file.is_file():
        raise BackupError(f"{manifest_file} is missing; a backup is restored with its manifest")
    manifest = BackupManifest.from_file(manifest_file)
    if manifest.backend != engine.dialect.name:
        raise BackupError(
            f"this is a {manifest.backend} backup; the configured database is {engine.dialect.name}"
        )
    if engine.dialect.name == "sqlite":
        _restore_sqlite(engine, source)
    else:
        _restore_postgresql(engine, source)
    engine.dispose()
    with unit_of_work(session_factory(engine)) as session:
        verdict = audit.verify_chain(db_session=session)
    return RestoreReport(
        manifest=manifest,
        restored_counts=row_counts(engine),
        audit_intact=verdict.intact,
        audit_problem=verdict.problem,
    )


def _restore_sqlite(engine: Engine, source: Path) -> None:
    raw = engine.raw_connection()
    try:
        target: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]
        backup = sqlite3.connect(source)
        try:
            backup.backup(target)
        finally:
            backup.close()
    finally:
        raw.close()


def _restore_postgresql(engine: Engine, source: Path) -> None:
    command = [
        _tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={engine.url.database}",
        str(source),
    ]
    completed = subprocess.run(
        command, env=_libpq_environment(engine), capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise BackupError(f"pg_restore failed: {completed.stderr.strip()}")
