"""Linkage: the other names (and postcodes) of each index record as rows of their own, and
indexes on the given name and its full form, so find a child looks names up instead of
scanning every record (issue 14).

``linkage_name_key`` holds the tokens of a record's ``|``-delimited lists that its own
columns do not hold (other given names, further full forms of its given name, other family
names, previous postcodes). The rows for records already in the index are made here, as
``linkage.repository.name_keys`` makes them for new ones.

Revision ID: 0301
Revises: 0003 (the linkage branch)
Create Date: 2026-12-07 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0301"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (kind, list column, the column already holding one of the list's tokens): as of this
#: revision, kept here so the migration does not change when the application does.
_LISTS = (
    ("given_other", "given_names_all", None),
    ("given_variant", "given_name_canonicals", "given_name_canonical"),
    ("family_other", "family_names_all", "family_name"),
    ("postcode_other", "postcodes_all", "postcode"),
)
_BATCH = 5_000


def upgrade() -> None:
    name_key = op.create_table(
        "linkage_name_key",
        sa.Column("record_key", sa.String(length=96), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "given_other",
                "given_variant",
                "family_other",
                "postcode_other",
                name="namekind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("record_key", "kind", "name", name=op.f("pk_linkage_name_key")),
    )
    op.create_index(
        "ix_linkage_name_key_kind_name", "linkage_name_key", ["kind", "name", "record_key"]
    )
    with op.batch_alter_table("linkage_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_linkage_record_given_name"), ["given_name"])
        batch_op.create_index(
            batch_op.f("ix_linkage_record_given_name_canonical"), ["given_name_canonical"]
        )

    connection = op.get_bind()
    columns = sorted({"record_key"} | {c for _k, lst, own in _LISTS for c in (lst, own) if c})
    records = connection.execute(
        sa.text(f"SELECT {', '.join(columns)} FROM linkage_record ORDER BY record_key")  # noqa: S608  (fixed column names)
    ).mappings()
    batch: list[dict[str, str]] = []
    for record in records:
        for kind, tokens, own_column in _LISTS:
            own = record[own_column] if own_column else None
            for token in dict.fromkeys(str(record[tokens] or "").split("|")):
                if token and token != own:
                    batch.append({"record_key": record["record_key"], "kind": kind, "name": token})
        if len(batch) >= _BATCH:
            op.bulk_insert(name_key, batch)
            batch = []
    if batch:
        op.bulk_insert(name_key, batch)


def downgrade() -> None:
    with op.batch_alter_table("linkage_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_linkage_record_given_name_canonical"))
        batch_op.drop_index(batch_op.f("ix_linkage_record_given_name"))
    op.drop_index("ix_linkage_name_key_kind_name", table_name="linkage_name_key")
    op.drop_table("linkage_name_key")
