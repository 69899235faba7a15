"""Regexes that start at a word, tried only where their first letters stand.

Each cue regex scanned the whole referral once: about a hundred passes over a 1,100-word text,
some 6 ms of the check's 20 ms budget, and a case-insensitive alternation written inline
(``(?i:mother|mum|…)``) is tried at every character. A regex whose match must begin at the start
of a word (a leading ``\\b``) can only match where a word begins with one of the few letters its
pattern allows. Those first letters (up to three) are read from the parsed pattern once, when the
rules are compiled; for each text, one pass finds where words begin, and each regex is tried
with ``match`` only at the words that begin with its letters. The matches are the ones a scan
finds: leftmost first, a regex's matches not overlapping (``finditer``), in the order the regexes
were added. A regex whose first letters cannot be read (``\\w+``, a negated class) keeps its scan.
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]
import re
import re._constants as sre  # type: ignore[import-not-found]
import re._parser as sre_parse  # type: ignore[import-not-found]
from functools import cache
from re._casefix import _EXTRA_CASES  # type: ignore[import-not-found]
from typing import Any

from fullpicture.referrals.spans import is_word_char

PREFIX_LENGTH = 3
# Above this many first-letter strings a pattern is left to its scan: it could start at almost
# any word ("[A-Z][a-z]+": every capitalised word), so trying it word by word gains nothing.
# Counted over ASCII strings, as the Unicode digits, spaces and case-folds a class also lists
# are rare in referrals.
_MOST_PREFIXES = 600
_MOST_LISTED = 20000
# A capital letter or a digit; more first letters than these (any letter) are left to the scan.
_MOST_FIRST_LETTERS = 36
# A whole word per match: its start is a word start, and the scan resumes after the word, so the
# regex engine is not started at each of the word's letters to test a lookbehind (``(?<!\w)\w``
# took twice as long).
_WORD = re.compile(r"\w+")
# Inline flags for the whole pattern ("(?i)"), which must stay at its start.
_GLOBAL_FLAGS = re.compile(r"^(?:\(\?[aiLmsux]+\))+")
# Distinct word beginnings remembered per regex index (a few thousand in ordinary English).
_MOST_WORD_BEGINNINGS = 50_000
# From this many regexes tried at a word, one alternation of them is tried first (``_gate``).
_GATE_FROM = 3

_Prefixes = set[tuple[str, bool]]  # (first letters, nothing known after them)


# Every cased letter, decimal digit and whitespace character lies below this code point.
_LAST_LISTED = 0x20000


@cache
def _characters() -> dict[str, frozenset[str]]:
    """What ``\\s`` and ``\\d`` match in a str pattern (Unicode whitespace and decimal digits),
    and, for ``(?i:…)``, the characters the regex engine folds to each lower-case letter."""
    everything = [chr(code) for code in range(_LAST_LISTED)]
    folded: dict[str, set[str]] = {}
    for ch in everything:
        lower = chr(_sre.unicode_tolower(ord(ch)))
        if lower != ch:
            folded.setdefault(lower, {lower}).add(ch)
    found = {key: frozenset(chars) for key, chars in folded.items()}
    found["\\s"] = frozenset(ch for ch in everything if ch.isspace())
    found["\\d"] = frozenset(ch for ch in everything if ch.isdecimal())
    return found


def _cases(code: int, ignore_case: bool) -> set[str]:
    ch = chr(code)
    if not ignore_case:
        return {ch}
    lower = chr(_sre.unicode_tolower(code))
    chars = set(_characters().get(lower, {ch}))
    for extra in _EXTRA_CASES.get(ord(lower), ()):
        chars |= _characters().get(chr(extra), {chr(extra)})
    return chars


def _class_chars(items: list[tuple[Any, Any]], ignore_case: bool) -> set[str] | None:
    """The characters a class matches, when they are few enough to list."""
    negated = bool(items) and items[0][0] is sre.NEGATE
    members = items[1:] if negated else items
    if negated:
        # Only "whitespace but not ..." ([^\\S\\n]) is listed: other negated classes match
        # almost anything.
        if not any(op is sre.CATEGORY and value is sre.CATEGORY_NOT_SPACE for op, value in members):
            return None
        return {ch for ch in _characters()["\\s"] if not _in_class(ch, members, ignore_case)}
    chars: set[str] = set()
    for op, value in members:
        if op is sre.LITERAL:
            chars |= _cases(value, ignore_case)
        elif op is sre.RANGE and value[1] - value[0] <= 26:
            for code in range(value[0], value[1] + 1):
                chars |= _cases(code, ignore_case)
        elif op is sre.CATEGORY and value is sre.CATEGORY_DIGIT:
            chars |= _characters()["\\d"]
        elif op is sre.CATEGORY and value is sre.CATEGORY_SPACE:
            chars |= _characters()["\\s"]
        else:
            return None  # a wide class (\\w, a long range): it could start anywhere
    return chars


def _in_class(ch: str, members: list[tuple[Any, Any]], ignore_case: bool) -> bool:
    for op, value in members:
        if op is sre.LITERAL and ch in _cases(value, ignore_case):
            return True
        if op is sre.RANGE and value[0] <= ord(ch) <= value[1]:
            return True
        if op is sre.CATEGORY and value is sre.CATEGORY_NOT_SPACE and not ch.isspace():
            return True
        if op is sre.CATEGORY and value is sre.CATEGORY_SPACE and ch.isspace():
            return True
    return False


def _node(op: Any, value: Any, ignore_case: bool) -> _Prefixes | None:
    if op is sre.LITERAL:
        return {(ch, False) for ch in _cases(value, ignore_case)}
    if op is sre.IN:
        chars = _class_chars(value, ignore_case)
        return None if chars is None else {(ch, False) for ch in chars}
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return {("", False)}  # zero-width: ``match`` checks it at the position
    if op is sre.SUBPATTERN:
        _, add_flags, del_flags, items = value
        flagged = (ignore_case or bool(add_flags & sre.SRE_FLAG_IGNORECASE)) and not (
            del_flags & sre.SRE_FLAG_IGNORECASE
        )
        return _sequence(items, flagged)
    if op is sre.BRANCH:
        found: _Prefixes = set()
        for alternative in value[1]:
            part = _sequence(alternative, ignore_case)
            if part is None:
                return None
            found |= part
        return found
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, high, items = value
        once = _sequence(items, ignore_case)
        if once is None:
            return None
        if not (low == high == 1):
            once = {(letters, True) for letters, _ in once}
        return once | {("", False)} if low == 0 else once
    return None


def _sequence(items: Any, ignore_case: bool) -> _Prefixes | None:
    current: _Prefixes = {("", False)}
    for op, value in items:
        if all(done or len(letters) >= PREFIX_LENGTH for letters, done in current):
            break
        options = _node(op, value, ignore_case)
        if options is None:
            current = {(letters, True) for letters, _ in current}
            break
        extended: _Prefixes = set()
        for letters, done in current:
            if done or len(letters) >= PREFIX_LENGTH:
                extended.add((letters, True))
                continue
            for more, more_done in options:
                joined = letters + more
                extended.add((joined[:PREFIX_LENGTH], more_done or len(joined) > PREFIX_LENGTH))
        if len(extended) > _MOST_LISTED:
            return None
        current = extended
    return current


def word_prefixes(expression: str) -> frozenset[str] | None:
    """The strings (one to three characters) every match of ``expression`` starts with, when
    the match must begin at the start of a word; None when they cannot be read."""
    parsed = sre_parse.parse(expression)
    ignore_case = bool(parsed.state.flags & sre.SRE_FLAG_IGNORECASE)
    items = list(parsed)
    at_word = False
    for op, value in items:
        if op is sre.AT and value is sre.AT_BOUNDARY:
            at_word = True
        elif op not in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            break
    prefixes = _sequence(items, ignore_case)
    if prefixes is None or not at_word:
        return None
    letters = {found for found, _ in prefixes}
    if "" in letters:
        return None
    # A match that must begin a word begins with a word character: an alternative opening with
    # a mark ("'ve" in "(?:have|'ve) had") can never be found there, so it needs no word.
    letters = {found for found in letters if is_word_char(found[0])}
    if sum(1 for found in letters if found.isascii()) > _MOST_PREFIXES:
        # Too many beginnings to list ("[A-Z][a-z]+ …": every capitalised word), but few first
        # letters: tried at the words that begin with one of them, behind the gate of the
        # regexes tried there together (``WordStartRegexes._gate``), not scanned.
        letters = {found[0] for found in letters}
        if sum(1 for found in letters if found.isascii()) > _MOST_FIRST_LETTERS:
            return None
    return frozenset(letters)


class WordStartRegexes:
    """Regexes over one source text (the lower-cased text, or the text as written), each found
    as a scan would find it. ``add`` a regex with ``at_word_start`` when the caller checks that a
    match begins a word (it dropped a leading ``\\b``); ``find`` gives each regex's matches."""

    def __init__(self) -> None:
        self._patterns: list[re.Pattern[str]] = []
        self._scanned: list[int] = []
        self._by_prefix: dict[str, list[int]] = {}
        self._by_length: dict[int, dict[str, list[int]]] = {}
        self._lengths: list[int] = []
        # The regexes to try at a word, by the word's first PREFIX_LENGTH characters: filled as
        # words are met (one lookup per word instead of one per prefix length), emptied when a
        # regex is added. Bounded: words' beginnings repeat, but a text could be all new ones.
        self._at_word: dict[str, tuple[re.Pattern[str] | None, tuple[int, ...]]] = {}
        # One alternation of the regexes tried together at a word, tried first (``_gate``).
        self._gates: dict[tuple[int, ...], re.Pattern[str] | None] = {}

    def add(self, pattern: re.Pattern[str], *, at_word_start: bool) -> int:
        number = len(self._patterns)
        self._patterns.append(pattern)
        source = pattern.pattern
        prefixes = word_prefixes(("\\b" + source) if at_word_start else source)
        if prefixes is None:
            if at_word_start:
                # Scanned, a match may begin only where a word begins, as at an indexed word:
                # filtered afterwards, a match begun inside a word or at a mark ("-jo@x.org")
                # was dropped and hid the match at the word it overlapped.
                body = _GLOBAL_FLAGS.sub("", source)
                self._patterns[number] = re.compile(rf"(?<!\w)(?=\w)(?:{body})", pattern.flags)
            self._scanned.append(number)
        else:
            for letters in prefixes:
                self._by_prefix.setdefault(letters, []).append(number)
                self._by_length.setdefault(len(letters), {})[letters] = self._by_prefix[letters]
            self._lengths = sorted(self._by_length)
            self._at_word = {}
            self._gates = {}
        return number

    @property
    def indexed(self) -> int:
        return len(self._patterns) - len(self._scanned)

    def find(self, source: str, starts: list[int] | None = None) -> list[list[re.Match[str]]]:
        """Each regex's matches (by the number ``add`` gave), leftmost first, not overlapping.
        ``starts``: where words begin in ``source`` (``word_starts``), when the caller has them."""
        found: list[list[re.Match[str]]] = [[] for _ in self._patterns]
        for number in self._scanned:
            found[number] = list(self._patterns[number].finditer(source))
        if not self._by_prefix:
            return found
        ends = [0] * len(self._patterns)
        patterns, at_word = self._patterns, self._at_word
        if len(at_word) > _MOST_WORD_BEGINNINGS:
            at_word.clear()
        for start in word_starts(source) if starts is None else starts:
            beginning = source[start : start + PREFIX_LENGTH]
            tried = at_word.get(beginning)
            if tried is None:
                numbers = self._tried_at(beginning)
                tried = at_word[beginning] = (self._gate(numbers), numbers)
            gate, numbers = tried
            if gate is not None and gate.match(source, start) is None:
                continue  # none of them matches here
            for number in numbers:
                if start < ends[number]:
                    continue
                match = patterns[number].match(source, start)
                if match is not None and match.end() > start:
                    found[number].append(match)
                    ends[number] = match.end()
        return found

    def _gate(self, numbers: tuple[int, ...]) -> re.Pattern[str] | None:
        """The alternation of the regexes ``numbers``, when there are enough of them to be worth
        one: it matches at a word exactly where one of them does, so a word where it fails
        needs none tried. Most words where several regexes are tried match none (the dozen
        regexes opening with a number: 1,100 tries at the 86 numbers of the bench text, ten
        matches), and the alternation tries them all in one call. None for fewer regexes, or
        for a regex that cannot stand in an alternation (global flags, group references)."""
        if len(numbers) < _GATE_FROM:
            return None
        if numbers not in self._gates:
            parts = [self._patterns[number] for number in numbers]
            gate = None
            if all(_alternation_safe(part) for part in parts):
                try:
                    gate = re.compile("|".join(f"(?:{part.pattern})" for part in parts))
                except re.error:  # a group name used by two of them
                    gate = None
            self._gates[numbers] = gate
        return self._gates[numbers]

    def _tried_at(self, beginning: str) -> tuple[int, ...]:
        """The regexes whose first letters begin ``beginning``: each regex is tried at most once
        at a word, and in which order does not matter, as each keeps its own matches."""
        numbers: set[int] = set()
        for length in self._lengths:
            numbers.update(self._by_length[length].get(beginning[:length], ()))
        return tuple(sorted(numbers))


