"""Referrals: versioned referrals to the front door (drafts editable, submitted immutable) and their children.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-25 16:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("referrals",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "referral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "referral_ref", sa.String(length=36), nullable=False, comment="stable across versions"
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("draft", "submitted", name="referralstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("correction_reason", sa.Text(), nullable=True),
        sa.Column(
            "destination",
            sa.String(length=64),
            nullable=False,
            comment="where a submitted referral goes",
        ),
        sa.Column("referrer_name", sa.String(length=200), nullable=True),
        sa.Column("referrer_role", sa.String(length=200), nullable=True),
        sa.Column("referrer_agency_id", sa.Integer(), nullable=True),
        sa.Column("referrer_phone", sa.String(length=50), nullable=True),
        sa.Column("referrer_email", sa.String(length=254), nullable=True),
        sa.Column("relationship_to_child", sa.Text(), nullable=True),
        sa.Column(
            "household",
            sa.JSON(),
            nullable=False,
            comment="household members and significant adults",
        ),
        sa.Column("child_location", sa.Text(), nullable=True),
        sa.Column("immediate_safety", sa.Text(), nullable=True),
        sa.Column("concern_narrative", sa.Text(), nullable=True),
        sa.Column("child_voice", sa.Text(), nullable=True),
        sa.Column("referrer_analysis", sa.Text(), nullable=True),
        sa.Column("request", sa.Text(), nullable=True),
        sa.Column(
            "requested_response",
            sa.Enum(
                "information",
                "advice",
                "early_help",
                "assessment_s17",
                "strategy_discussion_s47",
                "immediate_protection",
                name="requestedresponse",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("level_of_need", sa.SmallInteger(), nullable=True),
        sa.Column(
            "parents_awareness",
            sa.Enum(
                "aware_and_agree",
                "aware_and_disagree",
                "aware",
                "not_informed",
                "unknown",
                name="parentsawareness",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("reason_not_informed", sa.Text(), nullable=True),
        sa.Column(
            "lawful_basis",
            sa.Enum(
                "consent",
                "public_task",
                "legal_obligation",
                "vital_interests",
                name="lawfulbasis",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("lawful_basis_reason", sa.Text(), nullable=True),
        sa.Column("agencies_involved", sa.JSON(), nullable=False),
        sa.Column("professional_disagreement", sa.Text(), nullable=True),
        sa.Column("communication_needs", sa.Text(), nullable=True),
        sa.Column(
            "attachments", sa.JSON(), nullable=False, comment="[{filename, description, sha256}]"
        ),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "check_score",
            sa.Float(),
            nullable=True,
            comment="checker score at submission; never a gate",
        ),
        sa.Column(
            "check_result",
            sa.JSON(),
            nullable=True,
            comment="the full check (elements, spans, questions, cross-checks) at submission",
        ),
        sa.ForeignKeyConstraint(
            ["referrer_agency_id"],
            ["agency.id"],
            name=op.f("fk_referral_referrer_agency_id_agency"),
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], ["referral.id"], name=op.f("fk_referral_supersedes_id_referral")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral")),
        sa.UniqueConstraint(
            "referral_ref", "version", name=op.f("uq_referral_referral_ref_version")
        ),
    )
    op.create_index("ix_referral_status", "referral", ["status"], unique=False)
    op.create_table(
        "referral_child",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=True),
        sa.Column("other_names", sa.JSON(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("expected_date_of_delivery", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("school_or_nursery", sa.String(length=200), nullable=True),
        sa.Column("gp_practice", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_referral_child_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referral.id"], name=op.f("fk_referral_child_referral_id_referral")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_child")),
    )
    op.create_index("ix_referral_child_person", "referral_child", ["person_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_referral_child_person", table_name="referral_child")
    op.drop_table("referral_child")
    op.drop_index("ix_referral_status", table_name="referral")
    op.drop_table("referral")
