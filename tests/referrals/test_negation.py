"""Negation where it flips what an element means (issue 17): a strength denied is no strength
(R14), the parents not told is not their awareness (R15), a child who said nothing has no
reported words (R7), an action not taken is no action (R12), and praise denied is no
reassurance. Every denial is tried in the forms referrers write: the contraction with a
straight or curly apostrophe, without one ("wasnt", "havent"), in full, "never", "no longer".
Each sentence is checked affirmed and denied; the denied forms must all read alike."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fullpicture.referrals.checker import check_referral_text

DAY = dt.date(2026, 11, 23)
OPENING = "Referral for Ava Cole, aged 9, Year 4 at Oak Primary. "


def _forms(aux: str, contracted: str, *extra: str) -> list[str]:
    """The denial of an auxiliary as notes, letters and texts spell it."""
    return [
        f"{contracted}n't",
        f"{contracted}n’t",
        f"{contracted}nt",
        f"{aux} not",
        f"{aux} never",
        *extra,
    ]


WAS = _forms("was", "was", "was no longer")
IS = _forms("is", "is")
HAS = _forms("has", "has")
HAS_BEEN = [f"{form} been" for form in _forms("has", "has")]

# element, sentence with {v}, the affirmed verb, its status, the denied verbs, their status
CASES: list[tuple[str, str, str, str, list[str], str]] = [
    ("R14", "Ava {v} happy at school.", "was", "partial", WAS, "absent"),
    ("R14", "Mum {v} engaged with the parenting course.", "has", "present", HAS, "absent"),
    (
        "R14",
        "Ava {v} a trusted adult at school.",
        "has",
        "present",
        ["doesn't have", "doesnt have", "doesn’t have", "does not have", "has never had",
         "no longer has"],
        "absent",
    ),
    ("R14", "Mum {v} supportive.", "is", "partial", IS, "absent"),
    (
        "R15",
        "I {v} mum about this referral.",
        "have told",
        "present",
        [f"{form} told" for form in _forms("have", "have")]
        + ["didn't tell", "didnt tell", "did not tell", "never told"],
        "partial",
    ),
    (
        "R7",
        "Ava {v} me about home.",
        "told",
        "partial",
        [f"{form} tell" for form in _forms("did", "did")]
        + [f"{form} told" for form in _forms("has", "has")]
        + ["never told"],
        "absent",
    ),
    # referral-standard R7: "not seen alone because …" is why the voice could not be obtained.
    (
        "R7",
        "Ava {v} seen alone because her father stayed in the room.",
        "was",
        "absent",
        WAS + HAS_BEEN,
        "present",
    ),
    (
        "R7",
        "Ava {v} spoken to alone as her mother would not leave.",
        "could be",
        "absent",
        ["couldn't be", "couldnt be", "couldn’t be", "could not be", "could never be"],
        "present",
    ),
    (
        "R12",
        "We {v} Ava to CAMHS.",
        "have referred",
        "partial",
        [f"{form} referred" for form in _forms("have", "have")],
        "absent",
    ),
    (
        "R12",
        "I {v} to mum.",
        "spoke",
        "partial",
        [f"{form} spoken" for form in _forms("have", "have")]
        + ["didn't speak", "didnt speak", "did not speak", "never spoke"],
        "absent",
    ),
    ("R12", "Dad {v} arrested.", "was", "partial", WAS, "absent"),
]  # fmt: skip


def _status(element: str, sentence: str) -> str:
    return check_referral_text(OPENING + sentence, referral_date=DAY).elements[element].status


@pytest.mark.parametrize(
    ("element", "sentence", "verb", "status"),
    [(e, s, v, st_) for e, s, v, st_, _, _ in CASES],
)
def test_the_affirmed_sentence_reads_as_the_element_says(
    element: str, sentence: str, verb: str, status: str
) -> None:
    assert _status(element, sentence.format(v=verb)) == status


@pytest.mark.parametrize(
    ("element", "sentence", "denied", "status"),
    [(e, s, d, st_) for e, s, _, _, forms, st_ in CASES for d in forms],
)
def test_every_spelling_of_the_denial_flips_it(
    element: str, sentence: str, denied: str, status: str
) -> None:
    assert _status(element, sentence.format(v=denied)) == status


@pytest.mark.parametrize(
    ("element", "sentence", "forms"), [(e, s, forms) for e, s, _, _, forms, _ in CASES]
)
def test_a_contraction_reads_as_the_words_in_full(
    element: str, sentence: str, forms: list[str]
) -> None:
    # The property behind the table: however a denial is spelled, the element reads the same.
    statuses = {form: _status(element, sentence.format(v=form)) for form in forms}
    assert len(set(statuses.values())) == 1, statuses


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(["wasn't", "wasnt", "wasn’t", "was not", "was never"]),
    st.sampled_from(["happy", "polite", "friendly", "cheerful and happy"]),
    st.sampled_from(["at school", "at home", "with her mum", ""]),
)
def test_a_denied_strength_is_never_credited(denied: str, word: str, place: str) -> None:
    sentence = f"Ava {denied} {word} {place}".strip() + "."
    result = check_referral_text(OPENING + sentence, referral_date=DAY)
    assert result.elements["R14"].status == "absent"
    assert result.elements["R14"].spans == []


@pytest.mark.parametrize("denied", ["was not", "wasn't", "wasnt", "hasnt been", "was never"])
def test_not_seen_alone_with_no_reason_is_no_reason(denied: str) -> None:
    # The corpus's settled REF-263: "not spoken to alone, no reason is given" is absent.
    assert _status("R7", f"Ava {denied} seen alone.") == "absent"


def test_the_nearest_trigger_governs_a_denied_supposition() -> None:
    # "I don't know if …" supposes; it does not deny that there is a history.
    assert _status("R9", "I don't know if there is any previous involvement.") == "absent"
    assert _status("R9", "I don't know of any previous involvement.") == "partial"


def test_the_parents_not_told_with_a_reason_is_a_full_account_in_every_spelling() -> None:
    for verb in ("haven't told", "havent told", "have not told", "didnt tell"):
        text = f"I {verb} mum about this referral as she may tell her partner."
        assert _status("R15", text) == "present", verb


@pytest.mark.parametrize(
    "denied", ["did not consent", "didn't consent", "didnt consent", "hasnt consented"]
)
def test_consent_refused_is_consent_asked_for(denied: str) -> None:
    # referral-standard R15: "consent given/declined" is the element.
    assert _status("R15", f"Mum {denied} to this referral.") == "present"


@pytest.mark.parametrize("form", ["is not", "isn't", "isnt", "isn’t"])
def test_the_parents_not_aware_reads_the_same_however_it_is_spelled(form: str) -> None:
    assert _status("R15", f"Mum {form} aware of this referral.") == _status(
        "R15", "Mum is not aware of this referral."
    )


@pytest.mark.parametrize(
    ("sentence", "reassuring"),
    [
        ("Mum is supportive and dad is very caring.", True),
        ("Mum isn't supportive and dad isnt very caring.", False),
        ("He is well cared for.", True),
        ("He isn't well cared for.", False),
        ("He isnt well cared for.", False),
        ("He is not well cared for.", False),
        ("He is no longer well cared for.", False),
    ],
)
def test_praise_denied_is_not_reassurance(sentence: str, reassuring: bool) -> None:
    result = check_referral_text(OPENING + sentence, referral_date=DAY)
    kinds = {v.kind for v in result.vague_phrases}
    assert ("global_reassurance" in kinds) is reassuring, kinds


def test_a_but_after_the_denial_ends_it() -> None:
    # "Mum wasn't at the meeting but she is supportive": the denial is of the meeting.
    assert _status("R14", "Mum wasn't at the meeting but Ava was happy in class.") == "partial"
    assert _status("R12", "Mum wasnt in but I spoke to dad.") == "partial"
