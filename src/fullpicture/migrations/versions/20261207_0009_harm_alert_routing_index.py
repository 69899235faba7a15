"""Harm: an index for the need-to-know rule's question "which children have an alert routed to
this agency", asked on every read since a routed alert makes its agency involved.

Revision ID: 0009
Revises: 0004 (the harm branch)
Create Date: 2026-12-07 00:05:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_harm_alert_routed_to_agency_person",
        "harm_alert",
        ["routed_to_agency_id", "person_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_harm_alert_routed_to_agency_person", table_name="harm_alert")
