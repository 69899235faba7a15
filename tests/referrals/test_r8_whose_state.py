"""R8, the child's lived experience: a state the cues name counts only as the child's. The rule
file says so per cue (`whose: child`); the holder is the nearest person before the cue in its
sentence, a pronoun read as the speech attribution reads it."""

from __future__ import annotations

import datetime as dt

import pytest

from fullpicture.referrals.checker import check_referral_text

DAY = dt.date(2026, 11, 23)
OPENING = "Child: Ava Cole, aged 9, Year 4 at Oak Primary. "


def _r8(sentence: str) -> tuple[str, list[str]]:
    element = check_referral_text(OPENING + sentence, referral_date=DAY).elements["R8"]
    return element.status, [span.text for span in element.spans]


@pytest.mark.parametrize(
    "sentence",
    [
        "Ava was upset when she came in.",
        "Ava has been tearful and withdrawn this week.",
        "The children were hungry when I visited.",
        "Mum said that Ava was frightened of going home.",
        "Her brother is anxious about going home.",
        "She was tearful in class.",  # "she" is Ava, the only person named before
        "Tired, hungry, falling asleep in lessons.",  # a list with no person named
        "Mum was at work; Ava was exhausted.",
    ],
)
def test_the_childs_state_is_lived_experience(sentence: str) -> None:
    status, spans = _r8(sentence)
    assert status == "present", spans
    assert spans  # the words that satisfied it are shown


@pytest.mark.parametrize(
    "sentence",
    [
        "Mum was upset when I rang.",
        "Ava's mum was upset when I rang.",
        "Dad is exhausted and struggling.",
        "Ava said her mother was frightened of him.",
        "I was upset by what I saw.",
        "The neighbour was anxious about the noise.",
        "Her mother was tearful on the phone.",
    ],
)
def test_an_adults_state_is_not_the_childs(sentence: str) -> None:
    status, spans = _r8(sentence)
    assert status == "absent", spans


def test_the_same_cue_counts_for_the_child_and_not_for_the_adult_in_one_text() -> None:
    status, spans = _r8("Mum was upset. Ava was upset too.")
    assert status == "present"
    assert len(spans) == 1 and spans[0] == "upset"
