"""Combined, single-agency and household chronologies, with incidents grouped not double-counted."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.agencies.models import AgencyKind
from fullpicture.chronology.export import CSV_COLUMNS, chronology_csv, chronology_pdf
from fullpicture.chronology.models import DatePrecision, ParticipantRole
from fullpicture.chronology.repository import (
    ChronologyNotFound,
    Viewer,
    child_chronology,
    household_chronology,
    resolve_person,
)
from fullpicture.core.database import utc_now
from fullpicture.harm.harm_model import default_harm_model
from tests.chronology import factories as make

# The incident and household rules the app hands the chronology (web/app.py).
RULES = default_harm_model()


def _whole(db_session: Session) -> Viewer:
    """The whole record, as a job with no user behind it reads it (audited as system.read)."""
    principal = access_service.system_principal(
        db_session=db_session, job="chronology test", operator="test"
    )
    return Viewer(principal, utc_now())


SUBJECT = ParticipantRole.SUBJECT


@pytest.fixture
def family(db_session: Session) -> dict[str, object]:
    gp = make.agency(db_session, "gp-ashdown", AgencyKind.GP, "Ashdown Surgery")
    police = make.agency(db_session, "police-met", AgencyKind.POLICE, "Metropolitan Police")
    school = make.agency(db_session, "school-oak", AgencyKind.SCHOOL, "Oakfield Primary")
    child = make.person(db_session, (gp, "G1"), (police, "P1"), (school, "S1"))
    partner = make.person(db_session, (police, "P9"), (gp, "G9"))
    make.person(db_session, (gp, "G5"))  # another child, never in this chronology
    home = make.household(
        db_session,
        (child, "child", None, None),
        (partner, "partner", dt.date(2024, 1, 1), None),
    )
    injury_day = dt.date(2024, 3, 5)
    make.event(
        db_session,
        gp,
        "g-1",
        injury_day,
        "PHY-INJ",
        [("G1", SUBJECT)],
        summary="Bruise to cheek seen at surgery",
        impact="Pain",
        action="Referred to CSC",
    )
    make.event(
        db_session,
        police,
        "p-1",
        injury_day,
        "PHY-INJ",
        [("P1", ParticipantRole.VICTIM)],
        summary="Officers saw bruise to cheek",
    )
    make.event(
        db_session,
        school,
        "s-1",
        dt.date(2024, 2, 29),
        "EDU-ATT",
        [("S1", SUBJECT)],
        summary="Attendance 84% this term",
        precision=DatePrecision.MONTH,
    )
    # Corrected entry: only the newest version is shown.
    make.event(
        db_session,
        school,
        "s-2",
        dt.date(2024, 4, 2),
        "WNB",
        [("S1", SUBJECT)],
        summary="first version",
    )
    make.event(
        db_session,
        school,
        "s-2",
        dt.date(2024, 4, 2),
        "WNB",
        [("S1", SUBJECT)],
        summary="Not brought to school nurse",
        version=2,
    )
    # The partner's adult factors count for the child while he lives there; other entries
    # about him, and anything before he moved in, do not.
    make.event(
        db_session,
        police,
        "p-2",
        dt.date(2024, 5, 1),
        "DOM-ABU",
        [("P9", ParticipantRole.ALLEGED_PERPETRATOR)],
        summary="Call-out to the home",
    )
    make.event(
        db_session,
        police,
        "p-3",
        dt.date(2023, 6, 1),
        "DOM-ABU",
        [("P9", ParticipantRole.ALLEGED_PERPETRATOR)],
        summary="Before he moved in",
    )
    make.event(
        db_session,
        gp,
        "g-9",
        dt.date(2024, 5, 2),
        "PRC-RTN",
        [("G9", SUBJECT)],
        summary="Partner's own routine appointment",
    )
    make.event(
        db_session,
        gp,
        "g-5",
        dt.date(2024, 5, 3),
        "NEG-BAS",
        [("G5", SUBJECT)],
        summary="Someone else's child",
    )
    return {"child": child, "partner": partner, "home": home}


def test_combined_view_has_every_agency_in_date_order(
    db_session: Session, family: dict[str, object]
) -> None:
    child = family["child"]
    view = child_chronology(
        db_session=db_session, person_id=child.id, model=RULES, viewer=_whole(db_session)
    )  # type: ignore[attr-defined]
    summaries = [e.summary for e in view.entries]
    assert summaries == [
        "Attendance 84% this term",
        "Bruise to cheek seen at surgery",
        "Officers saw bruise to cheek",
        "Not brought to school nurse",
        "Call-out to the home",
    ]
    dates = [e.event_date for e in view.entries]
    assert dates == sorted(dates)
    attendance = view.entries[0]
    assert attendance.date_precision is DatePrecision.MONTH
    assert attendance.date_label == "February 2024"
    assert view.entries[-1].about == "household member (partner)"
    assert view.entries[-1].participant_role == "alleged_perpetrator"
    assert view.entries[1].severity == 4 and view.entries[1].severity_source == "taxonomy default"
    assert {e.agency_code for e in view.entries} == {"gp-ashdown", "police-met", "school-oak"}


def test_the_same_incident_from_two_agencies_is_one_group_counted_once(
    db_session: Session, family: dict[str, object]
) -> None:
    child = family["child"]
    view = child_chronology(
        db_session=db_session, person_id=child.id, model=RULES, viewer=_whole(db_session)
    )  # type: ignore[attr-defined]
    assert len(view.incident_groups) == 1
    group = view.incident_groups[0]
    assert group.concern_code == "PHY-INJ"
    assert group.agencies == ["gp-ashdown", "police-met"]
    assert len(group.event_ids) == 2
    assert view.incidents == len(view.entries) - 1
    grouped = [e for e in view.entries if e.incident_group == group.group]
    assert {e.agency_code for e in grouped} == {"gp-ashdown", "police-met"}
    assert "same concern code" in view.same_incident_rule


def test_single_agency_view_shows_only_what_that_agency_holds(
    db_session: Session, family: dict[str, object]
) -> None:
    child = family["child"]
    view = child_chronology(
        db_session=db_session,
        person_id=child.id,
        agency_code="school-oak",  # type: ignore[attr-defined]
        model=RULES,
        viewer=_whole(db_session),
    )
    assert [e.agency_code for e in view.entries] == ["school-oak", "school-oak"]
    assert view.entries_held_by_other_agencies == 3
    assert view.incident_groups == []


def test_household_view_covers_members_for_their_time_in_it(
    db_session: Session, family: dict[str, object]
) -> None:
    home = family["home"]
    view = household_chronology(
        db_session=db_session, household_id=home.id, model=RULES, viewer=_whole(db_session)
    )  # type: ignore[attr-defined]
    summaries = {e.summary for e in view.entries}
    assert "Partner's own routine appointment" in summaries
    assert "Before he moved in" not in summaries
    assert "Someone else's child" not in summaries


def test_unknown_child_or_household_is_a_clear_error(db_session: Session) -> None:
    with pytest.raises(ChronologyNotFound, match="no child"):
        resolve_person(
            db_session=db_session, reader=_whole(db_session).subject, person_ref="not-a-person"
        )
    with pytest.raises(ChronologyNotFound, match="no household"):
        household_chronology(
            db_session=db_session, household_id=987654, model=RULES, viewer=_whole(db_session)
        )


def test_csv_and_pdf_exports(db_session: Session, family: dict[str, object]) -> None:
    child = family["child"]
    view = child_chronology(
        db_session=db_session, person_id=child.id, model=RULES, viewer=_whole(db_session)
    )  # type: ignore[attr-defined]
    text = chronology_csv(view)
    lines = text.strip().split("\r\n")
    assert lines[0].split(",") == list(CSV_COLUMNS)
    assert len(lines) == 1 + len(view.entries)
    assert "Bruise to cheek seen at surgery" in text and "Referred to CSC" in text
    pdf = chronology_pdf(view, title="Chronology: Amélie")
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000


def test_a_siblings_entries_are_not_adult_factors_for_the_child(db_session: Session) -> None:
    police = make.agency(db_session, "police-sib", AgencyKind.POLICE)
    child = make.person(db_session, (police, "C1"))
    sibling = make.person(db_session, (police, "C2"))
    make.household(db_session, (child, "child", None, None), (sibling, "sibling", None, None))
    make.event(db_session, police, "sib-1", dt.date(2024, 6, 1), "ADT-RSK",
               [("C2", SUBJECT)], summary="About the sibling")  # fmt: skip
    view = child_chronology(
        db_session=db_session, person_id=child.id, model=RULES, viewer=_whole(db_session)
    )
    assert view.entries == []
