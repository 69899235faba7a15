"""Hostile and implausible feed input (issue 12 findings 5, 6, 7, 8, 9 and 14): each is
quarantined row by row or refused as a file, never a crash, and nothing leaves as a formula.

Runs on SQLite and PostgreSQL (``db_session``)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from fullpicture.imports import service
from fullpicture.imports.schemas import ImportResult
from tests.imports.feeds import WRITERS, event, record, register_agencies


def run(db_session: Session, *paths: Path) -> ImportResult:
    return service.import_feed(db_session=db_session, paths=list(paths), imported_by="tester")


def feed(tmp_path: Path, name: str, **tables: list[dict[str, Any]]) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    for table, rows in tables.items():
        WRITERS["csv"](directory / f"{table}.csv", rows)
    return directory


@pytest.fixture
def agencies(db_session: Session) -> None:
    register_agencies(db_session)


def test_the_quarantine_export_never_hands_a_spreadsheet_a_formula(
    db_session: Session, agencies: None, tmp_path: Path
) -> None:
    # Finding 7: the export is opened in a spreadsheet to fix the rows.
    events = [
        event("E1", event_date="2024-13-01", summary='=HYPERLINK("http://x.example")'),
        event("E2", event_date="2024-13-01", summary="\t=1+1", action_taken="@SUM(1)"),
    ]
    result = run(db_session, feed(tmp_path, "one", records=[record("C1")], events=events))
    assert result.batch.tables["events"].quarantined == 2
    exported = service.export_quarantine(
        db_session=db_session, batch_public_id=result.batch.public_id, out_dir=tmp_path / "fix"
    )
    text = exported.files["events"].read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    # The row is exported as it arrived, its tab included.
    assert {row["summary"] for row in rows} == {'\'=HYPERLINK("http://x.example")', "'\t=1+1"}
    assert {row["action_taken"] for row in rows} >= {"'@SUM(1)"}
    assert not [cell for row in rows for cell in row.values() if cell[:1] in set("=+-@\t\r")]
