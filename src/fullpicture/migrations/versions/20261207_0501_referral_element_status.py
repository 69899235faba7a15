"""Referrals: each submitted referral's element statuses (R1-R20) as rows of their own, so the
partnership dashboard counts them in a narrow table instead of reading every stored check's
JSON (issue 15 item 10: 0.71 s of the 3.0 s a 100,000-child authority's figures took live).
Backfilled from the checks stored so far.

Revision ID: 0501
Revises: 0005 (the referrals branch)
Create Date: 2026-12-07 04:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0501"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Each submitted check's elements and their status, read with the backend's JSON functions
#: (written out here: a migration does not import the application's code).
_BACKFILL = {
    "postgresql": """
        INSERT INTO referral_element_status (referral_id, element, status)
        SELECT r.id, e.key, e.value ->> 'status'
        FROM referral AS r
        CROSS JOIN LATERAL json_each(r.check_result -> 'elements') AS e
        WHERE r.status = 'submitted' AND r.check_result IS NOT NULL
          AND json_typeof(r.check_result -> 'elements') = 'object'
        """,
    "sqlite": """
        INSERT INTO referral_element_status (referral_id, element, status)
        SELECT r.id, e.key, json_extract(e.value, '$.status')
        FROM referral AS r
        JOIN json_each(r.check_result, '$.elements') AS e
        WHERE r.status = 'submitted' AND r.check_result IS NOT NULL
          AND json_type(r.check_result, '$.elements') = 'object'
        """,
}


def upgrade() -> None:
    op.create_table(
        "referral_element_status",
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("element", sa.String(length=16), nullable=False),
        sa.Column(
            "status",
            sa.String(length=16),
            nullable=True,
            comment="as the check gave it; none when the check gave none",
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referral.id"],
            name=op.f("fk_referral_element_status_referral_id_referral"),
        ),
        sa.PrimaryKeyConstraint("referral_id", "element", name=op.f("pk_referral_element_status")),
    )
    op.execute(_BACKFILL[op.get_bind().dialect.name])


def downgrade() -> None:
    op.drop_table("referral_element_status")
