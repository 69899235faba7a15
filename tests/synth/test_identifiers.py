"""NHS numbers and UPNs: the generators make valid ones, the checks catch slips."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fullpicture.synth.identifiers import (
    is_valid_nhs_number,
    is_valid_upn,
    new_nhs_numbers,
    new_upns,
)


def test_known_numbers() -> None:
    assert is_valid_nhs_number("9434765919")  # the NHS Digital worked example
    assert is_valid_nhs_number("943 476 5919")
    assert not is_valid_nhs_number("9434765918")
    assert is_valid_upn("B801200005001")  # python-stdnum's documented example
    assert not is_valid_upn("A801200005001")
    # 2*2 + 4*7 + 9*1 + 10*6 + 12*4 + 13*9 = 266; 266 mod 23 = 13, which is P
    assert is_valid_upn("P207000016049")


def test_generated_numbers_are_valid_and_distinct() -> None:
    rng = np.random.default_rng(1)
    numbers = new_nhs_numbers(rng, 5000)
    assert len(set(numbers.tolist())) == 5000
    assert all(is_valid_nhs_number(str(n)) for n in numbers)
    upns = new_upns(
        rng,
        la_number=306,
        establishment=np.full(900, 2001, dtype=np.int64),
        allocation_year=np.full(900, 2024, dtype=np.int64),
    )
    assert len(set(upns.tolist())) == 900
    assert all(is_valid_upn(str(u)) and str(u)[1:10] == "306200124" for u in upns)


@given(
    st.integers(min_value=0, max_value=9),
    st.integers(min_value=1, max_value=9),
    st.integers(min_value=0, max_value=8),
    st.integers(min_value=0, max_value=10_000),
)
def test_a_single_wrong_digit_is_caught(position: int, shift: int, _: int, seed: int) -> None:
    number = str(new_nhs_numbers(np.random.default_rng(seed), 1)[0])
    changed = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    assert not is_valid_nhs_number(changed)
    upn = str(
        new_upns(
            np.random.default_rng(seed),
            la_number=306,
            establishment=np.array([4001]),
            allocation_year=np.array([2019]),
        )[0]
    )
    upn_position = 1 + position
    slipped = (
        upn[:upn_position] + str((int(upn[upn_position]) + shift) % 10) + upn[upn_position + 1 :]
    )
    assert not is_valid_upn(slipped)


def test_no_pupils_get_no_upns() -> None:
    """A population with no pupil (found by the invariants' hypothesis test in CI)."""
    empty = np.array([], dtype=np.int64)
    upns = new_upns(
        np.random.default_rng(0), la_number=306, establishment=empty, allocation_year=empty
    )
    assert upns.shape == (0,)
