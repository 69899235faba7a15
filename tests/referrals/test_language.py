"""The language engine's date scan reads exactly as the alternation of the date regexes."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache

import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.language import Language

from fullpicture.referrals.language import DateScan, _lower_pattern, default_engine, make_doc
from fullpicture.referrals.regex_index import word_starts
from fullpicture.referrals.rulebook import default_rulebook

_PIECES = st.sampled_from(
    [
        "3 weeks ago", "12/10/2025", "10.30", "10.30am", "7 pm", "on 4 march", "friday",
        "since 2019", "in 2024", "march 2021", "21st june", "a1 ", "the ", "and ", ", ", ".",
        "\n", " ", "5", "/", "-", "am", "mar", "2 months", "days ago",
    ]
)  # fmt: skip


def _scan() -> DateScan:
    language = default_rulebook().language
    return DateScan([(_lower_pattern(d.regex), d.label) for d in language.date_regexes])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_date_scan_matches_the_alternation(text: str) -> None:
    scan = _scan()
    assert scan.matches(text) == scan._by_alternation(text)


def test_date_scan_finds_dates_in_order_with_the_first_regex_winning_a_tie() -> None:
    scan = DateScan([(r"\d+ weeks", "A"), (r"\d+", "B"), (r"weeks ago", "C")])
    assert scan.matches("3 weeks ago and 12") == [(0, 7, "A"), (16, 18, "B")]
    assert scan.matches("3 weeks ago and 12") == scan._by_alternation("3 weeks ago and 12")


def test_date_scan_defers_to_the_alternation_for_an_empty_match() -> None:
    scan = DateScan([(r"x*", "X"), (r"\d+", "D")])
    assert scan.matches("ab12x") == scan._by_alternation("ab12x")


def test_the_engine_uses_the_rulebook_date_regexes() -> None:
    text = "seen on 12/10/2025 at 10.30 and again 3 weeks ago"
    assert default_engine()._date_scan.matches(text) == _scan()._by_alternation(text)


_SENTENCE_PIECES = st.sampled_from(
    [
        "Mum", "said", "no", "Dr.", "e.g.", "3.5", "kg", ".", "!", "?", "...", "?!", '"', "“",
        "”", "'", ")", "(", "\n", "\n\n", ":", ";", "-", "•", "yes", "It hurts", "12/05",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_SENTENCE_PIECES, max_size=40).map(" ".join))
def test_sentences_split_as_spacys_sentencizer_splits_them(text: str) -> None:
    from spacy.pipeline import Sentencizer

    from fullpicture.referrals.language import _Tokens

    engine = default_engine()
    doc = engine.nlp.make_doc(text)
    Sentencizer()(doc)
    by_spacy = _Tokens.of(doc)
    ours = _Tokens.of(engine.nlp.make_doc(text), sentence_punct=engine._sentence_punct)
    assert ours.sent == by_spacy.sent, [t.text for t in doc]


_DATE_PIECES = st.sampled_from(
    [
        "last", "yesterday", "morning", "evening", "this", "night", "week", "friday", "monday",
        "Last", "YESTERDAY", "earlier", "today", "previous", "month", "term", "year", "the",
        ".", ",", "\n", "mum", "said", "-", "on",
    ]
)  # fmt: skip


@cache
def _entity_ruler() -> Language:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns(  # type: ignore[attr-defined]
        [p.model_dump() for p in default_rulebook().language.entity_patterns]
    )
    return nlp


@settings(max_examples=300, deadline=None)
@given(st.lists(_DATE_PIECES, max_size=30).map(" ".join))
def test_date_phrases_are_the_entities_spacys_entity_ruler_sets(text: str) -> None:
    """The date phrases found with the shared phrase matcher are kept as the EntityRuler
    keeps its matches: longest first, then leftmost, never two on one token."""
    engine = default_engine()
    by_ruler = [(e.start_char, e.end_char, e.label_) for e in _entity_ruler()(text).ents]
    analysis = engine.analyse(text, referral_date=dt.date(2026, 11, 23))
    assert [(e.start_char, e.end_char, e.label_) for e in analysis.doc.ents] == by_ruler


_CHUNK_PIECES = st.sampled_from(
    [
        "don't", "Mr.", "mum's", "(DOB", "12/05/2019", "e.g.", "it's", "can't.", "(Dr.", "...",
        "o'clock", "x-ray", "“Hi”", "5kg", "U.K.", "a", "Mia", "said:", "\n", "\n\n", "  ", "\t",
        " \n ", "",
    ]
)  # fmt: skip


@cache
def _plain_english() -> Language:
    return spacy.blank("en")


@settings(max_examples=300, deadline=None)
@given(st.lists(_CHUNK_PIECES, max_size=30).map(" ".join))
def test_a_text_is_tokenized_as_spacys_tokenizer_tokenizes_it(text: str) -> None:
    engine = default_engine()
    ours = make_doc(engine.nlp, text, engine._tokenized_chunks)
    plain = _plain_english().make_doc(text)
    assert [(t.text, t.idx, t.whitespace_) for t in ours] == [
        (t.text, t.idx, t.whitespace_) for t in plain
    ]


def test_a_texts_words_after_a_special_case_are_split_by_the_affix_rules_once() -> None:
    """spaCy caches none of a text's chunks after its first special case ("don't"), so every
    check split them again with the prefix regex; ``make_doc`` leaves them cached."""
    nlp = spacy.blank("en")
    prefix_search = nlp.tokenizer.prefix_search
    searched: list[str] = []

    def counted(chunk: str) -> re.Match[str] | None:
        searched.append(chunk)
        return prefix_search(chunk)  # type: ignore[no-any-return]

    nlp.tokenizer.prefix_search = counted
    text = "I don't know (DOB 12/05/2019), mum's partner said:\n\n“Hi” to Mia."
    tokenized: set[str] = set()
    first = make_doc(nlp, text, tokenized)
    searched.clear()
    again = make_doc(nlp, text, tokenized)
    assert searched == []
    assert [t.text for t in again] == [t.text for t in first]
    assert "(DOB" in tokenized and "\n\n" in tokenized
    nlp.make_doc(text)
    assert searched == [], "spaCy's own cache holds the chunks once make_doc has given them"


_RELATION_PIECES = st.sampled_from(
    [
        "son", "Son", "SON", "grandson", "daughter", "Daughter", "refer", "referring", "baby",
        "Tom", "Amy-Lee", "O'Neil", "Smith", "and", "his", "brother", "(7)", ",", " ", "\n", "x",
        "İ", "children", "Children:",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_RELATION_PIECES, max_size=30).map(" ".join))
def test_child_relations_are_found_at_words_as_the_scan_finds_them(text: str) -> None:
    """The relations regex ("his son Tom") tried only at the words that begin with a relation
    finds what the scan of its ``\\b(?i:…)`` form finds."""
    engine = default_engine()
    assert engine._child_relations.indexed == 1
    at_words = engine._child_relations.find(text, word_starts(text))[0]
    scanned = list(engine._child_relation_re.finditer(text))
    assert [(m.span(), m.groupdict()) for m in at_words] == [
        (m.span(), m.groupdict()) for m in scanned
    ]
