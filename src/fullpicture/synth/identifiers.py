"""NHS numbers and unique pupil numbers that pass their real check-digit rules, made in bulk.

NHS number: 10 digits; the 10th is a modulus-11 check digit over the first nine weighted
10..2 (11 − remainder; 11 → 0; 10 means the nine digits cannot be used).
UPN: a check letter, then 12 digits (LA number, establishment number, year of allocation,
serial); the letter is the sum of digits 2–13 weighted by their position, modulo 23, read
from A–Z without I, O and S (DfE / Government Data Standards Catalogue, UPN v2.0).
"""

from __future__ import annotations

from typing import cast

import numpy as np
import numpy.typing as npt

UPN_CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
_NHS_WEIGHTS = np.arange(10, 1, -1)
_UPN_WEIGHTS = np.arange(2, 14)


def nhs_check_digit(first_nine: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Check digit for each row of nine digits; 10 where the row cannot be an NHS number."""
    remainder = (first_nine * _NHS_WEIGHTS).sum(axis=1) % 11
    check = 11 - remainder
    return np.where(check == 11, 0, check)


def is_valid_nhs_number(value: str) -> bool:
    digits = value.replace(" ", "")
    if len(digits) != 10 or not digits.isdigit():
        return False
    nine = np.array([[int(c) for c in digits[:9]]], dtype=np.int64)
    return int(nhs_check_digit(nine)[0]) == int(digits[9])


def new_nhs_numbers(rng: np.random.Generator, count: int) -> npt.NDArray[np.str_]:
    """``count`` distinct valid NHS numbers in the England and Wales range (400–499 million
    and 600–708 million blocks)."""
    found: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
    while found.size < count:
        want = int((count - found.size) * 1.15) + 16
        block = rng.choice(np.array([4, 6]), size=want)
        rest = rng.integers(0, 100_000_000, size=want)
        nine = block * 100_000_000 + rest
        digits = (nine[:, None] // 10 ** np.arange(8, -1, -1)) % 10
        check = nhs_check_digit(digits)
        ok = check != 10
        numbers = nine[ok] * 10 + check[ok]
        found = np.concatenate([found, numbers])
        _, first = np.unique(found, return_index=True)
        found = found[np.sort(first)]
    return cast("npt.NDArray[np.str_]", found[:count].astype(np.str_))


def upn_check_letter(twelve_digits: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
    letters = np.array(list(UPN_CHECK_LETTERS))
    return cast("npt.NDArray[np.str_]", letters[(twelve_digits * _UPN_WEIGHTS).sum(axis=1) % 23])


def is_valid_upn(value: str) -> bool:
    if len(value) != 13 or value[0] not in UPN_CHECK_LETTERS or not value[1:].isdigit():
        return False
    digits = np.array([[int(c) for c in value[1:]]], dtype=np.int64)
    return str(upn_check_letter(digits)[0]) == value[0]


def new_upns(
    rng: np.random.Generator,
    *,
    la_number: int,
    establishment: npt.NDArray[np.int64],
    allocation_year: npt.NDArray[np.int64],
) -> npt.NDArray[np.str_]:
    """One distinct permanent UPN per pupil, allocated by ``establishment`` in
    ``allocation_year``."""
    count = establishment.size
    if count == 0:
        # A small population can hold no pupil at all (every child under school age on the
        # day); numpy's zfill cannot size an empty array, so answer before it is asked.
        return np.array([], dtype="<U13")
    serial = rng.integers(0, 1000, size=count)
    prefix = (la_number * 10_000 + establishment) * 100 + allocation_year % 100
    number = prefix * 1000 + serial
    # Resolve clashes by moving a clashing pupil to the next free serial in the same block.
    order = np.argsort(number, kind="stable")
    sorted_number = number[order]
    for _ in range(1000):
        clash = np.flatnonzero(sorted_number[1:] == sorted_number[:-1]) + 1
        if clash.size == 0:
            break
        sorted_number[clash] = prefix[order][clash] * 1000 + (sorted_number[clash] + 1) % 1000
        resort = np.argsort(sorted_number, kind="stable")
        sorted_number = sorted_number[resort]
        order = order[resort]
    else:  # pragma: no cover - only if one school allocates over 1000 pupils in a year
        raise ValueError("more than 1000 pupils share one UPN block")
    number[order] = sorted_number
    digits = (number[:, None] // 10 ** np.arange(11, -1, -1)) % 10
    letters = upn_check_letter(digits)
    return np.char.add(letters, np.char.zfill(number.astype(np.str_), 12))
