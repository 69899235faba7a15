"""Import speed: drop two indexes that repeat the leading columns of a unique constraint.

``ix_event_agency_ref`` (agency_id, event_ref) is the prefix of the unique index on
(agency_id, event_ref, version), and ``ix_source_record_agency_ref`` (agency_id, record_ref)
the prefix of (agency_id, record_ref, version): both databases answer a lookup by agency and
ref from the unique index, so the extra index only costs every insert (measured on SQLite:
about a tenth of the time spent inserting 200,000 events; docs/benchmarks.md "Import").

Revision ID: 0007
Revises: 0002
Create Date: 2026-11-25 17:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_event_agency_ref", table_name="event")
    op.drop_index("ix_source_record_agency_ref", table_name="source_record")


def downgrade() -> None:
    op.create_index(
        "ix_source_record_agency_ref", "source_record", ["agency_id", "record_ref"], unique=False
    )
    op.create_index("ix_event_agency_ref", "event", ["agency_id", "event_ref"], unique=False)
