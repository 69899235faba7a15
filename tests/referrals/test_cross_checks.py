"""Cross-checks against the record, on SQLite and PostgreSQL: what the chronology holds for the
child and household adults that the referral leaves out, with the events behind each finding."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.people.models import HouseholdMembership, Person
from fullpicture.referrals import service
from fullpicture.referrals.cross_checks import months_before
from fullpicture.referrals.schemas import CrossCheckFinding, ReferralCheck
from tests.referrals.factories import add_event, build_child_record, link

AS_OF = dt.date(2026, 11, 23)
BARE = (
    "I am the class teacher. Mia came in today with a cut lip. She said she fell over. "
    "I am worried about her."
)


def _check(db_session: Session, text: str, child_public_id: str) -> ReferralCheck:
    # The whole record, as a stored check for the front door reads it: an audited system job.
    whole_record = access_service.system_principal(
        db_session=db_session, job="referral cross-check test", operator="test"
    )
    return service.check_text_with_record(
        db_session=db_session,
        text=text,
        child_public_id=child_public_id,
        referral_date=AS_OF,
        viewer=whole_record,
    )


def _finding(result: ReferralCheck, kind: str, contradicts: bool = False) -> CrossCheckFinding:
    assert result.cross_checks is not None
    found = [
        f
        for f in result.cross_checks.findings
        if f.kind == kind and f.contradicts_referral is contradicts
    ]
    assert len(found) == 1, result.cross_checks.findings
    return found[0]


def test_history_the_referral_does_not_mention_is_listed_with_its_events(
    db_session: Session,
) -> None:
    record = build_child_record(db_session, as_of=AS_OF)
    result = _check(db_session, BARE, record.child.public_id)
    history = _finding(result, "history")
    assert history.element == "R9"
    codes = sorted(e.concern_code for e in history.events)
    # the plan counts whenever it was; the 1,500-day-old attendance concern is outside 24 months
    assert codes == ["EDU-ATT", "HOU-INS", "NEG-BAS", "PLN-CIN", "PRC-REF", "WNB"]
    assert history.message.startswith("The record shows 6 earlier concerns from 3 agencies")
    assert "include them or explain" in history.message.lower()
    assert all(e.whose_record == "child" for e in history.events)
    # every listed event names where it came from
    assert {e.agency_name for e in history.events} == {
        "Oakfield Primary School",
        "Ashdown Surgery",
        "Croydon Housing Needs",
    }


def test_history_the_referral_mentions_is_not_repeated(db_session: Session) -> None:
    record = build_child_record(db_session, as_of=AS_OF)
    text = (
        BARE + " Her attendance is 84% and she comes to school hungry. She was not brought to her "
        "asthma review. The family are in temporary accommodation. There was a previous referral "
        "in 2025 and a child in need plan before that."
    )
    result = _check(db_session, text, record.child.public_id)
    assert result.cross_checks is not None
    assert [f for f in result.cross_checks.findings if f.kind == "history"] == []


def test_a_referral_that_denies_history_the_record_holds_is_flagged_as_a_contradiction(
    db_session: Session,
) -> None:
    record = build_child_record(db_session, as_of=AS_OF)
    result = _check(db_session, BARE + " There are no previous concerns.", record.child.public_id)
    history = _finding(result, "history", contradicts=True)
    assert history.message.startswith("The referral says there are no previous concerns")


def test_agencies_with_recent_involvement_that_are_not_named(db_session: Session) -> None:
    record = build_child_record(db_session, as_of=AS_OF)
    result = _check(db_session, BARE, record.child.public_id)
    agencies = _finding(result, "agencies")
    assert agencies.element == "R11"
    named = {e.agency_name for e in agencies.events}
    # the school is the referrer's own ("class teacher" names it); the others are not named
    assert named == {"Ashdown Surgery", "Metropolitan Police", "Croydon Housing Needs"}
    police = [e for e in agencies.events if e.agency_name == "Metropolitan Police"]
    assert [e.whose_record for e in police] == ["household_adult"]
    named_text = (
        BARE + " Her GP at Ashdown knows her; police attended in August; housing moved them."
    )
    result = _check(db_session, named_text, record.child.public_id)
    assert result.cross_checks is not None
    assert [f for f in result.cross_checks.findings if f.kind == "agencies"] == []


def test_household_adult_factors_left_out_and_denied(db_session: Session) -> None:
    record = build_child_record(db_session, as_of=AS_OF)
    left_out = _finding(_check(db_session, BARE, record.child.public_id), "adult_factors")
    assert left_out.element == "R10"
    assert [e.concern_code for e in left_out.events] == ["DOM-ABU"]
    assert left_out.events[0].whose_record == "household_adult"
    assert left_out.events[0].person_public_id == record.adult.public_id
    denied = _check(
        db_session, BARE + " There is no domestic abuse in the family.", record.child.public_id
    )
    contradiction = _finding(denied, "adult_factors", contradicts=True)
    assert "Domestic abuse (DOM-ABU)" in contradiction.message
    mentioned = _check(
        db_session,
        BARE + " Police were called in August after domestic abuse by mum's partner.",
        record.child.public_id,
    )
    assert mentioned.cross_checks is not None
    assert [f for f in mentioned.cross_checks.findings if f.kind == "adult_factors"] == []


def test_only_the_current_version_of_an_event_counts(db_session: Session) -> None:
    record = build_child_record(db_session, as_of=AS_OF)
    school = record.agencies["school"]
    ref = record.refs[(school.code, record.child.id)]
    add_event(
        db_session,
        agency=school,
        record_ref=ref,
        event_date=AS_OF - dt.timedelta(days=10),
        code="PHY-INJ",
        summary="Bruise on arm",
        event_ref="ev-corrected",
    )
    add_event(db_session, agency=school, record_ref=ref, event_date=AS_OF - dt.timedelta(days=10),
              code="PRC-RTN", summary="Corrected: routine check, no injury", event_ref="ev-corrected",
              version=2)  # fmt: skip
    history = _finding(_check(db_session, BARE, record.child.public_id), "history")
    assert "PHY-INJ" not in {e.concern_code for e in history.events}
    assert "ev-corrected" not in {e.event_ref for e in history.events}


def test_ended_record_links_and_past_household_members_are_not_the_childs_record(
    db_session: Session,
) -> None:
    record = build_child_record(db_session, as_of=AS_OF)
    gp = record.agencies["gp"]
    old_ref = link(db_session, record, record.child, gp, ended=True)
    add_event(db_session, agency=gp, record_ref=old_ref, event_date=AS_OF - dt.timedelta(days=5),
              code="SEX-ABU", summary="Belongs to another child once wrongly linked")  # fmt: skip
    lodger = Person()
    db_session.add(lodger)
    db_session.flush()
    membership = db_session.query(HouseholdMembership).filter_by(person_id=record.child.id).one()
    db_session.add(
        HouseholdMembership(
            household_id=membership.household_id,
            person_id=lodger.id,
            role="lodger",
            date_from=AS_OF - dt.timedelta(days=900),
            date_to=AS_OF - dt.timedelta(days=400),
            basis="practitioner",
            evidence=[],
        )
    )
    police = record.agencies["police"]
    lodger_ref = link(db_session, record, lodger, police)
    add_event(db_session, agency=police, record_ref=lodger_ref, event_date=AS_OF - dt.timedelta(days=30),
              code="PAR-SUB", summary="Former lodger arrested for drug supply")  # fmt: skip
    result = _check(db_session, BARE, record.child.public_id)
    assert result.cross_checks is not None
    codes = {e.concern_code for f in result.cross_checks.findings for e in f.events}
    assert "SEX-ABU" not in codes
    assert "PAR-SUB" not in codes


def test_no_record_no_findings_and_no_notes(db_session: Session) -> None:
    child = Person()
    db_session.add(child)
    db_session.flush()
    result = _check(db_session, BARE, child.public_id)
    assert result.cross_checks is not None
    assert result.cross_checks.findings == []
    assert result.cross_checks.notes == []
    assert set(result.public()) == {"elements", "vague_phrases", "score", "cross_checks"}


def test_an_unknown_child_is_refused(db_session: Session) -> None:
    with pytest.raises(service.ChildNotFoundError):
        _check(db_session, BARE, "00000000-0000-4000-8000-000000000000")


def test_months_before_clamps_to_the_end_of_a_short_month() -> None:
    assert months_before(dt.date(2026, 3, 31), 1) == dt.date(2026, 2, 28)
    assert months_before(dt.date(2026, 11, 23), 24) == dt.date(2024, 11, 23)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="ab -'\n1é", max_size=30),
    st.text(alphabet="ab -'", min_size=1, max_size=4),
)
def test_an_agency_word_is_found_as_the_boundary_regex_finds_it(text: str, name: str) -> None:
    import re

    from fullpicture.referrals.cross_checks import _named_as_a_word

    by_regex = re.search(rf"(?<![a-z]){re.escape(name)}(?![a-z])", text) is not None
    assert _named_as_a_word(text, name) == by_regex
