"""Which date of birth the harm score uses when a child's records disagree (both databases)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from fullpicture.agencies.models import AgencyKind
from fullpicture.harm.repository import children_with_birth
from fullpicture.people.models import SourceRecord
from tests.chronology import factories as make

AS_OF = dt.date(2025, 6, 30)


def _record(
    db_session: Session, agency_id: int, ref: str, dob: dt.date, *, version: int = 1
) -> None:
    db_session.add(
        SourceRecord(
            agency_id=agency_id,
            record_ref=ref,
            version=version,
            content_hash=f"{ref}-{version}",
            date_of_birth=dob,
            recorded_by="test",
        )
    )
    db_session.flush()


def test_one_agencys_century_slip_no_longer_makes_a_child_an_adult(db_session: Session) -> None:
    gp = make.agency(db_session, "gp-d", AgencyKind.GP)
    school = make.agency(db_session, "school-d", AgencyKind.SCHOOL)
    police = make.agency(db_session, "police-d", AgencyKind.POLICE)
    outvoted = make.person(db_session, (gp, "G1"), (school, "S1"), (police, "P1"))
    _record(db_session, gp.id, "G1", dt.date(2015, 5, 1))
    _record(db_session, school.id, "S1", dt.date(2015, 5, 1))
    _record(db_session, police.id, "P1", dt.date(1915, 5, 1))
    split = make.person(db_session, (gp, "G2"), (police, "P2"))
    _record(db_session, gp.id, "G2", dt.date(2017, 9, 3))
    _record(db_session, police.id, "P2", dt.date(1917, 9, 3))

    found = children_with_birth(db_session=db_session, as_of=AS_OF)

    assert found[outvoted.id] == dt.date(2015, 5, 1)
    assert found[split.id] == dt.date(2017, 9, 3)


def test_a_corrected_date_of_birth_counts_only_in_its_latest_version(
    db_session: Session,
) -> None:
    gp = make.agency(db_session, "gp-e", AgencyKind.GP)
    # Keyed as an adult, then corrected: a child.
    corrected_to_child = make.person(db_session, (gp, "G1"))
    _record(db_session, gp.id, "G1", dt.date(1990, 2, 2))
    _record(db_session, gp.id, "G1", dt.date(2020, 2, 2), version=2)
    # Keyed as a child, then corrected: an adult, whose old version is not evidence of age.
    corrected_to_adult = make.person(db_session, (gp, "G2"))
    _record(db_session, gp.id, "G2", dt.date(2020, 2, 2))
    _record(db_session, gp.id, "G2", dt.date(1990, 2, 2), version=2)

    found = children_with_birth(
        db_session=db_session,
        as_of=AS_OF,
        person_ids=[corrected_to_child.id, corrected_to_adult.id],
    )

    assert found == {corrected_to_child.id: dt.date(2020, 2, 2)}
