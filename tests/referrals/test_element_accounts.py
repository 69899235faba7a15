"""Issue 17, partial as a first-class judgement: a mention of an element is not a full account.
Each test fails without the rule change it names (referral_standard.yaml 2026.12.3-2026.12.5,
language_cues.yaml 2026.12.2, the ``a&b`` same-sentence condition in checker.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from fullpicture.referrals.checker import (
    analyse_referral_text,
    check_from_analysis,
    check_referral_text,
)
from fullpicture.referrals.dates import resolve_day
from fullpicture.referrals.rulebook import ReferralStandard, default_rulebook

DAY = dt.date(2026, 11, 23)  # a Monday


def _status(text: str, element: str, day: dt.date = DAY) -> str:
    return check_referral_text(text, referral_date=day).elements[element].status


# -- R9: a history named is not a history described --------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Known to services previously, not sure why. Leo is 7.",
        "There have been previous attendances at the address. Leo is 7.",
        "I have logged this on CPOMS. Leo is 7.",
    ],
)
def test_a_history_only_named_is_partial_and_asks_for_what_and_when(text: str) -> None:
    finding = check_referral_text(text, referral_date=DAY).elements["R9"]
    assert finding.status == "partial"
    assert "named but not described" in (finding.question or "")
    assert finding.spans, "the partial keeps its evidence"


@pytest.mark.parametrize(
    "text",
    [
        "Mr Collier has a history of domestic abuse in previous relationships.",
        "The family had Early Help in the past.",
        "Previous attendances: one previous attendance with self-harm in 2024.",
        "He was on a child protection plan.",
        "No previous concerns are known to us.",
    ],
)
def test_a_history_with_what_or_when_in_the_same_sentence_is_present(text: str) -> None:
    assert _status(text, "R9") == "present"


def test_the_history_and_its_detail_must_be_one_statement() -> None:
    # "previous" in one sentence and "school" in another are not a described history.
    text = "This is a previous address. Leo goes to Hill Primary School."
    assert _status(text, "R9") == "partial"


# -- R13: what is feared, with how likely or serious, is the analysis --------------------------


@pytest.mark.parametrize(
    "text",
    [
        "My assessment: Maisie is at moderate risk of further self-harm.",
        "There is a risk of spreading facial infection requiring hospital admission if treatment "
        "is delayed.",
        "What worries me is that the home environment is driving her distress.",
    ],
)
def test_a_qualified_risk_or_an_analysis_is_present(text: str) -> None:
    assert _status(text, "R13") == "present"


def test_a_bare_worry_is_partial_and_a_reported_concern_is_not_the_referrers() -> None:
    assert _status("I have concerns about how Amira will cope.", "R13") == "partial"
    # Someone else's concern about a topic is not the referrer's analysis, nor a worry of theirs.
    assert _status("School has raised concerns about his teeth with mother.", "R13") == "absent"


# -- dates without a year, and the day of the call is not an event ------------------------------


def test_a_day_and_month_without_a_year_is_the_last_such_day() -> None:
    assert resolve_day("12/05", dt.date(2025, 6, 2)) == dt.date(2025, 5, 12)
    assert resolve_day("20/12", dt.date(2026, 1, 10)) == dt.date(2025, 12, 20)
    assert resolve_day("31/02", DAY) is None


def test_undated_day_and_month_lists_make_a_dated_history_and_no_fraction_is_a_date() -> None:
    text = (
        "Things I have noticed:\n- 12/10: Noah said he was not allowed his tea.\n"
        "- 19/10: he was upset at home time.\nHe is in class now."
    )
    assert _status(text, "R9") == "present"
    assert _status("He sees her 3/4 times a week and she is on call 24/7.", "R20") == "absent"


def test_the_day_a_call_was_received_is_not_the_latest_event() -> None:
    text = "Phone call received 23/11 - Contact Centre. The caller is worried about the children."
    assert _status(text, "R20") == "absent"


# -- the same-sentence condition ----------------------------------------------------------------


def test_a_same_sentence_condition_names_known_groups_only() -> None:
    raw = default_rulebook().standard.model_dump()
    raw["elements"]["R12"]["present_when"] = [["action&no_such_group"]]
    with pytest.raises(ValueError, match="no_such_group"):
        ReferralStandard.model_validate(raw)


def test_a_same_sentence_condition_is_read_from_the_rule() -> None:
    rule = default_rulebook().standard.elements["R9"]
    assert "history_named&history_what" in rule.together


def test_a_date_alone_on_its_line_is_when_the_letter_was_written() -> None:
    letter = "28/07/25\n\nDear Sir or Madam,\nI write about Leo, aged 7, who misses his reviews."
    assert _status(letter, "R20", dt.date(2025, 7, 28)) == "absent"
    header = "Front Door - call log 20/06\nCaller says the children are left alone."
    assert _status(header, "R20", dt.date(2025, 6, 20)) == "absent"
    # A form's answer on the line after its question is the event's date.
    form = "Date of incident:\n20/06/2025\nLeo had a bruise on his cheek."
    assert _status(form, "R20", dt.date(2025, 6, 20)) == "present"


def test_a_time_with_what_was_seen_is_a_specific_account_by_the_rules_alone() -> None:
    text = "At approx 23:00 I saw him in the kitchen holding a knife."
    book = default_rulebook()
    analysis = analyse_referral_text(text, referral_date=DAY, rulebook=book)
    check = check_from_analysis(analysis, referral_date=DAY, rulebook=book, element_model=None)
    assert check.elements["R5"].status == "present"


# -- R7: an adult named with her age is not the child -------------------------------------------


def test_a_mother_referred_with_her_age_is_not_the_childs_voice() -> None:
    text = (
        "I am writing to refer Amira Hassan, aged 19, who is 33 weeks pregnant. "
        'She said the father was "someone from college" and she does not want him told.'
    )
    assert _status(text, "R7") != "present"


def test_a_child_named_with_her_age_still_speaks() -> None:
    text = 'I am writing to refer Mia Hassan, aged 9. She said "Mum hits me when she is angry".'
    assert _status(text, "R7") == "present"


# -- R12: actions written in the passive or as advice given -------------------------------------


def test_an_action_in_the_passive_with_its_result_is_present() -> None:
    text = "Her sister was contacted and collected Casey at 17:40."
    assert _status(text, "R12") == "present"


def test_advice_given_without_a_result_is_partial() -> None:
    assert _status("Advised to speak to the health visitor.", "R12") == "partial"


# -- R8: what is seen in the child ---------------------------------------------------------------


def test_a_child_seen_jumpy_and_upset_is_a_specific_effect() -> None:
    assert _status("He was jumpy and upset at home time.", "R8") == "present"


# -- R6: what no one is named as the source of -------------------------------------------------


def test_a_source_mixed_with_talk_no_one_owns_is_partial() -> None:
    text = "I saw a bruise on his arm. Everyone knows the stepfather drinks."
    finding = check_referral_text(text, referral_date=DAY).elements["R6"]
    assert finding.status == "partial"
    assert "no source" in (finding.question or "")


# -- R10: the referrer asked ----------------------------------------------------------------------


def test_an_adult_factors_section_or_a_routine_enquiry_is_the_referrer_asking() -> None:
    section = "Adult factors: mother had low mood at the six-week check and is on sertraline."
    assert _status(section, "R10") == "present"
    enquiry = "DA routine enquiry: mother said he has never hit her."
    assert _status(enquiry, "R10") == "present"
    # One factor in passing, with no asking, is still one factor of four.
    assert _status("Mother had low mood after the birth.", "R10") == "partial"
