"""Import a feed: validate every row, store what is new or changed as a new version, quarantine
the rest with its reasons, and repair earlier quarantined rows a valid row now replaces.

One call is one batch, written in the caller's transaction: the caller commits it whole or
rolls it back whole (services never commit). On an unexpected failure ``import_feed`` raises
``ImportFailed``; the boundary rolls back and writes the FAILED batch with
``record_failed_batch`` (see ``flows.ingest_feed``, which keeps the batch in a savepoint).
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fullpicture.core.csv_export import csv_line
from fullpicture.core.database import utc_now
from fullpicture.core.settings import get_settings
from fullpicture.imports import repository
from fullpicture.imports.authority import EVERY_AGENCY, SENDERS_VIEW, FeedAuthority, FeedScope
from fullpicture.imports.batch_run import REPAIRS_COLUMN, BatchRun, ImportProgress, ImportTooSlow
from fullpicture.imports.models import BatchStatus, ImportBatch, QuarantinedRow, QuarantineStatus
from fullpicture.imports.parsing import ValidationContext
from fullpicture.imports.readers import (
    FeedFileError,
    check_file,
    discover_feed,
)
from fullpicture.imports.rows import ROW_MODELS, TABLES
from fullpicture.imports.schemas import (
    ImportBatchRead,
    ImportResult,
    QuarantinedRowRead,
    unflatten_counts,
)

__all__ = [
    "FeedFileError",
    "ImportFailed",
    "ImportProgress",
    "QuarantineError",
    "batch_result",
    "dismiss_quarantined_row",
    "export_quarantine",
    "import_feed",
    "record_failed_batch",
]


class ImportFailed(Exception):
    """The batch failed for a reason no row explains; nothing of it may be stored."""

    def __init__(self, *, batch: ImportBatch, error: BaseException) -> None:
        super().__init__(f"import failed and was rolled back: {type(error).__name__}: {error}")
        self.source_name = batch.source_name
        self.file_format = batch.file_format
        self.file_sha256 = batch.file_sha256
        self.imported_by = batch.imported_by
        self.started_at = batch.started_at
        self.public_id = batch.public_id
        self.error = f"{type(error).__name__}: {error}"
        #: The batch ran past its time budget: the feed is too big for one run, not broken,
        #: so the API answers 413 with what to do rather than 500.
        self.over_time_budget = isinstance(error, ImportTooSlow)


def import_feed(
    *,
    db_session: Session,
    paths: Sequence[Path],
    imported_by: str,
    progress: ImportProgress | None = None,
    chunk_rows: int | None = None,
    today: dt.date | None = None,
    authority: FeedAuthority = EVERY_AGENCY,
) -> ImportResult:
    """Import the feed files at ``paths`` (files or directories) as one batch.

    Rows of agencies outside ``authority`` are quarantined with the reason: a user's upload
    passes ``imports.authority.upload_authority``; every agency's rows are written only for
    the machine's operator (the CLI without ``--as``, the demo).
    """
    if not imported_by.strip():
        raise ValueError("say who is importing (imported_by)")
    files = discover_feed(paths)
    if not files:
        raise FeedFileError("no feed files given")
    for feed_file in files:
        check_file(feed_file)
    formats = {feed_file.file_format for feed_file in files}
    digests = [feed_file.sha256() for feed_file in files]
    batch = ImportBatch(
        source_name=", ".join(str(feed_file.path) for feed_file in files)[:500],
        file_format=formats.pop() if len(formats) == 1 else "mixed",
        file_sha256=digests[0]
        if len(digests) == 1
        else hashlib.sha256("".join(digests).encode()).hexdigest(),
        status=BatchStatus.COMMITTED,
        imported_by=imported_by.strip(),
        started_at=utc_now(),
        counts={},
    )
    try:
        # Written first: it takes the write lock on SQLite and gives rows their batch id.
        db_session.add(batch)
        db_session.flush()
        run = BatchRun(
            db_session=db_session,
            batch=batch,
            context=ValidationContext(
                today=today or dt.date.today(), taxonomy=ValidationContext.current().taxonomy
            ),
            chunk_rows=chunk_rows or get_settings().import_chunk_rows,
            progress=progress,
            authority=authority,
        )
        try:
            with _cyclic_gc_paused():
                for table in TABLES:
                    table_files = [feed_file for feed_file in files if feed_file.table == table]
                    if table_files:
                        run.import_table(table, table_files)
                run.finish()
        finally:
            # No insert may still be running when the caller commits or rolls back.
            run.writer.close()
        result = batch_result(db_session=db_session, public_id=batch.public_id)
    except FeedFileError:
        raise
    except Exception as exc:
        raise ImportFailed(batch=batch, error=exc) from exc
    assert result is not None
    return result


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a batch runs.

    A chunk makes hundreds of thousands of short-lived tuples and strings, none of them in
    cycles; each of them would count towards a collection that then walks every live object
    again (a third of the CPU of a 200,000-event import, measured with cProfile). Reference
    counting still frees them as usual; the collector is restored, as it was, afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def record_failed_batch(*, db_session: Session, failure: ImportFailed) -> ImportBatch:
    """Write the FAILED batch row, after the batch itself was rolled back."""
    batch = ImportBatch(
        public_id=failure.public_id,
        source_name=failure.source_name,
        file_format=failure.file_format,
        file_sha256=failure.file_sha256,
        status=BatchStatus.FAILED,
        imported_by=failure.imported_by,
        started_at=failure.started_at,
        finished_at=utc_now(),
        counts={},
        failure=failure.error,
    )
    db_session.add(batch)
    db_session.flush()
    return batch


def batch_read(batch: ImportBatch) -> ImportBatchRead:
    tables, repaired = unflatten_counts(batch.counts or {})
    return ImportBatchRead(
        public_id=batch.public_id,
        status=batch.status.value,
        source_name=batch.source_name,
        file_format=batch.file_format,
        file_sha256=batch.file_sha256,
        imported_by=batch.imported_by,
        started_at=batch.started_at,
        finished_at=batch.finished_at,
        tables=tables,
        repaired=repaired,
        failure=batch.failure,
    )


def batch_result(*, db_session: Session, public_id: str) -> ImportResult | None:
    """A stored batch's summary and the rows it quarantined."""
    batch = repository.get_batch(db_session=db_session, public_id=public_id)
    if batch is None:
        return None
    rows = repository.quarantined_rows(db_session=db_session, scope=SENDERS_VIEW, batch_id=batch.id)
    return ImportResult(
        batch=batch_read(batch),
        quarantined=[QuarantinedRowRead.model_validate(row) for row in rows],
    )


