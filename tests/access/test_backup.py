"""Backup and restore round-trip a populated database, checked by counts and the audit chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from fullpicture.access import backup
from fullpicture.access.models import AuditEntry, Role
from fullpicture.core.database import session_factory, unit_of_work
from fullpicture.people.models import Person
from tests.access.principals import make_agency, make_person, make_user
from tests.conftest import TestDatabase


def _populate(database: TestDatabase, people: int) -> None:
    with unit_of_work(session_factory(database.engine)) as session:
        school = make_agency(session)
        make_user(session, role=Role.DESIGNATED_LEAD, agency=school)
        for _ in range(people):
            make_person(session, held_by=[school])


def test_backup_and_restore_round_trip(fresh_database: TestDatabase, tmp_path: Path) -> None:
    _populate(fresh_database, people=5)
    target = tmp_path / "fullpicture.backup"
    manifest = backup.backup_database(fresh_database.engine, target)
    assert target.is_file() and backup.manifest_path(target).is_file()
    assert manifest.row_counts["person"] == 5
    assert manifest.audit_position >= 1

    _populate(fresh_database, people=3)  # work done after the backup, lost by the restore
    report = backup.restore_database(fresh_database.engine, target)
    assert report.verified, (report.restored_counts, manifest.row_counts, report.audit_problem)
    with unit_of_work(session_factory(fresh_database.engine)) as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 5
        assert (
            session.scalar(select(func.count()).select_from(AuditEntry)) == manifest.audit_position
        )


def test_backup_refuses_to_overwrite(fresh_database: TestDatabase, tmp_path: Path) -> None:
    target = tmp_path / "exists.backup"
    target.write_bytes(b"")
    with pytest.raises(backup.BackupError, match="already exists"):
        backup.backup_database(fresh_database.engine, target)


def test_restore_needs_its_manifest(fresh_database: TestDatabase, tmp_path: Path) -> None:
    target = tmp_path / "orphan.backup"
    target.write_bytes(b"not a backup")
    with pytest.raises(backup.BackupError, match="manifest"):
        backup.restore_database(fresh_database.engine, target)
