"""Elements the checker credited where the settled reading is partial or absent (issue 17,
batch 4): R4's current location said of an adult, asked as a question, or only the usual
pattern; R16's recipient named as the response and "can someone visit"; R7's quotation after
a form's label for the children. Invented texts; each case failed before the change."""

from __future__ import annotations

import datetime as dt

import pytest

from fullpicture.referrals.checker import check_referral_text

DAY = dt.date(2026, 11, 23)
OPENING = "Child: Ava Cole, aged 9, Year 4 at Oak Primary. "


def _status(element: str, text: str) -> str:
    return check_referral_text(OPENING + text, referral_date=DAY).elements[element].status


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Said of an adult or the writer, not of the child.
        ("Mum was in foster care from the age of nine.", "absent"),
        ("I'm in the office on Thursdays if you need me.", "absent"),
        # A question asks where the child is; it does not say.
        ("WHERE IS THE CHILD NOW / SAFE TONIGHT?", "absent"),
        # Discharged with advice or to the GP says nothing of where the child is.
        ("Seen in ED on 20/11 with a graze. Discharged with advice.", "absent"),
        # Only the usual pattern: partial (settlement notes batch 3, 7; batch 4a, 2).
        ("Ava goes home at 3.15 and is usually collected by her nan.", "partial"),
        ("Ava lives with her mum, who is at home most days.", "partial"),
        # A plan for discharge is a later place only.
        ("We will liaise with the diabetes team before discharge.", "partial"),
    ],
)
def test_r4_credits_only_where_the_child_is_now(text: str, expected: str) -> None:
    assert _status("R4", text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Ava is at home with her dad tonight.",
        "Ava is currently in school and is safe until 15:15; her grandmother usually collects her.",
        "Ava is in the office with me now.",
    ],
)
def test_r4_still_credits_the_childs_place_now(text: str) -> None:
    assert _status("R4", text) == "present"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This needs to go to MASH now.", "absent"),
        ("Could MASH please consider whether anything is needed over half term?", "partial"),
        ("Please can someone visit?", "partial"),
        ("Please can you arrange a home visit and an assessment?", "present"),
        ("We would like MASH to consider a strategy discussion.", "present"),
    ],
)
def test_r16_the_recipient_is_not_the_response(text: str, expected: str) -> None:
    assert _status("R16", text) == expected


@pytest.mark.parametrize(
    "text",
    [
        'Caller gave few details.\nChildren: "two or three of them, little ones"',
        'HV visited this morning. Child boy, "Alfie or Archie" - surname to confirm.',
    ],
)
def test_r7_a_label_for_the_children_is_not_their_voice(text: str) -> None:
    assert _status("R7", text) != "present"


def test_r7_a_childs_name_before_a_colon_still_speaks() -> None:
    assert _status("R7", 'Ava: "I don\'t want to go home."') == "present"
