"""Quarantined rows are children's data as it arrived: read only with ``imports:write``, one
agency's rows by a user of that agency (every feed's by a user tied to no agency), and every
read is audited, as a read of each person a row names a record of too."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.models import AuditEntry, Role, UserAccount
from fullpicture.agencies.models import Agency
from fullpicture.imports import quarantine
from fullpicture.imports import service as import_service
from fullpicture.imports.models import QuarantinedRow, QuarantineStatus
from fullpicture.people.models import Person
from tests.access.principals import (
    authorise_client,
    link_record,
    make_person,
    make_user,
    subject_of,
)
from tests.imports.feeds import (
    GP,
    SCHOOL,
    event,
    record,
    register_agencies,
    write_csv,
    write_jsonl,
)


@pytest.fixture
def quarantined(db_session: Session, tmp_path: Path) -> tuple[str, Person]:
    """A batch quarantining a GP row about a child the GP already holds, a school row, and a
    row whose agency cannot be read; returns the batch's public id and the known child."""
    register_agencies(db_session)
    gp = db_session.scalars(select(Agency).where(Agency.code == GP)).one()
    child = make_person(db_session)
    link_record(db_session, person=child, agency=gp, record_ref="C1")
    path = write_csv(
        tmp_path / "records.csv",
        [
            record("C1", date_of_birth="2019-02-31"),
            record("S1", agency=SCHOOL, date_of_birth="not a date"),
            record("X1", agency="", date_of_birth="2019-02-31"),
        ],
    )
    result = import_service.import_feed(db_session=db_session, paths=[path], imported_by="test")
    assert len(result.quarantined) == 3
    return result.batch.public_id, child


def _agency(db_session: Session, code: str) -> Agency:
    return db_session.scalars(select(Agency).where(Agency.code == code)).one()


def _entries(db_session: Session, user: UserAccount, action: str) -> list[AuditEntry]:
    return list(
        db_session.scalars(
            select(AuditEntry)
            .where(AuditEntry.actor == f"user:{user.username}", AuditEntry.action == action)
            .order_by(AuditEntry.position)
        )
    )


def test_a_user_tied_to_no_agency_reads_every_feed_and_is_audited(
    app_client: TestClient, db_session: Session, quarantined: tuple[str, Person]
) -> None:
    batch, child = quarantined
    admin = authorise_client(app_client, db_session, role=Role.ADMINISTRATOR)

    response = app_client.get(f"/api/v1/imports/{batch}/quarantine")

    assert response.status_code == 200, response.text
    rows = response.json()
    assert {(row["agency_code"], row["row_ref"]) for row in rows} == {
        (GP, "C1"),
        (SCHOOL, "S1"),
        (None, "X1"),
    }
    (read,) = _entries(db_session, admin, "quarantine.read")
    assert read.target == f"import_batch:{batch}"
    assert sorted(read.detail["quarantined_rows"]) == sorted(row["id"] for row in rows)
    (about_child,) = _entries(db_session, admin, "person.read")
    assert (about_child.person_id, about_child.target) == (child.id, "quarantined import rows")


def test_a_user_of_an_agency_reads_only_that_agencys_rows(
    app_client: TestClient, db_session: Session, quarantined: tuple[str, Person]
) -> None:
    batch, child = quarantined
    gp_admin = authorise_client(
        app_client, db_session, role=Role.ADMINISTRATOR, agency=_agency(db_session, GP)
    )
    rows = app_client.get(f"/api/v1/imports/{batch}/quarantine").json()
    assert [(row["agency_code"], row["row_ref"]) for row in rows] == [(GP, "C1")]
    assert [e.person_id for e in _entries(db_session, gp_admin, "person.read")] == [child.id]

    school_admin = authorise_client(
        app_client, db_session, role=Role.ADMINISTRATOR, agency=_agency(db_session, SCHOOL)
    )
    rows = app_client.get(f"/api/v1/imports/{batch}/quarantine").json()
    assert [(row["agency_code"], row["row_ref"]) for row in rows] == [(SCHOOL, "S1")]
    assert _entries(db_session, school_admin, "person.read") == []  # S1 is nobody known yet


def test_without_imports_write_quarantined_rows_are_refused(
    app_client: TestClient, db_session: Session, quarantined: tuple[str, Person]
) -> None:
    batch, _child = quarantined
    authorise_client(
        app_client, db_session, role=Role.DESIGNATED_LEAD, agency=_agency(db_session, GP)
    )
    response = app_client.get(f"/api/v1/imports/{batch}/quarantine")
    assert response.status_code == 403 and "imports:write" in response.text


