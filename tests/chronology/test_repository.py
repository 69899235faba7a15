"""Combined, single-agency and household chronologies, with incidents grouped not double-counted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.agencies.models import AgencyKind
from fullpicture.chronology.export import CSV_COLUMNS, chronology_csv, chronology_pdf
from fullpicture.chronology.filters import ChronologyFilter, filter_chronology
from fullpicture.chronology.incidents import ScoringEvent, group_incidents
from fullpicture.chronology.models import DatePrecision, ParticipantRole
from fullpicture.chronology.repository import (
    ChronologyNotFound,
    Viewer,
    _incident_groups,
    child_chronology,
    child_record,
    household_chronology,
    resolve_person,
)
from fullpicture.chronology.taxonomy import default_taxonomy
from fullpicture.core.database import utc_now
from fullpicture.harm import repository as harm_repository
from fullpicture.harm import service as harm_service
from fullpicture.harm.harm_model import default_harm_model
from tests.access.principals import make_user, subject_of
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
    return {
        "child": child,
        "partner": partner,
        "home": home,
        "gp": gp,
        "police": police,
        "school": school,
    }


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


def _readers(db_session: Session, family: dict[str, object]) -> list[Viewer]:
    """The whole record, and a school's and a GP's users (each its own entries; the rest
    held elsewhere)."""
    return [
        _whole(db_session),
        *(
            Viewer(subject_of(make_user(db_session, role=role, agency=family[agency])), utc_now())  # type: ignore[arg-type]
            for role, agency in ((Role.DESIGNATED_LEAD, "school"), (Role.PRACTITIONER, "gp"))
        ),
    ]


def test_a_record_read_once_gives_the_chronologies_the_full_reads_give(
    db_session: Session, family: dict[str, object]
) -> None:
    child = family["child"]
    # The same incident twice more, so groups are numbered across people and codes.
    police, gp = family["police"], family["gp"]
    make.event(db_session, police, "p-4", dt.date(2024, 5, 1), "DOM-ABU",
               [("P9", SUBJECT)], summary="The same call-out, about him")  # fmt: skip
    make.event(db_session, gp, "g-2", dt.date(2024, 3, 5), "PHY-INJ",
               [("G1", SUBJECT)], summary="Second note of the bruise", severity=2)  # fmt: skip
    for viewer in _readers(db_session, family):
        record = child_record(db_session=db_session, person_id=child.id, model=RULES, viewer=viewer)  # type: ignore[attr-defined]
        for agency in (None, "school-oak", "gp-ashdown"):
            full = child_chronology(
                db_session=db_session,
                person_id=child.id,  # type: ignore[attr-defined]
                agency_code=agency,
                model=RULES,
                viewer=viewer,
            )
            view = record.view(agency_code=agency)
            assert record.page_entries(view, view.entries) == full.entries
            assert view.incidents == full.incidents
            assert view.held_elsewhere == full.held_elsewhere
            assert view.entries_held_by_other_agencies == full.entries_held_by_other_agencies
            if agency is None:
                assert record.incident_groups == full.incident_groups
            # A filter cuts the view as it cuts the full chronology, before any page.
            criteria = ChronologyFilter(min_severity=3)
            cut = record.view(agency_code=agency, keeps=criteria.keeps)
            assert record.page_entries(cut, cut.entries) == (
                filter_chronology(full, criteria).entries
            )
    whole = child_record(
        db_session=db_session, person_id=child.id, model=RULES, viewer=_whole(db_session)
    )  # type: ignore[attr-defined]
    assert len(whole.incident_groups) == 2 and whole.hidden == []


def test_the_harm_score_reads_from_the_page_record_what_it_reads_itself(
    db_session: Session, family: dict[str, object]
) -> None:
    child = family["child"]
    school = family["school"]
    # An entry dated after the scoring day is in the chronology, not in the score.
    make.event(db_session, school, "s-9", dt.date(2030, 1, 1), "WNB",
               [("S1", SUBJECT)], summary="Booked appointment")  # fmt: skip
    as_of = dt.date(2026, 1, 1)
    for viewer in _readers(db_session, family):
        record = child_record(db_session=db_session, person_id=child.id, model=RULES, viewer=viewer)  # type: ignore[attr-defined]
        own, _birth = harm_repository.child_written_rows(
            db_session=db_session,
            scorer=viewer.subject,
            person_id=child.id,  # type: ignore[attr-defined]
            as_of=as_of,
            model=RULES,
        )
        from_record = harm_repository.written_rows_of_record(record, as_of)
        assert from_record == own
        assert len(own) == 5 and "Call-out to the home" in {row[6] for row in own}
        assert harm_service.assess_child_record(
            db_session=db_session, scorer=viewer.subject, record=record, as_of=as_of
        ) == harm_service.assess_one_child(
            db_session=db_session,
            scorer=viewer.subject,
            person_id=child.id,  # type: ignore[attr-defined]
            as_of=as_of,
        )


@dataclass(frozen=True)
class _Entry:
    event_id: int
    agency_code: str
    event_date: dt.date
    concern_code: str
    severity: int | None
    about_person_id: int


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),
            st.sampled_from(["WNB", "PHY-INJ", "DOM-ABU", "NOT-A-CODE"]),
            st.integers(0, 12),
            st.sampled_from(["gp", "police", "school"]),
        ),
        max_size=40,
    ),
    st.integers(0, 3),
)
def test_incidents_are_grouped_as_the_harm_engine_groups_them(
    drawn: list[tuple[int, str, int, str]], within_days: int
) -> None:
    entries = [
        _Entry(n, agency, dt.date(2024, 1, 1) + dt.timedelta(days=day), code, None, person)
        for n, (person, code, day, agency) in enumerate(drawn)
    ]
    rules = RULES.model_copy(
        update={
            "same_incident": RULES.same_incident.model_copy(update={"within_days": within_days})
        }
    )
    taxonomy = default_taxonomy()
    groups = _incident_groups(entries, rules, taxonomy)
    expected: list[tuple[list[int], list[str], dt.date, str]] = []
    people = list(dict.fromkeys(e.about_person_id for e in entries))
    for person in people:
        incidents = group_incidents(
            (
                ScoringEvent(e.event_id, e.agency_code, e.event_date, e.concern_code)
                for e in entries
                if e.about_person_id == person
            ),
            within_days=within_days,
            taxonomy=taxonomy,
        )
        expected += [
            ([int(r) for r in i.refs], i.agencies, i.day, i.code)
            for i in incidents
            if len(i.refs) > 1
        ]
    numbered = sorted(
        [(g.group, g.event_ids, g.agencies, g.first_date, g.concern_code) for g in groups]
    )
    assert [(ids, agencies, day, code) for _n, ids, agencies, day, code in numbered] == expected
    assert [(g.first_date, g.concern_code) for g in groups] == sorted(
        (g.first_date, g.concern_code) for g in groups
    )


def test_only_the_latest_of_several_versions_is_read(db_session: Session) -> None:
    """Corrections of corrections: versions 2 and 3 are both in the partial index of later
    versions (migration 0071), and only 3 may count; an entry never corrected still counts."""
    gp = make.agency(db_session, "gp-three", AgencyKind.GP)
    child = make.person(db_session, (gp, "G3"))
    for version, summary in ((1, "first"), (2, "second"), (3, "third")):
        make.event(
            db_session,
            gp,
            "g-1",
            dt.date(2024, 1, 5),
            "WNB",
            [("G3", SUBJECT)],
            summary=summary,
            version=version,
        )
    make.event(db_session, gp, "g-2", dt.date(2024, 2, 5), "WNB", [("G3", SUBJECT)], summary="once")
    chronology = child_chronology(
        db_session=db_session, person_id=child.id, viewer=_whole(db_session), model=RULES
    )
    assert [(e.summary, e.version) for e in chronology.entries] == [("third", 3), ("once", 1)]
    record = child_record(
        db_session=db_session, person_id=child.id, viewer=_whole(db_session), model=RULES
    )
    assert [e.summary for e in record.entries] == ["third", "once"]


def test_versions_count_from_one(db_session: Session) -> None:
    """The latest-version question relies on it: a later version is always above 1."""
    gp = make.agency(db_session, "gp-zero", AgencyKind.GP)
    make.person(db_session, (gp, "G0"))
    with pytest.raises(IntegrityError):
        make.event(db_session, gp, "g-0", dt.date(2024, 1, 5), "WNB", [("G0", SUBJECT)], version=0)