# --- working the quarantine -------------------------------------------------------------


class QuarantineError(ValueError):
    """A quarantine action that cannot be done; the message says why."""


@dataclass(frozen=True)
class QuarantineExport:
    """What ``export_quarantine`` wrote, and the rows it could not write as CSV."""

    files: dict[str, Path]
    rows_written: dict[str, int]
    not_exportable: list[QuarantinedRow]
    #: Every open row the export covered: written, or shown as not exportable.
    rows: list[QuarantinedRow] = field(default_factory=list)


def export_quarantine(
    *,
    db_session: Session,
    batch_public_id: str,
    out_dir: Path,
    scope: FeedScope,
) -> QuarantineExport:
    """Write a batch's open quarantined rows as feed CSV files (``<table>.csv``), as they
    arrived, so they can be fixed and imported again. Each row carries its
    ``quarantined_row_id``, so the fixed row repairs it even if the fix changes its id.

    Only the rows of the feeds ``scope`` covers are written (one agency's user fixes their
    own feed); rows whose agency could not be read only go out for every feed's scope."""
    batch = repository.get_batch(db_session=db_session, public_id=batch_public_id)
    if batch is None:
        raise QuarantineError(f"no import batch {batch_public_id}")
    rows = repository.quarantined_rows(
        db_session=db_session, scope=scope, batch_id=batch.id, status=QuarantineStatus.OPEN
    )
    by_table: dict[str, list[dict[str, str]]] = defaultdict(list)
    not_exportable: list[QuarantinedRow] = []
    for row in rows:
        try:
            values = json.loads(row.raw)
        except json.JSONDecodeError:
            values = None
        if not isinstance(values, dict):
            not_exportable.append(row)
            continue
        model = ROW_MODELS[row.table_name]
        cells = {column: _csv_cell(column, values.get(column)) for column in model.columns}
        cells[REPAIRS_COLUMN] = str(row.id)
        by_table[row.table_name].append(cells)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    counts: dict[str, int] = {}
    for table, table_rows in by_table.items():
        path = out_dir / f"{table}.csv"
        columns = [*ROW_MODELS[table].columns, REPAIRS_COLUMN]
        # The file is opened in a spreadsheet to be fixed, so its cells are neutralised
        # against formula injection (a spreadsheet drops the leading ' when it saves).
        with path.open("w", encoding="utf-8", newline="") as handle:
            handle.write(csv_line(columns))
            for cells in table_rows:
                handle.write(csv_line(cells[column] for column in columns))
        files[table] = path
        counts[table] = len(table_rows)
    return QuarantineExport(
        files=files, rows_written=counts, not_exportable=not_exportable, rows=rows
    )


def _csv_cell(column: str, value: Any) -> str:
    """A value in the CSV notation of docs/import-format.md."""
    if value is None:
        return ""
    if column == "people" and isinstance(value, list):
        return "|".join(
            f"{person.get('record_id', '')}:{person.get('role', '')}"
            if isinstance(person, dict)
            else str(person)
            for person in value
        )
    if column in {"other_names", "previous_family_names"} and isinstance(value, list):
        return "|".join(str(name) for name in value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def dismiss_quarantined_row(
    *, db_session: Session, scope: FeedScope, row_id: int, dismissed_by: str, reason: str
) -> QuarantinedRow:
    """Close an open quarantined row of the feeds ``scope`` covers without repairing it,
    saying who and why."""
    if not reason.strip():
        raise QuarantineError("say why the row is dismissed (it stays on record)")
    row = db_session.scalar(repository.readable_quarantined_rows(scope=scope, row_id=row_id))
    if row is None:
        raise QuarantineError(f"no quarantined row {row_id}")
    if row.status is not QuarantineStatus.OPEN:
        raise QuarantineError(f"quarantined row {row_id} is already {row.status.value}")
    row.status = QuarantineStatus.DISMISSED
    row.dismissed_by = dismissed_by
    row.dismissal_reason = reason.strip()
    row.resolved_at = utc_now()
    db_session.flush()
    return row
