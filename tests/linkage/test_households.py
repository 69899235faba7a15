"""Households over time from addresses and feed relationships; the child's view and unseen adults."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.access.subject import SystemPrincipal
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.cli.main import app
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
from tests.access.fixtures import runtime_database  # noqa: F401  (a fixture for the CLI test)
from tests.access.principals import make_user
from tests.conftest import TestDatabase

OAK = {"line": "12 Oak Road", "postcode": "SE25 4AB"}


def _linker(db_session: Session) -> SystemPrincipal:
    """The audited job a test reads linkage's own records as."""
    return access_service.system_principal(
        db_session=db_session, job="household test", operator="test"
    )


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


def _ava_at_oak_road(db_session: Session) -> dict[str, Any]:
    """Ava (school, GP) lives with Jane (GP, CSC, housing), Dean (police) and a lodger, Mark
    (housing)."""
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

    return {
        "agencies": {"school": school, "gp": gp, "csc": csc, "police": police, "housing": housing},
        "people": {"ava": ava, "jane": jane, "dean": dean, "mark": mark},
    }


def test_child_view_lists_every_adult_and_flags_the_unseen(db_session: Session) -> None:
    built = _ava_at_oak_road(db_session)
    ava, jane, dean, mark = (built["people"][k] for k in ("ava", "jane", "dean", "mark"))
    counts = rebuild_households(
        db_session=db_session, linker=_linker(db_session), as_of=dt.date(2026, 11, 25)
    )
    assert counts["relationships"] == 2
    assert (
        rebuild_households(
            db_session=db_session, linker=_linker(db_session), as_of=dt.date(2026, 11, 25)
        )
        == counts
    )

    # The whole record, as a job with no user behind it reads it (audited as system.read).
    whole_record = access_service.system_principal(
        db_session=db_session, job="households test", operator="test"
    )
    view = child_household_view(
        db_session=db_session,
        reader=whole_record,
        person_public_id=ava.public_id,
        as_of=dt.date(2026, 11, 25),
    )
    assert len(view.households) == 1
    household = view.households[0]
    # As recorded (OAK), not the normalised key "12 oak road, SE254AB".
    assert household.address == "12 Oak Road, SE25 4AB"
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
    rebuild_households(
        db_session=db_session, linker=_linker(db_session), as_of=dt.date(2026, 11, 25)
    )
    assert db_session.scalars(
        select(HouseholdMembership).where(HouseholdMembership.basis == "practitioner")
    ).one()


def test_a_partner_agency_sees_only_the_household_members_it_holds_records_of(
    db_session: Session,
) -> None:
    """Issue 12, finding 1: a school practitioner saw adults the school holds no record of —
    name, date of birth, and which agencies know them (their record ids as evidence)."""
    from fullpicture.access.models import Role
    from tests.access.principals import make_user, subject_of

    built = _ava_at_oak_road(db_session)
    agencies, people = built["agencies"], built["people"]
    rebuild_households(
        db_session=db_session, linker=_linker(db_session), as_of=dt.date(2026, 11, 25)
    )
    ava = people["ava"]

    teacher = subject_of(make_user(db_session, agency=agencies["school"]))
    view = child_household_view(
        db_session=db_session,
        reader=teacher,
        person_public_id=ava.public_id,
        as_of=dt.date(2026, 11, 25),
    )
    shown = view.model_dump_json()
    assert [a.name for p in view.households for a in p.adults] == []
    for leaked in ("Jane", "Dean", "Mark", "1990-06-01", "1985-01-09", "P1", "S1", "H1", "H2"):
        assert leaked not in shown, leaked
    for agency in ("gp-a", "csc-a", "police-a", "housing-a"):
        assert agency not in shown
    for person in ("jane", "dean", "mark"):
        assert people[person].public_id not in shown
    assert view.held_elsewhere is not None
    assert view.held_elsewhere.entries == 3 and view.held_elsewhere.agencies == 4

    # The GP holds Jane's record: Jane is shown from the GP's record alone.
    agencies["gp"].name = "Meadow Surgery"
    db_session.flush()
    doctor = subject_of(make_user(db_session, agency=agencies["gp"]))
    view = child_household_view(
        db_session=db_session, reader=doctor, person_public_id=ava.public_id
    )
    [jane] = [a for p in view.households for a in p.adults]
    assert jane.name == "Jane Smith" and jane.known_to_agencies == ["gp-a"]
    assert {e["agency"] for e in jane.evidence} <= {"gp-a"}
    # Each piece of evidence names the agency beside its code, for the words a practitioner
    # reads (the prompts' "Meadow Surgery record G2 …"); the stored evidence keeps the code.
    assert jane.evidence and {e["agency_name"] for e in jane.evidence} == {"Meadow Surgery"}
    stored = [e for m in db_session.scalars(select(HouseholdMembership)) for e in m.evidence]
    assert stored and not [e for e in stored if "agency_name" in e]
    assert view.held_elsewhere is not None and view.held_elsewhere.entries == 2

    # The front door's pooled view of Ava (its agency holds her record) follows the child.
    db_session.add(
        PersonRecordLink(person_id=ava.id, agency_id=agencies["csc"].id, record_ref="S9",
                         method="confirmed", evidence={})
    )  # fmt: skip
    db_session.flush()
    front_door = subject_of(make_user(db_session, role=Role.FRONT_DOOR, agency=agencies["csc"]))
    view = child_household_view(
        db_session=db_session, reader=front_door, person_public_id=ava.public_id
    )
    assert {a.name for p in view.households for a in p.adults} == {
        "Jane Smith",
        "Dean Cole",
        "Mark Fry",
    }
    assert view.held_elsewhere is None


