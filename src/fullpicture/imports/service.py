"""Import a feed: validate every row, store what is new or changed as a new version, quarantine
the rest with its reasons, and repair earlier quarantined rows a valid row now replaces.

One call is one batch, written in the caller's transaction: the caller commits it whole or
rolls it back whole (services never commit). On an unexpected failure ``import_feed`` raises
``ImportFailed``; the boundary rolls back and writes the FAILED batch with
``record_failed_batch`` in a transaction of its own (see ``flows.run_import``).
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import itertools
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import polars as pl
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.agencies import service as agency_service
from fullpicture.agencies.models import Practitioner
from fullpicture.core.csv_export import csv_line
from fullpicture.core.database import utc_now
from fullpicture.core.settings import get_settings
from fullpicture.imports import repository
from fullpicture.imports.bulk import BulkWriter
from fullpicture.imports.fast_events import accepted_events, events_frame, normalised_events
from fullpicture.imports.models import BatchStatus, ImportBatch, QuarantinedRow, QuarantineStatus
from fullpicture.imports.readers import (
    FeedFile,
    FeedFileError,
    RowChunk,
    SourceRow,
    check_file,
    discover_feed,
    estimate_rows,
    read_chunks,
)
from fullpicture.imports.schemas import (
    ROW_MODELS,
    TABLES,
    EventRow,
    FeedRow,
    ImportBatchRead,
    ImportResult,
    NormalisedEvent,
    QuarantinedRowRead,
    QuarantineReason,
    RecordRow,
    RelationshipRow,
    TableCounts,
    ValidationContext,
    flatten_counts,
    named_record_ids,
    reasons_from_error,
    relationship_ref,
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

KNOWN_RECORDS_READ_WHOLE = 2_000_000
"""An agency holding at most this many records has them all read once per batch, rather
than looked up chunk by chunk (each lookup waits for the inserts in flight)."""

REPAIRS_COLUMN = "quarantined_row_id"
"""An exported quarantined row carries its id, so the fixed row repairs it even if the fix
changed its agency or id (``fullpicture quarantine export``)."""


class ImportProgress(Protocol):
    """Told how far an import has got (the CLI draws a progress bar from it)."""

    def start_file(self, feed_file: FeedFile, total_rows: int) -> None: ...

    def advance(self, rows: int) -> None: ...


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


def import_feed(
    *,
    db_session: Session,
    paths: Sequence[Path],
    imported_by: str,
    progress: ImportProgress | None = None,
    chunk_rows: int | None = None,
    today: dt.date | None = None,
) -> ImportResult:
    """Import the feed files at ``paths`` (files or directories) as one batch."""
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
        run = _BatchRun(
            db_session=db_session,
            batch=batch,
            context=ValidationContext(
                today=today or dt.date.today(), taxonomy=ValidationContext.current().taxonomy
            ),
            chunk_rows=chunk_rows or get_settings().import_chunk_rows,
            progress=progress,
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
    rows = repository.quarantined_rows(db_session=db_session, batch_id=batch.id)
    return ImportResult(
        batch=batch_read(batch),
        quarantined=[QuarantinedRowRead.model_validate(row) for row in rows],
    )


# --- one batch --------------------------------------------------------------------------

_ID_COLUMN = {"records": "record_id", "relationships": "record_id", "events": "event_id"}


_Key = tuple[int, str]  # (agency id, the agency's own id of the row)


@dataclass(slots=True)
class _Seen:
    """What the batch did with the first valid row of each (agency, ref) of one table.

    Dicts keyed alike rather than an object per key: a large feed meets millions of keys."""

    digest: dict[_Key, str] = field(default_factory=dict)
    outcome: dict[_Key, str] = field(default_factory=dict)  # new, changed or unchanged
    repeats: dict[_Key, int] = field(default_factory=dict)  # only keys sent more than once

    def forget(self, key: _Key) -> tuple[str, int] | None:
        """Drop a key; its outcome and repeats, if it was seen."""
        if self.digest.pop(key, None) is None:
            return None
        return self.outcome.pop(key), self.repeats.pop(key, 0)


@dataclass(slots=True)
class _Rejected:
    source: SourceRow
    reasons: list[QuarantineReason]
    agency_id: int | None


@dataclass(slots=True)
class _Valid:
    """A valid record or relationship row (events go as frames: _import_event_chunk)."""

    source: SourceRow
    row: FeedRow
    agency_id: int
    ref: str
    digest: str


@dataclass
class _BatchRun:
    db_session: Session
    batch: ImportBatch
    context: ValidationContext
    chunk_rows: int
    progress: ImportProgress | None
    counts: dict[str, TableCounts] = field(default_factory=dict)
    seen: dict[str, _Seen] = field(default_factory=dict)
    # Records each agency is known to hold: stored before or valid in this batch.
    known_records: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    # Agencies whose stored records are all in known_records (read once, not per chunk).
    all_records_known: set[int] = field(default_factory=set)
    repairs_by_id: set[int] = field(default_factory=set)
    pending_quarantine: list[QuarantinedRowRead] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.writer = BulkWriter(self.db_session)
        self.recorded_at = self.writer.timestamp_value(self.batch.started_at)
        self.agencies = agency_service.codes_to_ids(db_session=self.db_session)
        self.agency_codes = {id_: code for code, id_ in self.agencies.items()}
        self.practitioners: dict[tuple[int, str], int] = {
            (agency_id, staff_ref): id_
            for id_, agency_id, staff_ref in self.db_session.execute(
                select(Practitioner.id, Practitioner.agency_id, Practitioner.staff_ref)
            )
        }
        self.agencies_with_rows: dict[tuple[str, int], bool] = {}

    # -- a table --------------------------------------------------------------------

    def import_table(self, table: str, files: list[FeedFile]) -> None:
        self.counts[table] = TableCounts()
        self.seen[table] = _Seen()
        conflicts: set[tuple[int, str]] = set()
        for feed_file in files:
            if self.progress:
                self.progress.start_file(feed_file, estimate_rows(feed_file))
            for chunk in read_chunks(feed_file, self.chunk_rows):
                self._import_chunk(table, feed_file, chunk, conflicts)
                if self.progress:
                    self.progress.advance(len(chunk))
        if conflicts:
            self._quarantine_conflicts(table, files, conflicts)

    def _import_chunk(
        self,
        table: str,
        feed_file: FeedFile,
        chunk: RowChunk,
        conflicts: set[_Key],
    ) -> None:
        counts = self.counts[table]
        counts.read += len(chunk)
        if table == "events":
            self._import_event_chunk(chunk, conflicts)
            return
        valid: list[_Valid] = []
        rejected: list[_Rejected] = []
        for source in chunk:
            checked = self._validate(table, source)
            if isinstance(checked, _Rejected):
                rejected.append(checked)
            else:
                row, agency_id = checked
                assert not isinstance(row, EventRow)
                valid.append(_Valid(source, row, agency_id, row.ref(), row.content_hash()))
        if table != "records":
            valid = self._check_references(table, valid, rejected)
        self._quarantine_rejected(table, rejected)
        self._store(table, chunk, valid, conflicts)

    def _validate(self, table: str, source: SourceRow) -> tuple[FeedRow, int] | _Rejected:
        """One row through its pydantic model, with every reason it is wrong."""
        values = source.values
        reasons = list(source.problems)
        if values is None:
            return _Rejected(source, reasons, None)
        agency_code = values.get("agency")
        agency_id = self.agencies.get(agency_code.strip()) if isinstance(agency_code, str) else None
        if agency_id is None and isinstance(agency_code, str) and agency_code.strip():
            reasons.append(
                QuarantineReason(
                    field="agency",
                    message=(
                        f"{agency_code.strip()!r} is not a registered agency; register it "
                        "(fullpicture agency add) or correct the code"
                    ),
                )
            )
        try:
            row = ROW_MODELS[table].model_validate(values, context=self.context)
        except ValidationError as exc:
            reasons.extend(reasons_from_error(exc))
            return _Rejected(source, reasons, agency_id)
        if reasons or agency_id is None:
            return _Rejected(source, reasons, agency_id)
        return row, agency_id

    def _quarantine_rejected(self, table: str, rejected: list[_Rejected]) -> None:
        for item in rejected:
            self._quarantine(table, item.source, item.reasons)
        self.counts[table].quarantined += len(rejected)

    # -- events, column by column ------------------------------------------------------

    def _import_event_chunk(self, chunk: RowChunk, conflicts: set[_Key]) -> None:
        """Events are handled as one frame per chunk (``EVENT_FRAME_SCHEMA``): plain rows are
        checked column-wise (fast_events), the rest row by row by ``EventRow``; references,
        versions and the rows to insert are then worked out on the frame's columns."""
        accepted = accepted_events(chunk, agencies=self.agencies, context=self.context)
        rejected: list[_Rejected] = []
        if accepted.height < len(chunk):
            taken = set(accepted.get_column("row").to_list())
            validated: list[tuple[int, NormalisedEvent]] = []
            for position in range(len(chunk)):
                if position in taken:
                    continue
                checked = self._validate("events", chunk[position])
                if isinstance(checked, _Rejected):
                    rejected.append(checked)
                else:
                    row, agency_id = checked
                    assert isinstance(row, EventRow)
                    validated.append((position, row.normalised(agency_id=agency_id)))
            if validated:
                accepted = pl.concat([accepted, events_frame(validated)])
        accepted = self._check_event_references(chunk, accepted, rejected)
        self._quarantine_rejected("events", rejected)
        self._store_events(chunk, accepted, conflicts)

    def _check_event_references(
        self, chunk: RowChunk, frame: pl.DataFrame, rejected: list[_Rejected]
    ) -> pl.DataFrame:
        """Keep the events whose people are all records their agency holds; reject the rest."""
        named = (
            frame.select("row", "agency_id", pl.col("people_records").alias("record"))
            .explode("record")
            .drop_nulls("record")
        )
        pairs = named.select("agency_id", "record").unique()
        wanted: dict[int, set[str]] = defaultdict(set)
        for agency_id, record in zip(
            pairs.get_column("agency_id").to_list(),
            pairs.get_column("record").to_list(),
            strict=True,
        ):
            wanted[agency_id].add(record)
        self._check_named_records("events", wanted, rejected)
        unknown = [
            (agency_id, record)
            for agency_id, records in wanted.items()
            for record in records - self.known_records[agency_id]
        ]
        if not unknown:
            return frame
        unknown_frame = pl.DataFrame(
            unknown, schema={"agency_id": pl.Int64, "record": pl.Utf8}, orient="row"
        )
        naming_unknown = set(
            named.join(unknown_frame, on=["agency_id", "record"], how="semi")
            .get_column("row")
            .to_list()
        )
        for position, event in normalised_events(frame.filter(pl.col("row").is_in(naming_unknown))):
            refs = [record for record, _role in event.people]
            problems = self._unknown_records("events", event.agency_id, refs)
            rejected.append(_Rejected(chunk[position], problems, event.agency_id))
        return frame.filter(~pl.col("row").is_in(naming_unknown))

    def _store_events(self, chunk: RowChunk, frame: pl.DataFrame, conflicts: set[_Key]) -> None:
        keys = list(
            zip(
                frame.get_column("agency_id").to_list(),
                frame.get_column("event_id").to_list(),
                strict=True,
            )
        )
        digests: list[str] = frame.get_column("digest").to_list()
        pending = self._first_sightings("events", keys, digests, conflicts)
        chosen = list(pending.values())
        stored = self._stored_versions("events", pending)
        versions, reasons = self._outcomes(
            "events",
            list(pending),
            [digests[index] for index in chosen],
            frame.get_column("change_reason").gather(chosen).to_list(),
            stored,
        )
        if chunk.has_column(REPAIRS_COLUMN):
            positions = frame.get_column("row").gather(chosen).to_list()
            for position in positions:
                self._note_repair(chunk[position])
        written = [index for index, version in zip(chosen, versions, strict=True) if version]
        if written:
            self._write_events(
                frame[written],
                [version for version in versions if version],
                [reason for reason, version in zip(reasons, versions, strict=True) if version],
            )

    def _write_events(
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

    # -- references -------------------------------------------------------------------

    def _check_named_records(
        self, table: str, wanted: dict[int, set[str]], rejected: list[_Rejected]
    ) -> None:
        """Learn whether each agency holds the records its valid rows name (``wanted``) and
        those its rejected rows name; a rejected row gains a reason for each record its
        agency does not hold, so that it is reported with every reason at once."""
        rejected_refs = [
            _raw_references(table, item.source.values or {}) if item.agency_id is not None else []
            for item in rejected
        ]
        for item, refs in zip(rejected, rejected_refs, strict=True):
            if item.agency_id is not None:
                wanted[item.agency_id].update(ref for ref in refs if ref)
        self._learn_records(wanted)
        for item, refs in zip(rejected, rejected_refs, strict=True):
            if item.agency_id is not None and refs:
                item.reasons.extend(self._unknown_records(table, item.agency_id, refs))

    def _learn_records(self, wanted: dict[int, set[str]]) -> None:
        """Make sure ``known_records`` says, for each record wanted, whether the agency holds
        it: an agency's stored records are read once (unless there are very many)."""
        for agency_id, refs in wanted.items():
            if agency_id in self.all_records_known:
                continue
            unknown_yet = refs - self.known_records[agency_id]
            if not unknown_yet:
                continue
            self.writer.wait()
            if (
                repository.count_records(db_session=self.db_session, agency_id=agency_id)
                <= KNOWN_RECORDS_READ_WHOLE
            ):
                self.known_records[agency_id].update(
                    repository.record_refs(db_session=self.db_session, agency_id=agency_id)
                )
                self.all_records_known.add(agency_id)
            else:
                self.known_records[agency_id].update(
                    repository.known_record_refs(
                        db_session=self.db_session, agency_id=agency_id, refs=unknown_yet
                    )
                )

    def _check_references(
        self, table: str, valid: list[_Valid], rejected: list[_Rejected]
    ) -> list[_Valid]:
        """Relationships may only name records their agency holds. Rows already rejected are
        checked too, so that a row is reported with every reason at once."""
        valid_refs = [_referenced_records(item.row) for item in valid]
        wanted: dict[int, set[str]] = defaultdict(set)
        for item, refs in zip(valid, valid_refs, strict=True):
            wanted[item.agency_id].update(ref for ref in refs if ref)
        self._check_named_records(table, wanted, rejected)
        if all(refs <= self.known_records[agency_id] for agency_id, refs in wanted.items()):
            return valid  # every record named is known
        kept: list[_Valid] = []
        for candidate, refs in zip(valid, valid_refs, strict=True):
            problems = self._unknown_records(table, candidate.agency_id, refs)
            if problems:
                rejected.append(_Rejected(candidate.source, problems, candidate.agency_id))
            else:
                kept.append(candidate)
        return kept

    def _unknown_records(
        self, table: str, agency_id: int, refs: list[str]
    ) -> list[QuarantineReason]:
        known = self.known_records[agency_id]
        agency = self.agency_codes[agency_id]
        fields = ["people"] * len(refs) if table == "events" else ["record_id", "related_record_id"]
        return [
            QuarantineReason(
                field=field_name,
                message=(
                    f"record {ref} is not a record of {agency}; send its row in the "
                    "records file (in this feed or before) or correct the id"
                ),
            )
            for ref, field_name in zip(refs, fields, strict=False)
            if ref and ref not in known
        ]

    # -- versions ---------------------------------------------------------------------

    def _store(
        self, table: str, chunk: RowChunk, valid: list[_Valid], conflicts: set[_Key]
    ) -> None:
        pending = self._first_sightings(
            table,
            [(item.agency_id, item.ref) for item in valid],
            [item.digest for item in valid],
            conflicts,
        )
        items = [valid[index] for index in pending.values()]
        versions, reasons = self._outcomes(
            table,
            list(pending),
            [item.digest for item in items],
            [item.row.change_reason for item in items],
            self._stored_versions(table, pending),
        )
        if table == "records":
            for item in items:
                self.known_records[item.agency_id].add(item.ref)
        if chunk.has_column(REPAIRS_COLUMN):
            for item in items:
                self._note_repair(item.source)
        self._write(
            table,
            [
                (item, version, reason)
                for item, version, reason in zip(items, versions, reasons, strict=True)
                if version
            ],
        )

    def _first_sightings(
        self, table: str, keys: list[_Key], digests: list[str], conflicts: set[_Key]
    ) -> dict[_Key, int]:
        """The keys this batch meets for the first time in this chunk, each with the index of
        its first row. A key sent again with the same content is counted as a repeat; with
        other content it joins ``conflicts`` (and is not stored at all)."""
        seen = self.seen[table]
        if not conflicts and len(set(keys)) == len(keys) and seen.digest.keys().isdisjoint(keys):
            return dict(zip(keys, range(len(keys)), strict=True))  # the usual case
        counts = self.counts[table]
        pending: dict[_Key, int] = {}
        pending_repeats: dict[_Key, int] = defaultdict(int)
        for index, (key, digest) in enumerate(zip(keys, digests, strict=True)):
            if key in conflicts:
                continue
            earlier_digest = seen.digest.get(key)
            if earlier_digest is None:
                first = pending.get(key)
                if first is None:
                    pending[key] = index
                elif digests[first] == digest:
                    counts.repeated += 1
                    pending_repeats[key] += 1
                else:
                    conflicts.add(key)
            elif earlier_digest == digest:
                counts.repeated += 1
                seen.repeats[key] = seen.repeats.get(key, 0) + 1
            else:
                conflicts.add(key)
        for key in [key for key in pending if key in conflicts]:
            del pending[key]
            counts.repeated -= pending_repeats.pop(key, 0)
        seen.repeats.update(pending_repeats)
        return pending

    def _stored_versions(
        self, table: str, pending: dict[_Key, int]
    ) -> dict[_Key, repository.StoredVersion]:
        """The latest stored version of each key that the database may hold already."""
        by_agency: dict[int, list[str]] = defaultdict(list)
        for agency_id, ref in pending:
            by_agency[agency_id].append(ref)
        stored: dict[_Key, repository.StoredVersion] = {}
        for agency_id, refs in by_agency.items():
            # An agency's first feed of a table needs no lookups (nor a wait for the inserts).
            if not self._agency_has_rows(table, agency_id):
                continue
            self.writer.wait()
            for ref, latest in repository.latest_versions(
                db_session=self.db_session, table=table, agency_id=agency_id, refs=refs
            ).items():
                stored[(agency_id, ref)] = latest
        return stored

    def _outcomes(
        self,
        table: str,
        keys: list[_Key],
        digests: list[str],
        change_reasons: list[str | None],
        stored: dict[_Key, repository.StoredVersion],
    ) -> tuple[list[int], list[str | None]]:
        """For each key met for the first time: the version to write (0: nothing to write, the
        row is unchanged) and its change reason; the outcomes are counted and remembered."""
        counts = self.counts[table]
        seen = self.seen[table]
        seen.digest.update(zip(keys, digests, strict=True))
        if not stored:
            seen.outcome.update(dict.fromkeys(keys, "new"))
            counts.new += len(keys)
            return [1] * len(keys), change_reasons
        versions: list[int] = []
        reasons: list[str | None] = []
        for key, digest, reason in zip(keys, digests, change_reasons, strict=True):
            before = stored.get(key)
            if before is None:
                outcome, version = "new", 1
            elif digest in (before.content_hash, before.imported_hash):
                # The same as stored, or as the agency last sent it: a correction made here
                # since then (chronology.service.correct_event) stands until the feed changes.
                outcome, version = "unchanged", 0
            else:
                outcome, version = "changed", before.version + 1
                reason = reason or f"changed in feed {self.batch.public_id}"
            seen.outcome[key] = outcome
            setattr(counts, outcome, getattr(counts, outcome) + 1)
            versions.append(version)
            reasons.append(reason)
        return versions, reasons

    def _agency_has_rows(self, table: str, agency_id: int) -> bool:
        key = (table, agency_id)
        if key not in self.agencies_with_rows:
            self.agencies_with_rows[key] = repository.agency_has_rows(
                db_session=self.db_session, table=table, agency_id=agency_id
            )
        return self.agencies_with_rows[key]

    def _note_repair(self, source: SourceRow) -> None:
        values = source.values or {}
        quarantined_id = values.get(REPAIRS_COLUMN)
        if quarantined_id is not None and str(quarantined_id).strip().isdigit():
            self.repairs_by_id.add(int(str(quarantined_id).strip()))

    # -- writing ----------------------------------------------------------------------

    def _write(self, table: str, items: list[tuple[_Valid, int, str | None]]) -> None:
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

    def _quarantine(self, table: str, source: SourceRow, reasons: list[QuarantineReason]) -> None:
        values = source.values or {}
        agency = values.get("agency")
        shown = QuarantinedRowRead(
            table_name=table,
            row_number=source.number,
            agency_code=str(agency).strip()[:64] if agency not in (None, "") else None,
            row_ref=_raw_ref(table, values),
            raw=source.raw(),
            reasons=reasons,
        )
        self.pending_quarantine.append(shown)
        if len(self.pending_quarantine) >= self.chunk_rows:
            self._flush_quarantine()

    def _flush_quarantine(self) -> None:
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

    # -- ids sent twice with different content -----------------------------------------

    def _quarantine_conflicts(
        self, table: str, files: list[FeedFile], conflicts: set[tuple[int, str]]
    ) -> None:
        """Quarantine every row of an id that came with different content, and remove what
        the batch stored for it: which of them is right is for the agency to say."""
        counts = self.counts[table]
        seen = self.seen[table]
        by_agency: dict[int, list[str]] = defaultdict(list)
        for key in conflicts:
            agency_id, ref = key
            first = seen.forget(key)
            if first is not None:
                outcome, repeats = first
                setattr(counts, outcome, getattr(counts, outcome) - 1)
                counts.repeated -= repeats
            by_agency[agency_id].append(ref)
            if table == "records":
                # It may still be held from an earlier feed: read it again when asked.
                self.known_records[agency_id].discard(ref)
                self.all_records_known.discard(agency_id)
        self.writer.wait()
        for agency_id, refs in by_agency.items():
            repository.delete_batch_rows(
                db_session=self.db_session,
                table=table,
                batch_id=self.batch.id,
                agency_id=agency_id,
                refs=refs,
            )
        # Find every row of those ids again (their raw text was not kept) and quarantine it.
        raw_ids = {ref.split(">", 1)[0] for _, ref in conflicts}
        rows_by_key: dict[tuple[int, str], list[tuple[FeedFile, SourceRow]]] = defaultdict(list)
        model = ROW_MODELS[table]
        for feed_file in files:
            for chunk in read_chunks(feed_file, self.chunk_rows):
                for source in chunk:
                    values = source.values
                    if values is None or source.problems:
                        continue
                    raw_id = values.get(_ID_COLUMN[table])
                    if not isinstance(raw_id, str) or raw_id.strip() not in raw_ids:
                        continue
                    conflict_agency = self.agencies.get(str(values.get("agency", "")).strip())
                    if conflict_agency is None:
                        continue
                    try:
                        row = model.model_validate(values, context=self.context)
                    except ValidationError:
                        continue  # quarantined already for its own reasons
                    key = (conflict_agency, row.ref())
                    if key in conflicts:
                        rows_by_key[key].append((feed_file, source))
        for key, rows in rows_by_key.items():
            where = "; ".join(
                f"{feed_file.path.name} row {source.number}" for feed_file, source in rows
            )
            for _feed_file, source in rows:
                self._quarantine(
                    table,
                    source,
                    [
                        QuarantineReason(
                            field=_ID_COLUMN[table] if table != "relationships" else "row",
                            message=(
                                f"{key[1]} appears {len(rows)} times in this batch with "
                                f"different content ({where}); send it once, as it should be"
                            ),
                        )
                    ],
                )
            counts.quarantined += len(rows)

    # -- end of batch -------------------------------------------------------------------

    def finish(self) -> None:
        self._flush_quarantine()
        self.writer.wait()
        valid_keys = {
            (self.agency_codes[agency_id], table, ref)
            for table, seen in self.seen.items()
            for (agency_id, ref) in seen.digest
        }
        repaired_ids: set[int] = set()
        for id_, table, agency_code, ref in repository.open_quarantine_keys(
            db_session=self.db_session, exclude_batch_id=self.batch.id
        ):
            # Repaired by a valid row with the same key, or by the fixed export of this very
            # row (which may have corrected the agency or the id themselves).
            if (agency_code, table, ref) in valid_keys or id_ in self.repairs_by_id:
                repaired_ids.add(id_)
        now = utc_now()
        repaired = repository.mark_repaired(
            db_session=self.db_session, quarantined_ids=repaired_ids, batch_id=self.batch.id, at=now
        )
        self.batch.counts = flatten_counts(self.counts, repaired)
        self.batch.finished_at = now
        self.db_session.flush()
        # The rows were written past the ORM; make sure nothing stale is served from it.
        self.db_session.expire_all()
        self.db_session.refresh(self.batch)


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _referenced_records(row: FeedRow) -> list[str]:
    if isinstance(row, RelationshipRow):
        return [row.record_id, row.related_record_id]
    return []


def _raw_references(table: str, values: dict[str, Any]) -> list[str]:
    """The record ids a row that failed validation names, as far as they can be read."""
    if table == "relationships":
        refs = [values.get("record_id"), values.get("related_record_id")]
        return [ref.strip() if isinstance(ref, str) else "" for ref in refs]
    return named_record_ids(values.get("people"))


def _raw_ref(table: str, values: dict[str, Any]) -> str | None:
    def text(name: str) -> str:
        value = values.get(name)
        return str(value).strip() if value is not None else ""

    if table == "relationships":
        if not text("record_id"):
            return None
        kind = text("relationship").lower().replace("-", "_").replace(" ", "_")
        return relationship_ref(text("record_id"), text("related_record_id"), kind)[:200]
    return text(_ID_COLUMN[table])[:200] or None


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
    agency_codes: set[str] | None = None,
) -> QuarantineExport:
    """Write a batch's open quarantined rows as feed CSV files (``<table>.csv``), as they
    arrived, so they can be fixed and imported again. Each row carries its
    ``quarantined_row_id``, so the fixed row repairs it even if the fix changes its id.

    With ``agency_codes``, only those agencies' rows are written (one agency's user fixes
    their own feed); rows whose agency could not be read only go out with ``None``."""
    batch = repository.get_batch(db_session=db_session, public_id=batch_public_id)
    if batch is None:
        raise QuarantineError(f"no import batch {batch_public_id}")
    rows = repository.quarantined_rows(
        db_session=db_session,
        batch_id=batch.id,
        status=QuarantineStatus.OPEN,
        agency_codes=agency_codes,
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
    *, db_session: Session, row_id: int, dismissed_by: str, reason: str
) -> QuarantinedRow:
    """Close an open quarantined row without repairing it, saying who and why."""
    if not reason.strip():
        raise QuarantineError("say why the row is dismissed (it stays on record)")
    row = db_session.get(QuarantinedRow, row_id)
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
