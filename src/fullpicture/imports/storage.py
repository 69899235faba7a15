"""Writing one batch's rows: new versions of records, relationships and events, and the rows
it quarantines, all through the bulk writer."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass, field
from typing import Any, overload

import polars as pl

from fullpicture.imports.bulk import BulkWriter
from fullpicture.imports.checked import Valid, raw_ref
from fullpicture.imports.models import ImportBatch
from fullpicture.imports.readers import SourceRow
from fullpicture.imports.rows import RecordRow, RelationshipRow
from fullpicture.imports.schemas import QuarantinedRowRead, QuarantineReason


@dataclass
class RowStore:
    """Writes the batch's valid rows and its quarantined rows (buffered up to a chunk)."""

    writer: BulkWriter
    batch: ImportBatch
    recorded_at: Any
    practitioners: dict[tuple[int, str], int]
    chunk_rows: int
    pending_quarantine: list[QuarantinedRowRead] = field(default_factory=list)

    def write(self, table: str, items: list[tuple[Valid, int, str | None]]) -> None:
        if not items:
            return
        batch_id = self.batch.id
        by = self.batch.imported_by
        at = self.recorded_at
        if table == "records":
            rows: list[tuple[Any, ...]] = []
            for item, version, reason in items:
                record = item.row
                assert isinstance(record, RecordRow)
                rows.append(
                    (
                        item.agency_id,
                        item.ref,
                        version,
                        item.digest,
                        record.given_name,
                        record.family_name,
                        json.dumps(record.other_names),
                        json.dumps(record.previous_family_names),
                        _iso(record.date_of_birth),
                        _iso(record.expected_date_of_delivery),
                        record.sex.value if record.sex else None,
                        record.nhs_number,
                        record.upn,
                        record.ethnicity,
                        record.first_language,
                        record.interpreter_needed,
                        json.dumps([address.as_json() for address in record.addresses]),
                        batch_id,
                        at,
                        by,
                        reason,
                    )
                )
            self.writer.insert("source_record", _RECORD_COLUMNS, rows)
        else:
            rows = []
            for item, version, _reason in items:
                relation = item.row
                assert isinstance(relation, RelationshipRow)
                rows.append(
                    (
                        item.agency_id,
                        relation.record_id,
                        relation.related_record_id,
                        relation.relationship.value,
                        relation.lives_with,
                        _iso(relation.date_from),
                        _iso(relation.date_to),
                        version,
                        item.digest,
                        batch_id,
                        at,
                        by,
                    )
                )
            self.writer.insert("source_relationship", _RELATIONSHIP_COLUMNS, rows)

    def write_events(
        self, frame: pl.DataFrame, versions: list[int], reasons: list[str | None]
    ) -> None:
        ids = self.writer.reserve_ids("event", frame.height)
        column = {
            name: frame.get_column(name).to_list()
            for name in frame.columns
            if name not in {"row", "people_records", "people_roles"}
        }
        practitioner_ids = [
            self.practitioners.get((agency_id, staff_ref)) if staff_ref else None
            for agency_id, staff_ref in zip(
                column["agency_id"], column["practitioner"], strict=True
            )
        ]
        events = list(
            zip(
                ids,
                column["agency_id"],
                column["event_id"],
                versions,
                column["digest"],
                column["event_date"],
                column["precision"],
                column["date_recorded"],
                column["concern_code"],
                column["severity"],
                column["summary"],
                column["information_type"],
                column["impact_on_child"],
                column["action_taken"],
                column["practitioner"],
                practitioner_ids,
                itertools.repeat(self.batch.id),
                itertools.repeat(self.recorded_at),
                itertools.repeat(self.batch.imported_by),
                reasons,
                strict=False,  # the repeats are endless; ids set the length
            )
        )
        people = (
            frame.select(
                pl.Series("event_id", ids, dtype=pl.Int64), "people_records", "people_roles"
            )
            .explode("people_records", "people_roles")
            .drop_nulls("people_records")
        )
        participants = list(
            zip(*(series.to_list() for series in people.iter_columns()), strict=True)
        )
        self.writer.insert("event", _EVENT_COLUMNS, events)
        self.writer.insert("event_participant", _PARTICIPANT_COLUMNS, participants)

    def quarantine(self, table: str, source: SourceRow, reasons: list[QuarantineReason]) -> None:
        values = source.values or {}
        agency = values.get("agency")
        shown = QuarantinedRowRead(
            table_name=table,
            row_number=source.number,
            agency_code=_storable(str(agency).strip()[:64]) if agency not in (None, "") else None,
            row_ref=_storable(raw_ref(table, values)),
            raw=_storable(source.raw()),
            reasons=reasons,
        )
        self.pending_quarantine.append(shown)
        if len(self.pending_quarantine) >= self.chunk_rows:
            self.flush_quarantine()

    def flush_quarantine(self) -> None:
        rows = [
            (
                self.batch.id,
                row.table_name,
                row.row_number,
                row.agency_code,
                row.row_ref,
                row.raw,
                json.dumps([reason.model_dump() for reason in row.reasons]),
                "open",
            )
            for row in self.pending_quarantine
        ]
        self.writer.insert("quarantined_row", _QUARANTINE_COLUMNS, rows)
        self.pending_quarantine.clear()


@overload
def _storable(text: str) -> str: ...


@overload
def _storable(text: None) -> None: ...


def _storable(text: str | None) -> str | None:
    """A quarantined row's text with NUL bytes shown as ``\\x00`` (as undecodable bytes are
    shown): PostgreSQL cannot store a NUL in text, and the row must still be kept."""
    return None if text is None else text.replace("\x00", "\\x00")


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


_RECORD_COLUMNS = (
    "agency_id",
    "record_ref",
    "version",
    "content_hash",
    "given_name",
    "family_name",
    "other_names",
    "previous_family_names",
    "date_of_birth",
    "expected_date_of_delivery",
    "sex",
    "nhs_number",
    "upn",
    "ethnicity",
    "first_language",
    "interpreter_needed",
    "addresses",
    "import_batch_id",
    "recorded_at",
    "recorded_by",
    "change_reason",
)
_RELATIONSHIP_COLUMNS = (
    "agency_id",
    "record_ref",
    "related_record_ref",
    "relationship",
    "lives_with",
    "date_from",
    "date_to",
    "version",
    "content_hash",
    "import_batch_id",
    "recorded_at",
    "recorded_by",
)
_EVENT_COLUMNS = (
    "id",
    "agency_id",
    "event_ref",
    "version",
    "content_hash",
    "event_date",
    "date_precision",
    "date_recorded",
    "concern_code",
    "severity",
    "summary",
    "information_type",
    "impact_on_child",
    "action_taken",
    "practitioner_ref",
    "practitioner_id",
    "import_batch_id",
    "recorded_at",
    "recorded_by",
    "change_reason",
)
_PARTICIPANT_COLUMNS = ("event_id", "record_ref", "role")
_QUARANTINE_COLUMNS = (
    "import_batch_id",
    "table_name",
    "row_number",
    "agency_code",
    "row_ref",
    "raw",
    "reasons",
    "status",
)
