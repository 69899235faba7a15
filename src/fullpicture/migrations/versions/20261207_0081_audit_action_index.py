"""Access: an index on the audit log by action, user and time, so someone's recent actions of
one kind are read without scanning the whole log (the partnership dashboard counts an
analyst's computations in the last hour before each one).

Revision ID: 0081
Revises: 0008
Create Date: 2026-12-07 04:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0081"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_entry_action_user",
        "audit_entry",
        ["action", "actor_user_id", "occurred_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_audit_entry_action_user", table_name="audit_entry")
