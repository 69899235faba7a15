"""Typing slips in find-a-child: the distance the search allows between a typed and a
recorded name (letters dropped, added, changed, or two neighbours swapped)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fullpicture.linkage.search import slips_allowed, slips_between

names = st.text(alphabet="abcdeklmnorsty", max_size=9)


def test_each_kind_of_slip_is_one() -> None:
    assert slips_between("madiso", "madison") == 1  # a letter dropped
    assert slips_between("okaffor", "okafor") == 1  # a letter added
    assert slips_between("okafer", "okafor") == 1  # a letter changed
    assert slips_between("wrad", "ward") == 1  # two neighbours swapped
    assert slips_between("okafor", "obama") == 4


def test_short_names_allow_no_slip_and_long_ones_two() -> None:
    assert slips_allowed("ann") == 0
    assert slips_allowed("ward") == 1
    assert slips_allowed("fitzgerald") == 2


@given(names, names)
def test_the_distance_is_symmetric_and_zero_only_for_the_same_name(a: str, b: str) -> None:
    assert slips_between(a, b) == slips_between(b, a)
    assert (slips_between(a, b) == 0) == (a == b)
    assert abs(len(a) - len(b)) <= slips_between(a, b) <= max(len(a), len(b))


@given(names, st.integers(min_value=0, max_value=8), st.sampled_from("abcdeklmnorsty"))
def test_one_letter_changed_or_dropped_is_at_most_one_slip(name: str, at: int, letter: str) -> None:
    if not name:
        return
    at %= len(name)
    assert slips_between(name, name[:at] + letter + name[at + 1 :]) <= 1
    assert slips_between(name, name[:at] + name[at + 1 :]) == 1
