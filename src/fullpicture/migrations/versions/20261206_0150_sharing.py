"""Sharing decisions: what was shared about a child with which agency (or not), on what basis.

Revision ID: 0150
Revises: 0001
Create Date: 2026-12-06 19:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0150"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("sharing",)
# The recorder's account lives on the access branch.
depends_on: str | Sequence[str] | None = "0006"


def upgrade() -> None:
    op.create_table(
        "sharing_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum("shared", "not_shared", name="sharingoutcome", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("from_agency_id", sa.Integer(), nullable=False),
        sa.Column("to_agency_id", sa.Integer(), nullable=False),
        sa.Column(
            "recipient_role",
            sa.String(length=200),
            nullable=False,
            comment="the role of the person told, e.g. designated safeguarding lead",
        ),
        sa.Column("recipient_name", sa.String(length=200), nullable=True),
        sa.Column(
            "purpose", sa.Text(), nullable=False, comment="why: what the recipient needs it for"
        ),
        sa.Column(
            "regime", sa.String(length=32), nullable=True, comment="lawful_bases.yaml regime"
        ),
        sa.Column("basis", sa.String(length=64), nullable=True, comment="lawful_bases.yaml basis"),
        sa.Column("special_category", sa.Boolean(), nullable=False),
        sa.Column("special_category_condition", sa.String(length=64), nullable=True),
        sa.Column("gateways", sa.JSON(), nullable=False),
        sa.Column(
            "detriment_test",
            sa.Text(),
            nullable=True,
            comment="s.16LA: why disclosure would (not) be more detrimental than not disclosing",
        ),
        sa.Column("reason_not_shared", sa.Text(), nullable=True),
        sa.Column("family_informed", sa.Boolean(), nullable=False),
        sa.Column("family_not_informed_reason", sa.Text(), nullable=True),
        sa.Column(
            "documents",
            sa.JSON(),
            nullable=False,
            comment="documents shared outside the chronology, described",
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "shared_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="when the recipient received it (None when not shared)",
        ),
        sa.Column(
            "rules_version",
            sa.Integer(),
            nullable=False,
            comment="lawful_bases.yaml version used",
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_agency_id"],
            ["agency.id"],
            name=op.f("fk_sharing_decision_from_agency_id_agency"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_sharing_decision_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_sharing_decision_recorded_by_user_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["to_agency_id"], ["agency.id"], name=op.f("fk_sharing_decision_to_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_decision")),
        sa.UniqueConstraint("public_id", name=op.f("uq_sharing_decision_public_id")),
    )
    op.create_index("ix_sharing_decision_person", "sharing_decision", ["person_id"])
    op.create_index(
        "ix_sharing_decision_to_agency", "sharing_decision", ["to_agency_id", "outcome"]
    )
    op.create_table(
        "shared_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["sharing_decision.id"],
            name=op.f("fk_shared_entry_decision_id_sharing_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_shared_entry_event_id_event")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_entry")),
        sa.UniqueConstraint(
            "decision_id", "event_id", name=op.f("uq_shared_entry_decision_id_event_id")
        ),
    )
    op.create_index("ix_shared_entry_event", "shared_entry", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_shared_entry_event", table_name="shared_entry")
    op.drop_table("shared_entry")
    op.drop_index("ix_sharing_decision_to_agency", table_name="sharing_decision")
    op.drop_index("ix_sharing_decision_person", table_name="sharing_decision")
    op.drop_table("sharing_decision")
