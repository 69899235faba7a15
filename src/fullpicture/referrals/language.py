"""Reading referral text: spaCy's blank English pipeline with rule-based matchers.

One pass over the text finds every cue in the rulebook (``PhraseMatcher`` for lexicons,
``Matcher`` for token patterns, date phrases kept as spaCy's ``EntityRuler`` keeps them, regexes for phone
numbers, postcodes and the like), decides for each match whether it is asserted, denied or
supposed (negation and hypotheticals, after NegEx: a trigger within a few tokens, stopped by
"but", ";" and the like), and attributes every quotation to the child or to someone else.
No model is downloaded: ``spacy.blank("en")`` gives the tokenizer and sentence splitter only.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, cast

import numpy
import spacy
from spacy.attrs import IDX, IS_ALPHA, IS_PUNCT, IS_TITLE, LIKE_NUM, LOWER, ORTH, SENT_START
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.pipeline import Sentencizer
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc, Span

from fullpicture.people.childhood import ADULT_AGE, age_on
from fullpicture.referrals.dates import (
    _MONTHS,
    _WEEKDAYS,
    DateMention,
    date_mentions,
    resolve_day,
)
from fullpicture.referrals.dates import (
    DateScan as DateScan,
)
from fullpicture.referrals.regex_index import WordStartRegexes, word_starts
from fullpicture.referrals.rulebook import Cue, Polarity, Rulebook, default_rulebook
from fullpicture.referrals.spans import TextSpan as TextSpan
from fullpicture.referrals.spans import is_word_char, lower_pattern, text_span
from fullpicture.referrals.token_sequences import NOT_FOLLOWED_BY, NOT_PRECEDED_BY, TokenSequences

# Kept importable from here for callers written before the split.
_lower_pattern = lower_pattern

Speaker = Literal["child", "adult", "writer", "unknown"]

# Quotation marks: straight and curly double quotes, curly single quotes. Straight single
# quotes are apostrophes far more often than quotation marks in practitioners' writing.
_QUOTE_RE = re.compile(r"\"([^\"\n]{1,600})\"|“([^”\n]{1,600})”|‘([^’\n]{1,600})’")
_NAME = r"(?:[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)*)"
# A word ending in a possessive just before a point in the text ("Mum's ").
_POSSESSIVE_END = re.compile(r"\w['’]s\s*$")
_SPACE_RUN = re.compile(r"[^\S ]\s*| \s+")


@dataclass(frozen=True, slots=True)
class CueMatch:
    """One cue found in the text, where, in which sentence, and whether it is asserted."""

    namespace: str
    key: tuple[str, ...]
    cue: Cue
    span: TextSpan
    sentence: int
    polarity: Polarity
    in_quote: bool
    # Read only for a cue with ``counts_denied_in_place`` false: a denial word straight before.
    denied_in_place: bool = False
    # Read only for a cue with ``whose`` set: who the nearest person before it is.
    holder: Speaker | None = None


# CueMatch's fields in order, each stored through its slot (``_cue_match``; spans.text_span).
(
    _SET_NAMESPACE,
    _SET_KEY,
    _SET_CUE,
    _SET_SPAN,
    _SET_SENTENCE,
    _SET_POLARITY,
    _SET_IN_QUOTE,
    _SET_DENIED_IN_PLACE,
    _SET_HOLDER,
) = [vars(CueMatch)[f.name].__set__ for f in fields(CueMatch)]


@dataclass(frozen=True, slots=True)
class Quotation:
    """A quotation and who said it, with the words that attribute it."""

    span: TextSpan
    speaker: Speaker
    attribution: TextSpan | None


@dataclass(frozen=True, slots=True)
class ReportedSpeech:
    """A speech verb ("said", "told", "disclosed", "drew" …) and who its subject is."""

    verb: TextSpan
    subject: TextSpan | None
    speaker: Speaker
    quoted: bool
    # "Ava didn't tell me anything": the verb is denied, so no words are reported.
    negated: bool = False


@dataclass
class TextAnalysis:
    """Everything one pass over a referral text found; the checker and classifier read it."""

    text: str
    doc: Doc
    word_count: int
    matches: list[CueMatch]
    quotations: list[Quotation]
    speech: list[ReportedSpeech]
    dates: list[DateMention]
    child_names: tuple[str, ...]
    evidence_clauses: tuple[tuple[int, int], ...] = ()
    """Character ranges of the clauses (a sentence, or its part between semicolons) holding
    concrete evidence (a number with a unit of measurement, a connective giving the reason:
    ``vague_lexicon.yaml`` ``evidence``); praise or a label there is backed, not vague
    (``VagueKind.cleared_by_evidence``)."""

    def backed_by_evidence(self, start: int) -> bool:
        return any(begin <= start < end for begin, end in self.evidence_clauses)

    _by_namespace: dict[str, list[CueMatch]] = field(default_factory=dict)
    _by_element: dict[str, list[CueMatch]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Indexed once here so that the twenty element checks each read only their own
        # matches rather than rescanning every element match.
        for match in self.matches:
            self._by_namespace.setdefault(match.namespace, []).append(match)
            if match.namespace == "element":
                self._by_element.setdefault(match.key[0], []).append(match)

    def in_namespace(self, namespace: str) -> list[CueMatch]:
        return self._by_namespace.get(namespace, [])

    def for_element(self, element_id: str) -> list[CueMatch]:
        """The element-namespace matches of one element (R1–R20), in text-analysis order."""
        return self._by_element.get(element_id, [])

    def inside_quotation(self, start: int, end: int) -> bool:
        return any(q.span.start <= start and end <= q.span.end for q in self.quotations)


@dataclass
class _Registered:
    namespace: str
    key: tuple[str, ...]
    cue: Cue


class LanguageEngine:
    """The compiled matchers for one rulebook. Build once (it is cached); analyse many texts."""

    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook
        self.nlp: Language = spacy.blank("en")
        # Sentences are split as spaCy's sentencizer splits them, but over the token columns
        # read once (``_Tokens.of``): the component builds a Token object per token.
        self._sentence_punct = frozenset(Sentencizer.default_punct_chars)
        # The chunks of text already given to the tokenizer on their own (``make_doc``).
        self._tokenized_chunks: set[str] = set()
        self._strings = _Strings(self.nlp.vocab.strings)
        self._phrases = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        # The date and time phrases are found by the same phrase matcher as every cue and
        # resolved as spaCy's EntityRuler would (``_date_entities``): the ruler was a second
        # matcher pass over the doc (0.3 ms of a 1,100-word referral).
        self._date_phrase_labels: dict[str, int] = {}
        for phrase in rulebook.language.entity_patterns:
            match_id = f"date|{phrase.label}"
            # The label's id as the ruler's matcher keyed it (spaCy's symbol for "DATE").
            self._date_phrase_labels[match_id] = self.nlp.vocab.strings.add(phrase.label)
            self._phrases.add(match_id, [self.nlp.make_doc(phrase.pattern)])
        self._phrases_cased = PhraseMatcher(self.nlp.vocab, attr="ORTH")
        self._tokens = Matcher(self.nlp.vocab)
        # The vague-language patterns run in one walk over the tokens (token_sequences.py).
        self._sequences = TokenSequences(self._is_one_token)
        # Case-insensitive regexes run on the lower-cased text without re.IGNORECASE, which
        # lets the regex engine use its fast literal search (several times quicker).
        self._regexes: list[tuple[re.Pattern[str], str, bool]] = []
        self._regexes_cased: list[tuple[re.Pattern[str], str, bool]] = []
        # Regexes that start at a word are tried only at words beginning with their first
        # letters (regex_index.py), not scanned over the whole text one by one.
        self._regex_index = WordStartRegexes()
        self._regex_index_cased = WordStartRegexes()
        self._registry: dict[str, _Registered] = {}
        self._language_keys: dict[str, str] = {}
        self._register_rulebook(rulebook)
        language = rulebook.language
        # The date regexes read as one alternation of named groups, in file order (the earliest
        # match wins, the first regex in the file at a tie); DateScan gives its matches.
        self._date_scan = DateScan(
            [(lower_pattern(d.regex), d.label) for d in language.date_regexes]
        )
        self._terminators = {t.lower() for t in language.scope_terminators}
        self._question_answers = frozenset(a.lower() for a in language.question_answers)
        # Words after an answer "no" that keep it a denial: the second words of the "no …"
        # negation triggers ("no known", "no evidence of") and a few of a form's own.
        self._denial_after_no = {
            t.lower().split()[1] for t in language.negation_before if t.lower().startswith("no ")
        } | {w.lower() for w in language.denial_after_no}
        # Attributing speech (language_cues.yaml).
        self._pronouns = frozenset(w.lower() for w in language.speech_subject_pronouns)
        self._subject_skip = frozenset(w.lower() for w in language.speech_subject_skip)
        self._clause_breaks = frozenset(w.lower() for w in language.speech_clause_breaks)
        # Each denial as its words ("no longer" is two tokens), indexed by its last word.
        self._denials: dict[str, list[tuple[str, ...]]] = {}
        for denial in language.denial_words:
            words = tuple(t.lower_ for t in self.nlp.make_doc(denial))
            self._denials.setdefault(words[-1], []).append(words)
        self._denial_skip = frozenset(w.lower() for w in language.denial_skip)
        self._state_links = frozenset(w.lower() for w in language.state_links)
        self._state_writers = frozenset(w.lower() for w in language.state_writers)
        self._not_names = frozenset(w.lower() for w in language.not_names)
        plural = frozenset(w.lower() for w in language.plural_terms)
        # What "he" and "she" may not stand for (gender and number agreement).
        self._disagrees = {
            "he": frozenset(w.lower() for w in language.female_terms) | plural,
            "she": frozenset(w.lower() for w in language.male_terms) | plural,
        }
        self._speech_verbs = {v.lower() for v in language.speech_verbs}
        self._child_terms = {t.lower() for t in language.child_terms}
        self._adult_terms = {t.lower() for t in language.adult_terms}
        self._writer_terms = {t.lower() for t in language.writer_terms}
        # Longest first, whole words only, so "Children:" is not read as "Child" + "ren".
        labels = "|".join(
            re.escape(label) for label in sorted(language.child_name_labels, key=len, reverse=True)
        )
        relations = "|".join(
            re.escape(word) for word in sorted(language.child_name_relations, key=len, reverse=True)
        )
        following = rf"(?:\s+{_NAME})?(?:\s*\([^)]*\))?(?:,?\s+and\s+(?:(?:her|his|their)\s+\w+\s+)?(?P<more>{_NAME}))?"
        self._child_label_re = re.compile(
            rf"(?m)^\s*(?i:{labels})\b\s*[:\-]?\s*(?:(?i:full\s+)?(?i:name)[^\S\n]*:[^\S\n]*)?"
            rf"(?:(?:Mr|Ms|Miss|Master)\s+)?(?P<name>{_NAME}){following}"
        )
        relation = rf"(?i:{relations})\s+(?P<name>{_NAME}){following}"
        self._child_relation_re = re.compile(rf"\b{relation}")
        # Tried only at the words beginning with a relation's first letters (regex_index.py):
        # scanned, the inline (?i:…) after \b was tried at every character of the text.
        self._child_relations = WordStartRegexes()
        self._child_relations.add(re.compile(relation), at_word_start=True)
        # "a 10 year old boy (Dylan)", "a 16 year old lad come in today (Callum)": a child
        # introduced by a child term with the name in brackets.
        # Found from the bracketed name back (brackets are rare), so the terms are not tried at
        # every position of the text.
        terms = "|".join(re.escape(t) for t in sorted(self._child_terms, key=len, reverse=True))
        # The name may carry a surname, as a title or in capitals: "a Year 8 boy (Oscar Pryce)".
        self._bracketed_name_re = re.compile(
            rf"\(\s*(?P<name>{_NAME})(?:[^\S\n]+(?:{_NAME}|[A-Z]{{2,}}(?:[-'][A-Z]+)*))?\s*\)"
        )
        self._child_term_before_re = re.compile(rf"\b(?:{terms})\b[^()\n.]*$")

    def _is_one_token(self, word: str) -> bool:
        # A clitic ("'m", "'re", "n't") is one token after its word, though not on its own.
        return len(self.nlp.make_doc(word)) == 1 or (
            (word[:1] == "'" and word[1:].isalpha()) or word == "n't"
        )

    def _register(self, namespace: str, key: tuple[str, ...], cue: Cue) -> None:
        match_id = f"{namespace}|{'|'.join(key)}|{cue.id}|{len(self._registry)}"
        self._registry[match_id] = _Registered(namespace, key, cue)
        if cue.phrases:
            docs = [self.nlp.make_doc(phrase) for phrase in cue.phrases]
            (self._phrases_cased if cue.case_sensitive else self._phrases).add(match_id, docs)
        if cue.patterns:
            matcher_patterns = []
            for pattern in cue.patterns:
                # Any namespace: the walk reads the same token attributes spaCy's Matcher
                # would (LOWER, IS_TITLE …), and the Matcher costs most per pattern.
                if self._sequences.add(match_id, pattern):
                    continue
                if any(NOT_FOLLOWED_BY in token or NOT_PRECEDED_BY in token for token in pattern):
                    raise ValueError(
                        f"cue {cue.id}: NOT_FOLLOWED_BY / NOT_PRECEDED_BY need a pattern of single "
                        f"tokens with them on the last, required / the first token: {pattern}"
                    )
                as_regex = None if cue.case_sensitive else token_pattern_regex(pattern)
                if as_regex is None:
                    matcher_patterns.append(list(pattern))
                else:
                    compiled = re.compile(as_regex)
                    self._regexes.append((compiled, match_id, True))
                    self._regex_index.add(compiled, at_word_start=True)
            if matcher_patterns:
                self._tokens.add(match_id, matcher_patterns)
        for expression in cue.regex:
            # A leading \\b stops the regex engine from scanning for the literal that follows
            # (a 100-fold slowdown); drop it and check the word boundary on each match instead.
            bounded = expression.startswith("\\b")
            body = expression[2:] if bounded else expression
            compiled = re.compile(body if cue.case_sensitive else lower_pattern(body))
            target = self._regexes_cased if cue.case_sensitive else self._regexes
            target.append((compiled, match_id, bounded))
            index = self._regex_index_cased if cue.case_sensitive else self._regex_index
            index.add(compiled, at_word_start=bounded)

    def _register_language(self, name: str, phrases: Sequence[str]) -> None:
        match_id = f"lang|{name}"
        self._language_keys[match_id] = name
        self._phrases.add(match_id, [self.nlp.make_doc(phrase) for phrase in phrases])

    def _register_rulebook(self, rulebook: Rulebook) -> None:
        for element_id, rule in rulebook.standard.elements.items():
            for group, cues in rule.groups.items():
                for cue in cues:
                    self._register("element", (element_id, group), cue)
        for kind, vague_kind in rulebook.vague.kinds.items():
            for cue in vague_kind.cues:
                self._register("vague", (kind,), cue)
        for code, concern in rulebook.concerns.codes.items():
            for cue in concern.cues:
                self._register("concern", (code,), cue)
            for group, cues in concern.requires.items():
                for cue in cues:
                    self._register("concern_requires", (code, group), cue)
            for cue in concern.child_speech_cues:
                self._register("concern_child_speech", (code,), cue)
            for cue in concern.positive_cues:
                self._register("concern_positive", (code,), cue)
        for cue in rulebook.concerns.positive_statements:
            self._register("concern_positive", ("*",), cue)
        for cue in rulebook.concerns.positive_blockers:
            self._register("concern_positive_blocker", ("*",), cue)
        language = rulebook.language
        self._register_language("negation_before", language.negation_before)
        self._register_language("negation_after", language.negation_after)
        self._register_language("hypothetical_before", language.hypothetical_before)
        evidence = rulebook.vague.evidence
        self._register_language(_EVIDENCE, evidence.connectives)
        self._evidence_units = frozenset(u.lower() for u in evidence.units)

    # -- analysis -----------------------------------------------------------------------

    def analyse(
        self,
        text: str,
        *,
        referral_date: dt.date,
        child_names: Iterable[str] = (),
    ) -> TextAnalysis:
        """Run every matcher over ``text`` once and resolve polarity, speakers and dates."""
        doc = make_doc(self.nlp, text, self._tokenized_chunks)
        tokens = _Tokens.of(doc, self._question_answers, self._sentence_punct, self._strings)
        lowered = text.lower()
        if len(lowered) != len(text):  # a few characters change length when lower-cased
            lowered = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
        # Lower-casing keeps every character's place (checked above), so words begin at the
        # same places in both.
        starts = word_starts(lowered)
        names = self._child_names(text, child_names, referral_date, starts)
        quote_spans = [(m.start(), m.end()) for m in _QUOTE_RE.finditer(text)]  # marks included
        quote_ranges = [tokens.token_range(start, end) for start, end in quote_spans]
        triggers: dict[str, list[tuple[int, int]]] = {}
        raw: list[tuple[str, int, int, int, int]] = []  # id, tokens, chars
        date_phrases: set[tuple[int, int, int]] = set()
        strings = self.nlp.vocab.strings
        for matcher in (self._phrases, self._phrases_cased):
            for match_id, start, end in matcher(doc):
                key = strings[match_id]
                if key in self._language_keys:
                    triggers.setdefault(self._language_keys[key], []).append((start, end))
                elif key in self._date_phrase_labels:
                    date_phrases.add((self._date_phrase_labels[key], start, end))
                else:
                    raw.append((key, start, end, tokens.idx[start], tokens.end_char(end - 1)))
        if len(self._tokens):  # the Matcher walks every token even with nothing to find
            for match_id, start, end in self._tokens(doc):
                raw.append(
                    (strings[match_id], start, end, tokens.idx[start], tokens.end_char(end - 1))
                )
        for key, start, end in self._sequences.find(
            tokens.lower, tokens.alpha, tokens.number, tokens.punct, tokens.title
        ):
            raw.append((key, start, end, tokens.idx[start], tokens.end_char(end - 1)))
        connectives = triggers.pop(_EVIDENCE, [])
        for source, expressions, index in (
            (lowered, self._regexes, self._regex_index),
            (text, self._regexes_cased, self._regex_index_cased),
        ):
            found_by_regex = index.find(source, starts)
            for (_, key, bounded), found_here in zip(expressions, found_by_regex, strict=True):
                for found in found_here:
                    begin = found.start()
                    if bounded and begin > 0 and is_word_char(source[begin - 1]):
                        continue
                    if bounded and not is_word_char(source[begin]):
                        continue  # \\b before a non-word character needs a word character before it
                    if found.end() > found.start():
                        start, end = tokens.token_range(found.start(), found.end())
                        if end > start:
                            raw.append((key, start, end, found.start(), found.end()))
        by_sentence: dict[str, dict[int, list[tuple[int, int]]]] = {}
        for kind, trigger_spans in triggers.items():
            for t_start, t_end in trigger_spans:
                if tokens.sent[t_end - 1] != tokens.sent[t_start]:
                    continue  # a cue never reads across sentences ("…abuse? No explanation")
                by_sentence.setdefault(kind, {}).setdefault(tokens.sent[t_start], []).append(
                    (t_start, t_end)
                )
        triggered = {sentence for spans in by_sentence.values() for sentence in spans}
        holders = _Holders(names, quote_ranges)
        quote_starts = [q_start for q_start, _ in quote_spans]
        matches = [
            self._cue_match(
                key,
                start,
                end,
                char_start,
                char_end,
                tokens,
                by_sentence if tokens.sent[start] in triggered else None,
                quote_spans,
                quote_starts,
                text,
                holders,
            )
            for key, start, end, char_start, char_end in raw
        ]
        quotations, speech = self._attribute_speech(tokens, text, names, quote_spans, quote_ranges)
        dates = date_mentions(
            _date_entities(doc, tokens, date_phrases), text, lowered, self._date_scan, referral_date
        )
        return TextAnalysis(
            text=text,
            doc=doc,
            word_count=tokens.word_count,
            matches=matches,
            quotations=quotations,
            speech=speech,
            dates=dates,
            child_names=names,
            evidence_clauses=self._evidence_clauses(tokens, connectives),
        )

    def _evidence_clauses(
        self, tokens: _Tokens, connectives: list[tuple[int, int]]
    ) -> tuple[tuple[int, int], ...]:
        units, lower = self._evidence_units, tokens.lower
        last = len(lower) - 1
        found = {start for start, _ in connectives}
        # A number is evidence with its unit ("18 kg", "96 %", "50th centile"): a bare number
        # is as often a year group, an age or a house number.
        found.update(
            i
            for i in numpy.flatnonzero(tokens.number_column).tolist()
            if i < last and lower[i + 1] in units
        )
        clauses: set[tuple[int, int]] = set()
        for i in found:
            first, end = tokens.sent_bounds[tokens.sent[i]]
            begin = i
            while begin > first and lower[begin - 1] != ";":
                begin -= 1
            stop = i
            while stop < end - 1 and lower[stop + 1] != ";":
                stop += 1
            clauses.add((tokens.idx[begin], tokens.end_char(stop)))
        return tuple(sorted(clauses))

    def _cue_match(
        self,
        match_id: str,
        start: int,
        end: int,
        start_char: int,
        end_char: int,
        tokens: _Tokens,
        triggers: dict[str, dict[int, list[tuple[int, int]]]] | None,
        quote_spans: list[tuple[int, int]],
        quote_starts: list[int],
        text: str,
        holders: _Holders,
    ) -> CueMatch:
        """``triggers`` is None when the match's sentence has no negation or hypothetical trigger."""
        registered = self._registry[match_id]
        # Quotations do not overlap (one regex scan), so only the last one starting at or
        # before the match can contain it.
        last = bisect.bisect_right(quote_starts, start_char) - 1
        cue = registered.cue
        # Built as CueMatch(...) would build it, its slots stored directly (spans.text_span).
        match: CueMatch = object.__new__(CueMatch)
        _SET_NAMESPACE(match, registered.namespace)
        _SET_KEY(match, registered.key)
        _SET_CUE(match, cue)
        _SET_SPAN(match, text_span(start_char, end_char, text[start_char:end_char]))
        _SET_SENTENCE(match, tokens.sent[start])
        _SET_POLARITY(
            match,
            Polarity.AFFIRMED if triggers is None else self._polarity(tokens, start, end, triggers),
        )
        _SET_IN_QUOTE(match, last >= 0 and end_char <= quote_spans[last][1])
        _SET_DENIED_IN_PLACE(
            match, not cue.counts_denied_in_place and self._denied_before(tokens, start)
        )
        _SET_HOLDER(match, None if cue.whose is None else self._holder(tokens, start, holders))
        return match

    def _holder(self, tokens: _Tokens, start: int, holders: _Holders) -> Speaker | None:
        """Whose state a match describes: the person it is said of, straight before it past
        linking words ("mum was very [upset]", "Ava's dad is [exhausted]", "Parents very
        [upset]"), judged by the language cues' child, adult and writer terms and the child's
        names. None when no person is said to be in the state there (a pronoun, a list, the
        child as an object: "the GP referred Amira with [weight loss]"): the match counts."""
        sentence_start = tokens.sent_bounds[tokens.sent[start]][0]
        lower = tokens.lower
        i = start - 1
        while i >= sentence_start and lower[i] in self._state_links:
            i -= 1
        if i < sentence_start or i in holders.quote_tokens():
            return None
        word = lower[i]
        if tokens.text[i] in holders.name_words or word in self._child_terms:
            return "child"
        if word in self._adult_terms:
            return "adult"
        if word in self._state_writers:
            return "writer"
        return None

    def _denial_ends_at(self, tokens: _Tokens, index: int, sentence_start: int) -> bool:
        """Whether a denial ("not", "n't", "no longer") ends at token ``index``."""
        lower = tokens.lower
        for words in self._denials.get(lower[index], ()):
            first = index - len(words) + 1
            if first >= sentence_start and tuple(lower[first : index + 1]) == words:
                return True
        return False

    def _denied_before(self, tokens: _Tokens, start: int) -> bool:
        """A denial straight before token ``start``, past intensifiers ("isn't very caring")."""
        sentence_start = tokens.sent_bounds[tokens.sent[start]][0]
        i = start - 1
        while i >= sentence_start and tokens.lower[i] in self._denial_skip:
            i -= 1
        return i >= sentence_start and self._denial_ends_at(tokens, i, sentence_start)

    def _polarity(
        self,
        tokens: _Tokens,
        start: int,
        end: int,
        triggers: dict[str, dict[int, list[tuple[int, int]]]],
    ) -> Polarity:
        sentence = tokens.sent[start]
        sentence_start, sentence_end = tokens.sent_bounds[sentence]
        window = self.rulebook.language.scope_window_tokens
        # The trigger nearest the match governs it: in "I don't know if there's any previous
        # involvement" the involvement is supposed ("if"), not denied ("n't").
        supposed_from = -1
        for t_start, t_end in triggers.get("hypothetical_before", {}).get(sentence, ()):
            if (
                sentence_start <= t_start
                and t_end <= start
                and start - t_end <= window
                and not self._terminated(tokens, t_end, start)
            ):
                supposed_from = max(supposed_from, t_start)
        for t_start, t_end in triggers.get("negation_before", {}).get(sentence, ()):
            if (
                sentence_start <= t_start
                and t_end <= start
                and start - t_end <= window
                and t_start > supposed_from
                and not self._terminated(tokens, t_end, start)
            ):
                return Polarity.NEGATED
        for t_start, t_end in triggers.get("negation_after", {}).get(sentence, ()):
            if (
                end <= t_start < sentence_end
                and t_start - end <= window
                and not self._terminated(tokens, end, t_start)
                and not self._answer_continues(tokens, t_end, sentence_end)
            ):
                return Polarity.NEGATED
        return Polarity.HYPOTHETICAL if supposed_from >= 0 else Polarity.AFFIRMED

    def _answer_continues(self, tokens: _Tokens, t_end: int, sentence_end: int) -> bool:
        """A form's answer "no" must end there, or go on as a denial ("no known use", "no
        previous concerns"): "Bruise: no explanation given" is not a denial of the bruise."""
        lower = tokens.lower
        if lower[t_end - 1] != "no" or t_end >= sentence_end or not lower[t_end][:1].isalnum():
            return False
        return lower[t_end] not in self._denial_after_no

    def _terminated(self, tokens: _Tokens, start: int, end: int) -> bool:
        lower = tokens.lower
        return any(lower[i] in self._terminators for i in range(start, end))

    # -- who is speaking ------------------------------------------------------------------

    def _child_names(
        self,
        text: str,
        given: Iterable[str],
        referral_date: dt.date,
        starts: list[int] | None = None,
    ) -> tuple[str, ...]:
        """``starts``: where the text's words begin (``word_starts``), when the caller has them."""
        names: list[str] = []
        for name in given:
            names.extend(part for part in name.split() if part[:1].isupper())
        relations = (
            self._child_relations.find(text, starts)[0]
            if self._child_relations.indexed
            else list(self._child_relation_re.finditer(text))
        )
        for found_by in (self._child_label_re.finditer(text), relations):
            for found in found_by:
                for group in ("name", "more"):
                    value = found.group(group)
                    if (
                        value
                        and value.lower() not in self._adult_terms
                        and value.lower() not in self._not_names
                    ):
                        names.append(value)
        for found in self._bracketed_name_re.finditer(text):
            value = found.group("name")
            before = text[max(0, found.start() - 50) : found.start()]
            term = self._child_term_before_re.search(before.lower())
            if (
                term is not None
                and value.lower() not in self._adult_terms
                # A heading's "CHILDREN'S SERVICES (Health Visiting)" introduces no child, and
                # in "Mum's sister (Donna Reyes)" the sister is an adult's.
                and not before[term.start() : term.end()].isupper()
                and not _POSSESSIVE_END.search(before, 0, term.start())
            ):
                names.append(value)
        children, adults = _named_with_an_age(text, referral_date)
        names.extend(children)
        # A referral "to refer Amira Hassan, aged 19" before a birth names the mother on the
        # "refer" line; a name given with an adult's age is an adult's, whatever line it is on
        # (names the caller gave as the child's are kept).
        if adults:
            caller_given = {part for name in given for part in name.split() if part[:1].isupper()}
            names = [n for n in names if n not in adults or n in caller_given or n in children]
        return tuple(dict.fromkeys(names))

    @staticmethod
    def _names_child(tokens: _Tokens, positions: Sequence[int], names: tuple[str, ...]) -> bool:
        """Whether a child's name is among the words at ``positions``."""
        words = {word for name in names for word in name.split()}
        return any(tokens.text[i] in words for i in positions)

    def _classify_phrase(
        self, tokens: _Tokens, positions: Sequence[int], names: tuple[str, ...]
    ) -> Speaker | None:
        """Who a short noun phrase refers to, judged by its head (last) word."""
        if not positions:
            return None
        phrase = " ".join(tokens.text[i] for i in positions).replace(" - ", "-").replace(" -", "-")
        head = tokens.lower[positions[-1]]
        if any(phrase.endswith(name) for name in names):
            return "child"
        if head in self._adult_terms:
            return "adult"
        if head in self._child_terms:
            return "child"
        if head in self._writer_terms:
            return "writer"
        if head in self._pronouns:
            return None
        if _the_subject(tokens, positions[-1], len(tokens.text)):
            return "child"
        last = tokens.text[positions[-1]]
        if last[:1].isupper() and tokens.alpha[positions[-1]]:
            return "adult"
        return "unknown"

    def _subject_before(self, tokens: _Tokens, verb: int, quote_tokens: set[int]) -> list[int]:
        sentence_start = tokens.sent_bounds[tokens.sent[verb]][0]
        i = verb - 1
        while i >= sentence_start and tokens.lower[i] in self._subject_skip:
            i -= 1
        collected: list[int] = []
        while i >= sentence_start and len(collected) < 4:
            text = tokens.text[i]
            if i in quote_tokens or (tokens.punct[i] and text not in {"-", "'s"}):
                break
            if tokens.lower[i] in self._clause_breaks:
                break
            collected.insert(0, i)
            i -= 1
        return collected

    def _first_mention(
        self,
        tokens: _Tokens,
        sentence: int,
        names: tuple[str, ...],
        quote_tokens: set[int],
        stop: int | None = None,
        *,
        start: int | None = None,
        pronoun: str | None = None,
    ) -> Speaker | Literal["pronoun"] | None:
        sentence_start, sentence_end = tokens.sent_bounds[sentence]
        first_names = {name.split("-")[0] for name in names}
        disagrees = self._disagrees.get(pronoun or "", frozenset())
        first_word = True
        end = sentence_end if stop is None else min(stop, sentence_end)
        for i in range(sentence_start if start is None else start, end):
            if i in quote_tokens or tokens.punct[i] or tokens.text[i].isspace():
                continue
            initial, first_word = first_word, False
            if i + 1 < sentence_end and tokens.lower[i + 1] in {"'s", "’s"}:
                continue  # "Leo's mother": the person is the mother, not Leo
            if i + 1 < sentence_end and tokens.text[i + 1] == ":":
                continue  # a form's or an e-mail's label ("From:", "Child:"), not a person
            text = tokens.text[i]
            lower = tokens.lower[i]
            if lower in disagrees:
                continue  # "he" is not the mother, "she" is not the staff
            if text in first_names:
                return "child"
            if lower in self._adult_terms:
                return "adult"
            if lower in self._child_terms:
                return "child"
            if lower in self._pronouns:
                return "pronoun"
            if _the_subject(tokens, i, sentence_end):
                return "child"
            # A capitalised "From", "Just" or "Hi" opens a line, not a name.
            if (initial or text[:1].isupper()) and (
                lower in STOP_WORDS or lower in self._not_names
            ):
                continue
            # A common noun opening its sentence or line ("School asked me to see Connor …")
            # is no one's name where the text also writes it in lower case.
            if (
                pronoun is not None
                and (initial or (i > 0 and "\n" in tokens.text[i - 1]))
                and text[:1].isupper()
                and tokens.in_lower_case(lower)
            ):
                continue
            if (
                text[:1].isupper()
                and tokens.alpha[i]
                and lower not in _MONTHS
                and lower not in _WEEKDAYS
                and lower not in self._writer_terms
            ):
                return "adult"
        return None

    def _resolve_pronoun(
        self,
        tokens: _Tokens,
        at: int,
        names: tuple[str, ...],
        quote_tokens: set[int],
        pronoun: str | None = None,
    ) -> Speaker:
        index = tokens.sent[at]
        if pronoun is not None:
            # "Mum is lovely but she is struggling – she said she 'couldn't face it'": the
            # person named earlier in the same sentence, when the pronoun agrees with them.
            found = self._first_mention(
                tokens, index, names, quote_tokens, stop=at, pronoun=pronoun
            )
            if found not in (None, "pronoun"):
                return cast(Speaker, found)
        # Three sentences back that name someone; a run of "He … He … he" is one person, so
        # sentences that only carry the pronoun on are not counted (up to eight in all).
        naming = 0
        for back in range(index - 1, max(index - 9, -1), -1):
            if naming == 3:
                break
            # The sentencizer does not end a sentence at a line break, so an e-mail's header and
            # its first line are one "sentence": read its lines from the last, the nearest.
            carried = False
            for line_start in reversed(self._line_starts(tokens, back)):
                found = self._first_mention(
                    tokens, back, names, quote_tokens, start=line_start, pronoun=pronoun
                )
                if found == "pronoun":
                    carried = True
                    continue
                if found is not None:
                    return found
            naming += 0 if carried else 1
        return "unknown"

    def _nearest_is_child(
        self,
        tokens: _Tokens,
        at: int,
        pronoun: str,
        names: tuple[str, ...],
        quote_tokens: set[int],
    ) -> bool:
        """Whether "he" / "she" at ``at`` can only be the child: reading back from it through
        its own sentence and on to the nearest sentence that names someone (sentences only
        carrying a pronoun or the writer are read past, up to eight), the nearest person it
        agrees with is the child, and no adult it agrees with is named there at all ("School
        asked me to see Connor because … he was hungry. I saw him. He told me '…'"; in "Mum
        brought Leo in. She said '…'" the mother is named, so it is not read)."""
        disagrees = self._disagrees[pronoun]
        first_names = {name.split("-")[0] for name in names}
        index = tokens.sent[at]
        child = False
        for back in range(index, max(index - 9, -1), -1):
            start, end = tokens.sent_bounds[back]
            named = False
            for i in range((at if back == index else end) - 1, start - 1, -1):
                if i in quote_tokens or not tokens.alpha[i]:
                    continue
                text, lower = tokens.text[i], tokens.lower[i]
                if lower in disagrees or lower in self._pronouns or lower in self._writer_terms:
                    continue
                if i + 1 < end and tokens.text[i + 1] == ":":
                    continue  # a form's label ("Child:", "From:"), not a person
                if (
                    text in first_names
                    or lower in self._child_terms
                    or _the_subject(tokens, i, end)
                ):
                    child = named = True
                    continue
                if lower in self._adult_terms:
                    return False
                if not text[:1].isupper() or len(text) < 2:
                    continue
                if (
                    lower in STOP_WORDS
                    or lower in self._not_names
                    or lower in _MONTHS
                    or lower in _WEEKDAYS
                ):
                    continue
                # A capitalised common noun opening its sentence or line ("School asked me …")
                # is no one's name when the text also has it in lower case.
                if (i == start or "\n" in tokens.text[i - 1]) and tokens.in_lower_case(lower):
                    continue
                return False  # a capitalised name the child's names do not hold: an adult's
            if named and back != index:
                break
        return child

    @staticmethod
    def _line_starts(tokens: _Tokens, sentence: int) -> list[int]:
        sentence_start, sentence_end = tokens.sent_bounds[sentence]
        starts = [sentence_start]
        for i in range(sentence_start, sentence_end):
            if "\n" in tokens.text[i] and i + 1 < sentence_end:
                starts.append(i + 1)
        return starts

    def _speaker_of(
        self, tokens: _Tokens, verb: int, names: tuple[str, ...], quote_tokens: set[int]
    ) -> tuple[Speaker, list[int]]:
        subject = self._subject_before(tokens, verb, quote_tokens)
        kind = self._classify_phrase(tokens, subject, names)
        if kind is None and subject and tokens.lower[subject[-1]] in self._pronouns:
            pronoun = tokens.lower[subject[-1]]
            found = self._resolve_pronoun(tokens, verb, names, quote_tokens, pronoun)
            if (
                found == "unknown"
                and pronoun in self._disagrees
                and self._nearest_is_child(tokens, subject[-1], pronoun, names, quote_tokens)
            ):
                found = "child"
            return found, subject
        if kind in (None, "unknown"):
            first = self._first_mention(tokens, tokens.sent[verb], names, quote_tokens, verb)
            # A note's verb with no subject ("Wouldn't say who. – said 'just people'") continues
            # the person of the sentences before, as a pronoun would.
            if first == "pronoun" or (first is None and not subject):
                return self._resolve_pronoun(tokens, verb, names, quote_tokens), subject
            if first is not None:
                return first, subject
            return "unknown", subject
        assert kind is not None
        return kind, subject

    def _attribute_speech(
        self,
        tokens: _Tokens,
        text: str,
        names: tuple[str, ...],
        quote_spans: list[tuple[int, int]],
        quote_ranges: list[tuple[int, int]],
    ) -> tuple[list[Quotation], list[ReportedSpeech]]:
        quote_tokens: set[int] = set()
        for q_start, q_end in quote_ranges:
            quote_tokens.update(range(q_start, q_end))
        quote_starts = [q_start for q_start, q_end in quote_ranges if q_end > q_start]
        speech: list[ReportedSpeech] = []
        verb_speaker: dict[int, tuple[Speaker, TextSpan | None]] = {}
        for i, lower in enumerate(tokens.lower):
            if lower not in self._speech_verbs or i in quote_tokens:
                continue
            speaker, subject = self._speaker_of(tokens, i, names, quote_tokens)
            subject_span = None
            if subject:
                start, end = tokens.idx[subject[0]], tokens.end_char(subject[-1])
                subject_span = TextSpan(start, end, text[start:end])
            verb_speaker[i] = (speaker, subject_span)
            sentence_start, sentence_end = tokens.sent_bounds[tokens.sent[i]]
            # The auxiliary and its negation sit within three tokens of the verb ("did n't
            # tell", "has not yet said"); further back a "not" belongs to another clause.
            negated = False
            for j in range(i - 1, max(sentence_start, i - 3) - 1, -1):
                if tokens.lower[j] in self._clause_breaks or tokens.punct[j]:
                    break  # "did not speak when asked": the denial is of another verb
                if self._denial_ends_at(tokens, j, sentence_start):
                    negated = True
                    break
            speech.append(
                ReportedSpeech(
                    verb=TextSpan(tokens.idx[i], tokens.end_char(i), tokens.text[i]),
                    subject=subject_span,
                    speaker=speaker,
                    quoted=any(i < q < sentence_end for q in quote_starts),
                    negated=negated,
                )
            )
        quotations: list[Quotation] = []
        previous_end = 0
        for (q_start, q_end), (t_start, t_end) in zip(quote_spans, quote_ranges, strict=True):
            quote_speaker: Speaker = "unknown"
            attribution: TextSpan | None = None
            if t_end > t_start:
                quote_speaker, attribution = self._quote_speaker(
                    tokens, t_start, t_end, previous_end, names, quote_tokens, verb_speaker
                )
                previous_end = t_end
            quotations.append(
                Quotation(TextSpan(q_start, q_end, text[q_start:q_end]), quote_speaker, attribution)
            )
        return quotations, speech

    def _quote_speaker(
        self,
        tokens: _Tokens,
        t_start: int,
        t_end: int,
        previous_end: int,
        names: tuple[str, ...],
        quote_tokens: set[int],
        verb_speaker: dict[int, tuple[Speaker, TextSpan | None]],
    ) -> tuple[Speaker, TextSpan | None]:
        sentence_start, sentence_end = tokens.sent_bounds[tokens.sent[t_start]]
        left_from = max(sentence_start, previous_end)
        # A speech verb before the quote in the same sentence governs it ("Mia said, '…'").
        for i in range(t_start - 1, left_from - 1, -1):
            if i in verb_speaker:
                speaker, subject = verb_speaker[i]
                return speaker, subject or TextSpan(
                    tokens.idx[i], tokens.end_char(i), tokens.text[i]
                )
        # "'…,' said Mia" / "'…' Mia said": a verb straight after the quote.
        for i in range(t_end, min(t_end + 4, sentence_end)):
            if tokens.lower[i] in self._speech_verbs:
                before = [j for j in range(t_end, i) if not tokens.punct[j]]
                after = [j for j in range(i + 1, min(i + 4, sentence_end)) if not tokens.punct[j]]
                phrase = before or after[:2]
                kind = self._classify_phrase(tokens, phrase, names)
                if kind is None and phrase and tokens.lower[phrase[-1]] in self._pronouns:
                    kind = self._resolve_pronoun(tokens, i, names, quote_tokens)
                return kind or "unknown", TextSpan(
                    tokens.idx[i], tokens.end_char(i), tokens.text[i]
                )
        # "… and Divine, '…'": a name or term with no verb, continuing an earlier report.
        # Only where a comma or colon sets the quotation off: in "and that the girl 'is a bit
        # wild'" the girl is what the quotation is about, not who said it.
        lead = [j for j in range(left_from, t_start) if not tokens.punct[j]]
        if lead and t_start > 0 and tokens.text[t_start - 1] in {",", ":"}:
            kind = self._classify_phrase(tokens, lead[-2:], names)
            labels = lead[0] == sentence_start or _labels_line(tokens, t_start - 1)
            if kind == "child" and labels and not self._names_child(tokens, lead[-2:], names):
                # A form's field or a note's label opening its line or sentence, not a speaker:
                # "Children: \"two or three of them\"", "Child boy, \"Alfie or Archie\"" are the
                # writer's or a caller's words about the child.
                return "unknown", None
            if kind in ("child", "adult"):
                last = lead[-1]
                return kind, TextSpan(tokens.idx[last], tokens.end_char(last), tokens.text[last])
        return "unknown", None


