"""People: an index answering "who is this agency record about now" from the index alone, for
find a child, which looks up the person of every record its search matched (hundreds for a
common surname). Without it PostgreSQL read every link to hash them (issue 14).

A partial index over the current links (``ended_at`` NULL), with the person id as its last
column so neither database visits the table.

Revision ID: 0310
Revises: 0301 (the linkage branch: find a child is its search)
Create Date: 2026-12-07 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0310"
down_revision: str | Sequence[str] | None = "0301"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_person_record_link_current_record",
        "person_record_link",
        ["agency_id", "record_ref", "person_id"],
        postgresql_where=sa.text("ended_at IS NULL"),
        sqlite_where=sa.text("ended_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_person_record_link_current_record", table_name="person_record_link")
