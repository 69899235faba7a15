"""Harm: cumulative-harm alerts with their evidence, routing and status workflow.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-25 16:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("harm",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "harm_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column(
            "raised_on", sa.Date(), nullable=False, comment="the day the evidence crossed the rule"
        ),
        sa.Column("score", sa.Float(), nullable=False, comment="cumulative score on that day"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "evidence",
            sa.JSON(),
            nullable=False,
            comment="{'event_ids': [...]}: the event versions behind the alert",
        ),
        sa.Column("model_version", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "new", "acknowledged", "closed", name="alertstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("routed_to_agency_id", sa.Integer(), nullable=True),
        sa.Column("routing_reason", sa.Text(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_harm_alert_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["routed_to_agency_id"],
            ["agency.id"],
            name=op.f("fk_harm_alert_routed_to_agency_id_agency"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_harm_alert")),
        sa.UniqueConstraint(
            "person_id", "kind", "raised_on", name=op.f("uq_harm_alert_person_id_kind_raised_on")
        ),
        sa.UniqueConstraint("public_id", name=op.f("uq_harm_alert_public_id")),
    )
    with op.batch_alter_table("harm_alert", schema=None) as batch_op:
        batch_op.create_index("ix_harm_alert_status", ["status"], unique=False)
        batch_op.create_index(op.f("ix_harm_alert_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("harm_alert", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_harm_alert_person_id"))
        batch_op.drop_index("ix_harm_alert_status")
    op.drop_table("harm_alert")