def _the_subject(tokens: _Tokens, i: int, end: int) -> bool:
    """A police form's "Subject" standing for the young person it is about ("Subject located
    on bench", "Subject declined to engage"), not an e-mail's "Subject:" line nor "Subject to"."""
    return tokens.text[i] == "Subject" and (
        i + 1 >= end or tokens.text[i + 1] not in {":", "to", "-", "–"}
    )


def _labels_line(tokens: _Tokens, mark: int) -> bool:
    """Whether the (up to three) words before the comma or colon at ``mark`` open their line,
    as a form's field name does ("Other children: …")."""
    i, words = mark - 1, 0
    while i >= 0 and words < 3 and tokens.text[i].strip() and not tokens.punct[i]:
        i, words = i - 1, words + 1
    return words > 0 and (i < 0 or "\n" in tokens.text[i])


class _Holders:
    """What finding a cue's holder needs, built at most once a text (few cues ask)."""

    def __init__(self, names: tuple[str, ...], quote_ranges: list[tuple[int, int]]) -> None:
        self.name_words = frozenset(word for name in names for word in name.split())
        self._quote_ranges = quote_ranges
        self._quote_tokens: set[int] | None = None

    def quote_tokens(self) -> set[int]:
        if self._quote_tokens is None:
            self._quote_tokens = {
                i for q_start, q_end in self._quote_ranges for i in range(q_start, q_end)
            }
        return self._quote_tokens


