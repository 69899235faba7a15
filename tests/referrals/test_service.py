"""The referral itself: drafts are saved, submission goes to the front door whatever the score,
a submitted version never changes, and corrections are new versions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from fullpicture.access.subject import AuthSubject
from fullpicture.agencies.models import AgencyKind
from fullpicture.core.database import utc_now
from fullpicture.referrals import repository, service
from fullpicture.referrals.models import (
    FRONT_DOOR,
    ParentsAwareness,
    ReferralImmutableError,
    ReferralStatus,
    RequestedResponse,
)
from fullpicture.referrals.schemas import (
    HouseholdMemberIn,
    ReferralChildIn,
    ReferralCorrection,
    ReferralCreate,
    ReferralUpdate,
)
from tests.access.principals import make_user, subject_of
from tests.referrals.factories import add_agency, build_child_record, link


@pytest.fixture
def author(db_session: Session) -> AuthSubject:
    """A signed-in referrer of an agency: referrals are written as a user, never anonymously."""
    return subject_of(make_user(db_session))


AS_OF = dt.date(2026, 11, 23)


def test_an_empty_draft_is_saved_and_can_be_submitted_without_delay(db_session: Session) -> None:
    # An agency with no name on file, so the draft carries no text at all (a named agency
    # would put "Referrer: <agency>." in it).
    unnamed = add_agency(db_session, "unnamed", "", AgencyKind.SCHOOL)
    author = subject_of(make_user(db_session, agency=unnamed))
    draft = service.create_draft(db_session=db_session, author=author, referral_in=ReferralCreate())
    assert draft.status is ReferralStatus.DRAFT and draft.version == 1
    submitted = service.submit(
        db_session=db_session, author=author, referral_ref=draft.referral_ref
    )
    # absence of information must not delay a referral (research-notes §3.1)
    assert submitted.status is ReferralStatus.SUBMITTED
    assert submitted.destination == FRONT_DOOR
    assert submitted.check_result is None and submitted.check_score is None


def test_a_poor_referral_is_sent_with_its_check_stored_not_held_back(
    db_session: Session, author: AuthSubject
) -> None:
    draft = service.create_draft(
        db_session=db_session,
        author=author,
        referral_in=ReferralCreate(
            concern_narrative="There are some concerns about Kai. He appears tired."
        ),
    )
    sent = service.submit(db_session=db_session, author=author, referral_ref=draft.referral_ref)
    assert sent.status is ReferralStatus.SUBMITTED
    assert sent.check_score is not None and sent.check_score < 30
    assert sent.check_result is not None
    assert {v["kind"] for v in sent.check_result["vague_phrases"]} >= {"unquantified", "hedged"}
    assert sent.submitted_by == author.actor and sent.submitted_at is not None


def test_a_full_referral_reads_as_one_text_and_checks_well(db_session: Session) -> None:
    school = add_agency(db_session, "school", "Oakfield Primary School", AgencyKind.SCHOOL)
    record = build_child_record(db_session, as_of=AS_OF)
    # The referrer is the school's, which holds a record of the child (so may link them).
    link(db_session, record, record.child, school)
    author = subject_of(make_user(db_session, agency=school))
    draft = service.create_draft(
        db_session=db_session,
        author=author,
        referral_in=ReferralCreate(
            referrer_name="Sarah Okafor",
            referrer_role="Designated Safeguarding Lead",
            referrer_agency_code=school.code,
            referrer_phone="020 8765 4321",
            referrer_email="s.okafor@oakfield.sch.uk",
            children=[
                ReferralChildIn(
                    person_id=record.child.public_id,
                    given_name="Mia",
                    family_name="Thompson",
                    date_of_birth=dt.date(2018, 6, 14),
                )
            ],
            household=[
                HouseholdMemberIn(
                    name="Kelly Thompson", relationship="mother", lives_with_child=True
                ),
                HouseholdMemberIn(
                    name="Dean Hill", relationship="mother's partner", lives_with_child=True
                ),
            ],
            child_location="Mia is currently in school until 15:15.",
            concern_narrative="Today at 09:10 I saw a 3 cm bruise on Mia's cheek in the classroom.",
            child_voice='Mia said, "Dean pushed me into the door."',
            referrer_analysis="I am worried that Mia will be hurt again if nothing changes.",
            requested_response=RequestedResponse.STRATEGY_DISCUSSION_S47,
            level_of_need=4,
            parents_awareness=ParentsAwareness.NOT_INFORMED,
            reason_not_informed="Telling her mother could place Mia at risk.",
            communication_needs="English is Mia's first language.",
        ),
    )
    text = service.referral_text(draft, agency_name="Oakfield Primary School")
    assert "Child: Mia Thompson, DOB 14/06/2018" in text
    assert "I request a strategy discussion (s47)." in text
    result = service.check_referral(
        db_session=db_session, referral=draft, as_of=AS_OF, viewer=author
    )
    assert result is not None
    for element in ("R1", "R2", "R4", "R7", "R13", "R15", "R16", "R18"):
        assert result.elements[element].status == "present", element
    assert (
        result.cross_checks is not None and result.cross_checks.child_id == record.child.public_id
    )


def test_a_submitted_referral_cannot_change_and_a_correction_is_a_new_version(
    db_session: Session,
    author: AuthSubject,
) -> None:
    draft = service.create_draft(
        db_session=db_session,
        author=author,
        referral_in=ReferralCreate(concern_narrative="First."),
    )
    ref = draft.referral_ref
    service.update_draft(
        db_session=db_session,
        author=author,
        referral_ref=ref,
        referral_in=ReferralUpdate(concern_narrative="First, edited."),
    )
    sent = service.submit(db_session=db_session, author=author, referral_ref=ref)
    assert sent.concern_narrative == "First, edited."
    with pytest.raises(ReferralImmutableError):
        service.update_draft(
            db_session=db_session,
            author=author,
            referral_ref=ref,
            referral_in=ReferralUpdate(),
        )
    with pytest.raises(service.ReferralStateError):
        service.submit(db_session=db_session, author=author, referral_ref=ref)
    correction = service.correct(
        db_session=db_session,
        author=author,
        referral_ref=ref,
        correction=ReferralCorrection(
            concern_narrative="Corrected date.",
            correction_reason="wrong date given",
        ),
    )
    assert (correction.version, correction.status) == (2, ReferralStatus.DRAFT)
    assert correction.supersedes_id == sent.id
    with pytest.raises(service.ReferralStateError):
        service.correct(
            db_session=db_session,
            author=author,
            referral_ref=ref,
            correction=ReferralCorrection(correction_reason="again"),
        )
    service.submit(db_session=db_session, author=author, referral_ref=ref)
    history = repository.versions(db_session, reader=author, referral_ref=ref, now=utc_now())
    assert [(v.version, v.status, v.concern_narrative) for v in history] == [
        (1, ReferralStatus.SUBMITTED, "First, edited."),
        (2, ReferralStatus.SUBMITTED, "Corrected date."),
    ]
    assert service.to_read(db_session, history[1], reader=author).supersedes_version == 1


def test_the_database_layer_refuses_edits_to_a_submitted_version(
    db_session: Session, author: AuthSubject
) -> None:
    draft = service.create_draft(
        db_session=db_session,
        author=author,
        referral_in=ReferralCreate(concern_narrative="Sent."),
    )
    sent = service.submit(db_session=db_session, author=author, referral_ref=draft.referral_ref)
    sent.concern_narrative = "Quietly changed."
    with pytest.raises(ReferralImmutableError):
        db_session.flush()
    db_session.rollback()


def test_unknown_agency_or_person_is_a_clear_refusal(
    db_session: Session, author: AuthSubject
) -> None:
    with pytest.raises(service.ReferralStateError, match="no agency with code"):
        service.create_draft(
            db_session=db_session,
            author=author,
            referral_in=ReferralCreate(referrer_agency_code="no-such-agency"),
        )
    with pytest.raises(service.ChildNotFoundError):
        service.create_draft(
            db_session=db_session,
            author=author,
            referral_in=ReferralCreate(
                children=[
                    ReferralChildIn(
                        person_id="00000000-0000-4000-8000-000000000000", given_name="Mia"
                    )
                ],
            ),
        )
    with pytest.raises(service.ReferralNotFoundError):
        service.submit(db_session=db_session, author=author, referral_ref="nope")
