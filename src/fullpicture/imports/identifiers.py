"""National identifiers a feed carries, checked by their check digits: the NHS number and the
DfE Unique Pupil Number."""

from __future__ import annotations


def nhs_number_is_valid(digits: str) -> bool:
    """Modulus 11 check of a 10-digit NHS number: weights 10..2 over the first nine digits,
    check digit = 11 - (sum mod 11), where 11 means 0 and 10 means the number is invalid."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(
        int(digit) * weight for digit, weight in zip(digits[:9], range(10, 1, -1), strict=True)
    )
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


# DfE Unique Pupil Number: the check letter is sum(value x weight) mod 23 over characters
# 2-13 with weights 2..13, mapped 0->A ... 22->Z leaving out I, O and S. A temporary UPN
# ends in a letter, which counts as its position in the same alphabet (GDSC UPN v2.0).
UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn_check_letter(trailing: str) -> str:
    """The check letter for the 12 characters after it (11 digits, then a digit or a letter)."""
    if len(trailing) != 12 or not trailing[:11].isdigit():
        raise ValueError("a UPN has 11 digits and then a digit or letter after its check letter")
    last = trailing[11]
    if last.isdigit():
        last_value = int(last)
    elif last in UPN_ALPHABET:
        last_value = UPN_ALPHABET.index(last)
    else:
        raise ValueError(f"a temporary UPN cannot end in {last!r} (I, O and S are not used)")
    total = sum(
        int(char) * weight for char, weight in zip(trailing[:11], range(2, 13), strict=True)
    )
    total += last_value * 13
    return UPN_ALPHABET[total % 23]


def upn_is_valid(upn: str) -> bool:
    if len(upn) != 13:
        return False
    try:
        return upn_check_letter(upn[1:]) == upn[0]
    except ValueError:
        return False