class _Strings(dict[int, str]):
    """The strings of a vocabulary by hash, read from it once: spaCy's ``StringStore`` lookup
    is a Python-level call per token (two per token of a 1,100-word referral, 0.1 ms), a dict's
    own lookup is not. A hash always names the same string; the words are those of the texts
    read, emptied when there are very many."""

    _MOST = 200_000

    def __init__(self, store: Any) -> None:
        super().__init__()
        self._store = store
        self.of = self.__getitem__

    def __missing__(self, key: int) -> str:
        if len(self) >= self._MOST:
            self.clear()
        found: str = self._store[key]
        self[key] = found
        return found


@dataclass
class _Tokens:
    """Plain-Python views of a doc's tokens: read many times per text, so read from Cython once."""

    text: list[str]
    lower: list[str]
    punct: list[bool]
    alpha: list[bool]
    number: list[bool]
    title: list[bool]
    number_column: Any
    idx: list[int]
    sent: list[int]
    sent_bounds: list[tuple[int, int]]
    word_count: int

    @classmethod
    def of(
        cls,
        doc: Doc,
        question_answers: frozenset[str] = frozenset(),
        sentence_punct: frozenset[str] | None = None,
        strings: _Strings | None = None,
    ) -> _Tokens:
        """``sentence_punct``: split sentences here, as spaCy's sentencizer with these
        characters would; None reads the doc's own sentence starts. ``strings``: the words
        already read from the doc's vocabulary (``_Strings``), kept between texts."""
        # One array copy instead of a Token object per attribute read (several times faster).
        # Whole columns are converted in numpy, not row by row in Python.
        columns = doc.to_array(
            [ORTH, LOWER, IS_PUNCT, IS_ALPHA, LIKE_NUM, IDX, SENT_START, IS_TITLE]
        )
        if strings is None:
            strings = _Strings(doc.vocab.strings)
        lookup = strings.of
        text: list[str] = list(map(lookup, columns[:, 0].tolist()))
        lower: list[str] = list(map(lookup, columns[:, 1].tolist()))
        punct: list[bool] = columns[:, 2].astype(bool).tolist()
        alpha: list[bool] = columns[:, 3].astype(bool).tolist()
        number_column = columns[:, 4].astype(bool)
        like_num: list[bool] = number_column.tolist()
        idx: list[int] = columns[:, 5].tolist()
        title: list[bool] = columns[:, 7].astype(bool).tolist()
        words = int(numpy.count_nonzero(numpy.logical_or(columns[:, 3], columns[:, 4])))
        starts: list[int] = (
            numpy.flatnonzero(columns[:, 6] == 1).tolist()
            if sentence_punct is None
            else _sentence_starts(text, punct, sentence_punct)
        ) or [0]
        if starts[0] != 0:
            starts.insert(0, 0)
        # The sentencizer leaves an opening quotation mark at the end of the previous sentence
        # ('… Cole. "I hate it," said Ava.'); move it to the sentence it opens.
        for n in range(1, len(starts)):
            mark = starts[n] - 1
            if (
                mark > starts[n - 1]
                and text[mark] in {'"', "“", "‘"}
                and (mark == 0 or idx[mark - 1] + len(text[mark - 1]) < idx[mark])
                and (mark + 1 >= len(text) or idx[mark] + 1 == idx[mark + 1])
            ):
                starts[n] = mark
        # A question answered in a sentence of its own ("Domestic abuse? No.") is one sentence,
        # so the answer's polarity reaches what was asked about.
        if question_answers:
            kept = [starts[0]]
            for n in range(1, len(starts)):
                if text[starts[n] - 1] == "?":
                    end = starts[n + 1] if n + 1 < len(starts) else len(text)
                    answer = " ".join(
                        lower[i] for i in range(starts[n], end) if lower[i] not in {".", "!"}
                    )
                    if answer in question_answers:
                        continue
                kept.append(starts[n])
            starts = kept
        ends = [*starts[1:], len(text)]
        sent = [0] * len(text)
        bounds: list[tuple[int, int]] = []
        for number, (start, end) in enumerate(zip(starts, ends, strict=True)):
            bounds.append((start, end))
            sent[start:end] = [number] * (end - start)
        return cls(
            text, lower, punct, alpha, like_num, title, number_column, idx, sent, bounds, words
        )

    def end_char(self, i: int) -> int:
        return self.idx[i] + len(self.text[i])

    def in_lower_case(self, word: str) -> bool:
        """Whether the text also writes ``word`` (lower-cased) in lower case somewhere."""
        found = self.__dict__.get("_lower_words")
        if found is None:
            found = self.__dict__["_lower_words"] = {w for w in self.text if w.islower()}
        return word in found

    def token_range(self, start_char: int, end_char: int) -> tuple[int, int]:
        """Tokens overlapping the characters [start_char, end_char)."""
        first = max(0, bisect.bisect_right(self.idx, start_char) - 1)
        if first < len(self.idx) and self.end_char(first) <= start_char:
            first += 1
        last = bisect.bisect_left(self.idx, end_char)
        return first, max(first, last)


