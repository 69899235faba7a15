"""Stretches of referral text by character offset, and the small text tests the readers share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TextSpan:
    """A stretch of the referral text by character offsets."""

    start: int
    end: int
    text: str


def is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def lower_pattern(expression: str) -> str:
    """Lower-case a regex's literals, leaving escapes (``\\S``, ``\\W``, ``\\D``, ``\\B``) alone."""
    out: list[str] = []
    escaped = False
    for ch in expression:
        out.append(ch if escaped else ch.lower())
        escaped = ch == "\\" and not escaped
    return "".join(out)
