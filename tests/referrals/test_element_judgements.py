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


# -- R10: an adult factor named in a clinician's or a service's words is addressed ------------


@pytest.mark.parametrize(
    "text",
    [
        "Mum has a diagnosis of bipolar disorder and is under the community team.",
        "Dad has a long history of opioid dependence and is on a methadone script.",
        "Mum is open to the drug service.",
        "Police records show two domestic incidents at the address last year involving mum.",
        "His mother has schizoaffective disorder.",
    ],
)
def test_an_adult_factor_in_clinical_or_service_words_is_addressed(text: str) -> None:
    status, question = _finding(text, "R10")
    assert status == "partial"
    assert question is not None


def test_the_childs_own_diagnosis_is_not_an_adult_factor() -> None:
    assert (
        _finding("Kayden has been referred to CAMHS for possible bipolar disorder.", "R10")[0]
        == "absent"
    )


# -- R16: a generic ask in the referrer's words is partial; "check if known" is a response -----


@pytest.mark.parametrize(
    "text",
    [
        "Can someone look into it please.",
        "Somebody needs to check on that baby before something happens.",
        "Please could this be looked into.",
        "Please do something.",
        "Crew concerned re the delay in calling for help. Please follow up.",
    ],
)
def test_a_generic_ask_is_partial_asking_which_response(text: str) -> None:
    status, question = _finding(text, "R16")
    assert status == "partial"
    assert question is not None and "which response" in question


def test_contact_details_are_not_an_ask() -> None:
    assert _finding("Please contact me on 07700 900123 if you need more.", "R16")[0] == "absent"


def test_asking_whether_the_family_is_known_is_a_named_response() -> None:
    assert _finding("Not sure what to make of it. Can you check if known?", "R16")[0] == "present"


def test_a_carers_treatment_counts_without_the_word_parent() -> None:
    status, _ = _finding("Gary Hollis is on a methadone script.", "R10")
    assert status == "partial"


# -- R17: a form's "no difference of view" is the explicit statement that there is none --------


@pytest.mark.parametrize(
    "text",
    [
        "No difference of professional view at this point.",
        "PROFESSIONAL DIFFERENCE: None - CMHT and school share the same concern.",
        "The panel recommended a penalty notice. I do not agree, and my manager supports me.",
    ],
)
def test_no_difference_of_view_or_a_disagreement_is_addressed(text: str) -> None:
    assert _finding(text, "R17")[0] == "present"


# -- R18: SEND and language in the words forms use --------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Shaquille has SEN (ADHD, on our SEN register).",
        "Kerry-Ann is English speaking. She has hearing loss in her left ear.",
        "Jayden is dyslexic and hates forms.",
    ],
)
def test_send_or_language_in_a_forms_words_is_addressed(text: str) -> None:
    assert _finding(text, "R18")[0] == "present"


def test_the_word_send_as_a_verb_is_not_send() -> None:
    assert _finding("Please send me the form when you can.", "R18")[0] == "absent"


# -- R9: a count of earlier episodes with no detail is a hint --------------------------------


def test_a_count_of_episodes_without_detail_is_a_partial_history() -> None:
    status, question = _finding("This is the 2nd time he has come in hungry.", "R9")
    assert status == "partial"
    assert question is not None


# -- R14: politeness, cooperation or one day's presentation are global words ------------------


@pytest.mark.parametrize(
    "text",
    [
        "Mum is always polite with staff.",
        "Mother engaged well with officers.",
        "He was appropriately dressed and clean.",
        "She is normally a bubbly girl with lots of friends.",
    ],
)
def test_politeness_or_one_days_presentation_is_a_partial_strength(text: str) -> None:
    status, question = _finding(text, "R14")
    assert status == "partial"
    assert question is not None


def test_a_denied_courtesy_is_not_a_strength() -> None:
    assert _finding("Dad was not polite or cooperative with the crew.", "R14")[0] == "absent"


# -- R15: a form's "Does the family know …? No" is not told, with no reason --------------------


