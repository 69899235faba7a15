"""Hostile and implausible feed input (issue 12 findings 5, 6, 7, 8, 9 and 14): each is
quarantined row by row or refused as a file, never a crash, and nothing leaves as a formula.

Runs on SQLite and PostgreSQL (``db_session``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.chronology.models import Event
from fullpicture.core.settings import get_settings
from fullpicture.imports import service
from fullpicture.imports.authority import FeedScope
from fullpicture.imports.models import BatchStatus, ImportBatch
from fullpicture.imports.rows import EventRow
from fullpicture.imports.schemas import ImportResult
from fullpicture.people.models import SourceRecord
from tests.access.principals import authorise_client
from tests.imports.feeds import WRITERS, declare_every_agency, event, record, register_agencies

#: A partnership data-team user's view: every feed's quarantined rows.
EVERY_FEED = FeedScope(agency_code=None, every_feed=True)


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
        db_session=db_session,
        batch_public_id=result.batch.public_id,
        out_dir=tmp_path / "fix",
        scope=EVERY_FEED,
    )
    text = exported.files["events"].read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    # The row is exported as it arrived, its tab included.
    assert {row["summary"] for row in rows} == {'\'=HYPERLINK("http://x.example")', "'\t=1+1"}
    assert {row["action_taken"] for row in rows} >= {"'@SUM(1)"}
    assert not [cell for row in rows for cell in row.values() if cell[:1] in set("=+-@\t\r")]


def test_one_event_with_an_old_date_is_quarantined_not_a_schema_error(
    db_session: Session, agencies: None, tmp_path: Path
) -> None:
    # Findings 6 and 14: a one-row events file dated 0001-01-01 failed the batch with polars'
    # "failed to vstack column 'digest'", and when it did go in, the child's harm page was a 500.
    run(db_session, feed(tmp_path, "people", records=[record("C1")]))
    result = run(db_session, feed(tmp_path, "old", events=[event("E1", event_date="0001-01-01")]))
    assert result.batch.tables["events"].quarantined == 1
    (row,) = result.quarantined
    reasons = {reason.field: reason.message for reason in row.reasons}
    assert "before 1900" in reasons["event_date"]


def test_a_chunk_whose_only_valid_row_needs_the_model_is_stored(
    db_session: Session, agencies: None, tmp_path: Path
) -> None:
    # Finding 14's cause: a chunk where the column-wise check took no row but the model took
    # one could not be stacked ("failed to vstack column 'digest'"), failing the whole batch.
    run(db_session, feed(tmp_path, "people", records=[record("C1")]))
    # A trailing \x1f is stripped by the model (as str.strip does) but sends the row past
    # the column-wise check.
    result = run(db_session, feed(tmp_path, "one", events=[event("E1", summary="Seen.\x1f")]))
    assert result.batch.tables["events"].new == 1 and result.quarantined == []


def reasons_of(result: ImportResult) -> dict[str | None, dict[str, str]]:
    return {
        row.row_ref: {reason.field: reason.message for reason in row.reasons}
        for row in result.quarantined
    }


def test_implausible_dates_are_quarantined_with_the_reason_from_the_rules_file(
    db_session: Session, agencies: None, tmp_path: Path
) -> None:
    # Finding 9 (dates of birth of 0001-01-01 and 1800-01-01 were accepted) and finding 6
    # (an event dated 0001-01-01 was accepted, then the child's harm page was a 500).
    today = dt.date.today()
    records = [
        record("C1"),
        record("D1", date_of_birth="0001-01-01"),
        record("D2", date_of_birth="1800-01-01"),
        record("D3", date_of_birth=(today - dt.timedelta(days=121 * 366)).isoformat()),
        record("D4", date_of_birth="1950-06-01"),  # a grandparent: plausible
        record("P1", expected_date_of_delivery=(today + dt.timedelta(days=400)).isoformat()),
        record("P2", expected_date_of_delivery=(today + dt.timedelta(days=200)).isoformat()),
        record("P3", expected_date_of_delivery="1990-01-01"),
        record("A1", addresses='[{"line": "1 High St", "date_from": "0001-01-01"}]'),
    ]
    events = [
        event("E1", event_date="1899-12-31"),
        event("E2", event_date="1899"),
        event("E3", event_date="0001-01"),
        event("E4", event_date="1900-01-01", date_recorded="1900-01-02"),
        event("E5", date_recorded="0001-01-01"),
    ]
    relationships = [
        {"agency": "gp-ashdown", "record_id": "C1", "related_record_id": "D4",
         "relationship": "grandparent", "date_from": "1066-10-14"},
    ]  # fmt: skip
    result = run(
        db_session,
        feed(tmp_path, "f", records=records, relationships=relationships, events=events),
    )
    found = reasons_of(result)
    for ref in ("D1", "D2", "D3"):
        assert "is before" in found[ref]["date_of_birth"], found[ref]
        assert "120 years" in found[ref]["date_of_birth"]
    assert "D4" not in found and "P2" not in found and "C1" not in found
    assert "ten months" in found["P1"]["expected_date_of_delivery"]
    assert "is before" in found["P3"]["expected_date_of_delivery"]
    assert "address date 0001-01-01 is before 1900-01-01" in str(found["A1"])
    for ref in ("E1", "E2", "E3"):
        assert "is before 1900-01-01" in found[ref]["event_date"], found[ref]
    assert "E4" not in found
    assert "is before 1900-01-01" in str(found["E5"])
    assert "1066-10-14 is before 1900-01-01" in str(found["C1>D4:grandparent"])


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_control_characters_in_names_and_ids_are_quarantined(
    db_session: Session, agencies: None, tmp_path: Path, fmt: str
) -> None:
    # Finding 9: NUL bytes were stored in names and ids.
    records = [
        record("C1"),
        record("N1", given_name="Am\x00elia"),
        record("N2", family_name="Smith\x1b[2J"),
        record("N\x003"),
        record("N4", other_names="Amy|A\x07my"),
    ]
    events = [
        event("E\x001"),
        event("E2", summary="Seen at\x00 school"),
        event("E3", people="C\x001:subject"),
        event("E4", practitioner="Dr\x00 Who"),
        event("E5", summary="Line one\nline two\tand a tab"),  # free text keeps these
    ]
    directory = tmp_path / fmt
    directory.mkdir()
    WRITERS[fmt](directory / f"records.{fmt}", records)
    WRITERS[fmt](directory / f"events.{fmt}", events)
    result = run(db_session, directory)
    found = reasons_of(result)
    assert "a NUL byte" in found["N1"]["given_name"]
    assert "control character (U+001B)" in found["N2"]["family_name"]
    # The quarantined row keeps the NUL shown as \x00 (PostgreSQL cannot store one).
    assert "a NUL byte" in found["N\\x003"]["record_id"]
    assert "control character (U+0007)" in str(found["N4"])
    assert "a NUL byte" in str(found["E\\x001"])
    assert "summary holds a NUL byte" in found["E2"]["summary"]
    assert "a NUL byte" in str(found["E3"])
    assert "a NUL byte" in found["E4"]["practitioner"]
    assert "E5" not in found and "C1" not in found
    assert result.batch.tables["events"].new == 1


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Small import limits (set through the environment, as an operator would)."""
    monkeypatch.setenv("FULLPICTURE_IMPORT_CHUNK_ROWS", "1000")
    monkeypatch.setenv("FULLPICTURE_IMPORT_MAX_QUARANTINED_ROWS", "1000")
    monkeypatch.setenv("FULLPICTURE_IMPORT_MAX_ROW_BYTES", "8192")
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def test_a_deeply_nested_json_lines_row_is_quarantined_not_the_batch(
    db_session: Session, agencies: None, tmp_path: Path
) -> None:
    # Finding 8: one such row raised RecursionError for the whole batch (HTTP 500, exit 1).
    directory = tmp_path / "nested"
    directory.mkdir()
    WRITERS["jsonl"](directory / "records.jsonl", [record("C1"), record("C2")])
    with (directory / "records.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"agency": "gp-ashdown", "record_id": "X", "addresses": ')
        handle.write("[" * 100_000 + "]" * 100_000 + "}\n")
        handle.write('{"agency": "gp-ashdown", "record_id": "Y", "other_names": ')
        handle.write("[" * 20 + "]" * 20 + "}\n")
    result = run(db_session, directory)
    assert result.batch.tables["records"].new == 2
    assert [row.row_number for row in result.quarantined] == [3, 4]
    for row in result.quarantined:
        assert "more than 16 levels deep" in row.reasons[0].message


def test_an_overlong_json_lines_row_is_quarantined_and_the_next_row_read(
    db_session: Session, agencies: None, tmp_path: Path, limits: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "long"
    directory.mkdir()
    path = directory / "records.jsonl"
    WRITERS["jsonl"](path, [record("C1")])
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"agency": "gp-ashdown", "record_id": "L", "given_name": "')
        handle.write("a" * 100_000 + '"}\n')
    WRITERS["jsonl"](directory / "more.records.jsonl", [record("C2")])
    result = run(db_session, directory)
    assert result.batch.tables["records"].new == 2
    (row,) = result.quarantined
    assert "longer than 8,192 bytes" in row.reasons[0].message
    assert len(row.raw) < 300


def test_a_csv_file_with_an_overlong_line_is_refused(
    db_session: Session, agencies: None, tmp_path: Path, limits: pytest.MonkeyPatch
) -> None:
    directory = feed(tmp_path, "long", records=[record("C1", given_name="a" * 20_000)])
    with pytest.raises(service.FeedFileError, match="line 2 is longer than 8,192 bytes"):
        run(db_session, directory)
    quote_bomb = tmp_path / "bomb"
    quote_bomb.mkdir()
    lines = ["agency,record_id,given_name", 'gp-ashdown,C1,"never closed']
    lines += ["x" * 100] * 200
    (quote_bomb / "records.csv").write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(service.FeedFileError):
        run(db_session, quote_bomb)


def test_a_file_of_separators_is_refused_in_bounded_time_and_memory(
    db_session: Session, agencies: None, tmp_path: Path, limits: pytest.MonkeyPatch
) -> None:
    # Finding 5 at a smaller scale: the probe's 50 MB of a repeated 10-character pattern of
    # ';', newlines, carriage returns and '=' as an events CSV took 24 GB and the server.
    directory = tmp_path / "bomb"
    directory.mkdir()
    header = ",".join(EventRow.columns) + "\n"
    pattern = ";\n=\r;=\n\r=;"
    (directory / "events.csv").write_text(header + pattern * 200_000, encoding="utf-8")
    tracemalloc.start()
    try:
        with pytest.raises(service.FeedFileError, match="more than 1,000 rows"):
            run(db_session, directory)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024, peak  # Python-side memory of reading a 2 MB file
    db_session.rollback()


def test_a_parquet_file_with_an_oversized_cell_is_refused_before_it_is_read(
    db_session: Session, agencies: None, tmp_path: Path, limits: pytest.MonkeyPatch
) -> None:
    # pyarrow decodes a column chunk whole, so a 400 MB cell was in memory before the row
    # check saw it. The sizes in the file's metadata refuse it first; nothing is read.
    reads: list[object] = []
    real_iter_batches = pq.ParquetFile.iter_batches

    def counted(self: pq.ParquetFile, *args: Any, **kwargs: Any) -> Any:
        reads.append(self)
        return real_iter_batches(self, *args, **kwargs)

    limits.setattr(pq.ParquetFile, "iter_batches", counted)
    huge = "x" * 100_000  # compresses to a few kB: the upload limit does not see it
    one_row = tmp_path / "one" / "records.parquet"
    one_row.parent.mkdir()
    WRITERS["parquet"](one_row, [record("C1", given_name=huge)])
    assert one_row.stat().st_size < 20_000
    with pytest.raises(service.FeedFileError, match="FULLPICTURE_IMPORT_MAX_ROW_BYTES"):
        run(db_session, one_row)
    # In a row group of many small rows the average stays under the row limit; the column
    # chunk bound catches the cell.
    limits.setenv("FULLPICTURE_IMPORT_MAX_PARQUET_COLUMN_CHUNK_BYTES", str(64 * 1024))
    get_settings.cache_clear()
    many_rows = tmp_path / "many" / "records.parquet"
    many_rows.parent.mkdir()
    rows = [record(f"C{n}") for n in range(50)] + [record("C50", given_name=huge)]
    WRITERS["parquet"](many_rows, rows)
    with pytest.raises(
        service.FeedFileError,
        match=r"column 'given_name' of rows 1-51 .*IMPORT_MAX_PARQUET_COLUMN_CHUNK_BYTES",
    ):
        run(db_session, many_rows)
    assert reads == []
    assert db_session.scalar(select(func.count()).select_from(SourceRecord)) == 0
    # The same rows with an ordinary name are read and stored.
    rows[-1] = record("C50")
    WRITERS["parquet"](many_rows, rows)
    assert run(db_session, many_rows).batch.tables["records"].new == 51
    assert reads


def test_an_import_past_its_time_budget_is_rolled_back(
    db_session: Session, agencies: None, tmp_path: Path, limits: pytest.MonkeyPatch
) -> None:
    limits.setenv("FULLPICTURE_IMPORT_MAX_SECONDS", "60")
    get_settings.cache_clear()
    clock = iter(range(0, 10_000, 61))  # each look at the clock is a minute later
    limits.setattr("fullpicture.imports.batch_run.monotonic", lambda: next(clock))
    with pytest.raises(service.ImportFailed, match="budget of 60 seconds"):
        run(db_session, feed(tmp_path, "slow", records=[record("C1")]))


def test_an_upload_past_its_time_budget_is_a_413_saying_what_to_do_and_stores_nothing(
    app_client: TestClient,
    db_session: Session,
    agencies: None,
    tmp_path: Path,
    limits: pytest.MonkeyPatch,
) -> None:
    # The API answered 500 when the budget ran out. The records chunk is written before the
    # clock is looked at, so the test also shows that what was written is undone.
    authorise_client(app_client, db_session, role=Role.ADMINISTRATOR)
    declare_every_agency(app_client)
    limits.setenv("FULLPICTURE_IMPORT_MAX_SECONDS", "60")
    get_settings.cache_clear()
    clock = iter(range(0, 10_000, 61))  # each look at the clock is a minute later
    limits.setattr("fullpicture.imports.batch_run.monotonic", lambda: next(clock))
    directory = feed(tmp_path, "slow", records=[record("C1"), record("C2")], events=[event("E1")])
    answered = app_client.post(
        "/api/v1/imports",
        files={
            table: (f"{table}.csv", (directory / f"{table}.csv").read_bytes(), "text/csv")
            for table in ("records", "events")
        },
    )
    assert answered.status_code == 413, answered.text
    body = answered.json()
    assert "time budget of 60 seconds" in body["detail"]
    assert "nothing of it was stored" in body["detail"]
    assert "Split the feed" in body["detail"] and "fullpicture import" in body["detail"]
    assert db_session.scalar(select(func.count()).select_from(SourceRecord)) == 0
    assert db_session.scalar(select(func.count()).select_from(Event)) == 0
    failed = db_session.scalars(
        select(ImportBatch).where(ImportBatch.public_id == body["batch"])
    ).one()
    assert failed.status == BatchStatus.FAILED


def test_hostile_uploads_get_a_clear_answer_over_the_api(
    app_client: TestClient, db_session: Session, agencies: None, limits: pytest.MonkeyPatch
) -> None:
    # Findings 5 and 8 through POST /api/v1/imports: a 422 or a quarantined row, never a 500.
    authorise_client(app_client, db_session, role=Role.ADMINISTRATOR)
    declare_every_agency(app_client)
    header = ",".join(EventRow.columns) + "\n"
    bomb = (header + ";\n=\r;=\n\r=;" * 200_000).encode()
    refused = app_client.post("/api/v1/imports", files={"events": ("events.csv", bomb, "text/csv")})
    assert refused.status_code == 422, refused.text
    assert "more than 1,000 rows" in refused.json()["detail"]
    nested = b'{"agency": "gp-ashdown", "record_id": "X", "addresses": ' + b"[" * 3_000
    nested += b"]" * 3_000 + b"}\n"
    good = b'{"agency": "gp-ashdown", "record_id": "C1", "given_name": "Amelia"}\n'
    answered = app_client.post(
        "/api/v1/imports",
        files={"records": ("records.jsonl", good + nested, "application/octet-stream")},
    )
    assert answered.status_code == 201, answered.text
    body = answered.json()
    assert body["batch"]["tables"]["records"]["new"] == 1
    assert "levels deep" in body["quarantined"][0]["reasons"][0]["message"]