def make_doc(nlp: Language, text: str, tokenized: set[str]) -> Doc:
    """``nlp.make_doc(text)``, the tokenizer's cache holding the text's chunks first.

    spaCy's tokenizer caches how it split each whitespace-separated chunk ("mum's", "(DOB"), but
    once a text has met a special case ("don't", "Mr.") it caches nothing more of that text
    (``Tokenizer._save_cached``: ``has_special`` is not reset between chunks), so most of a
    referral's words went through the prefix, suffix and infix regexes on every check. A chunk
    tokenized on its own is cached unless it holds a special case itself, as spaCy caches it
    when it meets the chunk first in a text; the doc is the same either way. ``tokenized``: the
    chunks already given to this tokenizer alone (updated here); each is given once, until the
    cache is full (spaCy caches no more then)."""
    tokenizer = nlp.tokenizer
    if isinstance(tokenizer, Tokenizer) and len(tokenized) < tokenizer.max_cache_size:
        # A run of spaces or line breaks is a chunk too, less the one space a word keeps (a
        # single space is no chunk).
        spaces = {run[1:] if run[0] == " " else run for run in _SPACE_RUN.findall(text)}
        new = set(text.split()).union(spaces).difference(tokenized)
        for chunk in new:
            tokenizer(chunk)
        tokenized.update(new)
    return nlp.make_doc(text)