def test_a_form_answering_that_the_family_does_not_know_is_partial() -> None:
    status, question = _finding("Does the family know you are contacting us? No", "R15")
    assert status == "partial"
    assert question is not None and "why not" in question


# -- R4: the immediate safety arrangement: left in a parent's care, the adult not allowed back ---


@pytest.mark.parametrize(
    "text",
    [
        "Child left in care of father as no immediate risk identified.",
        "Dad has bail conditions and is not allowed back to the address.",
        "The children are at home with their grandmother.",
    ],
)
def test_a_current_safety_arrangement_is_where_the_child_is(text: str) -> None:
    assert _finding(text, "R4")[0] == "present"


def test_a_general_school_day_is_not_where_the_child_is_now() -> None:
    assert _finding("The children are in school most days and doing well.", "R4")[0] == "absent"


# -- R7: the child too young to be asked is the reason the voice could not be obtained -------


def test_a_child_too_young_to_ask_is_the_reason_for_no_voice() -> None:
    assert _finding("VOICE OF THE CHILD: Not obtained - child too young.", "R7")[0] == "present"


# -- R2: an age on a form line, a guessed age or an age group identifies the child ------------


@pytest.mark.parametrize(
    "text",
    [
        "Name of child: Tyler | Age: 10 | Address: not known",
        "Could not say the boy's age, maybe 16.",
        "Child's name: Haleema (U16s)",
        "Child: Lola GRAY, 6 (our area).",
    ],
)
def test_an_age_without_a_date_of_birth_is_partial(text: str) -> None:
    status, question = _finding(text, "R2")
    assert status == "partial"
    assert question is not None


# -- R1: a role alone, in the words practitioners sign with, is partial -----------------------


@pytest.mark.parametrize(
    "text",
    [
        "Thanks, Dan, Paramedic, Eastbury Ambulance Station",
        "Sharon (Teaching Assistant), 04/02",
        "Kerry (EH family worker)",
        "Yours sincerely, Dr A. Patel",
    ],
)
def test_a_role_without_a_number_is_partial(text: str) -> None:
    status, question = _finding(text, "R1")
    assert status == "partial"
    assert question is not None


# -- R14 (2026.12.19): a sign-off, a willingness or a name is not a strength ---------------------


@pytest.mark.parametrize(
    "text",
    [
        "Kind regards,\nJo Barker",
        "Happy to be contacted on the number above.",
        "I am happy for my name to be shared with the family.",
        "From: Happy Days Nursery <office@example.org>",
        "Kind wishes, the Sunflower Room team",
    ],
)
def test_a_sign_off_a_willingness_or_a_name_is_not_a_strength(text: str) -> None:
    assert _finding(text, "R14")[0] == "absent"


@pytest.mark.parametrize(
    "text",
    ["She is a kind and happy girl.", "Dad is kind with the baby.", "He seems happy at home."],
)
def test_happy_or_kind_said_of_the_child_or_family_stays_a_global_strength(text: str) -> None:
    assert _finding(text, "R14")[0] == "partial"


# -- R13 (2026.12.20): the feared harm said with a noun, a level with its basis, and unease -----
# -- only in the referrer's own words -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "My fear is she will go back to him and the baby will be there when he drinks.",
        "The worry is he could take the children out of the country before the hearing.",
        "This is a high-risk presentation given the ligature found in her bedroom.",
        "We think this is a serious risk because he has access to the knives in the flat.",
    ],
)
def test_the_feared_harm_or_a_level_with_its_basis_is_the_analysis(text: str) -> None:
    assert _finding(text, "R13")[0] == "present"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A guess at what has happened, not what is feared next.
        ("The fear is he may have been drinking that night.", "absent"),
        # A level alone (guide R13 partial).
        ("Risk: high.", "partial"),
        ("High risk.", "partial"),
    ],
)
def test_a_guess_at_the_past_or_a_bare_level_is_not_the_analysis(text: str, expected: str) -> None:
    assert _finding(text, "R13")[0] == expected


