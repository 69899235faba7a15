"""Workflow: dated supervision records with decisions and actions.

Revision ID: 0163
Revises: 0162
Create Date: 2026-12-06 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0163"
down_revision: str | Sequence[str] | None = "0162"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supervision_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("supervisee_user_id", sa.Integer(), nullable=False),
        sa.Column("supervisor_user_id", sa.Integer(), nullable=False),
        sa.Column(
            "person_id", sa.Integer(), nullable=True, comment="the child discussed, when one"
        ),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("reflections", sa.Text(), nullable=False),
        sa.Column("decisions", sa.Text(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False, comment="[{action, owner, due_on}]"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_supervision_record_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["supervisee_user_id"],
            ["user_account.id"],
            name=op.f("fk_supervision_record_supervisee_user_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["supervisor_user_id"],
            ["user_account.id"],
            name=op.f("fk_supervision_record_supervisor_user_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_record")),
        sa.UniqueConstraint("public_id", name=op.f("uq_supervision_record_public_id")),
    )
    op.create_index(
        "ix_supervision_record_supervisee",
        "supervision_record",
        ["supervisee_user_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_supervision_record_supervisee", table_name="supervision_record")
    op.drop_table("supervision_record")
