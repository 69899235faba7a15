"""Partnership: stored dashboard figures (the page shows them with when they were computed).

Revision ID: 0170
Revises: 0001
Create Date: 2026-12-07 01:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0170"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("partnership",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_figure_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("figure", sa.String(length=40), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "computed_by",
            sa.String(length=200),
            nullable=False,
            comment="the analyst who asked, or the scheduler",
        ),
        sa.Column(
            "seconds", sa.Float(), nullable=False, comment="how long computing the figure took"
        ),
        sa.Column("parquet", sa.LargeBinary(), nullable=False, comment="the figure's table"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_figure_snapshot")),
    )
    op.create_index(
        "ix_dashboard_figure_snapshot_period",
        "dashboard_figure_snapshot",
        ["as_of", "since", "figure"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_dashboard_figure_snapshot_period", table_name="dashboard_figure_snapshot")
    op.drop_table("dashboard_figure_snapshot")
