"""Households over time from addresses and feed relationships; the child's view and unseen adults."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.linkage.households import child_household_view, rebuild_households
from fullpicture.people.models import (
    HouseholdMembership,
    Person,
    PersonRecordLink,
    PersonRelationship,
    RelationshipKind,
    SourceRecord,
    SourceRelationship,
)

OAK = {"line": "12 Oak Road", "postcode": "SE25 4AB"}


def _agency(db_session: Session, code: str) -> Agency:
    agency = Agency(code=code, name=code, kind=AgencyKind.SCHOOL)
    db_session.add(agency)
    db_session.flush()
    return agency


def _record(
    db_session: Session,
    agency: Agency,
    ref: str,
    person: Person,
    *,
    name: str,
    born: dt.date,
    addresses: list[dict[str, Any]],
) -> None:
    given, family = name.split()
    db_session.add(
        SourceRecord(
            agency_id=agency.id,
            record_ref=ref,
            version=1,
            content_hash=ref,
            given_name=given,
            family_name=family,
            other_names=[],
            previous_family_names=[],
            date_of_birth=born,
            addresses=addresses,
            recorded_by="test",
        )
    )
    db_session.add(
        PersonRecordLink(
            person_id=person.id,
            agency_id=agency.id,
            record_ref=ref,
            method="probabilistic",
            evidence={},
        )
    )


def _relationship(
    db_session: Session,
    agency: Agency,
    ref: str,
    related: str,
    kind: RelationshipKind,
    since: dt.date,
) -> None:
    db_session.add(
        SourceRelationship(
            agency_id=agency.id,
            record_ref=ref,
            related_record_ref=related,
            relationship=kind,
            lives_with=True,
            date_from=since,
            version=1,
            content_hash=f"{ref}-{related}",
            recorded_by="test",
        )
    )


def test_child_view_lists_every_adult_and_flags_the_unseen(db_session: Session) -> None:
    school, gp, csc, police, housing = (
        _agency(db_session, c) for c in ("school-a", "gp-a", "csc-a", "police-a", "housing-a")
    )
    ava, jane, dean, mark = Person(), Person(), Person(), Person()
    db_session.add_all([ava, jane, dean, mark])
    db_session.flush()
    current = {**OAK, "date_from": "2020-01-01", "date_to": None}
    _record(
        db_session,
        school,
        "C1",
        ava,
        name="Ava Smith",
        born=dt.date(2016, 4, 2),
        addresses=[current],
    )
    _record(
        db_session, gp, "G1", ava, name="Ava Smith", born=dt.date(2016, 4, 2), addresses=[current]
    )
    _record(
        db_session, gp, "G2", jane, name="Jane Smith", born=dt.date(1990, 6, 1), addresses=[current]
    )
    _record(
        db_session,
        csc,
        "S1",
        jane,
        name="Jane Smith",
        born=dt.date(1990, 6, 1),
        addresses=[current],
    )
    _record(
        db_session,
        police,
        "P1",
        dean,
        name="Dean Cole",
        born=dt.date(1985, 1, 9),
        addresses=[
            {
                "line": "12 oak rd",
                "postcode": "se254ab",
                "date_from": "2023-05-01",
                "date_to": None,
            },
            {
                "line": "4 Mill Close",
                "postcode": "CR0 1AA",
                "date_from": "2015-01-01",
                "date_to": "2023-04-30",
            },
        ],
    )
    _record(
        db_session, housing, "H1", mark, name="Mark Fry", born=dt.date(1970, 2, 2), addresses=[]
    )
    _record(
        db_session,
        housing,
        "H2",
        jane,
        name="Jane Smith",
        born=dt.date(1990, 6, 1),
        addresses=[current],
    )
    _relationship(db_session, gp, "G1", "G2", RelationshipKind.PARENT, dt.date(2016, 4, 2))
    _relationship(db_session, housing, "H2", "H1", RelationshipKind.LODGER, dt.date(2024, 2, 1))
    db_session.flush()

    counts = rebuild_households(db_session=db_session, as_of=dt.date(2026, 11, 25))
    assert counts["relationships"] == 2
    assert rebuild_households(db_session=db_session, as_of=dt.date(2026, 11, 25)) == counts

    view = child_household_view(
        db_session=db_session, person_public_id=ava.public_id, as_of=dt.date(2026, 11, 25)
    )
    assert len(view.households) == 1
    household = view.households[0]
    assert household.address == "12 oak road, SE254AB"
    adults = {a.name: a for a in household.adults}
    assert set(adults) == {"Jane Smith", "Dean Cole", "Mark Fry"}
    assert adults["Jane Smith"].known_to_agencies == ["csc-a", "gp-a", "housing-a"]
    assert adults["Jane Smith"].unseen_adult is False
    assert "parent" in adults["Jane Smith"].roles
    assert adults["Dean Cole"].unseen_adult is True
    assert adults["Dean Cole"].date_from == dt.date(2023, 5, 1)
    assert adults["Mark Fry"].roles == ["lodger"]
    assert adults["Mark Fry"].unseen_adult is True
    assert set(view.unseen_adults) == {dean.public_id, mark.public_id}

    relation = db_session.scalars(
        select(PersonRelationship).where(PersonRelationship.person_id == ava.id)
    ).one()
    assert relation.related_person_id == jane.id
    assert relation.relationship is RelationshipKind.PARENT

    # A practitioner's own membership is never touched by a rebuild.
    db_session.add(
        HouseholdMembership(
            household_id=db_session.scalars(select(HouseholdMembership.household_id)).first(),
            person_id=mark.id,
            role="regular_visitor",
            basis="practitioner",
            evidence=[],
        )
    )
    db_session.flush()
    rebuild_households(db_session=db_session, as_of=dt.date(2026, 11, 25))
    assert db_session.scalars(
        select(HouseholdMembership).where(HouseholdMembership.basis == "practitioner")
    ).one()
