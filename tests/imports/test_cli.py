"""``fullpicture import`` and ``fullpicture quarantine``, run as an operator would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from fullpicture.access.models import AuditEntry
from fullpicture.cli.main import app
from fullpicture.core import runtime
from fullpicture.core.database import session_factory, unit_of_work
from fullpicture.core.settings import get_settings
from fullpicture.imports.models import ImportBatch, QuarantinedRow, QuarantineStatus
from tests.conftest import TestDatabase
from tests.imports.feeds import event, record, register_agencies, write_csv


@pytest.fixture
def cli_database(
    fresh_database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestDatabase]:
    url = fresh_database.url
    if fresh_database.schema:
        url = f"{url}?options=-csearch_path%3D{fresh_database.schema}"
    monkeypatch.setenv("FULLPICTURE_DATABASE_URL", url)
    for cached in (get_settings, runtime.get_engine, runtime.get_session_factory):
        cached.cache_clear()
    with unit_of_work(session_factory(fresh_database.engine)) as session:
        register_agencies(session)
    yield fresh_database
    runtime.get_engine().dispose()
    for cached in (get_settings, runtime.get_engine, runtime.get_session_factory):
        cached.cache_clear()


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    # Messages on stderr wrap at rich's own width; compare words, not line breaks.
    return result.exit_code, " ".join(result.output.split())


def test_import_prints_counts_and_reasons_then_export_fix_reimport(
    cli_database: TestDatabase, tmp_path: Path
) -> None:
    feed = tmp_path / "feed"
    feed.mkdir()
    write_csv(feed / "records.csv", [record("C1"), record("C2")])
    write_csv(
        feed / "events.csv", [event("E1"), event("E2", event_date="2099-01-01", date_recorded="")]
    )
    code, out = _run("import", str(feed), "--by", "Ashdown data team")
    assert code == 0, out
    assert "committed" in out and "Ashdown data team" in out
    assert "events row 2" in out and "in the future" in out
    with session_factory(cli_database.engine)() as session:
        (follow_up,) = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "import.follow_up")
        ).all()
        assert follow_up.actor == "Ashdown data team"
        assert follow_up.target.startswith("import_batch:")

    with session_factory(cli_database.engine)() as session:
        batch = session.scalars(select(ImportBatch)).one()
        (row,) = session.scalars(select(QuarantinedRow)).all()

    code, out = _run("quarantine", "list", "--batch", batch.public_id)
    assert code == 0 and "E2" in out
    code, out = _run("quarantine", "show", str(row.id))
    assert code == 0 and "2099-01-01" in out

    fixes = tmp_path / "fixes"
    code, out = _run("quarantine", "export", batch.public_id, "--out", str(fixes))
    assert code == 0, out
    exported = fixes / "events.csv"
    exported.write_text(
        exported.read_text(encoding="utf-8").replace("2099-01-01", "2024-01-01"), encoding="utf-8"
    )
    code, out = _run("import", str(exported))
    assert code == 0, out
    assert "Repaired 1 row" in out
    with session_factory(cli_database.engine)() as session:
        assert session.get(QuarantinedRow, row.id).status is QuarantineStatus.REPAIRED  # type: ignore[union-attr]


def test_dismiss(cli_database: TestDatabase, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "records.csv", [record("C1", agency="gp-elsewhere")])
    assert _run("import", str(path))[0] == 0
    with session_factory(cli_database.engine)() as session:
        (row,) = session.scalars(select(QuarantinedRow)).all()
    code, out = _run(
        "quarantine", "dismiss", str(row.id), "--reason", "not our agency", "--by", "analyst"
    )
    assert code == 0, out
    code, out = _run("quarantine", "dismiss", str(row.id), "--reason", "again")
    assert code == 2 and "already dismissed" in out
    with session_factory(cli_database.engine)() as session:
        entries = session.execute(select(AuditEntry.actor, AuditEntry.action)).all()
    # The import and the dismissal are attributable in the tamper-evident audit log.
    assert ("analyst", "quarantine.dismiss") in entries
    assert any(action == "import.batch" for _, action in entries)


def test_file_level_error_exits_non_zero_with_a_message(
    cli_database: TestDatabase, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text("agency,event_id\ngp-ashdown,E1\n", encoding="utf-8")
    code, out = _run("import", str(path))
    assert code == 2
    assert "Nothing imported" in out and "required column(s) missing" in out
    code, out = _run("import", str(tmp_path / "missing"))
    assert code == 2 and "no such file" in out
    with session_factory(cli_database.engine)() as session:
        assert session.scalars(select(ImportBatch)).all() == []