def test_a_childs_role_follows_the_date_most_records_give(db_session: Session) -> None:
    """The first record read used to decide: a school's century slip made Ava an adult."""
    school, gp, health = (_agency(db_session, c) for c in ("school-s", "gp-s", "hv-s"))
    ava, jane = Person(), Person()
    db_session.add_all([ava, jane])
    db_session.flush()
    home = [{**OAK, "date_from": "2020-01-01", "date_to": None}]
    _record(
        db_session, school, "C1", ava, name="Ava Smith", born=dt.date(1916, 4, 2), addresses=home
    )
    _record(db_session, gp, "G1", ava, name="Ava Smith", born=dt.date(2016, 4, 2), addresses=home)
    _record(
        db_session, health, "H1", ava, name="Ava Smith", born=dt.date(2016, 4, 2), addresses=home
    )
    _record(db_session, gp, "G2", jane, name="Jane Smith", born=dt.date(1990, 6, 1), addresses=home)
    db_session.flush()

    rebuild_households(
        db_session=db_session, linker=_linker(db_session), as_of=dt.date(2026, 11, 25)
    )

    roles = {
        person_id: role
        for person_id, role in db_session.execute(
            select(HouseholdMembership.person_id, HouseholdMembership.role)
        )
    }
    assert roles[ava.id] == "child"
    assert roles[jane.id] != "child"


def test_the_cli_names_the_agencies_an_adult_is_known_to(
    runtime_database: TestDatabase,  # noqa: F811
) -> None:
    """``fullpicture link households`` printed each adult's agencies by code ("gp-a"); it
    names them as the child's page does, and ``--json`` keeps the codes beside the names."""
    with Session(runtime_database.engine) as session:
        built = _ava_at_oak_road(session)
        gp = built["agencies"]["gp"]
        gp.name = "Orchard Surgery"
        rebuild_households(db_session=session, linker=_linker(session), as_of=dt.date.today())
        make_user(session, role=Role.PRACTITIONER, agency=gp, username="gp.doctor")
        ava = built["people"]["ava"].public_id
        session.commit()
    result = CliRunner().invoke(
        app, ["link", "households", ava, "--as", "gp.doctor"], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "Jane Smith" in line)
    assert "Orchard Surgery" in row and "gp-a" not in row
    result = CliRunner().invoke(
        app, ["link", "households", ava, "--as", "gp.doctor", "--json"], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    (jane,) = [
        adult
        for household in json.loads(result.output)["households"]
        for adult in household["adults"]
        if adult["name"] == "Jane Smith"
    ]
    assert jane["known_to_agencies"] == ["gp-a"]
    assert jane["known_to_agency_names"] == ["Orchard Surgery"]
