"""Polarity in the concern classifier: denied, negated and positive statements are not concerns.

Property-style: every concern code's every cue phrase is put into negated and positive
templates (none may yield the code) and into an affirmative template (it must). Then the
hand-written sentences from ordinary agency records that used to raise alerts (issue 17 item 4,
issue 18: "attendance 96 %" read as an attendance concern).
"""

from __future__ import annotations

import pytest

from fullpicture.chronology.taxonomy import CodeKind, default_taxonomy
from fullpicture.referrals.classifier import classify_concern_mentions, classify_concerns
from fullpicture.referrals.rulebook import default_rulebook

BOOK = default_rulebook()

# Phrases that are themselves a negation ("no food", "not brought to"), so "No {phrase}" is not a
# denial of them; or a fragment that needs its following words ("cash and", "threw the").
SELF_NEGATED = ("no ", "not ", "never ", "without ", "non-", "did not", "has not", "have not")


def _cue_phrases() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for code, rule in BOOK.concerns.codes.items():
        for cue in rule.cues:
            for phrase in cue.phrases:
                found.append((code, phrase))
    return found


PHRASES = _cue_phrases()
# A cue that says itself the injury is not explained ("non-accidental injury") is never read as
# explained by a positive statement beside it (positive_blockers).
BLOCKERS = [p for cue in BOOK.concerns.positive_blockers for p in cue.phrases]
EXPLAINABLE = [(c, p) for c, p in PHRASES if not any(b in p for b in BLOCKERS)]
NEGATABLE = [
    (c, p) for c, p in PHRASES if not any(p.startswith(s) or f" {s}" in p for s in SELF_NEGATED)
]

NEGATED_TEMPLATES = (
    "No {p}.",
    "There is no evidence of {p}.",
    "No concerns about {p}.",
    "Mum denied any {p}.",
    "No signs of {p} were seen at the visit.",
    "We know of no {p}.",
    "{P}: none known.",
    # A structured form's answers.
    "{P}: no.",
    "{P} - none.",
    "{P}: N/A.",
    "Strengths: no {p}.",
)
# A statement that the matter was looked at and found well. The guidance says to act on an
# injury to a non-mobile baby, sexual abuse and FGM whatever the explanation (research-notes
# §6.8; taxonomy severity 5), so those codes are exempt from the positive templates by design.
POSITIVE_TEMPLATES = (
    "{P} discussed at the review, no concerns.",
    "{P} mentioned by the family, account consistent with what staff saw.",
    "Checked for {p} at the visit and all fine.",
    "Strengths: the {p} has stopped and is no longer a concern.",
)
AFFIRMATIVE_TEMPLATE = "At the visit today staff recorded {p}."
# A form's answer that goes on is not a denial: "Bruise: no explanation given".
AFFIRMATIVE_ANSWER_TEMPLATE = "{P}: no explanation given."


def _capital(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:]


def _codes(text: str) -> set[str]:
    return {s.code for s in classify_concerns(text)}


@pytest.mark.parametrize("template", NEGATED_TEMPLATES)
def test_no_cue_of_any_code_is_a_concern_when_denied(template: str) -> None:
    wrong = [
        (code, sentence)
        for code, phrase in NEGATABLE
        if code in _codes(sentence := template.format(p=phrase, P=_capital(phrase)))
    ]
    assert not wrong, f"{len(wrong)} negated sentences still yield their code: {wrong[:10]}"


@pytest.mark.parametrize("template", POSITIVE_TEMPLATES)
def test_no_cue_of_any_code_is_a_concern_when_stated_as_well(template: str) -> None:
    never = set(BOOK.concerns.positive_never_for)
    wrong = [
        (code, sentence)
        for code, phrase in EXPLAINABLE
        if code not in never
        and code in _codes(sentence := template.format(p=phrase, P=_capital(phrase)))
    ]
    assert not wrong, f"{len(wrong)} positive sentences still yield their code: {wrong[:10]}"