def _sentence_starts(text: list[str], punct: list[bool], marks: frozenset[str]) -> list[int]:
    """spaCy's ``Sentencizer.predict``: a sentence starts at the first token after a run of
    sentence-ending marks that is neither punctuation nor such a mark."""
    if not text:
        return []
    starts = [0]
    seen_mark = False
    for i, word in enumerate(text):
        if word in marks:
            seen_mark = True
        elif seen_mark and not punct[i]:
            starts.append(i)
            seen_mark = False
    return starts


def _date_entities(
    doc: Doc, tokens: _Tokens, found: set[tuple[int, int, int]]
) -> list[tuple[int, int, str]]:
    """(start char, end char, label) of the date phrases found (label hash, first token, end
    token), kept as spaCy 3's ``EntityRuler`` keeps its matches: longest first, then leftmost,
    a match dropped when its first or last token is already taken. They are set as the doc's
    entities too, as the ruler would have set them."""
    taken: set[int] = set()
    kept: list[tuple[int, int, int]] = []
    for label, start, end in sorted(found, key=lambda m: (m[2] - m[1], -m[1]), reverse=True):
        if start != end and start not in taken and end - 1 not in taken:
            kept.append((label, start, end))
            taken.update(range(start, end))
    kept.sort(key=lambda m: m[1])
    doc.ents = [Span(doc, start, end, label=label) for label, start, end in kept]
    strings = doc.vocab.strings
    return [
        (tokens.idx[start], tokens.end_char(end - 1), strings[label]) for label, start, end in kept
    ]


