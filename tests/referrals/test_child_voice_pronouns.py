"""Issue 17, the child's voice (R7), 2026-12-08: who speaks a quotation whose speaker is a
pronoun or a role word, read conservatively (invented texts). Each shape in the first groups
was read as an adult's or no one's words on main 9507e9e; the last group are parents' and
carers' quotations that must stay adults'."""

from __future__ import annotations

import datetime as dt

import pytest

from fullpicture.referrals.checker import analyse_referral_text

DAY = dt.date(2026, 11, 23)


def _speakers(text: str) -> list[str]:
    return [q.speaker for q in analyse_referral_text(text, referral_date=DAY).quotations]


def _names(text: str) -> tuple[str, ...]:
    return analyse_referral_text(text, referral_date=DAY).child_names


@pytest.mark.parametrize(
    "text",
    [
        # "he" whose only person, read back past the sentences naming no one, is the child.
        "Poppy (6) is in my class. I was on duty today. We had a long day. It rained. "
        'She said, "Nobody helps me at home."',
        # A common noun opening its sentence ("School asked me …") is no one's name where the
        # text also writes it in lower case.
        "School asked me to see Connor Walsh (9) because staff had noticed he was hungry at "
        "school. I saw "
        'him twice. He is thin. He told me "there\'s not always food at home".',
        # A police form's "Subject" is the young person it is about.
        "Subject located on bench, intoxicated. Subject declined to engage with officers. "
        'He said he "just wanted to be on my own for a bit".',
    ],
)
def test_a_pronoun_that_can_only_be_the_child(text: str) -> None:
    assert _speakers(text)[-1] == "child"


@pytest.mark.parametrize(
    ("text", "child", "not_child"),
    [
        # A form's heading with the child's name and date of birth on the lines under it.
        (
            "2. CHILD THE REFERRAL IS ABOUT\nName: Sophie TURNBULL\nDOB: 30/10/2011\n\n"
            "3. PARENT\nName: Rachel TURNBULL\nDOB: 12/01/1990\n\n"
            'I asked how she was. Sophie said, "Not good."',
            "Sophie",
            "Rachel",
        ),
        # "CHILD" over "Name: …": the field's answer, not its name, nor "Not known".
        (
            "CHILD\nName: Kacey DOBSON\n\nSIBLING\nName: Not known\n\n"
            'Kacey told her: "I hate the hospital."',
            "Kacey",
            "Name",
        ),
        # The school year between the name and the age.
        (
            "I support Alfie Dunmore in Year 4 (he is 8, DOB 19/09/2016).\n\n"
            'Alfie said to me that "mum forgets to do my night one".',
            "Alfie",
            "Year",
        ),
    ],
)
def test_the_child_named_where_the_form_introduces_them(
    text: str, child: str, not_child: str
) -> None:
    names = _names(text)
    assert child in names
    assert not_child not in names and "Not" not in names
    assert _speakers(text)[-1] == "child"


@pytest.mark.parametrize(
    "text",
    [
        # The mother is named in the pronoun's reach: never the child's words.
        "Mum (Jo Smith) came in with Poppy (6). I was on duty today. We had a long day. It "
        'rained. She said, "I can\'t cope with any of it."',
        "This morning mum dropped Ottilie (2) off. She had the baby in the pram. She was crying. "
        'She said "I haven\'t slept properly since he was born".',
        "Tyler Reid (10) lives with his dad. His dad came to the office today. He said "
        '"I never laid a finger on him".',
        # An e-mail's "Subject:" line names no one.
        'Subject: Leo Marsh (7)\n\nMr Marsh rang me today. He said "I can\'t manage him".',
    ],
)
def test_an_adults_quotation_stays_an_adults(text: str) -> None:
    assert _speakers(text)[-1] != "child"
