"""Import batches and the rows they quarantined."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fullpicture.core.database import Base, UTCDateTime, string_enum, utc_now
from fullpicture.people.models import new_public_id


class BatchStatus(enum.StrEnum):
    COMMITTED = "committed"
    FAILED = "failed"  # rolled back whole; nothing from it is stored but this row


class QuarantineStatus(enum.StrEnum):
    OPEN = "open"
    REPAIRED = "repaired"  # a later batch brought a valid version of the same row
    DISMISSED = "dismissed"


class ImportBatch(Base):
    """One import of one feed: what came in, what was new, changed, unchanged or quarantined."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    source_name: Mapped[str] = mapped_column(String(500))
    file_format: Mapped[str] = mapped_column(String(16))
    file_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[BatchStatus] = mapped_column(string_enum(BatchStatus, 16))
    imported_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    failure: Mapped[str | None] = mapped_column(Text)


class QuarantinedRow(Base):
    """A row that failed validation, kept as it arrived with every reason, for repair."""

    __tablename__ = "quarantined_row"
    # A later batch repairs a row by bringing a valid one with the same (agency, table, ref).
    __table_args__ = (Index("ix_quarantined_row_ref", "agency_code", "table_name", "row_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    table_name: Mapped[str] = mapped_column(String(32), comment="records, relationships or events")
    row_number: Mapped[int] = mapped_column(Integer, comment="1-based data row in the file")
    agency_code: Mapped[str | None] = mapped_column(String(64))
    row_ref: Mapped[str | None] = mapped_column(
        String(200),
        comment="record_id, event_id, or record>related:relationship, if readable",
    )
    raw: Mapped[str] = mapped_column(
        Text, comment="the row as it arrived (undecodable bytes escaped)"
    )
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[QuarantineStatus] = mapped_column(
        string_enum(QuarantineStatus, 16), default=QuarantineStatus.OPEN
    )
    resolved_by_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    dismissed_by: Mapped[str | None] = mapped_column(String(200))
    dismissal_reason: Mapped[str | None] = mapped_column(Text)