# "Mia Thompson, DOB 14/06/2018", "Ryan (23)", "Leo, aged 7": a name with a date of birth or age.
# A surname may be written in capitals or as an initial ("Zara KHAN, DOB 22/05/2012", "Ellie B
# (14)"), and the name the child goes by may follow in brackets ("Kaitlyn (Kait) Dawson, age 15").
# A school year is a child's age too, and may come before the date of birth in the brackets
# ("Harley (Y5, DOB 30/01/2016)", "Lola (Year 9, Kelsham High)"); an age may be written
# "15yrs" or stand alone after the comma at the end of a form's line ("YP: Kayden MOORE, 14 –").
_NAME_WITH_AGE = re.compile(
    rf"(?P<name>{_NAME})(?:\s*\((?P<alias>{_NAME})\))?"
    rf"(?:\s+(?:{_NAME}|[A-Z]{{2,}}(?:[-'][A-Z]+)*|[A-Z]\.?))?"
    # "Alfie Dunmore in Year 4 (he is 8, …)": the school year between the name and the age.
    r"(?:[^\S\n]+in[^\S\n]+(?i:year|yr|y)[^\S\n]?\d{1,2})?"
    # A form's fields set the date of birth off by spaces alone ("Name: Priya NAIR      DOB:
    # 02/03/2014") or give it on the next line ("Name: Sophie TURNBULL\nDOB: 30/10/2011"); any
    # other age needs a comma or a bracket ("Sami, 8", "Leo (7)").
    r"(?:\s*(?:,\s*|\(\s*)|[^\S\n]+(?=(?i:dob|d\.o\.b|who\s|she\s|he\s))"
    r"|[^\S\n]*\n[^\S\n]*(?=(?i:dob|d\.o\.b)))"
    # An age said in words ("Nadia Shah, she is 8", "Ruby Lane who is 7", "Rob Shah (he is 41")
    # or hedged ("Theo Marsh (approx. 6)", "Isla (about 3,") is an age all the same.
    r"(?:(?i:who|she|he)[^\S\n]+is[^\S\n]+)?"
    r"(?:(?i:approx(?:imately|\.)?|about|around|c\.)[^\S\n]*)?"
    r"(?:(?i:y|year|yr)\s?\d{1,2}\s*,\s*)?"
    r"(?:(?i:dob|d\.o\.b\.?|born)\s*:?\s*(?P<dob>\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})"
    r"|(?i:aged?)\s*(?P<aged>\d{1,2})\b|(?P<bare>\d{1,2})\s*\)"
    # "22 weeks pregnant" is the mother's pregnancy, not a baby's age.
    r"|(?P<weeks>\d{1,2})\s+(?i:weeks|months)\b(?!\s+(?i:pregnant|gestation))"
    r"|(?P<school_year>(?i:y|year|yr)\s?\d{1,2})\b"
    r"|(?P<years>\d{1,2})\s*(?i:yrs?|years?(?:\s+old)?|y/o|yo)\b"
    r"|(?P<alone>\d{1,2})(?=[^\S\n]*(?:[-–—]|\n|$))"
    # "Amira, 11, and Sami, 8": a number closed by punctuation (not "Flat 3, 41 High Street").
    r"|(?P<stated>\d{1,2})(?=[,;.)](?!\d)))"
)