def test_unease_quoted_from_someone_else_is_not_the_referrers_worry() -> None:
    text = 'The neighbour said it was "just not right, nobody should live like that".'
    assert _finding(text, "R13")[0] == "absent"
    assert _finding("It just doesn't feel right to me.", "R13")[0] == "partial"


# -- R9, R12, R13 (2026.12.21): what a full account needs, read by kind -------------------------


@pytest.mark.parametrize(
    "text",
    [
        # "before" closing a quotation or a hedged clause hints at a history (guide R9 partial).
        'Caller thinks there was "something with Lee before" but does not know what.',
        "She has missed appointments before I think.",
    ],
)
def test_before_closing_a_quotation_or_a_hedge_hints_at_a_history(text: str) -> None:
    assert _finding(text, "R9")[0] == "partial"


@pytest.mark.parametrize(
    "text",
    [
        # "the week before" dates the present concern; it is not an earlier one.
        'Could not say when she last saw it: "last week sometime? or the week before".',
        'He said it happened "the night before".',
    ],
)
def test_a_day_or_week_before_is_a_date_not_a_history(text: str) -> None:
    assert _finding(text, "R9")[0] == "absent"


@pytest.mark.parametrize(
    "text",
    [
        "Caller rang off before further information could be obtained.",
        "Caller (declined to give name) says a girl on the estate is out late.",
        "Caller refused to give her surname.",
    ],
)
def test_a_caller_hanging_up_or_withholding_a_name_is_no_action_or_result(text: str) -> None:
    assert _finding(text, "R12")[0] == "absent"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I rang mum this morning and she declined any help.", "present"),
        ("We rang the family on Monday.", "partial"),
    ],
)
def test_ringing_and_declining_help_stay_an_action_and_a_result(text: str, expected: str) -> None:
    assert _finding(text, "R12")[0] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A level denied is a level (guide R13 partial), not the referrer's analysis.
        ("Child left in care of father as no immediate risk identified.", "partial"),
        # Advice on what to do if a risk arises says nothing of the referrer's own worry.
        ("Advised caller to ring 999 if she sees the girl at immediate risk.", "absent"),
    ],
)
def test_a_level_denied_or_in_advice_is_not_the_analysis(text: str, expected: str) -> None:
    assert _finding(text, "R13")[0] == expected


def test_an_immediate_risk_stated_is_still_the_analysis() -> None:
    assert _finding("There is an immediate risk to the baby tonight.", "R13")[0] == "present"


@pytest.mark.parametrize(
    "text",
    [
        # A need named, or unease in the verb's other forms, with nothing of what is feared.
        "I think he could do with some support as a young carer.",
        "I think she needs more support than we can give.",
        "The bruises and Mia's words worry me.",
        "It just didn't sit right with any of us.",
        "My nurse felt uncomfortable about this.",
    ],
)
def test_a_need_or_unease_in_other_words_is_a_bare_worry(text: str) -> None:
    assert _finding(text, "R13")[0] == "partial"


# -- R15 (2026.12.22): a colleague's advice to refer is not the parents knowing ----------------


@pytest.mark.parametrize(
    "text",
    [
        "Mum said he fell. I discussed it with my manager today, who said I should refer it to you.",
        "Mum said he fell. Spoke to our area safeguarding adviser who said to refer.",
        "Mum said he fell. Your duty worker told me the police would be informed and that I should "
        "put the referral in writing.",
        "Mum said he fell. I can get her address, it's on our consent form.",
    ],
)
def test_advice_to_refer_or_a_consent_form_is_not_the_parents_awareness(text: str) -> None:
    assert _finding(text, "R15")[0] == "partial"


@pytest.mark.parametrize(
    "text",
    [
        "I have told mum that I am making this referral.",
        "Mum gave consent for us to share this.",
        "I explained to dad that we would be contacting you and he agreed.",
    ],
)
def test_the_parents_told_or_consenting_stays_awareness(text: str) -> None:
    assert _finding(text, "R15")[0] == "present"


