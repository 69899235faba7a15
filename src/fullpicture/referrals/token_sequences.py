"""Simple token patterns matched in one pass over a text's lower-cased tokens.

spaCy's ``Matcher`` tests ``{"LOWER": {"IN": [...]}}`` with a Python predicate on every token, and
each pattern run as a regex scans the whole text once: with a hundred vague-language patterns
either costs milliseconds per referral. Here every pattern is indexed by the words its first
token may be, so one walk over the tokens looks up each word once and tries only the few
patterns that can start there.

A pattern may use, per token, ``LOWER`` (a word or ``{"IN": [...]}``), ``IS_ALPHA: true``,
``LIKE_NUM: true``, ``IS_PUNCT: true``, ``IS_TITLE: true`` and ``OP: "?"`` (not on the first
token), each word being one spaCy token.
The last token may also carry ``NOT_FOLLOWED_BY: [words]``, and the first ``NOT_PRECEDED_BY:
[words]``, which spaCy's ``Matcher`` has no way to say ("mum is happy", not "mum is happy to
talk"; "everything is fine", not "dad said everything is fine"); such a pattern must be taken here.
Anything else is left to the regex or ``Matcher`` route (``TokenSequences.add`` returns False).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

_ALLOWED = frozenset(
    {
        "LOWER",
        "IS_ALPHA",
        "LIKE_NUM",
        "IS_PUNCT",
        "IS_TITLE",
        "OP",
        "NOT_FOLLOWED_BY",
        "NOT_PRECEDED_BY",
    }
)
_FLAGS = ("IS_ALPHA", "LIKE_NUM", "IS_PUNCT", "IS_TITLE")
NOT_FOLLOWED_BY = "NOT_FOLLOWED_BY"
NOT_PRECEDED_BY = "NOT_PRECEDED_BY"


@dataclass(frozen=True, slots=True)
class _Step:
    words: frozenset[str] | None
    alpha: bool
    number: bool
    optional: bool
    not_followed_by: frozenset[str] = frozenset()
    punct: bool = False
    title: bool = False
    not_preceded_by: frozenset[str] = frozenset()


def _step(token: dict[str, Any], one_token: Callable[[str], bool]) -> _Step | None:
    if not set(token) <= _ALLOWED or token.get("OP") not in (None, "?"):
        return None
    if any(token.get(flag) not in (None, True) for flag in _FLAGS):
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
    if words is None and not any(token.get(flag) for flag in _FLAGS):
        return None
    not_followed_by = token.get(NOT_FOLLOWED_BY) or ()
    not_preceded_by = token.get(NOT_PRECEDED_BY) or ()
    if not isinstance(not_followed_by, list | tuple) or not isinstance(
        not_preceded_by, list | tuple
    ):
        return None
    return _Step(
        words,
        bool(token.get("IS_ALPHA")),
        bool(token.get("LIKE_NUM")),
        token.get("OP") == "?",
        frozenset(str(w).lower() for w in not_followed_by),
        bool(token.get("IS_PUNCT")),
        bool(token.get("IS_TITLE")),
        frozenset(str(w).lower() for w in not_preceded_by),
    )


class TokenSequences:
    """Token patterns keyed by a match id; ``find`` gives the longest match of each pattern at
    each token where it starts (as a greedy regex would)."""

    def __init__(self, one_token: Callable[[str], bool]) -> None:
        self._one_token = one_token
        self._by_first: dict[str, list[_Entry]] = {}
        # Patterns whose second token is required and spelled out are indexed by their first two
        # words: most first words ("a", "the", "she") start many patterns but few pairs.
        self._by_pair: dict[tuple[str, str], list[_Entry]] = {}
        # The words any pattern starts with: the walk passes over every other token at once
        # (most of a text's tokens start none).
        self._first_words: set[str] = set()

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
        if any(step.not_preceded_by for step in steps[1:]):
            return False
        if any(step.not_followed_by for step in steps[:-1]) or (
            len(steps) > 1 and steps[-1].optional and steps[-1].not_followed_by
        ):
            return False
        entry = (key, tuple(steps), _next_words(steps))
        second = steps[1] if len(steps) > 1 else None
        self._first_words.update(steps[0].words or ())
        for word in steps[0].words or ():
            if second is not None and not second.optional and second.words is not None:
                for next_word in second.words:
                    self._by_pair.setdefault((word, next_word), []).append(entry)
            else:
                self._by_first.setdefault(word, []).append(entry)
        return True

    def find(
        self,
        lower: Sequence[str],
        alpha: Sequence[bool],
        number: Sequence[bool],
        punct: Sequence[bool] = (),
        title: Sequence[bool] = (),
    ) -> list[tuple[str, int, int]]:
        """(key, first token, end token) of every match; a pattern's matches do not overlap
        (leftmost first, as a regex scans), so "a a few" is one unquantified amount, not two.
        ``punct`` and ``title`` are needed only by patterns that ask IS_PUNCT or IS_TITLE."""
        columns = _Columns(lower, alpha, number, punct, title)
        found: list[tuple[str, int, int]] = []
        ends: dict[str, int] = {}
        by_first, by_pair, first_words = self._by_first, self._by_pair, self._first_words
        n = len(lower)
        for i in [i for i, word in enumerate(lower) if word in first_words]:
            word = lower[i]
            candidates = by_first.get(word)
            if i + 1 < n:
                paired = by_pair.get((word, lower[i + 1]))
                if paired is not None:
                    candidates = paired if candidates is None else candidates + paired
            if candidates is None:
                continue
            following = lower[i + 1] if i + 1 < n else None
            for key, steps, next_words in candidates:
                if next_words is not None and following not in next_words:
                    continue
                if not _fits(steps[0], columns, i):
                    continue
                if i and steps[0].not_preceded_by and lower[i - 1] in steps[0].not_preceded_by:
                    continue
                if i < ends.get(key, 0):
                    continue
                end = _longest(steps, columns, i + 1, n)
                if end is not None:
                    found.append((key, i, end))
                    ends[key] = end
        return found


# A pattern under its key, with the words the token after its first may be (``_next_words``).
_Entry = tuple[str, tuple[_Step, ...], frozenset[str] | None]


def _next_words(steps: Sequence[_Step]) -> frozenset[str] | None:
    """The words the token after a match's first must be one of: those of the steps up to the
    first required one, when each of them spells out its words; None when the pattern may end
    at its first token or a step there is not a list of words. A pattern whose words do not
    follow is passed over before its optional steps are walked (most patterns of the common
    first words "a", "the" and "is" have an optional word next)."""
    words: set[str] = set()
    for step in steps[1:]:
        if step.words is None:
            return None
        words |= step.words
        if not step.optional:
            return frozenset(words)
    return None


@dataclass(frozen=True, slots=True)
class _Columns:
    lower: Sequence[str]
    alpha: Sequence[bool]
    number: Sequence[bool]
    punct: Sequence[bool]
    title: Sequence[bool]


def _fits(step: _Step, columns: _Columns, p: int) -> bool:
    return (
        (step.words is None or columns.lower[p] in step.words)
        and (not step.alpha or columns.alpha[p])
        and (not step.number or columns.number[p])
        and (not step.punct or columns.punct[p])
        and (not step.title or columns.title[p])
    )


def _longest(steps: tuple[_Step, ...], columns: _Columns, at: int, n: int) -> int | None:
    lower = columns.lower
    if not any(step.optional for step in steps):
        # The common case, one way through: no sets of positions to carry.
        end = at + len(steps) - 1
        if end > n:
            return None
        for offset, step in enumerate(steps[1:]):
            if not _fits(step, columns, at + offset):
                return None
        barred = steps[-1].not_followed_by
        return None if barred and end < n and lower[end] in barred else end
    positions = {at}
    if len(steps) == 1 and steps[0].not_followed_by:
        return at if at >= n or lower[at] not in steps[0].not_followed_by else None
    for step in steps[1:]:
        reached = {p + 1 for p in positions if p < n and _fits(step, columns, p)}
        if step.optional:
            reached |= positions
        if not reached:
            return None
        positions = reached
    barred = steps[-1].not_followed_by
    if barred:
        positions = {p for p in positions if p >= n or lower[p] not in barred}
    return max(positions) if positions else None
