"""Issue 17, the child's voice (R7): a child named once where the referral introduces them and
called by first name after, in the ways writers give a child's name and age. When the name is
missed, "Priya told her teacher '…'" is read as an adult's words. Each introduction below but
the last group was missed before 2026-12-07's fix; the last group are adults that must stay
adults."""

from __future__ import annotations

import datetime as dt

import pytest

from fullpicture.referrals.checker import analyse_referral_text, check_referral_text

DAY = dt.date(2026, 11, 23)


def _read(text: str) -> tuple[tuple[str, ...], list[str], str]:
    analysis = analyse_referral_text(text, referral_date=DAY)
    status = check_referral_text(text, referral_date=DAY).elements["R7"].status
    return analysis.child_names, [q.speaker for q in analysis.quotations], status


@pytest.mark.parametrize(
    ("text", "child"),
    [
        # A form's fields, the date of birth set off by spaces alone.
        (
            "Children\nName: Priya NAIR      DOB: 02/03/2014\nName: Sam NAIR   DOB: 05/06/2017\n\n"
            "Priya has not been asked about this directly. She told her form tutor that "
            'home is "too loud to sleep".',
            "Priya",
        ),
        # A full name in brackets after a child term.
        (
            "Flagging a Year 8 boy (Oscar Pryce) who has been seen getting into cars after "
            'school. Oscar told his tutor it was "only my cousin".',
            "Oscar",
        ),
        # An age said in words, in a family member's list.
        (
            "Their children are:\n- Nadia Shah, she is 8, in Year 3\n- Omar Shah, he is 4\n\n"
            "Nadia rang me last night from her mum's phone. She said \"please come, they "
            'are shouting again".',
            "Nadia",
        ),
        (
            "I am writing about a patient, Ruby Lane who is 7. Ruby told the practice nurse "
            '"daddy shouts when he drinks".',
            "Ruby",
        ),
        # A hedged age, and children listed with their ages between commas.
        (
            "The children are Theo Marsh (approx. 6) and Isla Marsh (about 3, not at school). "
            'Theo said "mummy sleeps all day".',
            "Theo",
        ),
        (
            "There are two children at home (Amira, 11, and Sami, 8). Amira told the "
            'learning mentor "I do the cooking now".',
            "Amira",
        ),
        # The age first, the name set off by a comma, the surname in capitals.
        (
            "Saw a 14yo girl this afternoon, Leah CROFT (details on our system). Cut to the "
            'forearm. Leah said it was "my own fault".',
            "Leah",
        ),
    ],
)
def test_a_child_introduced_with_an_age_or_in_a_field_speaks_as_the_child(
    text: str, child: str
) -> None:
    names, speakers, status = _read(text)
    assert child in names
    assert speakers[-1] == "child"
    assert status == "present"


@pytest.mark.parametrize(
    ("text", "adult"),
    [
        # An adult's sister in brackets is no child, though "sister" can name a child.
        (
            "Mum's sister (Donna Reyes) collected Jay from school. Donna said "
            '"he can stay with me".',
            "Donna",
        ),
        # A heading's bracket introduces no one.
        (
            "REFERRAL TO CHILDREN'S SERVICES (Family Support)\nFamily Support said "
            '"we can offer a worker".',
            "Family",
        ),
        # A pregnancy's weeks are not a baby's age.
        (
            'Kelly Carter, who is 22 weeks pregnant, told me "I\'m not going back to him".',
            "Kelly",
        ),
        # An adult's age before the name.
        (
            'Police spoke to a 34 year old man, Dean Hill, who said "she fell".',
            "Dean",
        ),
        # A title is not a name.
        (
            'The 12 year old was upset, Mr Collins said "it was a fight over a phone".',
            "Mr",
        ),
    ],
)
def test_an_adult_introduced_the_same_ways_stays_an_adult(text: str, adult: str) -> None:
    names, speakers, status = _read(text)
    assert adult not in names
    assert speakers[-1] == "adult"
    assert status != "present"


@pytest.mark.parametrize(
    "text",
    [
        "Subject: Worried about my neighbour's children\n",
        "Re: Safeguarding referral\n",
        "Re: Transfer in – Child in Need\n",
        "Subject: Concern re a pupil\n",
    ],
)
def test_a_heading_word_on_a_subject_line_is_no_childs_name(text: str) -> None:
    assert _read(text)[0] == ()


def test_a_childs_name_on_a_subject_line_is_kept() -> None:
    assert _read("Subject: Jayden not in school since Monday\n")[0] == ("Jayden",)
