"""After an import: new records join existing people at once and the children concerned are rescored."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.agencies import service as agency_service
from fullpicture.imports import service as import_service
from fullpicture.imports.follow_up import follow_up_import
from fullpicture.imports.models import ImportBatch
from fullpicture.linkage import service as linkage_service
from fullpicture.linkage.households import DERIVED_BASES, rebuild_households
from fullpicture.linkage.rules import default_rules
from fullpicture.people.models import HouseholdMembership, PersonRecordLink, SourceRecord
from tests.imports.held_back import held_back_agency


def _import(db_session: Session, feeds: list[Path]) -> str:
    result = import_service.import_feed(db_session=db_session, paths=feeds, imported_by="test")
    assert result.quarantined == []
    return result.batch.public_id


def test_a_later_feed_is_linked_and_its_children_rescored(
    linked_session: Session, population: Path
) -> None:
    db_session = linked_session  # every other agency's feed imported and linked
    held_back = held_back_agency(population)
    batch = _import(db_session, [population / "feeds" / held_back])
    outcome = follow_up_import(db_session=db_session, batch_public_id=batch, started_by="test")

    with (population / "feeds" / held_back / "records.csv").open(encoding="utf-8") as handle:
        held_back_records = {row["record_id"] for row in csv.DictReader(handle)}
    assert outcome.records_linked == len(held_back_records) > 0
    linked = set(
        db_session.scalars(
            select(PersonRecordLink.record_ref).where(PersonRecordLink.ended_at.is_(None))
        )
    )
    assert held_back_records <= linked
    assert outcome.children_rescored > 0
    assert outcome.advice == []

    again = follow_up_import(db_session=db_session, batch_public_id=batch, started_by="test")
    assert again.alert_ids == []  # an alert is raised once per episode, not once per follow-up


def test_a_large_or_unlinked_batch_gets_advice_instead(
    db_session: Session, population: Path
) -> None:
    agency_service.register_from_csv(db_session=db_session, path=population / "agencies.csv")
    held_back = held_back_agency(population)
    batch = _import(db_session, [population / "feeds" / held_back])
    outcome = follow_up_import(db_session=db_session, batch_public_id=batch, started_by="test")
    assert outcome.records_linked == 0
    assert any("run `fullpicture link`" in advice for advice in outcome.advice)

    linkage_service.link_database(db_session=db_session, rules=default_rules(), started_by="test")
    capped = follow_up_import(
        db_session=db_session, batch_public_id=batch, started_by="test", record_limit=0
    )
    assert capped.records_linked == 0
    assert any("for one batch run" in advice for advice in capped.advice)


def _memberships(db_session: Session) -> dict[int, tuple[object, ...]]:
    """Every derived household membership row, by id, with what it says."""
    rows = db_session.scalars(
        select(HouseholdMembership).where(HouseholdMembership.basis.in_(DERIVED_BASES))
    )
    return {
        row.id: (
            row.household_id,
            row.person_id,
            row.role,
            row.date_from,
            row.date_to,
            row.basis,
            json.dumps(row.evidence, sort_keys=True),
        )
        for row in rows
    }


def test_only_the_households_of_the_people_a_feed_touches_are_rebuilt(
    linked_session: Session, population: Path
) -> None:
    db_session = linked_session  # every other agency's feed imported and linked
    held_back = held_back_agency(population)
    job = access_service.system_principal(db_session=db_session, job="test", operator="test")
    rebuild_households(db_session=db_session, linker=job)
    before = _memberships(db_session)

    batch = _import(db_session, [population / "feeds" / held_back])
    outcome = follow_up_import(db_session=db_session, batch_public_id=batch, started_by="test")
    after = _memberships(db_session)
    assert outcome.households is not None and outcome.households > 0

    touched = set(
        db_session.scalars(
            select(PersonRecordLink.person_id)
            .join(
                SourceRecord,
                (SourceRecord.agency_id == PersonRecordLink.agency_id)
                & (SourceRecord.record_ref == PersonRecordLink.record_ref),
            )
            .join(ImportBatch, ImportBatch.id == SourceRecord.import_batch_id)
            .where(ImportBatch.public_id == batch)
        )
    )
    households_touched = {row[0] for row in after.values() if row[1] in touched}
    untouched = {i: row for i, row in before.items() if row[0] not in households_touched}
    assert untouched, "the feed should leave some households alone for this test to mean much"
    # Rows of households no one in the feed lives in are not rewritten (same ids, same content).
    assert {i: after.get(i) for i in untouched} == untouched
    # The touched households were rebuilt ...
    assert set(after) - set(before)
    # ... to what rebuilding every household gives.
    rebuild_households(db_session=db_session, linker=job)
    assert sorted(_memberships(db_session).values(), key=repr) == sorted(after.values(), key=repr)
