"""A feed row after its checks: valid (with its agency, id and digest) or rejected with every
reason, and how the ids and records a row names are read from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fullpicture.imports.parsing import named_record_ids
from fullpicture.imports.readers import SourceRow
from fullpicture.imports.rows import FeedRow, RelationshipRow, relationship_ref
from fullpicture.imports.schemas import QuarantineReason

ID_COLUMN = {"records": "record_id", "relationships": "record_id", "events": "event_id"}

Key = tuple[int, str]  # (agency id, the agency's own id of the row)


@dataclass(slots=True)
class Rejected:
    source: SourceRow
    reasons: list[QuarantineReason]
    agency_id: int | None


@dataclass(slots=True)
class Valid:
    """A valid record or relationship row (events go as frames: _import_event_chunk)."""

    source: SourceRow
    row: FeedRow
    agency_id: int
    ref: str
    digest: str


def referenced_records(row: FeedRow) -> list[str]:
    if isinstance(row, RelationshipRow):
        return [row.record_id, row.related_record_id]
    return []


def raw_references(table: str, values: dict[str, Any]) -> list[str]:
    """The record ids a row that failed validation names, as far as they can be read."""
    if table == "relationships":
        refs = [values.get("record_id"), values.get("related_record_id")]
        return [ref.strip() if isinstance(ref, str) else "" for ref in refs]
    return named_record_ids(values.get("people"))


def raw_ref(table: str, values: dict[str, Any]) -> str | None:
    def text(name: str) -> str:
        value = values.get(name)
        return str(value).strip() if value is not None else ""

    if table == "relationships":
        if not text("record_id"):
            return None
        kind = text("relationship").lower().replace("-", "_").replace(" ", "_")
        return relationship_ref(text("record_id"), text("related_record_id"), kind)[:200]
    return text(ID_COLUMN[table])[:200] or None
