"""One batch's run through its steps: each table's files chunk by chunk, each chunk checked
(``checked``, ``references``), versioned (``versions``) and written (``storage``); ids sent
twice with different content quarantined; at the end, earlier quarantined rows repaired."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from time import monotonic
from typing import Protocol

import polars as pl
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.agencies import service as agency_service
from fullpicture.agencies.models import Practitioner
from fullpicture.core.database import utc_now
from fullpicture.core.settings import get_settings
from fullpicture.imports import repository
from fullpicture.imports.authority import EVERY_AGENCY, FeedAuthority
from fullpicture.imports.bulk import BulkWriter
from fullpicture.imports.checked import ID_COLUMN, Key, Rejected, Valid
from fullpicture.imports.fast_events import accepted_events, events_frame
from fullpicture.imports.models import ImportBatch
from fullpicture.imports.parsing import ValidationContext
from fullpicture.imports.readers import (
    FeedFile,
    FeedFileError,
    RowChunk,
    SourceRow,
    estimate_rows,
    read_chunks,
)
from fullpicture.imports.references import RecordReferences
from fullpicture.imports.rows import ROW_MODELS, EventRow, FeedRow, NormalisedEvent
from fullpicture.imports.schemas import (
    QuarantineReason,
    TableCounts,
    flatten_counts,
    reasons_from_error,
)
from fullpicture.imports.storage import RowStore
from fullpicture.imports.versions import Seen, VersionLedger

REPAIRS_COLUMN = "quarantined_row_id"
"""An exported quarantined row carries its id, so the fixed row repairs it even if the fix
changed its agency or id (``fullpicture quarantine export``)."""


class ImportTooSlow(RuntimeError):
    """An import past its time budget (``import_max_seconds``); the batch is rolled back."""


class ImportProgress(Protocol):
    """Told how far an import has got (the CLI draws a progress bar from it)."""

    def start_file(self, feed_file: FeedFile, total_rows: int) -> None: ...

    def advance(self, rows: int) -> None: ...


@dataclass
class BatchRun:
    """One batch being imported: the shared state its steps work on, and the steps in order."""

    db_session: Session
    batch: ImportBatch
    context: ValidationContext
    chunk_rows: int
    progress: ImportProgress | None
    counts: dict[str, TableCounts] = field(default_factory=dict)
    repairs_by_id: set[int] = field(default_factory=set)
    #: The agencies whose rows this batch may write (``imports.service.FeedAuthority``); a row
    #: of any other agency is quarantined with the reason (issue 12, finding 4).
    authority: FeedAuthority = field(default_factory=lambda: EVERY_AGENCY)

    def __post_init__(self) -> None:
        self.deadline = monotonic() + get_settings().import_max_seconds
        self.writer = BulkWriter(self.db_session)
        self.recorded_at = self.writer.timestamp_value(self.batch.started_at)
        self.agencies = agency_service.codes_to_ids(db_session=self.db_session)
        self.agency_codes = {id_: code for code, id_ in self.agencies.items()}
        # Rows the fast event check may take; another agency's rows go row by row, where
        # _validate gives the reason.
        self.writable_agencies = {
            code: id_ for code, id_ in self.agencies.items() if self.authority.covers(code)
        }
        self.practitioners: dict[tuple[int, str], int] = {
            (agency_id, staff_ref): id_
            for id_, agency_id, staff_ref in self.db_session.execute(
                select(Practitioner.id, Practitioner.agency_id, Practitioner.staff_ref)
            )
        }
        self.references = RecordReferences(self.db_session, self.writer, self.agency_codes)
        self.ledger = VersionLedger(self.db_session, self.writer, self.batch.public_id, self.counts)
        self.store = RowStore(
            self.writer, self.batch, self.recorded_at, self.practitioners, self.chunk_rows
        )

    # -- a table --------------------------------------------------------------------

    def import_table(self, table: str, files: list[FeedFile]) -> None:
        self.counts[table] = TableCounts()
        self.ledger.seen[table] = Seen()
        conflicts: set[tuple[int, str]] = set()
        for feed_file in files:
            if self.progress:
                self.progress.start_file(feed_file, estimate_rows(feed_file))
            for chunk in read_chunks(feed_file, self.chunk_rows):
                self._import_chunk(table, feed_file, chunk, conflicts)
                if self.progress:
                    self.progress.advance(len(chunk))
                self._within_limits(feed_file)
        if conflicts:
            self._quarantine_conflicts(table, files, conflicts)

    def _within_limits(self, feed_file: FeedFile) -> None:
        """Stop a batch that has gone past its time budget or quarantined more rows than a
        feed worth repairing row by row would (issue 12 finding 5: a file of separators
        became millions of quarantined rows, a 16 GB write-ahead log and an out-of-memory
        kill). Checked after each chunk, so a batch overshoots by at most one chunk."""
        settings = get_settings()
        quarantined = sum(counts.quarantined for counts in self.counts.values())
        if quarantined > settings.import_max_quarantined_rows:
            raise FeedFileError(
                f"{feed_file.path.name}: more than {settings.import_max_quarantined_rows:,} "
                "rows of this batch cannot be read as feed rows "
                "(FULLPICTURE_IMPORT_MAX_QUARANTINED_ROWS), so nothing of it was imported: "
                "check the files are feeds in the format of docs/import-format.md"
            )
        if monotonic() > self.deadline:
            raise ImportTooSlow(
                f"the import took longer than its budget of {settings.import_max_seconds:,} "
                "seconds (FULLPICTURE_IMPORT_MAX_SECONDS) and was stopped; split the feed"
            )

    def _import_chunk(
        self,
        table: str,
        feed_file: FeedFile,
        chunk: RowChunk,
        conflicts: set[Key],
    ) -> None:
        counts = self.counts[table]
        counts.read += len(chunk)
        if table == "events":
            self._import_event_chunk(chunk, conflicts)
            return
        valid: list[Valid] = []
        rejected: list[Rejected] = []
        for source in chunk:
            checked = self._validate(table, source)
            if isinstance(checked, Rejected):
                rejected.append(checked)
            else:
                row, agency_id = checked
                assert not isinstance(row, EventRow)
                valid.append(Valid(source, row, agency_id, row.ref(), row.content_hash()))
        if table != "records":
            valid = self.references.check_references(table, valid, rejected)
        self._quarantine_rejected(table, rejected)
        self._store(table, chunk, valid, conflicts)

    def _validate(self, table: str, source: SourceRow) -> tuple[FeedRow, int] | Rejected:
        """One row through its pydantic model, with every reason it is wrong."""
        values = source.values
        reasons = list(source.problems)
        if values is None:
            return Rejected(source, reasons, None)
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
        if (
            isinstance(agency_code, str)
            and agency_id is not None
            and not self.authority.covers(agency_code.strip())
        ):
            reasons.append(
                QuarantineReason(
                    field="agency",
                    message=(
                        f"this row is {agency_code.strip()}'s; {self.authority.describe()}, so "
                        "another agency's records and events are never written by it"
                    ),
                )
            )
        try:
            row = ROW_MODELS[table].model_validate(values, context=self.context)
        except ValidationError as exc:
            reasons.extend(reasons_from_error(exc))
            return Rejected(source, reasons, agency_id)
        if reasons or agency_id is None:
            return Rejected(source, reasons, agency_id)
        return row, agency_id

    def _quarantine_rejected(self, table: str, rejected: list[Rejected]) -> None:
        for item in rejected:
            self.store.quarantine(table, item.source, item.reasons)
        self.counts[table].quarantined += len(rejected)

    # -- events, column by column ------------------------------------------------------

    def _import_event_chunk(self, chunk: RowChunk, conflicts: set[Key]) -> None:
        """Events are handled as one frame per chunk (``EVENT_FRAME_SCHEMA``): plain rows are
        checked column-wise (fast_events), the rest row by row by ``EventRow``; references,
        versions and the rows to insert are then worked out on the frame's columns."""
        accepted = accepted_events(chunk, agencies=self.writable_agencies, context=self.context)
        rejected: list[Rejected] = []
        if accepted.height < len(chunk):
            taken = set(accepted.get_column("row").to_list())
            validated: list[tuple[int, NormalisedEvent]] = []
            for position in range(len(chunk)):
                if position in taken:
                    continue
                checked = self._validate("events", chunk[position])
                if isinstance(checked, Rejected):
                    rejected.append(checked)
                else:
                    row, agency_id = checked
                    assert isinstance(row, EventRow)
                    validated.append((position, row.normalised(agency_id=agency_id)))
            if validated:
                accepted = pl.concat([accepted, events_frame(validated)])
        accepted = self.references.check_event_references(chunk, accepted, rejected)
        self._quarantine_rejected("events", rejected)
        self._store_events(chunk, accepted, conflicts)

    def _store_events(self, chunk: RowChunk, frame: pl.DataFrame, conflicts: set[Key]) -> None:
        keys = list(
            zip(
                frame.get_column("agency_id").to_list(),
                frame.get_column("event_id").to_list(),
                strict=True,
            )
        )
        digests: list[str] = frame.get_column("digest").to_list()
        pending = self.ledger.first_sightings("events", keys, digests, conflicts)
        chosen = list(pending.values())
        stored = self.ledger.stored_versions("events", pending)
        versions, reasons = self.ledger.outcomes(
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
            self.store.write_events(
                frame[written],
                [version for version in versions if version],
                [reason for reason, version in zip(reasons, versions, strict=True) if version],
            )

    # -- versions ---------------------------------------------------------------------

    def _store(self, table: str, chunk: RowChunk, valid: list[Valid], conflicts: set[Key]) -> None:
        pending = self.ledger.first_sightings(
            table,
            [(item.agency_id, item.ref) for item in valid],
            [item.digest for item in valid],
            conflicts,
        )
        items = [valid[index] for index in pending.values()]
        versions, reasons = self.ledger.outcomes(
            table,
            list(pending),
            [item.digest for item in items],
            [item.row.change_reason for item in items],
            self.ledger.stored_versions(table, pending),
        )
        if table == "records":
            for item in items:
                self.references.known_records[item.agency_id].add(item.ref)
        if chunk.has_column(REPAIRS_COLUMN):
            for item in items:
                self._note_repair(item.source)
        self.store.write(
            table,
            [
                (item, version, reason)
                for item, version, reason in zip(items, versions, reasons, strict=True)
                if version
            ],
        )

    def _note_repair(self, source: SourceRow) -> None:
        values = source.values or {}
        quarantined_id = values.get(REPAIRS_COLUMN)
        if quarantined_id is not None and str(quarantined_id).strip().isdigit():
            self.repairs_by_id.add(int(str(quarantined_id).strip()))

    # -- ids sent twice with different content -----------------------------------------

    def _quarantine_conflicts(
        self, table: str, files: list[FeedFile], conflicts: set[tuple[int, str]]
    ) -> None:
        """Quarantine every row of an id that came with different content, and remove what
        the batch stored for it: which of them is right is for the agency to say."""
        counts = self.counts[table]
        seen = self.ledger.seen[table]
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
                self.references.known_records[agency_id].discard(ref)
                self.references.all_records_known.discard(agency_id)
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
                    raw_id = values.get(ID_COLUMN[table])
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
                self.store.quarantine(
                    table,
                    source,
                    [
                        QuarantineReason(
                            field=ID_COLUMN[table] if table != "relationships" else "row",
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
        self.store.flush_quarantine()
        self.writer.wait()
        valid_keys = {
            (self.agency_codes[agency_id], table, ref)
            for table, seen in self.ledger.seen.items()
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
