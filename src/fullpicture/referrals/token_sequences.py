"""Simple token patterns matched in one pass over a text's lower-cased tokens.

spaCy's ``Matcher`` tests ``{"LOWER": {"IN": [...]}}`` with a Python predicate on every token, and
each pattern run as a regex scans the whole text once: with a hundred vague-language patterns
either costs milliseconds per referral. Here every pattern is indexed by the words its first
token may be, so one walk over the tokens looks up each word once and tries only the few
patterns that can start there.

A pattern may use, per token, ``LOWER`` (a word or ``{"IN": [...]}``), ``IS_ALPHA: true``,
``LIKE_NUM: true`` and ``OP: "?"`` (not on the first token), each word being one spaCy token.
Anything else is left to the regex or ``Matcher`` route (``TokenSequences.add`` returns False).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

_ALLOWED = frozenset({"LOWER", "IS_ALPHA", "LIKE_NUM", "OP"})


@dataclass(frozen=True, slots=True)
class _Step:
    words: frozenset[str] | None
    alpha: bool
    number: bool
    optional: bool


def _step(token: dict[str, Any], one_token: Callable[[str], bool]) -> _Step | None:
    if not set(token) <= _ALLOWED or token.get("OP") not in (None, "?"):
        return None
    if token.get("IS_ALPHA") not in (None, True) or token.get("LIKE_NUM") not in (None, True):
        return None
    lower = token.get("LOWER")
    words: frozenset[str] | None
    if lower is None:
        words = None
    elif isinstance(lower, str):
        words = frozenset({lower})
    elif isinstance(lower, dict) and set(lower) == {"IN"} and isinstance(lower["IN"], list | tuple):
        words = frozenset(str(w) for w in lower["IN"])
    else:
        return None
    if words is not None and not all(one_token(w) for w in words):
        return None  # "co-operative" is three spaCy tokens: leave it to the regex route
    if words is None and not (token.get("IS_ALPHA") or token.get("LIKE_NUM")):
        return None
    return _Step(words, bool(token.get("IS_ALPHA")), bool(token.get("LIKE_NUM")), token.get("OP") == "?")


class TokenSequences:
    """Token patterns keyed by a match id; ``find`` gives the longest match of each pattern at
    each token where it starts (as a greedy regex would)."""

    def __init__(self, one_token: Callable[[str], bool]) -> None:
        self._one_token = one_token
        self._by_first: dict[str, list[tuple[str, tuple[_Step, ...]]]] = {}

    def add(self, key: str, pattern: Sequence[dict[str, Any]]) -> bool:
        """Index ``pattern`` under ``key``; False (nothing added) when it is not simple enough."""
        steps: list[_Step] = []
        for token in pattern:
            step = _step(token, self._one_token)
            if step is None:
                return False
            steps.append(step)
        if not steps or steps[0].words is None or steps[0].optional:
            return False
        first, rest = steps[0], tuple(steps[1:])
        for word in first.words or ():
            self._by_first.setdefault(word, []).append((key, (first, *rest)))
        return True

    def find(
        self, lower: Sequence[str], alpha: Sequence[bool], number: Sequence[bool]
    ) -> list[tuple[str, int, int]]:
        """(key, first token, end token) of every match."""
        found: list[tuple[str, int, int]] = []
        by_first = self._by_first
        n = len(lower)
        for i, word in enumerate(lower):
            candidates = by_first.get(word)
            if candidates is None:
                continue
            for key, steps in candidates:
                if steps[0].alpha and not alpha[i] or steps[0].number and not number[i]:
                    continue
                end = _longest(steps, lower, alpha, number, i + 1, n)
                if end is not None:
                    found.append((key, i, end))
        return found


def _longest(
    steps: tuple[_Step, ...],
    lower: Sequence[str],
    alpha: Sequence[bool],
    number: Sequence[bool],
    at: int,
    n: int,
) -> int | None:
    positions = {at}
    for step in steps[1:]:
        reached = {
            p + 1
            for p in positions
            if p < n
            and (step.words is None or lower[p] in step.words)
            and (not step.alpha or alpha[p])
            and (not step.number or number[p])
        }
        if step.optional:
            reached |= positions
        if not reached:
            return None
        positions = reached
    return max(positions)
