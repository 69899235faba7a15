"""Correcting a chronology entry writes a new version; every version stays visible."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from fullpicture.chronology.models import DatePrecision, ParticipantRole
from fullpicture.imports import corrections as service
from fullpicture.imports import service as import_service
from tests.imports.feeds import GP, event, record, register_agencies, write_csv


@pytest.fixture
def imported(db_session: Session, tmp_path: Path) -> None:
    register_agencies(db_session)
    write_csv(tmp_path / "records.csv", [record("C1"), record("C2"), record("A1")])
    write_csv(tmp_path / "events.csv", [event("E1", people="C1:victim|A1:alleged_perpetrator")])
    import_service.import_feed(
        db_session=db_session,
        paths=[tmp_path / "records.csv", tmp_path / "events.csv"],
        imported_by="feed",
    )


def test_a_correction_is_a_new_version_and_the_old_one_stays(
    db_session: Session, imported: None
) -> None:
    corrected = service.correct_event(
        db_session=db_session,
        agency_code=GP,
        event_ref="E1",
        changes={"event_date": "2024-02", "people": "C1:victim|C2:witness|A1:alleged_perpetrator"},
        changed_by="J. Patel, practice safeguarding lead",
        reason="date was the month of the appointment; sibling was present",
    )
    assert corrected.version == 2
    history = service.event_history(db_session=db_session, agency_code=GP, event_ref="E1")
    assert [v.version for v in history] == [1, 2]
    first, second = history
    assert first.date_precision is DatePrecision.DAY
    assert second.date_precision is DatePrecision.MONTH
    assert second.event_date.isoformat() == "2024-02-29"
    assert second.recorded_by == "J. Patel, practice safeguarding lead"
    assert second.change_reason.startswith("date was the month")  # type: ignore[union-attr]
    assert first.recorded_by == "feed"
    assert {p.record_ref: p.role for p in first.participants} == {
        "C1": ParticipantRole.VICTIM,
        "A1": ParticipantRole.ALLEGED_PERPETRATOR,
    }
    assert {p.record_ref: p.role for p in second.participants}["C2"] is ParticipantRole.WITNESS
    assert first.content_hash != second.content_hash


def test_a_correction_is_validated_like_an_import(db_session: Session, imported: None) -> None:
    with pytest.raises(service.EventCorrectionError) as caught:
        service.correct_event(
            db_session=db_session,
            agency_code=GP,
            event_ref="E1",
            changes={"event_date": "2099-01-01", "concern_code": "NOPE"},
            changed_by="x",
            reason="y",
        )
    fields = {reason.field for reason in caught.value.reasons}
    assert fields == {"event_date", "concern_code"}
    assert len(service.event_history(db_session=db_session, agency_code=GP, event_ref="E1")) == 1


def test_people_must_be_records_of_the_agency(db_session: Session, imported: None) -> None:
    with pytest.raises(service.EventCorrectionError, match="C77 is not a record"):
        service.correct_event(
            db_session=db_session,
            agency_code=GP,
            event_ref="E1",
            changes={"people": "C77:subject"},
            changed_by="x",
            reason="y",
        )


def test_a_correction_that_changes_nothing_is_refused(db_session: Session, imported: None) -> None:
    with pytest.raises(service.EventCorrectionError, match="changes nothing"):
        service.correct_event(
            db_session=db_session,
            agency_code=GP,
            event_ref="E1",
            changes={"summary": "Not brought to the dental appointment."},
            changed_by="x",
            reason="y",
        )


def test_who_and_why_are_required_and_ids_cannot_change(
    db_session: Session, imported: None
) -> None:
    with pytest.raises(service.EventCorrectionError) as caught:
        service.correct_event(
            db_session=db_session,
            agency_code=GP,
            event_ref="E1",
            changes={"event_id": "E9", "summary": "x"},
            changed_by=" ",
            reason="",
        )
    assert {r.field for r in caught.value.reasons} == {"changed_by", "reason", "event_id"}


def test_unknown_event(db_session: Session, imported: None) -> None:
    with pytest.raises(service.EventNotFound):
        service.event_history(db_session=db_session, agency_code=GP, event_ref="E404")


def test_a_correction_stands_until_the_feed_itself_changes(
    db_session: Session, imported: None, tmp_path: Path
) -> None:
    service.correct_event(
        db_session=db_session,
        agency_code=GP,
        event_ref="E1",
        changes={"severity": 3},
        changed_by="lead",
        reason="judged moderate",
    )
    same = write_csv(
        tmp_path / "same.events.csv", [event("E1", people="C1:victim|A1:alleged_perpetrator")]
    )
    result = import_service.import_feed(db_session=db_session, paths=[same], imported_by="feed")
    # The agency re-sent what it sent before: nothing new, so the correction stands.
    assert result.batch.tables["events"].unchanged == 1
    changed = write_csv(
        tmp_path / "changed.events.csv",
        [event("E1", people="C1:victim|A1:alleged_perpetrator", summary="Not brought again.")],
    )
    result = import_service.import_feed(db_session=db_session, paths=[changed], imported_by="feed")
    assert result.batch.tables["events"].changed == 1
    history = service.event_history(db_session=db_session, agency_code=GP, event_ref="E1")
    assert [(v.version, v.severity, v.recorded_by) for v in history] == [
        (1, None, "feed"),
        (2, 3, "lead"),
        (3, None, "feed"),
    ]
