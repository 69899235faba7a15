"""Access: refused sign-ins by client address, so sign-in can be throttled per address across
worker processes.

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-25 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "client",
            sa.String(length=64),
            nullable=False,
            comment="IPv4 address or IPv6 /64 the attempt came from",
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failure")),
    )
    with op.batch_alter_table("sign_in_failure", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sign_in_failure_client_occurred", ["client", "occurred_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sign_in_failure_occurred_at"), ["occurred_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sign_in_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_failure_occurred_at"))
        batch_op.drop_index("ix_sign_in_failure_client_occurred")
    op.drop_table("sign_in_failure")