# The age first, then the name set off by a comma in the same clause: "Saw a 14yo girl this
# afternoon, Leah CROFT (details on our system)", "a 16 year old seen at booking today, Kim, about
# 14 weeks". The name must be followed by a surname, a comma or a bracket, so "a 15 year old,
# Mum said" and a title ("Mr Smith") are not read as names.
_AGE_THEN_NAME = re.compile(
    r"(?P<age>\d{1,2})(?:[^\S\n]*(?i:yo|y/o|y\.o\.)|[^\S\n-]*-?[^\S\n]*(?i:years?|yrs?)"
    r"[^\S\n-]*-?[^\S\n]*(?i:old))\b[^.\n(),;:!?]{0,40},[^\S\n]*"
    rf"(?!(?:Mr|Mrs|Ms|Miss|Dr|Mum|Dad|Mother|Father)\b)(?P<name>{_NAME})"
    rf"(?=[^\S\n]+(?:{_NAME}|[A-Z]{{2,}})\b|[^\S\n]*[,(])"
)


def _named_with_an_age(text: str, referral_date: dt.date) -> tuple[list[str], set[str]]:
    """Names given with a date of birth or an age: under the adult age (people/childhood.yaml)
    the children of the referral, at or over it adults."""
    names: list[str] = []
    adults: set[str] = set()
    for found in _NAME_WITH_AGE.finditer(text):
        name = found.group("name")
        if not name[:1].isupper() or name.lower() in _MONTHS or name.lower() in _WEEKDAYS:
            continue  # "Friday, 21." is a day, not a child
        age: int | None = None
        if found.group("dob"):
            born = resolve_day(found.group("dob"), referral_date)
            if born is not None:
                age = age_on(born, referral_date)
        elif found.group("aged") or found.group("bare"):
            age = int(found.group("aged") or found.group("bare"))
        elif found.group("years") or found.group("alone") or found.group("stated"):
            age = int(found.group("years") or found.group("alone") or found.group("stated"))
        elif found.group("school_year"):
            age = 0  # in a school year: a child, whatever the year's number
        elif found.group("weeks"):
            age = 0
        alias = found.group("alias")
        if age is not None and 0 <= age < ADULT_AGE:
            names.extend([name, alias] if alias else [name])
        elif age is not None and age >= ADULT_AGE:
            adults.update([name, alias] if alias else [name])
    for found in _AGE_THEN_NAME.finditer(text):
        name = found.group("name")
        # Checked here, not by a lookbehind: a pattern opening with a digit is searched for
        # digits only (a lookbehind first was tried at every character, 0.19 ms a referral).
        if found.start() and text[found.start() - 1] in "0123456789/.:":
            continue  # "123 years", "12/15 year old": part of another number
        if name.lower() in _MONTHS or name.lower() in _WEEKDAYS:
            continue
        if int(found.group("age")) < ADULT_AGE:
            names.append(name)
        else:
            adults.add(name)
    return names, adults


