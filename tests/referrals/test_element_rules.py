"""Issue 17, element rules from error analysis on the corpus's train and dev splits
(referral_standard.yaml 2026.12.6). Each test fails on the rules of 2026.12.5."""

from __future__ import annotations

import datetime as dt

import pytest

from fullpicture.referrals.checker import analyse_referral_text, check_referral_text

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


# -- R7: whose words a quotation holds (language_cues.yaml 2026.12.3) --------------------------


def _speakers(text: str) -> list[str]:
    analysis = analyse_referral_text(text, referral_date=DAY)
    return [q.speaker for q in analysis.quotations]


def test_an_emails_header_does_not_stand_for_the_child() -> None:
    text = (
        "To: dsl@school.example.org\nFrom: Hannah Ferris (Year 3 teacher)\nSubject: Lacey M\n\n"
        "Hi Mark,\n\nJust wanted to flag Lacey Morgan in my class. She's been coming in hungry. "
        "This morning she asked the TA for toast. She has mentioned there was nothing for tea, "
        'although when I asked her she said mum had "gone to get some".'
    )
    assert _speakers(text) == ["child"]


def test_he_does_not_stand_for_the_staff_nor_she_for_dad() -> None:
    text = (
        "Child: Ollie DEAN, DOB 11/03/2022.\nOver the past weeks staff have noticed Ollie "
        'touching other children. On Friday he said to a member of staff "it\'s a secret game".'
    )
    assert _speakers(text) == ["child"]
    text = 'Dad came to the office with Mia (aged 7). She said "I don\'t want to go home".'
    assert _speakers(text) == ["child"]


def test_a_parent_named_earlier_in_the_sentence_is_the_pronouns_person() -> None:
    text = (
        "Dylan (aged 10) worries about her. Mum is lovely but she "
        'cancelled the last session – she said she "couldn\'t face it".'
    )
    assert _speakers(text) == ["adult"]


def test_a_child_named_in_brackets_or_with_a_capitalised_surname_is_the_child() -> None:
    text = (
        "I'm working with a 10 year old boy (Dylan). Dylan worries about school. "
        'He has mentioned mum "staying in bed".'
    )
    assert _speakers(text) == ["child"]
    text = (
        'Re: Zara KHAN, DOB 22/05/2012 (13)\nAt the last session Zara said: "I\'m like the maid."'
    )
    assert _speakers(text) == ["child"]


def test_a_run_of_pronouns_is_one_person_and_a_patient_is_the_child() -> None:
    text = (
        "We had a 16 year old lad come in today (Callum). He came in on his own. We can't do "
        "much as he's under 18. He seemed OK but calmed down. He says mum's boyfriend "
        '"wants him out".'
    )
    assert _speakers(text) == ["child"]
    text = 'Pt says she was drinking vodka. Wouldn\'t say who bought it – said "just people".'
    assert _speakers(text) == ["child"]
    assert _status(text, "R7") == "present"


def test_a_childs_name_with_a_nickname_or_an_initial_is_the_child() -> None:
    text = (
        "I want to refer Kaitlyn (Kait) Dawson, age 15. Kait has been missing school "
        '(she said "I just don\'t go on Fridays now").'
    )
    assert _speakers(text) == ["child"]
    text = "Subject: concern re: Ellie B (14)\n\nThere are money worries from what Ellie has said."
    assert _status(text, "R7") == "partial"


def test_a_quotation_about_the_child_is_not_the_childs_words() -> None:
    text = 'Caller says "everyone knows" and that the girl "is a bit wild". Caller rang off.'
    assert _status(text, "R7") != "present"


def test_the_childs_age_given_as_the_reason_for_no_voice_is_present() -> None:
    text = "Child's view: Not applicable (2 years old).\nParents informed: Yes."
    assert _status(text, "R7") == "present"


# -- R13: a worry about what is, and a clinical judgement of inflicted injury -------------------


def test_a_worry_about_what_is_is_partial_and_what_may_happen_is_present() -> None:
    finding = check_referral_text(
        "I am concerned that she is being sexually exploited.", referral_date=DAY
    ).elements["R13"]
    assert finding.status == "partial"
    assert "what you fear" in (finding.question or "")
    assert (
        _status("I am worried that Kayla and her mother may be isolated and unsafe.", "R13")
        == "present"
    )


@pytest.mark.parametrize(
    "text",
    [
        "Inflicted injury is a strong possibility. Skeletal survey requested.",
        "Both the consultant and I consider inflicted injury likely.",
    ],
)
def test_a_clinical_judgement_that_an_injury_was_inflicted_is_an_analysis(text: str) -> None:
    assert _status(text, "R13") == "present"


def test_nothing_acute_is_a_level() -> None:
    assert _status("I don't think there is anything acute.", "R13") == "partial"


# -- R12: what someone said is the result only beside the action --------------------------------


def test_a_said_elsewhere_is_not_the_result_of_the_action() -> None:
    text = "I have phoned the health visitor.\n\nMum said he was tired at the weekend."
    finding = check_referral_text(text, referral_date=DAY).elements["R12"]
    assert finding.status == "partial"
    assert finding.question and "result" in finding.question
    text = "I spoke to mum on Monday, who said she would take him to the GP."
    assert _status(text, "R12") == "present"


# -- R4: where the child is, not a state or a missing-episode interview ------------------------


@pytest.mark.parametrize(
    "text",
    [
        "He is now in pain and at risk of serious infection.",
        "She is currently not on any mood stabiliser.",
        "I completed a return home interview today with Kenzie.",
    ],
)
def test_a_state_or_an_interview_is_not_where_the_child_is(text: str) -> None:
    assert _status(text, "R4") == "absent"


@pytest.mark.parametrize(
    "text",
    [
        "Released at 01:10 and handed to mother at 03:40.",
        "Leo is now in hospital on the children's ward.",
    ],
)
def test_where_the_child_is_now_is_present(text: str) -> None:
    assert _status(text, "R4") == "present"


# -- referral_standard.yaml 2026.12.7: R13's level, R10's adults (each fails on 2026.12.6) -----


@pytest.mark.parametrize(
    "text",
    [
        "PPN submitted. RISK: MEDIUM.",
        "Risk grading - standard.",
        "The incident was graded as high by the attending officer.",
        "The health visitor was worried and asked me to pass this on.",
        "Staff concerned re the marks on his arm.",
    ],
)
def test_a_risk_grade_or_a_bare_worry_is_a_partial_analysis(text: str) -> None:
    """Guide R13 partial: "only a level/threshold, or a bare 'I am worried' about a topic"."""
    assert _status(text, "R13") == "partial"


@pytest.mark.parametrize(
    "text",
    [
        "Jayden has been under CAMHS for low mood since March.",
        "She was found intoxicated in the park with older boys.",
        "He told me he smokes cannabis most days before school.",
    ],
)
def test_the_childs_own_mental_health_or_drug_use_is_not_an_adult_factor(text: str) -> None:
    """Guide R10 is the household adults' factors: a word about the child does not address it."""
    assert _status(text, "R10") == "absent"


@pytest.mark.parametrize(
    "text",
    [
        "Mum has been under the community mental health team for low mood since March.",
        "Dad was intoxicated when he came to collect Leo.",
        "Her partner smokes cannabis in the flat.",
    ],
)
def test_an_adults_mental_health_or_drug_use_addresses_that_factor(text: str) -> None:
    assert _status(text, "R10") == "partial"
