"""Test helpers: agencies, and feed files written as CSV, JSON Lines or Parquet."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.agencies import service as agency_service
from fullpicture.agencies.models import AgencyKind
from fullpicture.agencies.schemas import AgencyCreate
from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.imports.models import ImportBatch, QuarantinedRow
from fullpicture.imports.rows import ROW_MODELS
from fullpicture.people.models import SourceRecord, SourceRelationship

TODAY = dt.date.today()
GP = "gp-ashdown"
SCHOOL = "school-oakfield"


def register_agencies(db_session: Session, *codes: str) -> None:
    for code in codes or (GP, SCHOOL):
        kind = AgencyKind.SCHOOL if code.startswith("school") else AgencyKind.GP
        agency_service.register(
            db_session=db_session, agency_in=AgencyCreate(code=code, name=code, kind=kind)
        )


def record(record_id: str, agency: str = GP, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "agency": agency,
        "record_id": record_id,
        "given_name": "Amelia",
        "family_name": "Smith",
        "date_of_birth": "2019-04-01",
        "sex": "F",
        "nhs_number": "943 476 5919",
    }
    row.update(fields)
    return row


def event(
    event_id: str, people: str = "C1:subject", agency: str = GP, **fields: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "agency": agency,
        "event_id": event_id,
        "event_date": "2024-03-01",
        "date_recorded": "2024-03-02",
        "concern_code": "WNB",
        "severity": "",
        "summary": "Not brought to the dental appointment.",
        "information_type": "fact",
        "people": people,
    }
    row.update(fields)
    return row


def relationship(
    record_id: str, related: str, kind: str = "parent", **fields: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "agency": GP,
        "record_id": record_id,
        "related_record_id": related,
        "relationship": kind,
        "lives_with": "true",
    }
    row.update(fields)
    return row


def write_csv(
    path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None
) -> Path:
    table = path.name.split(".")[-2]
    header = list(columns or ROW_MODELS[table].columns)
    if columns is None:
        for row in rows:
            header.extend(key for key in row if key not in header)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return path


def _structured(row: dict[str, Any]) -> dict[str, Any]:
    """A row in JSON/Parquet form: list fields as lists, blanks absent."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value in ("", None):
            continue
        if key == "people":
            out[key] = [
                {"record_id": part.rsplit(":", 1)[0], "role": part.rsplit(":", 1)[1]}
                for part in str(value).split("|")
            ]
        elif key in {"other_names", "previous_family_names"}:
            out[key] = str(value).split("|")
        else:
            out[key] = value
    return out


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(_structured(row)) + "\n")
    return path


def write_parquet(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    structured = [_structured(row) for row in rows]
    columns: list[str] = []
    for row in structured:
        columns.extend(key for key in row if key not in columns)
    table = pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in structured])
    pq.write_table(table, path)
    return path


WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}


def stored_state(db_session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Everything imports store, without ids, batch ids or timestamps: what a feed means."""
    db_session.expire_all()
    records = db_session.execute(
        select(
            SourceRecord.agency_id,
            SourceRecord.record_ref,
            SourceRecord.version,
            SourceRecord.content_hash,
            SourceRecord.given_name,
            SourceRecord.date_of_birth,
        ).order_by(SourceRecord.agency_id, SourceRecord.record_ref, SourceRecord.version)
    ).all()
    relationships = db_session.execute(
        select(
            SourceRelationship.agency_id,
            SourceRelationship.record_ref,
            SourceRelationship.related_record_ref,
            SourceRelationship.relationship,
            SourceRelationship.version,
            SourceRelationship.content_hash,
        ).order_by(
            SourceRelationship.agency_id,
            SourceRelationship.record_ref,
            SourceRelationship.related_record_ref,
            SourceRelationship.version,
        )
    ).all()
    events = db_session.scalars(
        select(Event).order_by(Event.agency_id, Event.event_ref, Event.version)
    ).all()
    return {
        "records": [tuple(row) for row in records],
        "relationships": [tuple(row) for row in relationships],
        "events": [
            (
                e.agency_id,
                e.event_ref,
                e.version,
                e.content_hash,
                e.event_date,
                e.date_precision,
                e.summary,
                tuple(sorted((p.record_ref, p.role.value) for p in e.participants)),
            )
            for e in events
        ],
    }


def full_dump(db_session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables an import writes, ids and all, for before/after comparisons."""
    dump: dict[str, list[tuple[Any, ...]]] = {}
    for model in (
        SourceRecord,
        SourceRelationship,
        Event,
        EventParticipant,
        QuarantinedRow,
        ImportBatch,
    ):
        table = model.__table__
        dump[table.name] = [
            tuple(row) for row in db_session.execute(select(table).order_by(table.c.id))
        ]
    return dump


def declare_every_agency(client: TestClient) -> None:
    """Send ``for_agencies=*`` with every upload on ``client``: the partnership's data team
    (a user tied to no agency) saying its batches hold every agency's feeds."""

    def declare(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path == "/api/v1/imports":
            request.url = request.url.copy_merge_params({"for_agencies": "*"})

    client.event_hooks["request"].append(declare)
