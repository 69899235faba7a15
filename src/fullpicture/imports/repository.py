"""Queries imports need: the latest version of rows already stored, known records, quarantine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Select, delete, exists, false, func, select, update
from sqlalchemy.orm import Session

from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.imports.authority import FeedScope
from fullpicture.imports.models import ImportBatch, QuarantinedRow, QuarantineStatus
from fullpicture.imports.rows import relationship_ref
from fullpicture.people.models import SourceRecord, SourceRelationship

# Bound parameters per statement: well under SQLite's limit of 32,766.
IN_CLAUSE_SIZE = 5_000

T = TypeVar("T")


def in_slices(values: Iterable[T], size: int = IN_CLAUSE_SIZE) -> Iterator[list[T]]:
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def agency_has_rows(*, db_session: Session, table: str, agency_id: int) -> bool:
    """Whether anything of this table was stored for the agency before (skips lookups if not)."""
    agency_column = {
        "records": SourceRecord.agency_id,
        "relationships": SourceRelationship.agency_id,
        "events": Event.agency_id,
    }[table]
    return bool(db_session.scalar(select(exists().where(agency_column == agency_id))))


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """The latest version of a row, and the hash of the latest one that came from a feed."""

    version: int
    content_hash: str
    imported_hash: str | None


def latest_versions(
    *, db_session: Session, table: str, agency_id: int, refs: Iterable[str]
) -> dict[str, StoredVersion]:
    """The latest stored version of each ref (refs never stored are absent)."""
    found: dict[str, list[tuple[int, str, int | None]]] = {}
    if table == "relationships":
        # A relationship's ref is composite; look up by its first record, then match whole.
        wanted = set(refs)
        first_records = {ref.split(">", 1)[0] for ref in wanted}
        for part in in_slices(first_records):
            rows = db_session.execute(
                select(
                    SourceRelationship.record_ref,
                    SourceRelationship.related_record_ref,
                    SourceRelationship.relationship,
                    SourceRelationship.version,
                    SourceRelationship.content_hash,
                    SourceRelationship.import_batch_id,
                ).where(
                    SourceRelationship.agency_id == agency_id,
                    SourceRelationship.record_ref.in_(part),
                )
            )
            for record_ref, related, kind, version, digest, batch_id in rows:
                ref = relationship_ref(record_ref, related, kind.value)
                if ref in wanted:
                    found.setdefault(ref, []).append((version, digest, batch_id))
    else:
        if table == "records":
            columns = (
                SourceRecord.record_ref,
                SourceRecord.version,
                SourceRecord.content_hash,
                SourceRecord.import_batch_id,
            )
            agency_column = SourceRecord.agency_id
        else:
            columns = (Event.event_ref, Event.version, Event.content_hash, Event.import_batch_id)
            agency_column = Event.agency_id
        for part in in_slices(refs):
            stored_rows = db_session.execute(
                select(*columns).where(agency_column == agency_id, columns[0].in_(part))
            )
            for ref, version, digest, batch_id in stored_rows:
                found.setdefault(ref, []).append((version, digest, batch_id))
    latest: dict[str, StoredVersion] = {}
    for ref, versions in found.items():
        versions.sort()
        imported = [digest for _, digest, batch_id in versions if batch_id is not None]
        latest[ref] = StoredVersion(
            version=versions[-1][0],
            content_hash=versions[-1][1],
            imported_hash=imported[-1] if imported else None,
        )
    return latest


def count_records(*, db_session: Session, agency_id: int) -> int:
    """How many source record rows (all versions) the agency has stored."""
    return int(
        db_session.scalar(
            select(func.count())
            .select_from(SourceRecord)
            .where(SourceRecord.agency_id == agency_id)
        )
        or 0
    )


def record_refs(*, db_session: Session, agency_id: int) -> set[str]:
    """Every record id the agency has a stored source record for."""
    return set(
        db_session.scalars(
            select(SourceRecord.record_ref).where(SourceRecord.agency_id == agency_id).distinct()
        )
    )


def known_record_refs(*, db_session: Session, agency_id: int, refs: Iterable[str]) -> set[str]:
    """Which of ``refs`` the agency has a stored source record for."""
    known: set[str] = set()
    for part in in_slices(refs):
        known.update(
            db_session.scalars(
                select(SourceRecord.record_ref)
                .where(SourceRecord.agency_id == agency_id, SourceRecord.record_ref.in_(part))
                .distinct()
            )
        )
    return known


def delete_batch_rows(
    *, db_session: Session, table: str, batch_id: int, agency_id: int, refs: Sequence[str]
) -> None:
    """Remove rows this (uncommitted) batch stored for ``refs``: used when a later row of the
    same batch shows the id was sent twice with different content."""
    if table == "events":
        for part in in_slices(refs):
            ids = select(Event.id).where(
                Event.import_batch_id == batch_id,
                Event.agency_id == agency_id,
                Event.event_ref.in_(part),
            )
            db_session.execute(delete(EventParticipant).where(EventParticipant.event_id.in_(ids)))
            db_session.execute(
                delete(Event).where(
                    Event.import_batch_id == batch_id,
                    Event.agency_id == agency_id,
                    Event.event_ref.in_(part),
                )
            )
    elif table == "records":
        for part in in_slices(refs):
            db_session.execute(
                delete(SourceRecord).where(
                    SourceRecord.import_batch_id == batch_id,
                    SourceRecord.agency_id == agency_id,
                    SourceRecord.record_ref.in_(part),
                )
            )
    else:
        wanted = set(refs)
        rows = db_session.execute(
            select(
                SourceRelationship.id,
                SourceRelationship.record_ref,
                SourceRelationship.related_record_ref,
                SourceRelationship.relationship,
            ).where(
                SourceRelationship.import_batch_id == batch_id,
                SourceRelationship.agency_id == agency_id,
            )
        )
        relationship_ids = [
            id_
            for id_, record_ref, related, kind in rows
            if relationship_ref(record_ref, related, kind.value) in wanted
        ]
        for id_slice in in_slices(relationship_ids):
            db_session.execute(
                delete(SourceRelationship).where(SourceRelationship.id.in_(id_slice))
            )


def open_quarantine_keys(
    *, db_session: Session, exclude_batch_id: int
) -> list[tuple[int, str, str | None, str | None]]:
    """``(id, table, agency_code, row_ref)`` of open quarantined rows from earlier batches."""
    rows = db_session.execute(
        select(
            QuarantinedRow.id,
            QuarantinedRow.table_name,
            QuarantinedRow.agency_code,
            QuarantinedRow.row_ref,
        ).where(
            QuarantinedRow.status == QuarantineStatus.OPEN,
            QuarantinedRow.import_batch_id != exclude_batch_id,
        )
    )
    return [(id_, table, agency, ref) for id_, table, agency, ref in rows]


def mark_repaired(
    *, db_session: Session, quarantined_ids: Iterable[int], batch_id: int, at: dt.datetime
) -> int:
    """Mark open quarantined rows repaired by ``batch_id``; returns how many changed."""
    changed = 0
    for part in in_slices(sorted(set(quarantined_ids))):
        result = db_session.execute(
            update(QuarantinedRow)
            .where(QuarantinedRow.id.in_(part), QuarantinedRow.status == QuarantineStatus.OPEN)
            .values(status=QuarantineStatus.REPAIRED, resolved_by_batch_id=batch_id, resolved_at=at)
            .execution_options(synchronize_session=False)
        )
        changed += int(getattr(result, "rowcount", 0) or 0)
    return changed


def get_batch(*, db_session: Session, public_id: str) -> ImportBatch | None:
    return db_session.scalar(select(ImportBatch).where(ImportBatch.public_id == public_id))


# A quarantined row is a feed's row as it arrived (names, dates of birth, what happened), kept
# for repair. It is read by whoever handles that agency's feed: a user of an agency sees their
# agency's rows; a user not tied to an agency (the partnership's data team) every feed's,
# including rows whose agency could not be read.


def readable_quarantined_rows(
    *,
    scope: FeedScope,
    batch_id: int | None = None,
    status: QuarantineStatus | None = None,
    row_id: int | None = None,
) -> Select[QuarantinedRow]:
    """Quarantined rows of the feeds ``scope`` covers, oldest first."""
    statement = select(QuarantinedRow).order_by(QuarantinedRow.id)
    if not scope.every_feed:
        # A row whose agency could not be read (NULL) belongs to no agency's feed.
        statement = statement.where(
            QuarantinedRow.agency_code == scope.agency_code
            if scope.agency_code is not None
            else false()
        )
    if batch_id is not None:
        statement = statement.where(QuarantinedRow.import_batch_id == batch_id)
    if status is not None:
        statement = statement.where(QuarantinedRow.status == status)
    if row_id is not None:
        statement = statement.where(QuarantinedRow.id == row_id)
    return statement


def quarantined_rows(
    *,
    db_session: Session,
    scope: FeedScope,
    batch_id: int | None = None,
    status: QuarantineStatus | None = None,
) -> list[QuarantinedRow]:
    """The quarantined rows of the feeds ``scope`` covers, oldest first."""
    return list(
        db_session.scalars(readable_quarantined_rows(scope=scope, batch_id=batch_id, status=status))
    )