# spaCy's Matcher tests ``{"LOWER": {"IN": [...]}}`` with a Python predicate on every token
# (about 3 ms per pattern on a 1,100-word referral, which broke the 20 ms budget). A token
# pattern made only of LOWER words or sets, IS_ALPHA and optional tokens is therefore run as the
# equivalent regex over the lower-cased text: tokens separated by spaces on one line (a token
# starting with an apostrophe, "'m", "n't", follows its word directly, as spaCy splits it).
_TOKEN_SEPARATOR = r"[^\S\n]+"
_CLITIC_SEPARATOR = r"[^\S\n]*"


def token_pattern_regex(pattern: Sequence[dict[str, Any]]) -> str | None:
    """The regex equivalent of a simple token pattern, or None when the Matcher must run it."""
    parts: list[str] = []
    for index, token in enumerate(pattern):
        if not set(token) <= {"LOWER", "IS_ALPHA", "OP"} or token.get("OP") not in (None, "?"):
            return None
        lower = token.get("LOWER")
        words: list[str]
        if isinstance(lower, str):
            words = [lower]
        elif isinstance(lower, dict) and set(lower) == {"IN"}:
            words = [str(w) for w in lower["IN"]]
        elif lower is None and token.get("IS_ALPHA") is True:
            words = []
        else:
            return None
        if words:
            body = (
                "(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"
            )
            clitic = all(w.startswith("'") or w == "n't" for w in words)
        else:
            body, clitic = r"[^\W\d_]+", False
        separator = "" if index == 0 else (_CLITIC_SEPARATOR if clitic else _TOKEN_SEPARATOR)
        piece = f"{separator}{body}"
        if token.get("OP") == "?":
            if index == 0:
                return None  # an optional first token: leave it to the Matcher
            piece = f"(?:{piece})?"
        parts.append(piece)
    return "".join(parts) + r"(?!\w)"


_EVIDENCE = "evidence_connective"

_ENGINES: dict[int, tuple[Rulebook, LanguageEngine]] = {}


def engine_for(rulebook: Rulebook) -> LanguageEngine:
    """The compiled engine for a rulebook (compiled once per rulebook object)."""
    cached = _ENGINES.get(id(rulebook))
    if cached is None or cached[0] is not rulebook:
        if len(_ENGINES) > 8:
            _ENGINES.clear()
        cached = (rulebook, LanguageEngine(rulebook))
        _ENGINES[id(rulebook)] = cached
    return cached[1]


def default_engine() -> LanguageEngine:
    return engine_for(default_rulebook())