def test_the_affirmative_forms_still_yield_their_code() -> None:
    missed = [
        (code, sentence)
        for code, phrase in PHRASES
        if code not in _codes(sentence := AFFIRMATIVE_TEMPLATE.format(p=phrase))
    ]
    assert not missed, f"{len(missed)} affirmative sentences lost their code: {missed[:10]}"


def test_a_forms_answer_that_goes_on_does_not_deny_the_concern() -> None:
    missed = [
        (code, sentence)
        for code, phrase in NEGATABLE
        if code
        not in _codes(sentence := AFFIRMATIVE_ANSWER_TEMPLATE.format(p=phrase, P=_capital(phrase)))
    ]
    assert not missed, f"{len(missed)} answered sentences lost their code: {missed[:10]}"


# Codes recognised only when all their groups are asserted (PHY-NMB: an injury to a non-mobile
# baby): every injury phrase beside every non-mobile phrase.
REQUIRED = [
    (code, injury, baby)
    for code, rule in BOOK.concerns.codes.items()
    if set(rule.requires) == {"injury", "non_mobile"}
    for injury in (p for cue in rule.requires["injury"] for p in cue.phrases)
    for baby in (p for cue in rule.requires["non_mobile"] for p in cue.phrases)
]
REQUIRED_NEGATED = (
    "The baby ({b}) was checked: no {i}.",
    "Mum denied any {i}; baby is {b}.",
    "There is no evidence of {i} on the baby ({b}).",
)


def test_a_required_group_denied_does_not_yield_the_code() -> None:
    assert REQUIRED, "no code with injury and non-mobile groups"
    wrong = [
        (code, sentence)
        for template in REQUIRED_NEGATED
        for code, injury, baby in REQUIRED
        if code in _codes(sentence := template.format(i=injury, b=baby))
    ]
    assert not wrong, f"{len(wrong)} denied injuries still yield their code: {wrong[:10]}"


def test_a_required_group_affirmed_yields_the_code() -> None:
    missed = [
        (code, sentence)
        for code, injury, baby in REQUIRED
        if code not in _codes(sentence := f"Staff recorded a {injury} on the baby ({baby}).")
    ]
    assert not missed, f"{len(missed)} affirmed injuries lost their code: {missed[:10]}"


def test_every_taxonomy_concern_code_with_cues_is_covered() -> None:
    covered = {code for code, _ in PHRASES} | {code for code, _, _ in REQUIRED}
    with_rules = {code for code, rule in BOOK.concerns.codes.items() if rule.cues or rule.requires}
    assert covered == with_rules
    taxonomy_concerns = {c.code for c in default_taxonomy().codes_of_kind(CodeKind.CONCERN)}
    # Every concern code of the taxonomy has cues and so is in the property sets above.
    assert taxonomy_concerns <= covered