# What a character class or a single character may look like at the start of a pattern.
_ONE_CHARACTER = re.compile(r"\[\^?\]?(?:\\.|[^\]\\])*\]|\\.|[^\\()|?*+{}^$.\[]")
_QUANTIFIERS = frozenset("*+?{")


_COUNTED = re.compile(r"\{(\d+)(?:(,)(\d*))?\}")


def searchable(expression: str) -> str:
    r"""``expression`` with a leading repeated character written once before its repeat
    (``\d{1,2}…`` as ``\d(?:\d{0,1})…``, ``\d+…`` as ``\d(?:\d*)…``): the same matches, tried
    in the same order. ``search`` and ``finditer`` skip in C the positions where a pattern's
    leading character or class cannot stand, but start the whole matcher at every position
    when the pattern opens with a repeat (five of the seven date regexes open with ``\d{1,2}``
    or ``\d+``; each scan took about 1.4 times as long). The expression itself when it opens
    otherwise."""
    first = _ONE_CHARACTER.match(expression)
    if first is None:
        return expression
    character, rest = first.group(), expression[first.end() :]
    counted = _COUNTED.match(rest)
    if rest[:1] == "+":
        low, high, quantifier_end = 1, "", 1
    elif counted is not None:
        low = int(counted.group(1))
        high = counted.group(3) if counted.group(2) else counted.group(1)
        quantifier_end = counted.end()
    else:
        return expression
    after = rest[quantifier_end:]
    if low < 1 or after[:1] in _QUANTIFIERS:  # lazy or possessive: left as written
        return expression
    repeat = f"{{{low - 1},{int(high) - 1}}}" if high else ("*" if low == 1 else f"{{{low - 1},}}")
    try:
        one = list(sre_parse.parse(character))
        opening = sre_parse.parse(expression)[0]
    except (re.error, IndexError):  # an empty expression has no opening
        return expression
    if len(one) != 1 or one[0][0] not in (sre.LITERAL, sre.IN):
        return expression
    if (
        opening[0] is not sre.MAX_REPEAT
        or opening[1][0] != low
        or repr(opening[1][2].data) != repr(one)
    ):
        return expression
    return f"{character}(?:{character}{repeat}){after}"


@cache
def _alternation_safe(pattern: re.Pattern[str]) -> bool:
    """Whether ``pattern`` matches the same inside ``(?:…)|(?:…)`` as alone: no flags of its
    own and no reference to a group by number or name, which the alternation would renumber."""
    if pattern.flags & ~re.UNICODE or _GLOBAL_FLAGS.match(pattern.pattern):
        return False
    return "GROUPREF" not in repr(list(sre_parse.parse(pattern.pattern)))


def word_starts(source: str) -> list[int]:
    """Where words begin (a word character not after one), as a regex's ``\\b`` sees them."""
    return [found.start() for found in _WORD.finditer(source)]