def test_reading_a_row_about_a_child_shows_in_who_has_looked(
    db_session: Session, quarantined: tuple[str, Person]
) -> None:
    _batch, child = quarantined
    gp = _agency(db_session, GP)
    gp_admin = make_user(db_session, role=Role.ADMINISTRATOR, agency=gp)
    (row,) = db_session.scalars(select(QuarantinedRow).where(QuarantinedRow.row_ref == "C1"))
    quarantine.open_quarantined_row(
        db_session=db_session, subject=subject_of(gp_admin), row_id=row.id, purpose="test read"
    )

    lead = make_user(db_session, role=Role.DESIGNATED_LEAD, agency=gp)
    looked = access_service.who_has_looked(
        db_session=db_session, subject=subject_of(lead), person_public_id=child.public_id
    )
    assert (f"user:{gp_admin.username}", "person.read", "test read") in {
        (e.actor, e.action, e.target) for e in looked
    }


def test_another_agencys_row_is_answered_as_an_unknown_one(
    db_session: Session, quarantined: tuple[str, Person]
) -> None:
    school_admin = subject_of(
        make_user(db_session, role=Role.ADMINISTRATOR, agency=_agency(db_session, SCHOOL))
    )
    (gp_row,) = db_session.scalars(select(QuarantinedRow).where(QuarantinedRow.row_ref == "C1"))
    with pytest.raises(quarantine.QuarantinedRowNotVisible) as refused:
        quarantine.open_quarantined_row(
            db_session=db_session, subject=school_admin, row_id=gp_row.id, purpose="test"
        )
    unknown_id = gp_row.id + 1000
    with pytest.raises(quarantine.QuarantinedRowNotVisible) as unknown:
        quarantine.open_quarantined_row(
            db_session=db_session, subject=school_admin, row_id=unknown_id, purpose="test"
        )
    assert str(refused.value).replace(str(gp_row.id), "N") == str(unknown.value).replace(
        str(unknown_id), "N"
    )