@pytest.mark.parametrize(
    ("text", "not_code"),
    [
        ("Year 4 report: attendance 97.8%. Outstanding effort.", "EDU-ATT"),
        ("Reception report: GLD met. Attendance 96%.", "EDU-ATT"),
        ("Attendance 96 % this term.", "EDU-ATT"),
        ("Attendance is 96 per cent.", "EDU-ATT"),
        ("Domestic abuse - none. Substance misuse: N/A.", "DOM-ABU"),
        ("Domestic abuse? No. Substance misuse? None.", "DOM-ABU"),
        ("Substance misuse? Nil.", "PAR-SUB"),
        ("Strengths: dad's drinking has stopped and is no longer a concern.", "PAR-SUB"),
        ("Attendance 100% this term, good friendships.", "EDU-ATT"),
        ("Good attendance and punctuality.", "EDU-ATT"),
        ("MASH check: child happy in school. Shared attendance and no concerns.", "EDU-ATT"),
        ("Nursery: settling-in sessions went well, loves the sand tray.", "EDU-ATT"),
        ("Talking Therapies: guided self-help (6 sessions) for anxiety.", "EDU-ATT"),
        ("He denied any injury and none was seen.", "PHY-INJ"),
        ("Bruise to shin, account consistent with the injury.", "PHY-INJ"),
        ("Fracture clinic: backslab off, healing well.", "PHY-INJ"),
        (
            "Struck in face by football (kicked by classmate, accidental, teacher witnessed).",
            "PHY-INJ",
        ),
        ("Head lice letter to class.", "NEG-BAS"),
        ("Threadworm: mebendazole for the household, hygiene advice.", "NEG-BAS"),
        ("Dental: all fine.", "NEG-HLT"),
        ("Dental check: small cavity, filling booked.", "NEG-HLT"),
        ("Neighbour complaint about hedge cutting and the fence.", "HBA-FGM"),
        ("Young carers club: first session, enjoyed the climbing wall.", "CAR-YC"),
        ("Helps fetch items and tidies own room - age-appropriate caring.", "CAR-YC"),
        ("Mum denies drinking; no concerns about alcohol.", "PAR-SUB"),
        ("No concerns about domestic abuse raised at the routine enquiry.", "DOM-ABU"),
        ("Referred to perinatal mental health for pre-birth planning as per pathway.", "PRE-UNB"),
    ],
)
def test_ordinary_record_sentences_are_not_concerns(text: str, not_code: str) -> None:
    assert not_code not in _codes(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Attendance 82% this term, 31 sessions missed.", "EDU-ATT"),
        ("Persistent absence: attendance is 86%.", "EDU-ATT"),
        ("Attendance 90% this year.", "EDU-ATT"),  # 10 % missed is persistent absence
        ("Attendance is 86 per cent.", "EDU-ATT"),
        ("Bruise on the arm: no explanation given.", "PHY-INJ"),
        ("Substance misuse: no known use. Domestic abuse: yes, police called.", "DOM-ABU"),
        ("Bruise to cheek; mum said he fell.", "PHY-INJ"),
        ("Injuries not consistent with the account given.", "PHY-INJ"),
        ("Non-accidental injury suspected; bruising consistent with a slap.", "PHY-INJ"),
        ("Untreated head lice and soiled clothing again.", "NEG-BAS"),
        ("Tooth decay, not taken him to the dentist.", "NEG-HLT"),
        ("Booked late at 30 weeks, concealed pregnancy.", "PRE-UNB"),
        ("Mum was drunk at collection.", "PAR-SUB"),
        # A positive statement reaches only its own clause, and "no concerns about school" only
        # what follows it.
        ("Dad was drunk and there is no food in the house; no concerns about school.", "NEG-BAS"),
        ("No concerns about school, but dad was drunk at collection.", "PAR-SUB"),
    ],
)
def test_concerns_stay_concerns(text: str, code: str) -> None:
    assert code in _codes(text)


def test_an_injury_to_a_non_mobile_baby_is_a_concern_whatever_the_explanation() -> None:
    text = "Bruise on the forehead of a 10 weeks old baby, account consistent with a fall."
    assert "PHY-NMB" in _codes(text)


def test_positive_mentions_say_which_words_made_them_positive() -> None:
    text = "Year 5 report: attendance 97%. Fracture healing well."
    mentions = {m.code: m for m in classify_concern_mentions(text) if m.positive is not None}
    assert mentions["EDU-ATT"].positive is not None
    assert mentions["EDU-ATT"].positive.text == "97%"
    assert mentions["PHY-INJ"].positive is not None
    assert mentions["PHY-INJ"].positive.text == "healing well"
    assert not classify_concerns(text)


def test_a_form_question_answered_yes_or_with_words_of_its_own_stays_a_concern() -> None:
    """The answer is read with its question only when it is a bare answer: "No explanation
    given" after a question is a sentence of its own, and a cue never reads across sentences."""
    assert "DOM-ABU" in _codes("Domestic abuse? Yes.")
    assert "DOM-ABU" in _codes("Was there domestic abuse? No explanation was given for it.")
