"""Chronology: a partial index over the entries' corrections (every version after the first), so
"is this the entry's latest version?" asks a small index instead of the whole unique index on
(agency_id, event_ref, version); and a check that versions count from 1, which that question
relies on (a later version of any entry is then always a version above 1, so in this index).

A child's page reads every entry of the child (2,000 in the benchmark) and asked the unique
index once for each: on the 1,000,000-event benchmark database the chronology's statement
went from 26.5 to 10.6 ms executing (medians of 8, load 12-14), and with 2% of entries
corrected from 42.7 to 26.3 ms (docs/benchmarks.md, issue 14). First versions, most of an
import, are not in the index, so imports do not pay for it.

Revision ID: 0071
Revises: 0007 (the imports branch, which last changed the event table's indexes)
Create Date: 2026-12-07 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0071"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_check_constraint("version_from_one", sa.text("version >= 1"))
    op.create_index(
        "ix_event_later_version",
        "event",
        ["agency_id", "event_ref", "version"],
        postgresql_where=sa.text("version > 1"),
        sqlite_where=sa.text("version > 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_event_later_version", table_name="event")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_constraint("version_from_one", type_="check")
