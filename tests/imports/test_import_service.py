"""Importing feeds: every bad row quarantined with its reasons, nothing stored lost,
re-imports change nothing, changes become new versions, later batches repair quarantined rows.

Runs on SQLite and PostgreSQL (``db_session``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.imports import references, service
from fullpicture.imports.authority import FeedScope
from fullpicture.imports.models import BatchStatus, ImportBatch, QuarantinedRow, QuarantineStatus
from fullpicture.imports.schemas import ImportResult
from fullpicture.people.models import SourceRecord, SourceRelationship
from tests.imports.feeds import (
    GP,
    SCHOOL,
    WRITERS,
    event,
    record,
    register_agencies,
    relationship,
    stored_state,
    write_csv,
)

#: A partnership data-team user's view: every feed's quarantined rows.
EVERY_FEED = FeedScope(agency_code=None, every_feed=True)


def run(
    db_session: Session, *paths: Path, chunk_rows: int | None = None, by: str = "tester"
) -> ImportResult:
    return service.import_feed(
        db_session=db_session, paths=list(paths), imported_by=by, chunk_rows=chunk_rows
    )


def feed(
    tmp_path: Path,
    name: str,
    *,
    records: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    relationships: list[dict[str, Any]] | None = None,
    fmt: str = "csv",
) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    for table, rows in (("records", records), ("relationships", relationships), ("events", events)):
        if rows is not None:
            WRITERS[fmt](directory / f"{table}.{fmt}", rows)
    return directory


BASE_RECORDS = [
    record("C1"),
    record("C2", given_name="Oliver", sex="M"),
    record("A1", given_name="Carl", date_of_birth="1990-01-01"),
]


@pytest.fixture
def agencies(db_session: Session) -> None:
    register_agencies(db_session)


def quarantined_by_ref(result: ImportResult) -> dict[str | None, dict[str, str]]:
    return {
        row.row_ref: {reason.field: reason.message for reason in row.reasons}
        for row in result.quarantined
    }


class TestBadRowsAreQuarantined:
    def test_every_reason_is_quarantined_with_row_number_and_reasons(
        self, db_session: Session, agencies: None, tmp_path: Path
    ) -> None:
        records = [
            *BASE_RECORDS,
            record("C3", nhs_number="943 476 5918"),
            record("C4", upn="A801200005001"),
            record("C5", date_of_birth="2023-02-30"),
            record("C6", agency="gp-unknown"),
            record("", given_name="No id"),
        ]
        events = [
            event("E1", people="C1:subject|A1:household_member"),
            event("E2", event_date="2099-01-01", date_recorded=""),
            event("E3", concern_code="NOT-ACODE"),
            event("E4", summary=""),
            event("E5", people="C1:subject|C99:witness"),
            event("E6", event_date="2024-02-30"),
        ]
        result = run(db_session, feed(tmp_path, "bad", records=records, events=events))
        found = quarantined_by_ref(result)
        assert "modulus 11" in found["C3"]["nhs_number"]
        assert "check letter" in found["C4"]["upn"]
        assert "not a real date" in found["C5"]["date_of_birth"]
        assert "not a registered agency" in found["C6"]["agency"]
        assert "required" in found[None]["record_id"]
        assert "future" in found["E2"]["event_date"]
        assert "concern taxonomy" in found["E3"]["concern_code"]
        assert "required" in found["E4"]["summary"]
        assert "C99 is not a record of gp-ashdown" in found["E5"]["people"]
        assert "not a real date" in found["E6"]["event_date"]
        rows = {row.row_ref: row for row in result.quarantined}
        assert rows["C3"].row_number == 4 and rows["C3"].table_name == "records"
        assert rows["E2"].row_number == 2 and rows["E2"].agency_code == GP
        assert '"nhs_number": "943 476 5918"' in rows["C3"].raw
        tables = result.batch.tables
        assert (tables["records"].new, tables["records"].quarantined) == (3, 5)
        assert (tables["events"].new, tables["events"].quarantined) == (1, 5)
        stored = db_session.scalar(select(func.count()).select_from(QuarantinedRow))
        assert stored == 10
        assert db_session.scalar(select(func.count()).select_from(Event)) == 1

    def test_a_row_with_several_problems_gets_every_reason(
        self, db_session: Session, agencies: None, tmp_path: Path
    ) -> None:
        result = run(
            db_session,
            feed(
                tmp_path,
                "f",
                records=BASE_RECORDS,
                events=[
                    event("E1", concern_code="NOPE", severity="9", people="C1:subject|C42:victim")
                ],
            ),
        )
        reasons = quarantined_by_ref(result)["E1"]
        assert set(reasons) == {"concern_code", "severity", "people"}

    def test_wrong_encoding_is_quarantined_with_raw_bytes_escaped(
        self, db_session: Session, agencies: None, tmp_path: Path
    ) -> None:
        directory = feed(tmp_path, "f", records=BASE_RECORDS, events=[event("E1")])
        with (directory / "events.csv").open("ab") as handle:
            handle.write(b"gp-ashdown,E2,2024-01-01,,WNB,,Caf\xe9 visit,fact,,,,C1:subject,\n")
        result = run(db_session, directory)
        (row,) = result.quarantined
        assert row.row_ref == "E2" and row.row_number == 2
        assert "not UTF-8" in row.reasons[0].message
        assert "Caf\\\\xe9" in row.raw  # the byte, escaped, inside the JSON of the raw row
        assert result.batch.tables["events"].new == 1

    def test_duplicated_id_with_different_content_quarantines_every_copy(
        self, db_session: Session, agencies: None, tmp_path: Path
    ) -> None:
        events = [
            event("E1"),
            event("E2", summary="first telling"),
            event("E3"),
            event("E2", summary="second telling"),
            event("E1"),  # the same again: not a conflict
        ]
        # Chunks of two rows put the copies of E2 in different chunks.
        result = run(
            db_session, feed(tmp_path, "f", records=BASE_RECORDS, events=events), chunk_rows=2
        )
        conflict = [row for row in result.quarantined if row.row_ref == "E2"]
        assert sorted(row.row_number for row in conflict) == [2, 4]
        assert "appears 2 times" in conflict[0].reasons[0].message
        counts = result.batch.tables["events"]
        assert (counts.new, counts.repeated, counts.quarantined) == (2, 1, 2)
        refs = set(db_session.scalars(select(Event.event_ref)))
        assert refs == {"E1", "E3"}

    def test_conflicting_duplicate_does_not_replace_what_was_stored(
        self, db_session: Session, agencies: None, tmp_path: Path
    ) -> None:
        run(db_session, feed(tmp_path, "one", records=BASE_RECORDS, events=[event("E1")]))
        before = stored_state(db_session)
        result = run(
            db_session,
            feed(tmp_path, "two", events=[event("E1", summary="a"), event("E1", summary="b")]),
        )
        assert result.batch.tables["events"].quarantined == 2
        assert stored_state(db_session) == before

    def test_bad_rows_never_touch_what_is_stored(
        self, db_session: Session, agencies: None, tmp_path: Path
    ) -> None:
        run(
            db_session,
            feed(tmp_path, "one", records=BASE_RECORDS, events=[event("E1"), event("E2")]),
        )
        before = stored_state(db_session)
        result = run(
            db_session,
            feed(
                tmp_path,
                "two",
                records=[record("C1", nhs_number="1111111112")],
                events=[event("E1", event_date="2099-01-01"), event("E2", concern_code="X")],
            ),
        )
        assert result.batch.tables["events"].quarantined == 2
        assert result.batch.tables["records"].quarantined == 1
        assert stored_state(db_session) == before

    def test_event_naming_another_agencys_record_is_quarantined(
        self, db_session: Session, agencies: None, tmp_path: Path
    ) -> None:
        result = run(
            db_session,
            feed(
                tmp_path,
                "f",
                records=[*BASE_RECORDS, record("S1", agency=SCHOOL)],
                events=[event("E1", people="S1:subject")],
            ),
        )
        assert "S1 is not a record of gp-ashdown" in quarantined_by_ref(result)["E1"]["people"]

    @pytest.mark.parametrize("read_whole", [True, False], ids=["read-whole", "looked-up"])
    def test_records_of_an_earlier_feed_count_however_they_are_looked_up(
        self,
        db_session: Session,
        agencies: None,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        read_whole: bool,
    ) -> None:
        # An agency with very many records has them looked up chunk by chunk rather than
        # read whole; both must accept the records it holds and refuse the rest.
        monkeypatch.setattr(references, "KNOWN_RECORDS_READ_WHOLE", 10_000 if read_whole else 0)
        run(db_session, feed(tmp_path, "records", records=BASE_RECORDS))
        result = run(
            db_session,
            feed(
                tmp_path,
                "events",
                events=[
                    event("E1", people="C1:subject"),
                    event("E2", people="C1:subject|C99:witness"),
                    event("E3", people="C2:subject"),
                ],
            ),
            chunk_rows=2,
        )
        assert result.batch.tables["events"].new == 2
        assert "C99 is not a record of gp-ashdown" in quarantined_by_ref(result)["E2"]["people"]


class TestReimportAndVersions:
    def test_reimporting_the_same_feed_changes_nothing(
        self, db_session: Session, agencies: None, tmp_path: Path
    ) -> None:
        directory = feed(
            tmp_path,
            "f",
            records=BASE_RECORDS,
            events=[event("E1"), event("E2", event_date="2024-02")],
            relationships=[relationship("C1", "A1")],
        )
        first = run(db_session, directory)
        state = stored_state(db_session)
        second = run(db_session, directory)
        assert stored_state(db_session) == state
        for table in ("records", "relationships", "events"):
            assert second.batch.tables[table].unchanged == first.batch.tables[table].new
            assert second.batch.tables[table].new == second.batch.tables[table].changed == 0

    def test_change_reason_alone_is_not_a_change(
        self, db_session: Session, agencies: None, tmp_path: Path
    ) -> None:
        run(db_session, feed(tmp_path, "one", records=BASE_RECORDS, events=[event("E1")]))
        result = run(
            db_session, feed(tmp_path, "two", events=[event("E1", change_reason="resent")])
        )
        assert result.batch.tables["events"].unchanged == 1

    def test_a_changed_row_becomes_the_next_version_and_the_old_stays(
        self, db_session: Session, agencies: None, tmp_path: Path
    ) -> None:
        run(
            db_session,
            feed(tmp_path, "one", records=BASE_RECORDS, events=[event("E1")]),
            by="first importer",
        )
        second = run(
            db_session,
            feed(
                tmp_path,
                "two",
                events=[
                    event(
                        "E1", summary="Not brought; mother unwell.", change_reason="added context"
                    )
                ],
            ),
            by="second importer",
        )
        third = run(
            db_session,
            feed(tmp_path, "three", events=[event("E1", severity="3")]),
            by="third importer",
        )
        assert second.batch.tables["events"].changed == 1
        versions = db_session.scalars(
            select(Event).where(Event.event_ref == "E1").order_by(Event.version)
        ).all()
        assert [v.version for v in versions] == [1, 2, 3]
        assert versions[0].summary == "Not brought to the dental appointment."
        assert versions[1].summary == "Not brought; mother unwell."
        assert versions[1].change_reason == "added context"
        assert versions[1].recorded_by == "second importer"
        assert versions[2].change_reason == f"changed in feed {third.batch.public_id}"
        assert versions[2].severity == 3
        assert len({v.content_hash for v in versions}) == 3
        participants = db_session.scalars(
            select(EventParticipant.event_id).where(
                EventParticipant.event_id.in_([v.id for v in versions])
            )
        ).all()
        assert sorted(participants) == sorted(v.id for v in versions)

    def test_records_and_relationships_are_versioned_too(
        self, db_session: Session, agencies: None, tmp_path: Path
    ) -> None:
        run(
            db_session,
            feed(tmp_path, "one", records=BASE_RECORDS, relationships=[relationship("C1", "A1")]),
        )
        result = run(
            db_session,
            feed(
                tmp_path,
                "two",
                records=[record("C1", family_name="Smith-Jones", change_reason="surname changed")],
                relationships=[relationship("C1", "A1", lives_with="false")],
            ),
        )
        assert result.batch.tables["records"].changed == 1
        assert result.batch.tables["relationships"].changed == 1
        names = db_session.scalars(
            select(SourceRecord.family_name)
            .where(SourceRecord.record_ref == "C1")
            .order_by(SourceRecord.version)
        ).all()
        assert names == ["Smith", "Smith-Jones"]
        lives = db_session.scalars(
            select(SourceRelationship.lives_with).order_by(SourceRelationship.version)
        ).all()
        assert lives == [True, False]


class TestRepair:
    def test_a_valid_row_in_a_later_batch_repairs_the_quarantined_one(
        self, db_session: Session, agencies: None, tmp_path: Path
    ) -> None:
        first = run(
            db_session,
            feed(tmp_path, "one", records=BASE_RECORDS, events=[event("E1", concern_code="WNBX")]),
        )
        assert first.batch.tables["events"].quarantined == 1
        second = run(db_session, feed(tmp_path, "two", events=[event("E1")]))
        assert second.batch.repaired == 1
        (row,) = db_session.scalars(select(QuarantinedRow)).all()
        assert row.status is QuarantineStatus.REPAIRED
        repairing = db_session.scalar(
            select(ImportBatch).where(ImportBatch.public_id == second.batch.public_id)
        )
        assert repairing is not None and row.resolved_by_batch_id == repairing.id

    def test_export_fix_and_reimport(
        self, db_session: Session, agencies: None, tmp_path: Path
    ) -> None:
        first = run(
            db_session,
            feed(
                tmp_path,
                "one",
                records=[*BASE_RECORDS, record("C7", agency="gp-ashdwon")],
                events=[event("E1", event_date="2024-13-01")],
            ),
        )
        exported = service.export_quarantine(
            db_session=db_session,
            batch_public_id=first.batch.public_id,
            out_dir=tmp_path / "fix",
            scope=EVERY_FEED,
        )
        assert exported.rows_written == {"records": 1, "events": 1}
        for path in exported.files.values():
            text = (
                path.read_text(encoding="utf-8")
                .replace("gp-ashdwon", GP)
                .replace("2024-13-01", "2024-03-01")
            )
            path.write_text(text, encoding="utf-8")
        second = run(db_session, *exported.files.values())
        assert second.quarantined == []
        assert second.batch.repaired == 2
        statuses = set(db_session.scalars(select(QuarantinedRow.status)))
        assert statuses == {QuarantineStatus.REPAIRED}

    def test_dismissed_rows_keep_who_and_why(
        self, db_session: Session, agencies: None, tmp_path: Path
    ) -> None:
        first = run(db_session, feed(tmp_path, "one", records=[record("C1", agency="nobody")]))
        (row,) = first.quarantined
        assert row.id is not None
        service.dismiss_quarantined_row(
            db_session=db_session,
            scope=EVERY_FEED,
            row_id=row.id,
            dismissed_by="analyst",
            reason="test data",
        )
        stored = db_session.get(QuarantinedRow, row.id)
        assert stored is not None
        assert (stored.status, stored.dismissed_by, stored.dismissal_reason) == (
            QuarantineStatus.DISMISSED,
            "analyst",
            "test data",
        )
        with pytest.raises(service.QuarantineError):
            service.dismiss_quarantined_row(
                db_session=db_session,
                scope=EVERY_FEED,
                row_id=row.id,
                dismissed_by="x",
                reason="again",
            )


class TestFormats:
    @pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
    def test_csv_jsonl_and_parquet_give_the_same_result(
        self, db_session: Session, agencies: None, tmp_path: Path, fmt: str
    ) -> None:
        records = [*BASE_RECORDS, record("C3", other_names="Millie|Mia", nhs_number="")]
        events = [
            event("E1", people="C1:victim|A1:alleged_perpetrator|C2:witness", severity="4"),
            event("E2", event_date="2023-07", date_recorded="2023-08-01"),
            event("E3", concern_code="BAD"),
        ]
        relationships = [relationship("C1", "A1")]
        csv_result = run(
            db_session,
            feed(tmp_path, "csv", records=records, events=events, relationships=relationships),
        )
        csv_state = stored_state(db_session)
        other = run(
            db_session,
            feed(
                tmp_path, fmt, records=records, events=events, relationships=relationships, fmt=fmt
            ),
        )
        # The same content in another format is the same rows: nothing new, nothing changed.
        for table in ("records", "relationships", "events"):
            assert other.batch.tables[table].unchanged == csv_result.batch.tables[table].new
            assert (
                other.batch.tables[table].quarantined == csv_result.batch.tables[table].quarantined
            )
        assert stored_state(db_session) == csv_state
        assert [r.reasons for r in other.quarantined] == [r.reasons for r in csv_result.quarantined]


class TestFileErrors:
    def test_missing_required_column_stores_nothing(
        self, db_session: Session, agencies: None, tmp_path: Path
    ) -> None:
        directory = tmp_path / "f"
        directory.mkdir()
        write_csv(directory / "records.csv", BASE_RECORDS)
        write_csv(
            directory / "events.csv",
            [event("E1")],
            columns=["agency", "event_id", "event_date", "summary", "information_type", "people"],
        )
        batches = db_session.scalar(select(func.count()).select_from(ImportBatch))
        with pytest.raises(service.FeedFileError, match="concern_code"):
            run(db_session, directory)
        assert db_session.scalar(select(func.count()).select_from(ImportBatch)) == batches
        assert db_session.scalar(select(func.count()).select_from(SourceRecord)) == 0

    def test_unreadable_parquet(self, db_session: Session, agencies: None, tmp_path: Path) -> None:
        path = tmp_path / "events.parquet"
        path.write_bytes(b"PAR1 this is not parquet")
        with pytest.raises(service.FeedFileError, match="not a readable Parquet file"):
            run(db_session, path)

    def test_unknown_table_name(self, db_session: Session, agencies: None, tmp_path: Path) -> None:
        path = write_csv(tmp_path / "records.csv", BASE_RECORDS).rename(tmp_path / "people.csv")
        with pytest.raises(service.FeedFileError, match="does not say which table"):
            run(db_session, path)

    def test_committed_status_and_who(
        self, db_session: Session, agencies: None, tmp_path: Path
    ) -> None:
        result = run(db_session, feed(tmp_path, "f", records=BASE_RECORDS), by="Ashdown data team")
        batch = db_session.scalar(
            select(ImportBatch).where(ImportBatch.public_id == result.batch.public_id)
        )
        assert batch is not None
        assert batch.status is BatchStatus.COMMITTED and batch.imported_by == "Ashdown data team"
        assert batch.counts["records.new"] == 3
        recorded_by = set(db_session.scalars(select(SourceRecord.recorded_by)))
        assert recorded_by == {"Ashdown data team"}


def test_export_writes_structured_rows_in_csv_notation(
    db_session: Session, agencies: None, tmp_path: Path
) -> None:
    directory = feed(
        tmp_path,
        "jsonl",
        records=BASE_RECORDS,
        events=[event("E1", people="C1:victim|A1:alleged_perpetrator", concern_code="NOPE")],
        fmt="jsonl",
    )
    with (directory / "events.jsonl").open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    result = run(db_session, directory)
    assert result.batch.tables["events"].quarantined == 2
    exported = service.export_quarantine(
        db_session=db_session,
        batch_public_id=result.batch.public_id,
        out_dir=tmp_path / "out",
        scope=EVERY_FEED,
    )
    text = exported.files["events"].read_text(encoding="utf-8")
    assert "C1:victim|A1:alleged_perpetrator" in text
    # The broken line cannot be a CSV row: it is reported, not silently left out.
    assert [row.row_number for row in exported.not_exportable] == [2]


def test_awkward_text_is_stored_exactly(
    db_session: Session, agencies: None, tmp_path: Path
) -> None:
    # Tabs, line breaks, backslashes, quotes and non-Latin text survive COPY and executemany.
    summary = 'Mum said "he\tgoes" out;\nback at 10\\11 — Zoë, 子供'
    run(
        db_session,
        feed(
            tmp_path,
            "f",
            records=BASE_RECORDS,
            events=[event("E1", summary=summary, action_taken="\\N")],
        ),
    )
    stored = db_session.scalars(select(Event)).one()
    assert stored.summary == summary
    assert stored.action_taken == "\\N"


def test_the_import_page_cache_is_given_back_after_the_batch(
    db_session: Session, agencies: None, tmp_path: Path
) -> None:
    if db_session.connection().dialect.name != "sqlite":
        pytest.skip("the page cache setting is SQLite's")
    connection = db_session.connection()
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    write_csv(tmp_path / "records.csv", [record("C1")])
    run(db_session, tmp_path)
    assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == before
