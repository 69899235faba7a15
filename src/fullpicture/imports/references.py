"""The records each agency holds, as one batch needs to know them: a relationship or event may
only name records its agency holds (stored before or valid in this batch)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import polars as pl
from sqlalchemy.orm import Session

from fullpicture.imports import repository
from fullpicture.imports.bulk import BulkWriter
from fullpicture.imports.checked import Rejected, Valid, raw_references, referenced_records
from fullpicture.imports.fast_events import normalised_events
from fullpicture.imports.readers import RowChunk
from fullpicture.imports.schemas import QuarantineReason

KNOWN_RECORDS_READ_WHOLE = 2_000_000
"""An agency holding at most this many records has them all read once per batch, rather
than looked up chunk by chunk (each lookup waits for the inserts in flight)."""


@dataclass
class RecordReferences:
    """Which records each agency is known to hold, learnt as the batch asks."""

    db_session: Session
    writer: BulkWriter
    agency_codes: dict[int, str]
    # Records each agency is known to hold: stored before or valid in this batch.
    known_records: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    # Agencies whose stored records are all in known_records (read once, not per chunk).
    all_records_known: set[int] = field(default_factory=set)

    def check_event_references(
        self, chunk: RowChunk, frame: pl.DataFrame, rejected: list[Rejected]
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
        self.check_named_records("events", wanted, rejected)
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
            problems = self.unknown_records("events", event.agency_id, refs)
            rejected.append(Rejected(chunk[position], problems, event.agency_id))
        return frame.filter(~pl.col("row").is_in(naming_unknown))

    def check_named_records(
        self, table: str, wanted: dict[int, set[str]], rejected: list[Rejected]
    ) -> None:
        """Learn whether each agency holds the records its valid rows name (``wanted``) and
        those its rejected rows name; a rejected row gains a reason for each record its
        agency does not hold, so that it is reported with every reason at once."""
        rejected_refs = [
            raw_references(table, item.source.values or {}) if item.agency_id is not None else []
            for item in rejected
        ]
        for item, refs in zip(rejected, rejected_refs, strict=True):
            if item.agency_id is not None:
                wanted[item.agency_id].update(ref for ref in refs if ref)
        self.learn_records(wanted)
        for item, refs in zip(rejected, rejected_refs, strict=True):
            if item.agency_id is not None and refs:
                item.reasons.extend(self.unknown_records(table, item.agency_id, refs))

    def learn_records(self, wanted: dict[int, set[str]]) -> None:
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

    def check_references(
        self, table: str, valid: list[Valid], rejected: list[Rejected]
    ) -> list[Valid]:
        """Relationships may only name records their agency holds. Rows already rejected are
        checked too, so that a row is reported with every reason at once."""
        valid_refs = [referenced_records(item.row) for item in valid]
        wanted: dict[int, set[str]] = defaultdict(set)
        for item, refs in zip(valid, valid_refs, strict=True):
            wanted[item.agency_id].update(ref for ref in refs if ref)
        self.check_named_records(table, wanted, rejected)
        if all(refs <= self.known_records[agency_id] for agency_id, refs in wanted.items()):
            return valid  # every record named is known
        kept: list[Valid] = []
        for candidate, refs in zip(valid, valid_refs, strict=True):
            problems = self.unknown_records(table, candidate.agency_id, refs)
            if problems:
                rejected.append(Rejected(candidate.source, problems, candidate.agency_id))
            else:
                kept.append(candidate)
        return kept

    def unknown_records(
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
