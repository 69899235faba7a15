"""Issue 17, the element judgements (referral_standard.yaml 2026.12.8): present, partial and
absent as the annotation guide and the corpus's settlement notes read them, from the errors of
the corpus's train split (dev the check). Each rule has an example that fires and one that does
not."""

from __future__ import annotations

import datetime as dt

import pytest

from fullpicture.referrals.checker import check_referral_text

DAY = dt.date(2026, 11, 23)  # a Monday


def _finding(text: str, element: str) -> tuple[str, str | None]:
    finding = check_referral_text(text, referral_date=DAY).elements[element]
    return finding.status, finding.question


# -- R15: the parents not told is partial without a reason, present with one ------------------


@pytest.mark.parametrize(
    "text",
    [
        "Parent aware: No - Molly asked me not to tell mum.",
        "I have not discussed this referral with Jade or her mother yet as I am concerned it "
        "will affect her engagement.",
        "Parents informed of referral: No - unable to contact.",
        "I couldn't tell her because she would tell me not to.",
        "She does not want her brother to know she rang.",
    ],
)
def test_parents_not_told_with_the_reason_is_present(text: str) -> None:
    assert _finding(text, "R15")[0] == "present"


@pytest.mark.parametrize(
    "text",
    [
        "We have not discussed the referral with Ethan or his mum yet.",
        "Parents aware: No",
        "Parent informed? - No",
        "Mum is aware school has concerns. Not told about this referral specifically.",
    ],
)
def test_parents_not_told_without_a_reason_is_partial(text: str) -> None:
    status, question = _finding(text, "R15")
    assert status == "partial"
    assert question is not None and "why not" in question


@pytest.mark.parametrize(
    "text",
    [
        "Mum is aware.",
        "Parents are aware of this referral.",
        "I told Hollie I would need to let someone know because I'm worried about her.",
        "Mum got quite defensive when I said I'd have to pass this on, but she understands.",
        "She agreed to our sharing information with you.",
    ],
)
def test_the_parent_told_or_agreeing_is_present(text: str) -> None:
    assert _finding(text, "R15")[0] == "present"


def test_a_parent_aware_of_the_injury_is_not_aware_of_the_referral() -> None:
    assert _finding("Mum is aware of the bruise on his arm.", "R15")[0] == "absent"


def test_what_the_parent_said_about_the_concern_is_their_view_only() -> None:
    status, question = _finding("Mum said he fell off his bike at the weekend.", "R15")
    assert status == "partial"
    assert question is not None and "do they know about this referral" in question


def test_a_parent_quoted_by_the_child_is_not_the_parents_view() -> None:
    text = 'Ava told me: "mum says I\'m the reason dad left."'
    assert _finding(text, "R15")[0] == "absent"


# -- R13: what is feared next is the analysis; unease or a trend alone is partial --------------


@pytest.mark.parametrize(
    "text",
    [
        "I'm also worried the hostility could tip into physical harm.",
        "I'm just worried this will keep happening and next time could be worse.",
        "Until the medication is reviewed I think this could happen again any afternoon.",
        "Being held during the assault puts her at direct risk of physical harm.",
        "I am not confident the children are safe at the weekend.",
        "I don't think this will change without help.",
        "Please assess whether he is safe at home.",
    ],
)
def test_what_is_feared_next_is_the_analysis_of_risk(text: str) -> None:
    assert _finding(text, "R13")[0] == "present"


@pytest.mark.parametrize(
    "text",
    [
        "I'm not worried she would hurt him, but things are being missed.",
        "We are concerned he may have relapsed.",
        "I have not told mum yet as I am concerned it will affect her engagement.",
    ],
)
def test_a_denied_worry_a_guess_at_the_past_or_a_worry_about_the_referral_is_not(
    text: str,
) -> None:
    assert _finding(text, "R13")[0] != "present"


@pytest.mark.parametrize(
    "text",
    [
        "Something doesn't seem right at home.",
        "His attendance is not improving.",
        "It has gone on too long.",
        "He is heading down the wrong path.",
    ],
)
def test_unease_or_a_trend_alone_is_a_partial_analysis_asking_what_is_feared(text: str) -> None:
    status, question = _finding(text, "R13")
    assert status == "partial"
    assert question is not None and "what do you think will happen" in question


