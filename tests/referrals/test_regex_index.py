"""Regexes tried only at the words that begin with their first letters (regex_index.py) find what
a scan over the whole text finds, for every regex of the shipped rule files."""

from __future__ import annotations

import re
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from fullpicture.referrals.language import default_engine
from fullpicture.referrals.regex_index import (
    WordStartRegexes,
    searchable,
    word_prefixes,
    word_starts,
)
from fullpicture.referrals.spans import is_word_char


def test_first_letters_are_read_from_the_pattern() -> None:
    assert word_prefixes(r"\b(?:mum|dad)\b") == {"mum", "dad"}
    assert word_prefixes(r"\bno(?:t|ne)\b") == {"not", "non"}
    digits = word_prefixes(r"\b\d+ weeks")
    assert digits is not None and set("0123456789٣") <= digits
    assert word_prefixes(r"\bs\.?47") == {"s.", "s47"}
    # An inline case-insensitive group reads both cases, after a lookbehind.
    assert word_prefixes(r"(?<![Gg][Pp] )\b(?i:mum)") == {
        a + b + c for a in "mM" for b in "uU" for c in "mM"
    }
    # Not at a word start, or could start with almost anything: left to the scan.
    assert word_prefixes(r"(?:mum|dad)") is None
    assert word_prefixes(r"\b\w+@") is None
    assert word_prefixes(r"\b[^a]bc") is None
    assert word_prefixes(r"\b(?:mum)?") is None


def _scan(pattern: re.Pattern[str], source: str, *, at_word_start: bool) -> list[tuple[int, int]]:
    """Every match, leftmost first and not overlapping; for a regex bounded at a word start,
    tried at every word start (not a scan filtered afterwards: a match inside a word, dropped
    for not starting one, must not hide the match at the next word that it overlaps, as in
    'mumtold told referrals')."""
    found: list[tuple[int, int]] = []
    if not at_word_start:
        return [(m.start(), m.end()) for m in pattern.finditer(source) if m.end() > m.start()]
    end = 0
    for begin in range(len(source)):
        if begin < end or not is_word_char(source[begin]):
            continue
        if begin > 0 and is_word_char(source[begin - 1]):
            continue
        match = pattern.match(source, begin)
        if match is not None and match.end() > begin:
            found.append((begin, match.end()))
            end = match.end()
    return found


_WORDS = st.sampled_from(
    [
        "mum", "Mum", "MUM", "dad", "Dad's", "father", "step-father", "Mr", "Smith", "Jo", "Lee",
        "GP", "gp", "is", "was", "told", "informed", "aware", "parents", "agreed", "s47", "s.47",
        "3", "12", "weeks", "months", "old", "14ish", "aged", "7", "previous", "referrals", "two",
        "early", "help", "assessment", "requested", "just", "a", "scratch", "only", "some",
        "concerns", "known", "to", "police", "for", "(", ")", ",", ":", "-", ".", "\n", "'", '"',
        "07700", "900123", "jo@example.org", "SW1A", "1AA", "DOB", "01/02/2015",
    ]
)  # fmt: skip


def test_a_match_inside_a_word_does_not_hide_the_next_words() -> None:
    # Hypothesis found it: the told/inform … referral regex matched from inside "mumtold"; a
    # scan filtered to word starts then lost "told referrals", which the index finds.
    test_every_rule_regex_finds_what_a_scan_finds.hypothesis.inner_test(  # type: ignore[attr-defined]
        ["mum", "mum", "told", "told", "referrals"], [" ", "", " ", " "]
    )


def test_a_scanned_match_begun_at_a_mark_does_not_hide_the_word_after_it() -> None:
    # Hypothesis found it: the e-mail regex (\b[\w.+-]+@…, scanned: its first letters cannot be
    # listed) matched from the "-" of "-jo@example.org"; the match was dropped for not starting
    # a word and hid the address itself.
    test_every_rule_regex_finds_what_a_scan_finds.hypothesis.inner_test(  # type: ignore[attr-defined]
        ["-", "jo@example.org"], ["", " "]
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(_WORDS, max_size=40), st.lists(st.sampled_from([" ", "", "  "]), max_size=40))
def test_every_rule_regex_finds_what_a_scan_finds(words: list[str], gaps: list[str]) -> None:
    text = "".join(word + (gaps[n] if n < len(gaps) else " ") for n, word in enumerate(words))
    engine = default_engine()
    lowered = text.lower()
    for source, expressions, index in (
        (lowered, engine._regexes, engine._regex_index),
        (text, engine._regexes_cased, engine._regex_index_cased),
    ):
        found = index.find(source, word_starts(source))
        for (pattern, _, bounded), matches in zip(expressions, found, strict=True):
            by_index = [
                (m.start(), m.end())
                for m in matches
                if not bounded
                or (
                    (m.start() == 0 or not is_word_char(source[m.start() - 1]))
                    and is_word_char(source[m.start()])
                )
            ]
            assert by_index == _scan(pattern, source, at_word_start=bounded), (
                pattern.pattern,
                text,
            )