# -- referral_standard 2026.12.25: R13 trends and grounds, R12 attempts, R8 in other words -----


@pytest.mark.parametrize(
    "text",
    [
        "The state of the flat has got worse since the spring.",
        "Her weight shows a steady deterioration over the last two clinics.",
        "Sam's school attendance is worsening.",
        "Given the baby in the household, I felt you needed to know about this.",
        "We ask that you review the family given the number of police call-outs.",
    ],
)
def test_a_trend_or_the_grounds_of_the_referral_is_a_bare_worry(text: str) -> None:
    status, question = _finding(text, "R13")
    assert status == "partial"
    assert question is not None and "what you fear" in question


@pytest.mark.parametrize(
    "text",
    [
        "Mum gave her the bottle at ten o'clock.",
        "Given the chance, he talks about football all day.",
    ],
)
def test_given_without_grounds_for_the_referral_is_no_worry(text: str) -> None:
    assert _finding(text, "R13")[0] == "absent"


@pytest.mark.parametrize(
    "text",
    [
        "Dad doesn't answer our calls.",
        "The parents do not reply to the letters or the texts we send.",
        "Mum never answers when we phone.",
    ],
)
def test_an_attempt_to_reach_the_family_with_no_answer_is_an_action_and_its_result(
    text: str,
) -> None:
    assert _finding(text, "R12")[0] == "present"


@pytest.mark.parametrize(
    "text",
    [
        "Asked about the bruise, he looked away and didn't answer.",
        "Jo did not reply when the teacher called her name.",
    ],
)
def test_a_child_not_answering_a_question_is_no_attempt(text: str) -> None:
    assert _finding(text, "R12")[0] == "absent"


@pytest.mark.parametrize(
    "text",
    [
        "I have concerns about how thin Tyler has become.",
        "We have worries about the state of her uniform.",
    ],
)
def test_the_referrers_concerns_are_not_an_action(text: str) -> None:
    assert _finding(text, "R12")[0] == "absent"


def test_a_step_taken_with_i_have_stays_an_action() -> None:
    assert _finding("I have spoken to the school nurse.", "R12")[0] == "partial"


@pytest.mark.parametrize(
    "text",
    [
        "On arrival Ruby was floppy and vomiting.",
        "Examined at 14:00: unresponsive to voice, pinpoint pupils.",
        "Kai was kept off school on Monday and Tuesday.",
        "Zara is missing a lot of education this term.",
        "Ivy should have been at school but was at the shops with her uncle.",
    ],
)
def test_the_childs_state_in_a_clinicians_or_the_schools_words_is_specific(text: str) -> None:
    assert _finding(text, "R8")[0] == "present"


@pytest.mark.parametrize(
    "text",
    [
        "Mum was vomiting and could not stand.",
        "cc Children Missing Education Officer",
    ],
)
def test_an_adults_state_or_a_job_title_is_not_the_childs_state(text: str) -> None:
    assert _finding(text, "R8")[0] == "absent"


# -- referral_standard 2026.12.26: R13's analysis section and inflicted injury, R4, R8 ----------


@pytest.mark.parametrize(
    "text",
    [
        "7. ANALYSIS\nThe pattern looks like the months before his sister was removed.",
        "Impact / my worries\n- The flat where he sleeps is used for dealing.",
        "A bruise on a baby who is not yet crawling is a recognised sign of possible "
        "non-accidental injury.",
        "Ear bruising is a recognised sentinel injury in an infant.",
    ],
)
def test_an_analysis_section_or_a_recognised_sign_of_inflicted_injury_is_analysis(
    text: str,
) -> None:
    assert _finding(text, "R13")[0] == "present"


@pytest.mark.parametrize(
    "text",
    [
        "I am not certain these bruises are non-accidental.",
        "Concerns: risk of further harm if the tablets are not locked away.",
    ],
)
def test_inflicted_injury_named_or_harm_unnamed_is_a_bare_worry(text: str) -> None:
    assert _finding(text, "R13")[0] == "partial"


