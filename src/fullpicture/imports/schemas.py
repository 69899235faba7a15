"""What an import reports: why a row was quarantined (from its validation error, in words that
say what to fix), each table's counts, a quarantined row, a batch and its result."""

from __future__ import annotations

import datetime as dt

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
)
from pydantic_core import ErrorDetails

# --- reasons -------------------------------------------------------------------------------


class QuarantineReason(BaseModel):
    """One thing wrong with a row: which field, and what to do about it."""

    model_config = ConfigDict(frozen=True)

    field: str
    message: str


def reasons_from_error(error: ValidationError) -> list[QuarantineReason]:
    """Turn pydantic's errors into plain-English reasons, one per problem."""
    reasons: list[QuarantineReason] = []
    for detail in error.errors(include_url=False):
        reasons.append(QuarantineReason(field=_field_name(detail), message=_message(detail)))
    return reasons


def _field_name(detail: ErrorDetails) -> str:
    parts = [str(part) for part in detail["loc"]]
    return ".".join(parts) if parts else "row"


def _message(detail: ErrorDetails) -> str:
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    field = _field_name(detail).split(".")[0]
    if kind == "missing":
        return f"{field} is required and was blank or absent; fill it in"
    if kind == "value_error":
        return str(ctx.get("error", detail["msg"]))
    if kind in {"string_too_long", "too_long"}:
        return f"{field} is too long; at most {ctx.get('max_length')} characters"
    if kind in {"string_too_short", "too_short"}:
        if field == "people":
            return "people is empty; list each person the event concerns as record_id:role"
        return f"{field} is blank; fill it in"
    if kind in {"greater_than_equal", "less_than_equal", "int_parsing", "int_from_float"}:
        return f"{field} must be a whole number 1 to 5" if field == "severity" else detail["msg"]
    if kind == "enum":
        named = [part for part in detail["loc"] if isinstance(part, str)]
        return f"{detail['input']!r} is not a {named[-1] if named else field}; use {ctx.get('expected')}"
    if kind in {"string_type", "list_type", "dict_type", "model_type", "model_attributes_type"}:
        return f"{field} has the wrong kind of value ({detail['msg'].lower()})"
    if kind == "extra_forbidden":
        return f"{field} is not a field here; remove it"
    return f"{field}: {detail['msg']}"


# --- what an import reports -----------------------------------------------------------------

OUTCOMES = ("read", "new", "changed", "unchanged", "repeated", "quarantined")
"""How each row of a table ended up: stored as a new record/event, stored as a new version of
a changed one, already stored as it is, the same row again within the batch, or quarantined."""


class TableCounts(BaseModel):
    read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    repeated: int = 0
    quarantined: int = 0


class QuarantinedRowRead(BaseModel):
    """A quarantined row as shown to whoever must fix it."""

    model_config = ConfigDict(from_attributes=True)

    id: int | None = None
    table_name: str
    row_number: int
    agency_code: str | None
    row_ref: str | None
    raw: str
    reasons: list[QuarantineReason]
    status: str = "open"


class ImportBatchRead(BaseModel):
    """The summary of one import batch."""

    public_id: str
    status: str
    source_name: str
    file_format: str
    file_sha256: str
    imported_by: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    tables: dict[str, TableCounts]
    repaired: int
    failure: str | None = None


class ImportResult(BaseModel):
    """What an import did, with every row it quarantined and why."""

    batch: ImportBatchRead
    quarantined: list[QuarantinedRowRead]


def flatten_counts(tables: dict[str, TableCounts], repaired: int) -> dict[str, int]:
    """``{"events.new": 3, ..., "repaired": 1}``, as ``import_batch.counts`` stores them."""
    flat = {
        f"{table}.{outcome}": getattr(counts, outcome)
        for table, counts in tables.items()
        for outcome in OUTCOMES
    }
    flat["repaired"] = repaired
    return flat


def unflatten_counts(flat: dict[str, int]) -> tuple[dict[str, TableCounts], int]:
    tables: dict[str, dict[str, int]] = {}
    for key, value in flat.items():
        table, _, outcome = key.partition(".")
        if outcome:
            tables.setdefault(table, {})[outcome] = value
    return (
        {table: TableCounts(**values) for table, values in tables.items()},
        flat.get("repaired", 0),
    )
