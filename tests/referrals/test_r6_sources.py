"""Issue 17, R6 with batch 4 (referral_standard.yaml 2026.12.29-30): the source of each piece of
information as the settlement notes read it (decision 6), from the train split's errors. An
identifiable group of informants is a source; a passive report counts only when affirmed and
only when someone was seen doing something or somewhere; an unsourced "I think / I believe"
about past involvement, a diagnosis or attendance, or past involvement given with no source
("Known to CSC."), leaves R6 partial. Each shape has an example
that fires and one that does not."""

from __future__ import annotations

import datetime as dt

import pytest

from fullpicture.referrals.checker import check_referral_text

DAY = dt.date(2026, 11, 23)  # a Monday


def _r6(text: str) -> str:
    # The rules alone: the learned adjustment does not decide R6 on this standard.
    return check_referral_text(text, referral_date=DAY).elements["R6"].status


@pytest.mark.parametrize(
    "text",
    [
        "Mum told me he has not slept. Staff have noticed he has been more clingy at drop-off.",
        "Mum said the car was new. Staff have seen Lacey being collected by a man in a car.",
        "Mum told me she is tired. No domestic abuse has been reported.",
        "Mum said he is well. Ryan has been seen fortnightly since February for low mood.",
        "Mum said he fell. He has been seen at the practice a few times with minor injuries.",
        "Mum said she was worried. I think the police might need to know about the car.",
        "Mum said she was worried. I believe this meets level 4 and request a child protection enquiry.",
        "Mum said the children are fine. From our records I think mum had a mental health admission.",
        "Mum said the children are fine. Not known to CSC.",
        "Mum said she is fine. Chloe was known to CSC as a teenager (child in need, 2017-2018).",
        "Mum said she is fine. There were some previous concerns which we referred to Early Help.",
    ],
)
def test_sourced_or_judged_is_present(text: str) -> None:
    assert _r6(text) == "present"


@pytest.mark.parametrize(
    "text",
    [
        "Mum told me he has not slept. He has been seen eating food from other children's lunchboxes.",
        "Mum told me he has not slept. He has been seen in the town centre during school hours.",
        "Mum told me he has not slept. Staff have raised worries about his home life.",
        "Mum told me he has not slept. I believe there was social care involvement a couple of years ago.",
        "Mum told me he has not slept. The middle one is autistic I think.",
        "Mum told me he has not slept. They had a SW before that as well, CIN I think 2023.",
        "Mum told me he has not slept. I think her attendance is about 75%.",
        "Mum told me he has not slept. Family were previously known to social care.",
        "Mum told me he has not slept. Known to CSC.",
        "Mum told me he has not slept. There have been previous concerns in the family.",
    ],
)
def test_unsourced_report_is_partial(text: str) -> None:
    assert _r6(text) == "partial"