# -- R7: a child named with a school year or an age written another way is the child ------------


@pytest.mark.parametrize(
    "text",
    [
        'Harley (Y5, DOB 30/01/2016) lives with mum. Harley told his teacher there was "no bread".',
        'I saw Lola (Year 9, Kelsham High) today. Lola said her mum is "not well again".',
        'Tyrese ANDERSON-BLAKE, 15yrs, was stopped in a car. Tyrese said he was "just getting a '
        'lift".',
        'YP: Kayden MOORE, 14\nKayden says it\'s "rubbish" and there is nowhere to do anything.',
    ],
)
def test_a_child_named_with_a_school_year_or_an_age_is_quoted_as_the_child(text: str) -> None:
    assert _finding(text, "R7")[0] == "present"


@pytest.mark.parametrize(
    "text",
    [
        'Gary Stott, 34\nGary said "leave it, she is fine".',
        'Lodger: Dean Price, 41yrs. Dean said "nothing happened".',
    ],
)
def test_an_adult_named_with_an_age_is_not_the_child(text: str) -> None:
    assert _finding(text, "R7")[0] != "present"


# -- R8: what was seen of the child's body or care is the specific account ---------------------


@pytest.mark.parametrize(
    "text",
    [
        "On examination he had a torn frenum and some bruising to his upper lip.",
        "Baby had a small bruise on the side of his face; he seemed settled, feeding ok.",
        "He is always starving and comes to training with no coat.",
    ],
)
def test_what_was_seen_of_the_child_is_a_specific_effect(text: str) -> None:
    assert _finding(text, "R8")[0] == "present"


def test_no_marks_seen_is_not_a_mark() -> None:
    assert _finding("He was checked and no bruises or marks were seen.", "R8")[0] == "absent"


def test_an_impact_in_general_words_is_partial_asking_what_is_seen() -> None:
    status, question = _finding("I think this is affecting him.", "R8")
    assert status == "partial"
    assert question is not None and "what exactly do you see" in question


# -- R4: where the child is living now, or was taken, is where the child is ---------------------


@pytest.mark.parametrize(
    "text",
    [
        "Current address: Temporary accommodation – Station Lodge, Room 9.",
        "They are being evicted and are now all staying in one room at a friend's house.",
        "Conveyed to Royal General ED with dad.",
    ],
)
def test_where_the_child_is_living_now_or_was_taken_is_present(text: str) -> None:
    assert _finding(text, "R4")[0] == "present"


def test_a_previous_address_is_not_where_the_child_is() -> None:
    assert _finding("Previous address: 14 Larch Close, Brookfield.", "R4")[0] == "absent"


# -- R12: the result of an attempt, or what came of asking, completes the action ---------------


@pytest.mark.parametrize(
    "text",
    [
        "We have tried warning letters and an acceptable behaviour contract, but nothing has "
        "changed.",
        "Several letters have been sent and visits made with no response.",
        "I discussed it with my manager today, who said I should refer it to you.",
        "He denied thoughts of self-harm when asked.",
    ],
)
def test_an_action_with_its_result_is_present(text: str) -> None:
    assert _finding(text, "R12")[0] == "present"


def test_an_action_without_its_result_is_partial_asking_what_came_of_it() -> None:
    status, question = _finding("We gave mum the number for the Samaritans.", "R12")
    assert status == "partial"
    assert question is not None and "what happened as a result" in question


# -- R14: attendance or care kept up, or a named helper nearby, is a specific strength ----------


@pytest.mark.parametrize(
    "text",
    [
        "Alfie has attended regularly and his teeth are well cared for.",
        "He's a good lad, never misses training.",
        "Maternal gran Pat Brennan (01632 960775) 5 mins away, supportive.",
        "Mum is attending Horizon alcohol service.",
    ],
)
def test_attendance_kept_up_or_a_helper_nearby_is_a_specific_strength(text: str) -> None:
    assert _finding(text, "R14")[0] == "present"


def test_global_words_alone_are_a_partial_strength_asking_what_is_seen() -> None:
    status, question = _finding("Mum is loving and they have a good relationship.", "R14")
    assert status == "partial"
    assert question is not None and "what do you actually see" in question
