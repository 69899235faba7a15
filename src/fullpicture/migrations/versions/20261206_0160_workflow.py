"""Workflow: cases with their lead practitioner and level of need (each with its history) and dated steps.

Revision ID: 0160
Revises: 0001
Create Date: 2026-12-06 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0160"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("workflow",)
depends_on: str | Sequence[str] | None = "0006"


def upgrade() -> None:
    op.create_table(
        "workflow_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "early_help",
                "child_in_need",
                "child_protection",
                "referral",
                name="casekind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "agency_id", sa.Integer(), nullable=False, comment="the agency that opened the case"
        ),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("review_by", sa.Date(), nullable=True, comment="the plan's next review"),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closed_reason", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_workflow_case_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_workflow_case_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_case")),
        sa.UniqueConstraint("public_id", name=op.f("uq_workflow_case_public_id")),
    )
    op.create_index("ix_workflow_case_person", "workflow_case", ["person_id"], unique=False)
    op.create_table(
        "level_of_need_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["workflow_case.id"],
            name=op.f("fk_level_of_need_change_case_id_workflow_case"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_level_of_need_change")),
    )
    op.create_index("ix_level_of_need_case", "level_of_need_change", ["case_id"], unique=False)
    op.create_table(
        "case_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind", sa.String(length=32), nullable=False, comment="a step of timescales.yaml"
        ),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["workflow_case.id"], name=op.f("fk_case_step_case_id_workflow_case")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_case_step_recorded_by_user_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_step")),
    )
    op.create_index("ix_case_step_case", "case_step", ["case_id"], unique=False)
    op.create_table(
        "lead_practitioner_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "user_id", sa.Integer(), nullable=True, comment="the lead's account, for their inbox"
        ),
        sa.Column(
            "name", sa.String(length=200), nullable=True, comment="None: no lead from this day"
        ),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_lead_practitioner_assignment_agency_id_agency"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["workflow_case.id"],
            name=op.f("fk_lead_practitioner_assignment_case_id_workflow_case"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_lead_practitioner_assignment_user_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_practitioner_assignment")),
    )
    op.create_index(
        "ix_lead_practitioner_case", "lead_practitioner_assignment", ["case_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_lead_practitioner_case", table_name="lead_practitioner_assignment")
    op.drop_table("lead_practitioner_assignment")
    op.drop_index("ix_case_step_case", table_name="case_step")
    op.drop_table("case_step")
    op.drop_index("ix_level_of_need_case", table_name="level_of_need_change")
    op.drop_table("level_of_need_change")
    op.drop_index("ix_workflow_case_person", table_name="workflow_case")
    op.drop_table("workflow_case")