def _exported_refs(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [row["record_id"] for row in csv.DictReader(handle)]


def test_an_agencys_user_exports_only_that_agencys_rows_of_a_mixed_batch(
    db_session: Session, quarantined: tuple[str, Person], tmp_path: Path
) -> None:
    batch, child = quarantined
    gp_admin = make_user(db_session, role=Role.ADMINISTRATOR, agency=_agency(db_session, GP))

    exported = quarantine.export_quarantined_rows(
        db_session=db_session,
        subject=subject_of(gp_admin),
        batch_public_id=batch,
        out_dir=tmp_path / "gp",
    )

    assert _exported_refs(tmp_path / "gp" / "records.csv") == ["C1"]
    assert [(row.agency_code, row.row_ref) for row in exported.rows] == [(GP, "C1")]
    (read,) = _entries(db_session, gp_admin, "quarantine.read")
    assert read.target == f"import_batch:{batch}"
    assert read.detail["quarantined_rows"] == [exported.rows[0].id]
    assert read.detail["purpose"] == "quarantined import rows exported"
    assert [e.person_id for e in _entries(db_session, gp_admin, "person.read")] == [child.id]


def test_rows_of_no_readable_agency_are_exported_only_for_every_feed(
    db_session: Session, quarantined: tuple[str, Person], tmp_path: Path
) -> None:
    batch, _child = quarantined
    school_admin = make_user(
        db_session, role=Role.ADMINISTRATOR, agency=_agency(db_session, SCHOOL)
    )
    quarantine.export_quarantined_rows(
        db_session=db_session,
        subject=subject_of(school_admin),
        batch_public_id=batch,
        out_dir=tmp_path / "school",
    )
    assert _exported_refs(tmp_path / "school" / "records.csv") == ["S1"]

    data_team = make_user(db_session, role=Role.ADMINISTRATOR)
    quarantine.export_quarantined_rows(
        db_session=db_session,
        subject=subject_of(data_team),
        batch_public_id=batch,
        out_dir=tmp_path / "all",
    )
    assert _exported_refs(tmp_path / "all" / "records.csv") == ["C1", "S1", "X1"]


def test_exporting_needs_imports_write(
    db_session: Session, quarantined: tuple[str, Person], tmp_path: Path
) -> None:
    batch, _child = quarantined
    lead = make_user(db_session, role=Role.DESIGNATED_LEAD, agency=_agency(db_session, GP))
    with pytest.raises(access_service.AccessError):
        quarantine.export_quarantined_rows(
            db_session=db_session,
            subject=subject_of(lead),
            batch_public_id=batch,
            out_dir=tmp_path / "lead",
        )
    assert not (tmp_path / "lead").exists()
    assert _entries(db_session, lead, "quarantine.read") == []


def test_dismissing_is_recorded_as_the_user_and_stays_within_their_agencys_feeds(
    db_session: Session, quarantined: tuple[str, Person]
) -> None:
    gp_admin = make_user(db_session, role=Role.ADMINISTRATOR, agency=_agency(db_session, GP))
    rows = {row.row_ref: row for row in db_session.scalars(select(QuarantinedRow))}

    with pytest.raises(quarantine.QuarantinedRowNotVisible):
        quarantine.dismiss_quarantined_row(
            db_session=db_session,
            subject=subject_of(gp_admin),
            row_id=rows["S1"].id,
            reason="not ours",
        )
    assert rows["S1"].status is QuarantineStatus.OPEN

    dismissed = quarantine.dismiss_quarantined_row(
        db_session=db_session,
        subject=subject_of(gp_admin),
        row_id=rows["C1"].id,
        reason=" test row sent in error ",
    )

    assert dismissed.status is QuarantineStatus.DISMISSED
    assert dismissed.dismissed_by == f"user:{gp_admin.username}"
    (entry,) = _entries(db_session, gp_admin, "quarantine.dismiss")
    assert entry.actor_user_id == gp_admin.id
    assert (entry.target, entry.reason) == (
        f"quarantined_row:{rows['C1'].id}",
        "test row sent in error",
    )


def test_dismissing_needs_imports_write(
    db_session: Session, quarantined: tuple[str, Person]
) -> None:
    lead = make_user(db_session, role=Role.DESIGNATED_LEAD, agency=_agency(db_session, GP))
    (row,) = db_session.scalars(select(QuarantinedRow).where(QuarantinedRow.row_ref == "C1"))
    with pytest.raises(access_service.AccessError):
        quarantine.dismiss_quarantined_row(
            db_session=db_session, subject=subject_of(lead), row_id=row.id, reason="no"
        )
    assert row.status is QuarantineStatus.OPEN


@pytest.mark.parametrize("write_feed", [write_csv, write_jsonl], ids=["csv", "jsonl"])
def test_reading_an_events_row_is_a_read_of_each_known_person_it_names(
    db_session: Session, tmp_path: Path, write_feed: Callable[[Path, list[dict[str, Any]]], Path]
) -> None:
    register_agencies(db_session)
    gp = _agency(db_session, GP)
    child, mother = make_person(db_session), make_person(db_session)
    link_record(db_session, person=child, agency=gp, record_ref="C1")
    link_record(db_session, person=mother, agency=gp, record_ref="M1")
    # The school's C1 is another record: only the GP's C1 is this child.
    school_child = make_person(db_session)
    link_record(
        db_session, person=school_child, agency=_agency(db_session, SCHOOL), record_ref="C1"
    )
    suffix = "csv" if write_feed is write_csv else "jsonl"
    path = write_feed(
        tmp_path / f"events.{suffix}",
        [event("E1", people="C1:subject|M1:parent|NEW9:sibling", event_date="2099-01-01")],
    )
    result = import_service.import_feed(db_session=db_session, paths=[path], imported_by="test")
    (quarantined_event,) = result.quarantined
    gp_admin = make_user(db_session, role=Role.ADMINISTRATOR, agency=gp)

    quarantine.open_quarantined_row(
        db_session=db_session,
        subject=subject_of(gp_admin),
        row_id=quarantined_event.id,
        purpose="quarantined import row",
    )

    reads = _entries(db_session, gp_admin, "person.read")
    assert sorted(e.person_id for e in reads) == sorted([child.id, mother.id])
    assert {e.target for e in reads} == {"quarantined import row"}
    lead = make_user(db_session, role=Role.DESIGNATED_LEAD, agency=gp)
    looked = access_service.who_has_looked(
        db_session=db_session, subject=subject_of(lead), person_public_id=child.public_id
    )
    assert (f"user:{gp_admin.username}", "person.read") in {(e.actor, e.action) for e in looked}


def test_an_events_row_whose_people_cannot_be_read_is_still_audited_by_row(
    db_session: Session, tmp_path: Path
) -> None:
    register_agencies(db_session)
    path = write_csv(tmp_path / "events.csv", [event("E1", people="C1 without a role")])
    result = import_service.import_feed(db_session=db_session, paths=[path], imported_by="test")
    (row,) = result.quarantined
    data_team = make_user(db_session, role=Role.ADMINISTRATOR)
    quarantine.open_quarantined_row(
        db_session=db_session, subject=subject_of(data_team), row_id=row.id, purpose="test"
    )
    (read,) = _entries(db_session, data_team, "quarantine.read")
    assert read.detail["quarantined_rows"] == [row.id]
    assert _entries(db_session, data_team, "person.read") == []