def test_an_analysis_word_in_a_sentence_is_no_section() -> None:
    assert _finding("The analysis of the samples is awaited.", "R13")[0] == "absent"


def test_a_child_kept_off_school_today_is_where_the_child_is() -> None:
    assert _finding("Mum has kept Amir off school today.", "R4")[0] == "present"


@pytest.mark.parametrize(
    "text",
    [
        "She was very flat and low in mood throughout.",
        "Today Ollie was quieter than usual.",
        "She went missing on Saturday night.",
        "There is a small round mark on the back of her hand.",
        "I saw old scars on both wrists.",
    ],
)
def test_the_childs_state_in_other_words_is_specific(text: str) -> None:
    assert _finding(text, "R8")[0] == "present"


def test_an_adult_low_in_mood_is_not_the_childs_state() -> None:
    assert _finding("Mum is low in mood since the birth.", "R8")[0] != "present"


@pytest.mark.parametrize(
    "text",
    [
        "My view: frequency increasing, clearly struggling since the move.",
        "My view / request\n- I don't think he is planning harm right now.",
        "I completed DASH with her on her own – 14 yes answers, including strangulation.",
        "I completed a DASH risk assessment with her, which scored 12 (medium).",
    ],
)
def test_the_referrers_view_or_a_dash_score_is_analysis(text: str) -> None:
    assert _finding(text, "R13")[0] == "present"


def test_dash_completed_alone_is_a_level() -> None:
    assert _finding("DASH completed with mum.", "R13")[0] == "partial"


def test_a_child_kept_on_site_is_the_immediate_safety_arrangement() -> None:
    text = "He is with staff; I will not let him leave until a plan is agreed."
    assert _finding(text, "R4")[0] == "present"


@pytest.mark.parametrize(
    "text",
    [
        "She came round with a big love bite on her neck.",
        "His teeth are really bad and black at the front.",
    ],
)
def test_what_was_seen_of_the_child_is_specific(text: str) -> None:
    assert _finding(text, "R8")[0] == "present"


def test_informed_by_a_named_check_is_a_source() -> None:
    text = "I have since been informed by the curfew checks that two children stay there."
    assert _finding(text, "R6")[0] != "absent"
    assert _finding("Mum informed by phone.", "R6")[0] == "absent"


# -- referral_standard 2026.12.27: from batch 4's train errors ----------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RISK ASSESSMENT (STANDARD / MEDIUM / HIGH): Unable to say – ?medium", "partial"),
        ("THRIVE: Threat – low? Harm – ?", "partial"),
        ("Risk assessment tool completed – outcome HIGH given planned travel abroad.", "present"),
        ("I'm worried this is ongoing neglect and it's getting worse.", "present"),
        ("My view of risk. The arrangement cannot hold through the holidays.", "present"),
    ],
)
def test_a_grade_its_grounds_a_trend_and_a_view_of_risk(text: str, expected: str) -> None:
    assert _finding(text, "R13")[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "17yo F admitted 09/12 with abdominal pain.",
        "She told us she now lives at her partner's flat.",
    ],
)
def test_an_admission_by_date_or_where_the_child_now_lives_is_where_the_child_is(
    text: str,
) -> None:
    assert _finding(text, "R4")[0] == "present"


@pytest.mark.parametrize(
    "text",
    [
        "Child has been quiet on the ward.",
        "At 2pm he was still in his pyjamas.",
        "Weight has dropped two centiles.",
    ],
)
def test_the_childs_state_on_the_ward_or_at_home(text: str) -> None:
    assert _finding(text, "R8")[0] == "present"


@pytest.mark.parametrize(
    "text",
    [
        "Visited today. The house was very cold.",
        "At my last home visit the kitchen was dirty again.",
        "Her nan used to help but I havent seen her for weeks.",
    ],
)
def test_the_writers_own_visit_or_what_they_have_not_seen_is_a_source(text: str) -> None:
    assert _finding(text, "R6")[0] == "present"
