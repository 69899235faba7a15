"""An uploader writes only their own agency's records and events (issue 12, finding 4): an
administrator tied to a school uploaded a new version of a police record ("Forged") and an
event as children's social care; both were stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.agencies.models import Agency
from fullpicture.chronology.models import Event
from fullpicture.people.models import SourceRecord
from tests.access.principals import authorise_client
from tests.imports.feeds import GP, SCHOOL, event, record, register_agencies, write_csv


def _files(tmp_path: Path, **tables: list[dict[str, Any]]) -> dict[str, tuple[str, bytes, str]]:
    files = {}
    for table, rows in tables.items():
        path = write_csv(tmp_path / f"{table}.csv", rows)
        files[table] = (path.name, path.read_bytes(), "text/csv")
    return files


def _school_admin(client: TestClient, db_session: Session) -> None:
    register_agencies(db_session)
    school = db_session.scalars(select(Agency).where(Agency.code == SCHOOL)).one()
    authorise_client(client, db_session, role=Role.ADMINISTRATOR, agency=school)


def test_an_agencys_uploader_writes_only_its_own_agencys_rows(
    app_client: TestClient, db_session: Session, tmp_path: Path
) -> None:
    _school_admin(app_client, db_session)
    response = app_client.post(
        "/api/v1/imports",
        files=_files(
            tmp_path,
            records=[record("S1", agency=SCHOOL), record("G1", agency=GP, given_name="Forged")],
            events=[
                event("SE1", people="S1:subject", agency=SCHOOL),
                event("GE1", people="G1:subject", agency=GP, summary="case can close"),
            ],
        ),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    refused = {row["row_ref"]: row["reasons"] for row in body["quarantined"]}
    assert set(refused) == {"G1", "GE1"}
    for reasons in refused.values():
        assert any(
            r["field"] == "agency" and f"this row is {GP}'s" in r["message"] for r in reasons
        )
    assert body["batch"]["tables"]["records"]["new"] == 1
    assert body["batch"]["tables"]["events"]["new"] == 1
    assert (
        db_session.scalars(select(SourceRecord).where(SourceRecord.given_name == "Forged")).all()
        == []
    )
    assert db_session.scalars(select(Event).where(Event.summary == "case can close")).all() == []


def test_an_agencys_uploader_cannot_claim_another_agencys_feed(
    app_client: TestClient, db_session: Session, tmp_path: Path
) -> None:
    _school_admin(app_client, db_session)
    response = app_client.post(
        "/api/v1/imports",
        params={"for_agencies": GP},
        files=_files(tmp_path, records=[record("G1", agency=GP, given_name="Forged")]),
    )
    assert response.status_code == 403, response.text
    assert (
        db_session.scalars(select(SourceRecord).where(SourceRecord.given_name == "Forged")).all()
        == []
    )


@pytest.mark.parametrize(("declared", "stored"), [(GP, {"G1"}), ("*", {"G1", "S1"})])
def test_a_partnership_operator_writes_the_agencies_the_batch_declares(
    app_client: TestClient, db_session: Session, tmp_path: Path, declared: str, stored: set[str]
) -> None:
    register_agencies(db_session)
    authorise_client(app_client, db_session, role=Role.ADMINISTRATOR)  # tied to no agency
    files = _files(tmp_path, records=[record("S1", agency=SCHOOL), record("G1", agency=GP)])
    undeclared = app_client.post("/api/v1/imports", files=files)
    assert undeclared.status_code == 422, undeclared.text
    assert "for_agencies" in undeclared.json()["detail"]
    response = app_client.post("/api/v1/imports", params={"for_agencies": declared}, files=files)
    assert response.status_code == 201, response.text
    refs = set(db_session.scalars(select(SourceRecord.record_ref)).all())
    assert refs & {"S1", "G1"} == stored
    assert {row["row_ref"] for row in response.json()["quarantined"]} == {"S1", "G1"} - stored
