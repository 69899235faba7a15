"""A batch commits whole or not at all: a failure mid-batch leaves the database exactly as it
was, and only a FAILED batch row, written in its own transaction, says it happened."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access.models import AuditEntry
from fullpicture.core.database import session_factory, unit_of_work
from fullpicture.imports import bulk, service
from fullpicture.imports.flows import run_import
from fullpicture.imports.models import BatchStatus, ImportBatch
from tests.conftest import TestDatabase
from tests.imports.feeds import event, full_dump, record, register_agencies, write_csv


def _feed(directory: Path, events: int) -> Path:
    directory.mkdir()
    write_csv(directory / "records.csv", [record(f"C{n}") for n in range(10)])
    write_csv(
        directory / "events.csv",
        [event(f"E{n}", people=f"C{n % 10}:subject", summary=f"entry {n}") for n in range(events)],
    )
    return directory


def test_a_failure_mid_batch_leaves_the_database_as_before(
    fresh_database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = session_factory(fresh_database.engine)
    with unit_of_work(factory) as session:
        register_agencies(session)
    # Something already stored, which the failed batch would have changed.
    run_import(session_factory=factory, paths=[_feed(tmp_path / "first", 5)], imported_by="first")
    with factory() as session:
        before = full_dump(session)

    real_insert = bulk.BulkWriter.insert
    calls: list[str] = []

    def failing_insert(
        self: bulk.BulkWriter,
        table_name: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        calls.append(table_name)
        # Let records and the first chunk of events in, then fail: the failure is mid-batch.
        if table_name == "event" and calls.count("event") == 2:
            raise RuntimeError("disk full")
        real_insert(self, table_name, columns, rows)

    monkeypatch.setattr(bulk.BulkWriter, "insert", failing_insert)
    changed = tmp_path / "second"
    changed.mkdir()
    write_csv(changed / "records.csv", [record(f"C{n}", family_name="Jones") for n in range(10)])
    write_csv(
        changed / "events.csv",
        [event(f"E{n}", people=f"C{n % 10}:subject", summary=f"changed {n}") for n in range(30)]
        + [event("BAD", concern_code="NOPE")],
    )
    with pytest.raises(service.ImportFailed, match="disk full") as caught:
        run_import(session_factory=factory, paths=[changed], imported_by="second", chunk_rows=10)
    assert "source_record" in calls and calls.count("event") == 2

    with factory() as session:
        after = full_dump(session)
        failed = session.scalars(
            select(ImportBatch).where(ImportBatch.status == BatchStatus.FAILED)
        ).all()
    assert len(failed) == 1
    assert failed[0].public_id == caught.value.public_id
    assert failed[0].imported_by == "second"
    assert failed[0].failure is not None and "disk full" in failed[0].failure
    with factory() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.position)).all()
    assert actions[-2:] == ["import.batch", "import.failed"]
    # Everything else is exactly as it was: no records, versions, events or quarantined rows.
    after["import_batch"] = [row for row in after["import_batch"] if row[1] != failed[0].public_id]
    assert after == before


def test_a_file_level_error_stores_nothing_not_even_a_batch(
    fresh_database: TestDatabase, tmp_path: Path
) -> None:
    factory = session_factory(fresh_database.engine)
    with unit_of_work(factory) as session:
        register_agencies(session)
    directory = _feed(tmp_path / "feed", 3)
    (directory / "relationships.csv").write_text(
        "agency,record_id\ngp-ashdown,C1\n", encoding="utf-8"
    )
    with factory() as session:
        before = full_dump(session)
    with pytest.raises(service.FeedFileError, match="related_record_id, relationship"):
        run_import(session_factory=factory, paths=[directory], imported_by="x")
    with factory() as session:
        assert full_dump(session) == before


def test_a_committed_batch_is_visible_to_other_connections(
    fresh_database: TestDatabase, tmp_path: Path
) -> None:
    factory = session_factory(fresh_database.engine)
    with unit_of_work(factory) as session:
        register_agencies(session)
    result = run_import(session_factory=factory, paths=[_feed(tmp_path / "f", 4)], imported_by="x")
    with Session(fresh_database.engine) as other:
        batch = other.scalar(
            select(ImportBatch).where(ImportBatch.public_id == result.batch.public_id)
        )
        assert batch is not None and batch.status is BatchStatus.COMMITTED
        assert full_dump(other)["event"] and len(full_dump(other)["event"]) == 4