def test_most_rule_regexes_are_tried_only_at_their_words() -> None:
    engine = default_engine()
    indexed = engine._regex_index.indexed + engine._regex_index_cased.indexed
    assert indexed >= 0.8 * (len(engine._regexes) + len(engine._regexes_cased))


def test_a_regex_matches_do_not_overlap_and_keep_their_order() -> None:
    index = WordStartRegexes()
    first = index.add(re.compile(r"a a"), at_word_start=True)
    second = index.add(re.compile(r"\ba\b"), at_word_start=False)
    found = index.find("a a a a")
    assert [(m.start(), m.end()) for m in found[first]] == [(0, 3), (4, 7)]
    assert [m.start() for m in found[second]] == [0, 2, 4, 6]


def test_unicode_digits_spaces_and_case_folds_are_first_letters_too() -> None:
    # What a scan would find: "\d" matches any decimal digit, "\s" any Unicode space, and
    # (?i:k) the Kelvin sign.
    index = WordStartRegexes()
    digits = index.add(re.compile(r"\d+ weeks"), at_word_start=True)
    spaced = index.add(re.compile(r"\bi\s+think"), at_word_start=False)
    folded = index.add(re.compile(r"\b(?i:kai)"), at_word_start=False)
    text = "٣ weeks; i\u00a0think; \u212aai"
    found = index.find(text)
    assert [m.group() for m in found[digits]] == ["٣ weeks"]
    assert [m.group() for m in found[spaced]] == ["i\u00a0think"]
    assert [m.group() for m in found[folded]] == ["\u212aai"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab1_ -'\n.é٣\u00a0", max_size=40))
def test_words_begin_where_a_word_character_follows_none(source: str) -> None:
    assert word_starts(source) == [found.start() for found in re.finditer(r"(?<!\w)\w", source)]


_LEADING_REPEATS = [
    r"\d{1,2}[:.]\d{2}\b",
    r"\d+\s+(?:weeks|months)\s+ago\b",
    r"\d{2}x",
    r"\d{1,}\s?am",
    r"[a-c]{2,3}\b",
    r"a+b",
]


def test_a_leading_repeat_is_written_once_before_it() -> None:
    assert searchable(r"\d{1,2}[:.]\d{2}") == r"\d(?:\d{0,1})[:.]\d{2}"
    assert searchable(r"\d+ ago") == r"\d(?:\d*) ago"
    # Not a leading repeat of one character, or lazy, or possibly empty: as written.
    for expression in (r"\d+?a", r"\d*b", r"\d{0,2}z", r"(?:ab)+", r"\bab", r"ab|cd"):
        assert searchable(expression) == expression


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789abcx :.\nsmweko", max_size=60))
def test_a_searchable_regex_finds_what_it_did(source: str) -> None:
    for expression in _LEADING_REPEATS:
        rewritten = re.compile(searchable(expression))
        assert [m.span() for m in rewritten.finditer(source)] == [
            m.span() for m in re.finditer(expression, source)
        ], expression
        for start in range(len(source)):
            found, expected = rewritten.search(source, start), re.search(expression, source[start:])
            assert (found and found.start() - start, found and found.group()) == (
                expected and expected.start(),
                expected and expected.group(),
            )


def test_capitalised_regexes_are_tried_at_capitalised_words() -> None:
    # "[A-Z][a-z]+ …" begins with too many three-letter strings to list, but with 26 letters.
    assert word_prefixes(r"\b[A-Z][a-z]+ \(\d{1,2}\)") == set(string.ascii_uppercase)
    index = WordStartRegexes()
    number = index.add(re.compile(r"[A-Z][a-z]+ \(\d{1,2}\)"), at_word_start=True)
    assert index.indexed == 1
    text = "Ava (7), McAva (8), -Leo (9)"
    assert [m.group() for m in index.find(text)[number]] == ["Ava (7)", "Leo (9)"]
    # Three letters of any case, then more: too many beginnings and first letters to list.
    assert word_prefixes(r"\b[A-Za-z][a-z][a-z]+ \(\d\)") is None


def test_regexes_tried_together_at_a_word_are_gated_by_their_alternation() -> None:
    index = WordStartRegexes()
    numbers = [
        index.add(re.compile(expression), at_word_start=True)
        for expression in (r"\d+ weeks", r"\d+ kg", r"\d+(?:st|nd|rd|th) centile")
    ]
    found = index.find("3 weeks, 12 kg and 2nd centile; 4 days")
    assert [[m.group() for m in found[n]] for n in numbers] == [
        ["3 weeks"],
        ["12 kg"],
        ["2nd centile"],
    ]
    assert set(index._gates) == {tuple(numbers)} and index._gates[tuple(numbers)] is not None
    # A regex with a group reference cannot stand in an alternation: no gate, tried one by one.
    index.add(re.compile(r"(\d)\1 times"), at_word_start=True)
    found = index.find("33 times, 34 times")
    assert [m.group() for m in found[-1]] == ["33 times"]
    assert all(gate is None for gate in index._gates.values())


def test_an_alternative_opening_with_a_mark_is_never_tried_at_a_word() -> None:
    # "(?:has|'ve) had" at a word: "'ve" cannot begin one, so only "has" words are tried.
    assert word_prefixes(r"\b(?:has|'ve) had") == {"has"}
