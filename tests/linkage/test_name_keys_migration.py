"""Migration 0301 gives the records already in the linkage index their other-name keys, the
same keys ``linkage.repository.name_keys`` gives a record indexed from then on."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.core import migrations
from fullpicture.linkage.repository import name_keys
from fullpicture.people.models import SourceRecord
from tests.conftest import TestDatabase

RECORD = {
    "record_key": "1:rec-1",
    "given_name": "amelia",
    "given_name_canonical": "amelia",
    "given_name_canonicals": "|amelia|emily|",
    "given_names_all": "|grace|rose|",
    "family_name": "okaforhughes",
    "family_names_all": "|okaforhughes|okafor|hughes|jones|",
    "postcode": "CR01AA",
    "postcodes_all": "|CR01AA|SE17PB|",
}


def test_records_already_indexed_get_the_keys_new_ones_get(
    fresh_database: TestDatabase,
) -> None:
    engine = fresh_database.engine
    migrations.downgrade(engine, "0003")
    with Session(engine) as session, session.begin():
        agency = Agency(code="a", name="A", kind=AgencyKind.SCHOOL)
        session.add(agency)
        session.flush()
        record = SourceRecord(
            agency_id=agency.id,
            record_ref="rec-1",
            version=1,
            content_hash="x",
            recorded_by="test",
        )
        session.add(record)
        session.flush()
        ids = {"agency_id": agency.id, "source_record_id": record.id}
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO linkage_record (record_key, agency_id, record_ref, "
                "source_record_id, given_name, given_name_canonical, given_name_canonicals, "
                "given_names_all, family_name, family_names_all, postcode, postcodes_all, "
                "addresses_all) VALUES (:record_key, :agency_id, 'rec-1', :source_record_id, :given_name, "
                ":given_name_canonical, :given_name_canonicals, :given_names_all, "
                ":family_name, :family_names_all, :postcode, :postcodes_all, '|')"
            ),
            {**RECORD, **ids},
        )
    migrations.upgrade(engine)
    with engine.connect() as connection:
        made = set(connection.execute(text("SELECT record_key, kind, name FROM linkage_name_key")))
    assert made == {("1:rec-1", kind.value, name) for kind, name in name_keys(RECORD)}
    assert {name for _key, _kind, name in made} == {
        "grace",
        "rose",
        "emily",
        "okafor",
        "hughes",
        "jones",
        "SE17PB",
    }
