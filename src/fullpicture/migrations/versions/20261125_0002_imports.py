"""Imports: quarantined rows keyed for repair, relationship refs, and who dismissed a row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("imports",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("quarantined_row", schema=None) as batch_op:
        batch_op.alter_column(
            "row_ref",
            existing_type=sa.String(length=64),
            type_=sa.String(length=200),
            existing_nullable=True,
            comment="record_id, event_id, or record>related:relationship, if readable",
            existing_comment="record_id or event_id if readable",
        )
        batch_op.add_column(sa.Column("dismissed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("dismissal_reason", sa.Text(), nullable=True))
        batch_op.create_index(
            "ix_quarantined_row_ref", ["agency_code", "table_name", "row_ref"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("quarantined_row", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantined_row_ref")
        batch_op.drop_column("dismissal_reason")
        batch_op.drop_column("dismissed_by")
        batch_op.alter_column(
            "row_ref",
            existing_type=sa.String(length=200),
            type_=sa.String(length=64),
            existing_nullable=True,
            comment="record_id or event_id if readable",
            existing_comment="record_id, event_id, or record>related:relationship, if readable",
        )
