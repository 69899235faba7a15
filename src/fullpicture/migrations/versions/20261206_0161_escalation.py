"""Workflow: escalations of professional disagreement and their stages.

Revision ID: 0161
Revises: 0160
Create Date: 2026-12-06 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0161"
down_revision: str | Sequence[str] | None = "0160"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("raised_by_agency_id", sa.Integer(), nullable=False),
        sa.Column("with_agency_id", sa.Integer(), nullable=False),
        sa.Column("disagreement", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "resolved", name="escalationstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rules_version", sa.Integer(), nullable=False, comment="escalation.yaml version"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["workflow_case.id"], name=op.f("fk_escalation_case_id_workflow_case")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_escalation_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_agency_id"],
            ["agency.id"],
            name=op.f("fk_escalation_raised_by_agency_id_agency"),
        ),
        sa.ForeignKeyConstraint(
            ["with_agency_id"], ["agency.id"], name=op.f("fk_escalation_with_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation")),
        sa.UniqueConstraint("public_id", name=op.f("uq_escalation_public_id")),
    )
    op.create_index("ix_escalation_person", "escalation", ["person_id"], unique=False)
    op.create_index("ix_escalation_status", "escalation", ["status"], unique=False)
    op.create_table(
        "escalation_stage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.SmallInteger(), nullable=False),
        sa.Column(
            "raised_by",
            sa.String(length=200),
            nullable=False,
            comment="user:<name>, or system:escalation when it escalated itself",
        ),
        sa.Column(
            "raised_with", sa.Text(), nullable=False, comment="who it was raised with (name, role)"
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated_itself", sa.Boolean(), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("responded_by", sa.String(length=200), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalation.id"],
            name=op.f("fk_escalation_stage_escalation_id_escalation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_stage")),
    )
    op.create_index(
        "ix_escalation_stage_escalation", "escalation_stage", ["escalation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_escalation_stage_escalation", table_name="escalation_stage")
    op.drop_table("escalation_stage")
    op.drop_index("ix_escalation_status", table_name="escalation")
    op.drop_index("ix_escalation_person", table_name="escalation")
    op.drop_table("escalation")
