"""Access: on PostgreSQL, the audit log's append as one function, so an appender holds the
chain head's lock for one round trip and the commit instead of four round trips and the
commit (issue 14: with 50 API users, most database connections sat waiting on that lock).

``audit_append`` locks the head row, reads the last entry, and when the two agree computes
each entry's SHA-256 exactly as ``access.audit.entry_digest`` does, inserts the entries and
moves the head. The caller sends each entry's canonical JSON without its two chain fields
(``position`` and ``previous_hash``, adjacent under sorted keys) as the text before and after
them, so the database only splices the link in. When the head is missing or disagrees with
the last entry (a change made outside the application, issue 12 finding 10) it inserts
nothing and returns no rows: the caller then repairs in Python, in the same transaction,
with the head still locked. SQLite has no such function and keeps the Python append.

Revision ID: 0082
Revises: 0081
Create Date: 2026-12-07 09:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0082"
down_revision: str | Sequence[str] | None = "0081"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here: a migration does not import the application's code. A volatile PL/pgSQL
# function takes a fresh snapshot for each statement under READ COMMITTED, so the read of the
# last entry sees what the previous lock holder committed (one plain SQL statement reading the
# head and the last entry together would not: its snapshot predates the wait for the lock).
_CREATE = """
CREATE FUNCTION audit_append(
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
DECLARE
    head_position integer;
    head_hash text;
    last_position integer;
    last_hash text;
    link_hash text;
    link_position integer;
    added integer;
BEGIN
    SELECT h.position, h.last_hash INTO head_position, head_hash
        FROM audit_chain_head AS h WHERE h.id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT e.position, e.entry_hash INTO last_position, last_hash
        FROM audit_entry AS e ORDER BY e.position DESC LIMIT 1;
    IF NOT FOUND THEN
        last_position := 0;
        last_hash := repeat('0', 64);
    END IF;
    IF head_position <> last_position OR head_hash <> last_hash THEN
        RETURN;
    END IF;
    link_position := last_position;
    link_hash := last_hash;
    FOR i IN 1 .. coalesce(array_length(text_before, 1), 0) LOOP
        link_position := link_position + 1;
        entry_hash := encode(sha256(convert_to(
            text_before[i] || '"position":' || link_position::text
                || ',"previous_hash":"' || link_hash || '"' || text_after[i],
            'UTF8')), 'hex');
        INSERT INTO audit_entry (
            position, occurred_at, actor, actor_user_id, action, person_id, target, reason,
            detail, previous_hash, entry_hash
        ) VALUES (
            link_position, occurred_at[i], actor[i], actor_user_id[i], action[i], person_id[i],
            target[i], reason[i], detail[i]::json, link_hash, entry_hash
        ) RETURNING id INTO added;
        entry_id := added;
        entry_position := link_position;
        entry_previous_hash := link_hash;
        link_hash := entry_hash;
        RETURN NEXT;
    END LOOP;
    UPDATE audit_chain_head SET position = link_position, last_hash = link_hash WHERE id = 1;
END;
$$
"""

_SIGNATURE = (
    "audit_append(text[], text[], timestamptz[], text[], integer[], text[], integer[], text[], "
    "text[], text[])"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {_SIGNATURE}")
