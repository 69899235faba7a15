"""The concern classifier: free text to taxonomy codes, with the words that triggered each.

Public entry point for other capabilities::

    from fullpicture.referrals.classifier import classify_concerns
    for suggestion in classify_concerns("Bruise to left cheek; mum said he fell"):
        suggestion.code, suggestion.confidence, suggestion.spans, suggestion.reason

The cumulative-harm engine uses it to infer blank concern codes in case replay, and the
chronology to suggest codes for uncoded events; a practitioner confirms every suggestion.
It uses the same rule engine as the referral checker (cues in ``concern_cues.yaml``): a code is
suggested only when a cue is asserted; "no concerns about drinking" and "if mum drinks" are
returned by ``classify_concern_mentions`` with their polarity, never as suggestions. Nor is a
cue in a sentence that says the matter is well or explained ("attendance 96 %", "healing well",
"account consistent with the injury", "no concerns"): such a mention is returned with
``positive`` naming the words that made it so (``positive_cues`` / ``positive_statements`` in
``concern_cues.yaml``), unless the sentence also says it is not explained ("non-accidental",
"inconsistent") or the code is one the guidance says to act on whatever the explanation.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from fullpicture.chronology.taxonomy import default_taxonomy
from fullpicture.referrals.language import CueMatch, TextAnalysis, TextSpan, engine_for
from fullpicture.referrals.rulebook import Polarity, Rulebook, default_rulebook


@dataclass(frozen=True)
class ConcernSuggestion:
    """One taxonomy code suggested for a text, with the evidence for it."""

    code: str
    kind: str
    category: str
    default_severity: int
    confidence: float
    spans: tuple[TextSpan, ...]
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "kind": self.kind,
            "category": self.category,
            "default_severity": self.default_severity,
            "confidence": self.confidence,
            "spans": [{"start": s.start, "end": s.end, "text": s.text} for s in self.spans],
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ConcernMention:
    """A mention of a code in any polarity (asserted, denied or supposed)."""

    code: str
    polarity: Polarity
    span: TextSpan
    cue_label: str
    # The words that make an asserted mention positive or explained ("attendance 96%",
    # "account consistent with"), or None when it stands as a concern.
    positive: TextSpan | None = None


def classify_concerns(text: str, *, rulebook: Rulebook | None = None) -> list[ConcernSuggestion]:
    """Suggest taxonomy codes for ``text``, most confident first, each with its triggering spans."""
    if not text or not text.strip():
        return []
    book = rulebook or default_rulebook()
    analysis = engine_for(book).analyse(text, referral_date=dt.date.today())
    return suggestions_from_analysis(analysis, rulebook=book)


def classify_concern_mentions(
    text: str, *, rulebook: Rulebook | None = None
) -> list[ConcernMention]:
    """Every mention of a code in ``text`` with its polarity (for cross-checks and review)."""
    if not text or not text.strip():
        return []
    book = rulebook or default_rulebook()
    analysis = engine_for(book).analyse(text, referral_date=dt.date.today())
    return mentions_from_analysis(analysis)


def mentions_from_analysis(analysis: TextAnalysis) -> list[ConcernMention]:
    positive = PositiveSentences(analysis)
    return [
        ConcernMention(
            match.key[0],
            match.polarity,
            match.span,
            match.cue.label,
            positive.qualifier(match) if match.polarity is Polarity.AFFIRMED else None,
        )
        for match in analysis.in_namespace("concern")
    ]


class PositiveSentences:
    """Which words say a matter is well or explained, and for which codes.

    A positive statement qualifies a concern cue in its own sentence and clause (the language
    cues' scope terminators — ";", "but", "however" … — end it: "no food in the house; no
    concerns about school" leaves the food a concern), and one that names its subject ("no
    concerns about school") qualifies only what follows it.
    """

    def __init__(self, analysis: TextAnalysis, rulebook: Rulebook | None = None) -> None:
        book = rulebook or default_rulebook()
        self.text = analysis.text
        self.never_for = frozenset(book.concerns.positive_never_for)
        self.terminators = tuple(t.lower() for t in book.language.scope_terminators)
        blocked = {m.sentence for m in analysis.in_namespace("concern_positive_blocker")}
        # sentence -> the code it qualifies ("*" for any code) and its words
        self.statements: dict[int, list[tuple[str, TextSpan]]] = defaultdict(list)
        for match in analysis.in_namespace("concern_positive"):
            # "if attendance is 96 %" says nothing; "no concerns" is itself a negated phrase,
            # so asserted and denied statements both count.
            if match.polarity is Polarity.HYPOTHETICAL or match.sentence in blocked:
                continue
            self.statements[match.sentence].append((match.key[0], match.span))

    def _forward_only(self, span: TextSpan) -> bool:
        following = self.text[span.end : span.end + 12].lower()
        return following.lstrip().startswith(_SUBJECT_WORDS)

    def _same_clause(self, first: TextSpan, second: TextSpan) -> bool:
        low, high = sorted((first, second), key=lambda s: s.start)
        between = self.text[low.end : high.start].lower()
        if ";" in between:
            return False
        words = between.replace(",", " ").split()
        return not any(word in self.terminators for word in words)

    def qualifier(self, match: CueMatch) -> TextSpan | None:
        """The words that make ``match`` positive, or None when it stands as a concern."""
        code = match.key[0]
        if code in self.never_for:
            return None
        for qualifies, span in self.statements.get(match.sentence, ()):
            if qualifies not in (code, "*"):
                continue
            if self._forward_only(span) and match.span.start < span.end:
                continue
            if self._same_clause(span, match.span):
                return span
        return None


# "no concerns about school": the statement is about what follows it.
_SUBJECT_WORDS = ("about ", "regarding ", "re ", "with ", "around ", "over ", "for ")


def suggestions_from_analysis(
    analysis: TextAnalysis, *, rulebook: Rulebook
) -> list[ConcernSuggestion]:
    evidence: dict[str, list[CueMatch]] = defaultdict(list)
    positive = PositiveSentences(analysis, rulebook)
    for match in analysis.in_namespace("concern"):
        if match.polarity is Polarity.AFFIRMED and positive.qualifier(match) is None:
            evidence[match.key[0]].append(match)
    evidence.update(_co_occurring(analysis, rulebook, positive))
    suggestions: list[ConcernSuggestion] = []
    for code, matches in evidence.items():
        best: dict[str, CueMatch] = {}
        for match in matches:
            best.setdefault(match.cue.id, match)
        confidence = 1.0
        for match in best.values():
            confidence *= 1.0 - match.cue.confidence
        spans = tuple(sorted({m.span for m in matches}, key=lambda s: (s.start, s.end)))
        reason = "; ".join(
            f"'{m.span.text}' ({m.cue.label})"
            for m in sorted(best.values(), key=lambda m: (m.span.start, m.span.end, m.cue.id))
        )
        suggestions.append(_suggestion(code, round(min(0.99, 1.0 - confidence), 2), spans, reason))
    # The child's own words raise the disclosure code (taxonomy CHD-VOI: the child's own words
    # about harm or fear) — confidently when a concern or fear cue is asserted inside the
    # quotation, tentatively otherwise, so a practitioner reads the words and decides.
    harm_in_quotes = [
        m
        for namespace in ("concern", "concern_requires", "concern_child_speech")
        for m in analysis.in_namespace(namespace)
        if m.in_quote and m.polarity is Polarity.AFFIRMED
    ]
    child_quotes = [q for q in analysis.quotations if q.speaker == "child"]
    about_harm = [
        q
        for q in child_quotes
        if any(q.span.start <= m.span.start and m.span.end <= q.span.end for m in harm_in_quotes)
    ]
    if child_quotes:
        quotes = about_harm or child_quotes
        speech = rulebook.concerns.child_speech
        confidence = speech.about_harm if about_harm else speech.otherwise
        words = (
            "about harm or fear" if about_harm else "(no words of harm or fear found: read them)"
        )
        for code, rule in rulebook.concerns.codes.items():
            if not rule.from_child_speech:
                continue
            existing = next((s for s in suggestions if s.code == code), None)
            spans = tuple(q.span for q in quotes)
            reason = f"the child's own words {words}, in quotation marks ({len(quotes)})"
            if existing is not None:
                suggestions.remove(existing)
                spans = tuple(sorted({*existing.spans, *spans}, key=lambda s: (s.start, s.end)))
                reason = f"{existing.reason}; {reason}"
                confidence = max(confidence, existing.confidence)
            suggestions.append(_suggestion(code, confidence, spans, reason))
    return sorted(suggestions, key=lambda s: (-s.confidence, s.code))


def _suggestion(
    code: str, confidence: float, spans: tuple[TextSpan, ...], reason: str
) -> ConcernSuggestion:
    entry = default_taxonomy().get(code)
    if entry is None:  # the rulebook loader checks codes against the taxonomy
        raise LookupError(f"concern code {code} is not in the taxonomy")
    return ConcernSuggestion(
        code=code,
        kind=entry.kind.value,
        category=entry.category,
        default_severity=entry.default_severity,
        confidence=confidence,
        spans=spans,
        reason=reason,
    )


def _co_occurring(
    analysis: TextAnalysis, rulebook: Rulebook, positive: PositiveSentences
) -> dict[str, list[CueMatch]]:
    """Codes whose ``requires`` groups are all asserted in the text (e.g. injury + non-mobile)."""
    by_code: dict[str, dict[str, list[CueMatch]]] = defaultdict(lambda: defaultdict(list))
    for match in analysis.in_namespace("concern_requires"):
        if match.polarity is Polarity.AFFIRMED and positive.qualifier(match) is None:
            code, group = match.key
            by_code[code][group].append(match)
    found: dict[str, list[CueMatch]] = defaultdict(list)
    for code, groups in by_code.items():
        required = rulebook.concerns.codes[code].requires
        if set(required) <= set(groups):
            for matches in groups.values():
                found[code].extend(matches)
    return found
