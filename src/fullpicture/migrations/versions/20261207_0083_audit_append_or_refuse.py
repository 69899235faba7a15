"""Access: ``audit_append_or_refuse``, the audit append that raises where ``audit_append``
(migration 0082) returns no rows, so a request can send its append and its COMMIT in one
round trip (issue 14).

With ``audit_append`` the client must read the answer before it may commit (no rows means the
head needs the Python repair), so the chain head's lock stayed held while the answer crossed
back to a busy server process, that process won the interpreter back, and sent COMMIT. This
function refuses with SQLSTATE ``FPA01`` instead: the COMMIT sent behind it in the same
message is then skipped by the server, the client rolls back to the savepoint taken before
the append and repairs in Python, in the same transaction, as before.

Revision ID: 0083
Revises: 0082
Create Date: 2026-12-07 12:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0083"
down_revision: str | Sequence[str] | None = "0082"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here: a migration does not import the application's code (which names the
# SQLSTATE as access.audit.HEAD_DISAGREES).
_CREATE = """
CREATE FUNCTION audit_append_or_refuse(
    text_before text[],
    text_after text[],
    occurred_at timestamptz[],
    actor text[],
    actor_user_id integer[],
    action text[],
    person_id integer[],
    target text[],
    reason text[],
    detail text[]
) RETURNS TABLE (
    entry_id integer, entry_position integer, entry_previous_hash text, entry_hash text
)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN QUERY SELECT * FROM audit_append(
        text_before, text_after, occurred_at, actor, actor_user_id, action, person_id, target,
        reason, detail
    );
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the audit chain head is missing or disagrees with the last entry'
            USING ERRCODE = 'FPA01';
    END IF;
END;
$$
"""

_SIGNATURE = (
    "audit_append_or_refuse(text[], text[], timestamptz[], text[], integer[], text[], "
    "integer[], text[], text[], text[])"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {_SIGNATURE}")
