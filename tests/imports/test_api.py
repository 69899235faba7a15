"""``/api/v1/imports``: upload, batch summary, quarantine, limits, failures (both backends)."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.chronology.models import Event
from fullpicture.core.settings import get_settings
from fullpicture.imports import bulk
from fullpicture.imports.models import BatchStatus, ImportBatch
from tests.access.principals import authorise_client
from tests.imports.feeds import (
    declare_every_agency,
    event,
    record,
    register_agencies,
    write_csv,
)


@pytest.fixture
def importer(app_client: TestClient, db_session: Session) -> Iterator[TestClient]:
    """The app with the test's session, and an administrator's token (imports:write)."""
    register_agencies(db_session)
    authorise_client(app_client, db_session, role=Role.ADMINISTRATOR)
    declare_every_agency(app_client)
    yield app_client


def _files(tmp_path: Path, **tables: Sequence[dict[str, Any]]) -> dict[str, tuple[str, bytes, str]]:
    files = {}
    for table, rows in tables.items():
        path = write_csv(tmp_path / f"{table}.csv", rows)
        files[table] = (path.name, path.read_bytes(), "text/csv")
    return files


def test_upload_returns_the_batch_and_its_quarantined_rows(
    importer: TestClient, db_session: Session, tmp_path: Path
) -> None:
    response = importer.post(
        "/api/v1/imports",
        files=_files(
            tmp_path,
            records=[record("C1"), record("C2", nhs_number="943 476 5918")],
            events=[event("E1"), event("E2", concern_code="NOPE")],
        ),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["batch"]["status"] == "committed"
    assert body["batch"]["imported_by"].startswith("user:")
    assert body["batch"]["tables"]["records"]["new"] == 1
    assert body["batch"]["tables"]["events"]["quarantined"] == 1
    reasons = {row["row_ref"]: row["reasons"] for row in body["quarantined"]}
    assert reasons["C2"][0]["field"] == "nhs_number"
    assert reasons["E2"][0]["field"] == "concern_code"
    public_id = body["batch"]["public_id"]

    summary = importer.get(f"/api/v1/imports/{public_id}")
    assert summary.status_code == 200
    assert summary.json()["tables"]["events"]["new"] == 1

    quarantine = importer.get(f"/api/v1/imports/{public_id}/quarantine")
    assert quarantine.status_code == 200
    assert {row["row_ref"] for row in quarantine.json()} == {"C2", "E2"}
    assert importer.get(f"/api/v1/imports/{public_id}/quarantine?status=repaired").json() == []


def test_the_same_upload_twice_is_unchanged(importer: TestClient, tmp_path: Path) -> None:
    files = _files(tmp_path, records=[record("C1")], events=[event("E1")])
    importer.post("/api/v1/imports", files=files)
    again = importer.post("/api/v1/imports", files=files).json()
    assert again["batch"]["tables"]["events"]["unchanged"] == 1
    assert again["batch"]["tables"]["events"]["new"] == 0


def test_jsonl_upload(importer: TestClient) -> None:
    line = b'{"agency": "gp-ashdown", "record_id": "C1", "date_of_birth": "2019-04-01"}\n'
    response = importer.post(
        "/api/v1/imports", files={"records": ("feed.jsonl", line, "application/x-ndjson")}
    )
    assert response.status_code == 201
    assert response.json()["batch"]["file_format"] == "jsonl"


def test_needs_imports_write(app_client: TestClient, db_session: Session, tmp_path: Path) -> None:
    files = _files(tmp_path, records=[record("C1")])
    assert app_client.post("/api/v1/imports", files=files).status_code == 401
    authorise_client(app_client, db_session, role=Role.PRACTITIONER)
    assert app_client.post("/api/v1/imports", files=files).status_code == 403


def test_file_level_error_is_422_and_stores_nothing(
    importer: TestClient, db_session: Session
) -> None:
    before = db_session.scalar(select(func.count()).select_from(ImportBatch))
    response = importer.post(
        "/api/v1/imports",
        files={"events": ("events.csv", b"agency,event_id\ngp-ashdown,E1\n", "text/csv")},
    )
    assert response.status_code == 422
    assert "required column(s) missing" in response.json()["detail"]
    assert db_session.scalar(select(func.count()).select_from(ImportBatch)) == before


def test_no_file_or_wrong_type_is_422(importer: TestClient) -> None:
    assert importer.post("/api/v1/imports", data={"x": "y"}).status_code == 422
    wrong = importer.post(
        "/api/v1/imports", files={"events": ("events.xlsx", b"x", "application/octet-stream")}
    )
    assert wrong.status_code == 422
    assert ".csv, .jsonl or .parquet" in wrong.json()["detail"]


def test_upload_over_the_limit_is_413(
    importer: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FULLPICTURE_MAX_UPLOAD_BYTES", "2048")
    get_settings.cache_clear()
    try:
        big = io.BytesIO(b"agency,record_id\n" + b"gp-ashdown,C1\n" * 400)
        response = importer.post(
            "/api/v1/imports", files={"records": ("records.csv", big, "text/csv")}
        )
    finally:
        monkeypatch.delenv("FULLPICTURE_MAX_UPLOAD_BYTES")
        get_settings.cache_clear()
    assert response.status_code == 413
    assert "2048" in response.text.replace(",", "")


def test_failure_rolls_back_and_records_a_failed_batch(
    importer: TestClient, db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("connection lost")

    monkeypatch.setattr(bulk.BulkWriter, "insert", broken)
    response = importer.post(
        "/api/v1/imports", files=_files(tmp_path, records=[record("C1")], events=[event("E1")])
    )
    assert response.status_code == 500
    body = response.json()
    assert "nothing of it was stored" in body["detail"]
    failed = db_session.scalar(select(ImportBatch).where(ImportBatch.public_id == body["batch"]))
    assert failed is not None and failed.status is BatchStatus.FAILED
    assert failed.failure is not None and "connection lost" in failed.failure
    assert db_session.scalar(select(func.count()).select_from(Event)) == 0


def test_unknown_batch_is_404(importer: TestClient) -> None:
    assert importer.get("/api/v1/imports/00000000-0000-0000-0000-000000000000").status_code == 404
    assert (
        importer.get("/api/v1/imports/00000000-0000-0000-0000-000000000000/quarantine").status_code
        == 404
    )
