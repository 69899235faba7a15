"""Foundation: agencies, practitioners, source records, persons, households, events, imports.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 16:03:59.329876
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("foundation",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "school",
                "nursery",
                "gp",
                "health_visiting",
                "midwifery",
                "hospital",
                "camhs",
                "police",
                "probation",
                "housing",
                "childrens_social_care",
                "early_help",
                "voluntary_sector",
                name="agencykind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency")),
        sa.UniqueConstraint("code", name=op.f("uq_agency_code")),
    )
    op.create_table(
        "household",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household")),
        sa.UniqueConstraint("public_id", name=op.f("uq_household_public_id")),
    )
    op.create_table(
        "import_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("source_name", sa.String(length=500), nullable=False),
        sa.Column("file_format", sa.String(length=16), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum("committed", "failed", name="batchstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batch")),
        sa.UniqueConstraint("public_id", name=op.f("uq_import_batch_public_id")),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("public_id", name=op.f("uq_person_public_id")),
    )
    op.create_table(
        "household_membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.String(length=32),
            nullable=False,
            comment="child, parent, step_parent, partner, lodger …",
        ),
        sa.Column("date_from", sa.Date(), nullable=True),
        sa.Column("date_to", sa.Date(), nullable=True),
        sa.Column(
            "basis",
            sa.String(length=32),
            nullable=False,
            comment="feed relationship, shared address, practitioner",
        ),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_household_membership_household_id_household"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_household_membership_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_membership")),
    )
    with op.batch_alter_table("household_membership", schema=None) as batch_op:
        batch_op.create_index("ix_household_membership_person", ["person_id"], unique=False)

    op.create_table(
        "person_record_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("record_ref", sa.String(length=64), nullable=False),
        sa.Column(
            "method",
            sa.String(length=32),
            nullable=False,
            comment="probabilistic, confirmed, singleton …",
        ),
        sa.Column("cluster_confidence", sa.Float(), nullable=True),
        sa.Column("linkage_run_ref", sa.String(length=64), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_person_record_link_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_person_record_link_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_record_link")),
    )
    with op.batch_alter_table("person_record_link", schema=None) as batch_op:
        batch_op.create_index("ix_person_record_link_person", ["person_id"], unique=False)
        batch_op.create_index(
            "ix_person_record_link_record", ["agency_id", "record_ref"], unique=False
        )

    op.create_table(
        "person_relationship",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("related_person_id", sa.Integer(), nullable=False),
        sa.Column(
            "relationship",
            sa.Enum(
                "parent",
                "step_parent",
                "partner",
                "sibling",
                "grandparent",
                "lodger",
                "regular_visitor",
                "child",
                "other_relative",
                name="relationshipkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("date_from", sa.Date(), nullable=True),
        sa.Column("date_to", sa.Date(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_person_relationship_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["related_person_id"],
            ["person.id"],
            name=op.f("fk_person_relationship_related_person_id_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_relationship")),
    )
    with op.batch_alter_table("person_relationship", schema=None) as batch_op:
        batch_op.create_index("ix_person_relationship_person", ["person_id"], unique=False)

    op.create_table(
        "practitioner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("staff_ref", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_practitioner_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioner")),
        sa.UniqueConstraint(
            "agency_id", "staff_ref", name=op.f("uq_practitioner_agency_id_staff_ref")
        ),
    )
    op.create_table(
        "quarantined_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=False),
        sa.Column(
            "table_name",
            sa.String(length=32),
            nullable=False,
            comment="records, relationships or events",
        ),
        sa.Column(
            "row_number", sa.Integer(), nullable=False, comment="1-based data row in the file"
        ),
        sa.Column("agency_code", sa.String(length=64), nullable=True),
        sa.Column(
            "row_ref",
            sa.String(length=64),
            nullable=True,
            comment="record_id or event_id if readable",
        ),
        sa.Column(
            "raw",
            sa.Text(),
            nullable=False,
            comment="the row as it arrived (undecodable bytes escaped)",
        ),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "repaired",
                "dismissed",
                name="quarantinestatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("resolved_by_batch_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batch.id"],
            name=op.f("fk_quarantined_row_import_batch_id_import_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_batch_id"],
            ["import_batch.id"],
            name=op.f("fk_quarantined_row_resolved_by_batch_id_import_batch"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_row")),
    )
    with op.batch_alter_table("quarantined_row", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantined_row_import_batch_id"), ["import_batch_id"], unique=False
        )

    op.create_table(
        "source_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column(
            "record_ref",
            sa.String(length=64),
            nullable=False,
            comment="The agency's own id for the person",
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=True),
        sa.Column("family_name", sa.String(length=100), nullable=True),
        sa.Column("other_names", sa.JSON(), nullable=False, comment="aliases, known-as names"),
        sa.Column("previous_family_names", sa.JSON(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("expected_date_of_delivery", sa.Date(), nullable=True, comment="for the unborn"),
        sa.Column("sex", sa.Enum("F", "M", "U", name="sex", native_enum=False), nullable=True),
        sa.Column("nhs_number", sa.String(length=10), nullable=True),
        sa.Column("upn", sa.String(length=13), nullable=True, comment="school unique pupil number"),
        sa.Column("ethnicity", sa.String(length=100), nullable=True),
        sa.Column("first_language", sa.String(length=100), nullable=True),
        sa.Column("interpreter_needed", sa.Boolean(), nullable=True),
        sa.Column(
            "addresses",
            sa.JSON(),
            nullable=False,
            comment="address history: [{line, postcode, date_from, date_to}]",
        ),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("change_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_source_record_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batch.id"],
            name=op.f("fk_source_record_import_batch_id_import_batch"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_record")),
        sa.UniqueConstraint(
            "agency_id",
            "record_ref",
            "version",
            name=op.f("uq_source_record_agency_id_record_ref_version"),
        ),
    )
    with op.batch_alter_table("source_record", schema=None) as batch_op:
        batch_op.create_index(
            "ix_source_record_agency_ref", ["agency_id", "record_ref"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_source_record_nhs_number"), ["nhs_number"], unique=False
        )

    op.create_table(
        "source_relationship",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("record_ref", sa.String(length=64), nullable=False),
        sa.Column("related_record_ref", sa.String(length=64), nullable=False),
        sa.Column(
            "relationship",
            sa.Enum(
                "parent",
                "step_parent",
                "partner",
                "sibling",
                "grandparent",
                "lodger",
                "regular_visitor",
                "child",
                "other_relative",
                name="relationshipkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "lives_with", sa.Boolean(), nullable=True, comment="shares the person's household"
        ),
        sa.Column("date_from", sa.Date(), nullable=True),
        sa.Column("date_to", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_source_relationship_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batch.id"],
            name=op.f("fk_source_relationship_import_batch_id_import_batch"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_relationship")),
        sa.UniqueConstraint(
            "agency_id",
            "record_ref",
            "related_record_ref",
            "relationship",
            "version",
            name=op.f(
                "uq_source_relationship_agency_id_record_ref_related_record_ref_relationship_version"
            ),
        ),
    )
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column(
            "event_ref",
            sa.String(length=64),
            nullable=False,
            comment="The agency's own id for the event",
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column(
            "date_precision",
            sa.Enum("day", "month", "year", name="dateprecision", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("date_recorded", sa.Date(), nullable=True, comment="when the agency recorded it"),
        sa.Column("concern_code", sa.String(length=16), nullable=False),
        sa.Column(
            "severity",
            sa.SmallInteger(),
            nullable=True,
            comment="practitioner's severity 1-5; blank means the taxonomy default",
        ),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "information_type",
            sa.Enum(
                "fact", "reported", "opinion", name="informationtype", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("impact_on_child", sa.Text(), nullable=True),
        sa.Column("action_taken", sa.Text(), nullable=True),
        sa.Column("practitioner_ref", sa.String(length=64), nullable=True),
        sa.Column("practitioner_id", sa.Integer(), nullable=True),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("change_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_event_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batch.id"],
            name=op.f("fk_event_import_batch_id_import_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioner.id"],
            name=op.f("fk_event_practitioner_id_practitioner"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
        sa.UniqueConstraint(
            "agency_id", "event_ref", "version", name=op.f("uq_event_agency_id_event_ref_version")
        ),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index("ix_event_agency_ref", ["agency_id", "event_ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_concern_code"), ["concern_code"], unique=False)
        batch_op.create_index("ix_event_date", ["event_date"], unique=False)

    op.create_table(
        "event_participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("record_ref", sa.String(length=64), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "subject",
                "victim",
                "alleged_perpetrator",
                "witness",
                "household_member",
                name="participantrole",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_event_participant_event_id_event")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_participant")),
        sa.UniqueConstraint(
            "event_id", "record_ref", name=op.f("uq_event_participant_event_id_record_ref")
        ),
    )
    with op.batch_alter_table("event_participant", schema=None) as batch_op:
        batch_op.create_index("ix_event_participant_record", ["record_ref"], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("event_participant", schema=None) as batch_op:
        batch_op.drop_index("ix_event_participant_record")

    op.drop_table("event_participant")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_date")
        batch_op.drop_index(batch_op.f("ix_event_concern_code"))
        batch_op.drop_index("ix_event_agency_ref")

    op.drop_table("event")
    op.drop_table("source_relationship")
    with op.batch_alter_table("source_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_record_nhs_number"))
        batch_op.drop_index("ix_source_record_agency_ref")

    op.drop_table("source_record")
    with op.batch_alter_table("quarantined_row", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantined_row_import_batch_id"))

    op.drop_table("quarantined_row")
    op.drop_table("practitioner")
    with op.batch_alter_table("person_relationship", schema=None) as batch_op:
        batch_op.drop_index("ix_person_relationship_person")

    op.drop_table("person_relationship")
    with op.batch_alter_table("person_record_link", schema=None) as batch_op:
        batch_op.drop_index("ix_person_record_link_record")
        batch_op.drop_index("ix_person_record_link_person")

    op.drop_table("person_record_link")
    with op.batch_alter_table("household_membership", schema=None) as batch_op:
        batch_op.drop_index("ix_household_membership_person")

    op.drop_table("household_membership")
    op.drop_table("person")
    op.drop_table("import_batch")
    op.drop_table("household")
    op.drop_table("agency")
    # ### end Alembic commands ###
