"""Issue 17, element rules from error analysis on the corpus's train and dev splits
(referral_standard.yaml 2026.12.6). Each test fails on the rules of 2026.12.5."""

from __future__ import annotations

import datetime as dt

import pytest

from fullpicture.referrals.checker import check_referral_text

DAY = dt.date(2026, 11, 23)  # a Monday


def _status(text: str, element: str) -> str:
    return check_referral_text(text, referral_date=DAY).elements[element].status


# -- R17: a second professional's view recorded beside the referrer's --------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The account does not explain the injury in my opinion or that of the consultant.",
        "Both Dr Greenwood and I consider inflicted injury likely.",
        "I have discussed this with our safeguarding lead, Dr Rosen, and we consider it meets "
        "the threshold for neglect.",
        "Discussed in safeguarding supervision on 29/01 (supervisor, Dr Hanif), agreed to refer.",
    ],
)
def test_another_professionals_view_recorded_as_the_same_is_present(text: str) -> None:
    finding = check_referral_text(text, referral_date=DAY).elements["R17"]
    assert finding.status == "present"
    assert finding.spans, "the statement is the evidence"


@pytest.mark.parametrize(
    "text",
    [
        # A discussion says nothing of anyone's view.
        "Case discussed with the consultant. Skeletal survey planned.",
        # A parent agreeing is consent (R15), not a professional view.
        "Discussed with mum: she is aware and agrees.",
        # An escalation of the risk is the analysis (R13), not the escalation protocol.
        "This is a serious escalation: covert contact with the child.",
    ],
)
def test_a_discussion_a_parents_agreement_or_a_rising_risk_is_not_a_professional_view(
    text: str,
) -> None:
    assert _status(text, "R17") == "absent"


# -- R9: a hint of history is a history hinted at, not a word of time ---------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Caller rang off before further details could be taken.",
        "Request: an assessment of home safety before discharge.",
        "He has them round for Sunday dinner now and again.",
        "Caller is happy to be contacted again.",
        "Craig moved in with Leanne in the last month or so.",
    ],
)
def test_words_of_time_are_not_a_history(text: str) -> None:
    assert _status(text, "R9") == "absent"


def test_a_parent_unknown_to_the_writer_is_not_a_family_unknown_to_services() -> None:
    assert _status("Dad – not known to setting.", "R9") != "present"
    assert _status("The family is not known to children's services.", "R9") == "present"


@pytest.mark.parametrize(
    "text",
    [
        "He has had a couple of other marks over the past few months.",
        "He is on a suspended sentence for similar.",
        "There were some concerns about the family when Tia was in primary.",
        "He has attended a few times this year with various bits and bobs.",
        "Dad says social services never do anything and that he has rung before.",
    ],
)
def test_an_earlier_episode_mentioned_without_when_or_what_is_partial(text: str) -> None:
    finding = check_referral_text(text, referral_date=DAY).elements["R9"]
    assert finding.status == "partial"
    assert finding.spans, "the hint is the evidence"
