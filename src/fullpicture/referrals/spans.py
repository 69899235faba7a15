"""Stretches of referral text by character offset, and the small text tests the readers share."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class TextSpan:
    """A stretch of the referral text by character offsets."""

    start: int
    end: int
    text: str


# A frozen dataclass's __init__ stores each field with a call of object.__setattr__, which
# costs about twice as much as storing it through its slot; the analysis makes some 530 spans
# and cue matches for a 1,100-word referral. ``text_span`` stores the slots directly.
_SET_START, _SET_END, _SET_TEXT = [vars(TextSpan)[f.name].__set__ for f in fields(TextSpan)]


def text_span(start: int, end: int, text: str) -> TextSpan:
    """``TextSpan(start, end, text)``, its fields stored through their slots."""
    span: TextSpan = object.__new__(TextSpan)
    _SET_START(span, start)
    _SET_END(span, end)
    _SET_TEXT(span, text)
    return span


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
