"""Sharing: first receipts (when each agency first received each entry about a child),
backfilled from the decisions recorded so far.

Revision ID: 0151
Revises: 0150
Create Date: 2026-12-07 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0151"
down_revision: str | Sequence[str] | None = "0150"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "entry_receipt",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_agency_id",
            sa.Integer(),
            nullable=False,
            comment="the agency that recorded the entry",
        ),
        sa.Column("event_ref", sa.String(length=64), nullable=False),
        sa.Column("to_agency_id", sa.Integer(), nullable=False),
        sa.Column("first_shared_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_agency_id"], ["agency.id"], name=op.f("fk_entry_receipt_from_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_entry_receipt_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["to_agency_id"], ["agency.id"], name=op.f("fk_entry_receipt_to_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint(
            "person_id",
            "from_agency_id",
            "event_ref",
            "to_agency_id",
            name=op.f("pk_entry_receipt"),
        ),
    )
    # The same rows sharing.receipts.computed() derives (written out here: a migration does
    # not import the application's code, which may change after it).
    op.execute(
        """
        INSERT INTO entry_receipt
            (person_id, from_agency_id, event_ref, to_agency_id, first_shared_at)
        SELECT d.person_id, e.agency_id, e.event_ref, d.to_agency_id, min(d.shared_at)
        FROM sharing_decision AS d
        JOIN shared_entry AS s ON s.decision_id = d.id
        JOIN event AS e ON e.id = s.event_id
        WHERE d.outcome = 'shared' AND d.shared_at IS NOT NULL
        GROUP BY d.person_id, e.agency_id, e.event_ref, d.to_agency_id
        """
    )


def downgrade() -> None:
    op.drop_table("entry_receipt")
