"""The referral checker: R1–R20 present / partial / absent with their evidence, vague language,
and a score — as data, so the API, CLI and pages render the same object.

Implements ../shared/domain/referral-standard.md (Proposal (b)) with the rules in
``referral_standard.yaml`` and ``vague_lexicon.yaml``. It prompts; it never blocks: a low score
never delays a referral (research-notes §3.1, "absence of information must not delay a referral").
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Literal, NamedTuple

import holidays

from fullpicture.referrals.classifier import suggestions_from_analysis
from fullpicture.referrals.element_model import (
    ElementClassifier,
    ElementModel,
    TextFacts,
    condition_groups,
    default_element_model,
    element_features,
    group_in_words,
)
from fullpicture.referrals.language import (
    CueMatch,
    Quotation,
    TextAnalysis,
    TextSpan,
    engine_for,
)
from fullpicture.referrals.rulebook import (
    ElementRule,
    ElementStatus,
    Polarity,
    Rulebook,
    VagueDuration,
    default_rulebook,
)
from fullpicture.referrals.schemas import (
    AdjustmentReason,
    CheckScore,
    ElementFinding,
    EvidenceSpan,
    ModelAdjustment,
    ReferralCheck,
    VaguePhrase,
)
from fullpicture.referrals.text_input import validate_referral_text
from fullpicture.referrals.writer_agency import Writer, find_writer

STATUSES: tuple[ElementStatus, ...] = ("present", "partial", "absent")
EVIDENCED: tuple[ElementStatus, ...] = ("present", "partial")


class _Evidence(NamedTuple):
    """A piece of evidence for a rule group: where, and the cue (or derived reading) that
    found it. A named tuple, not a frozen dataclass: some 600 are made a check, and a frozen
    dataclass stores each field with a call of object.__setattr__."""

    span: TextSpan
    cue: str


# An evidence span built once per check is shared by every element it backs, found by what
# makes two pieces of evidence equal (span and cue) as a flat tuple: hashing the frozen
# dataclasses nests two Python-level __hash__ calls (some 650 lookups a 1,100-word check).
_EvidenceKey = tuple[int, int, str, str]


def check_referral_text(
    text: str,
    *,
    referral_date: dt.date | None = None,
    child_names: Iterable[str] = (),
    rulebook: Rulebook | None = None,
) -> ReferralCheck:
    """Check one referral text against R1–R20; raises ``ReferralTextError`` for unreadable text."""
    book = rulebook or default_rulebook()
    validate_referral_text(text, limits=book.standard.limits)
    analysis = analyse_referral_text(
        text, referral_date=referral_date, child_names=child_names, rulebook=book
    )
    return check_from_analysis(analysis, referral_date=referral_date, rulebook=book)


def analyse_referral_text(
    text: str,
    *,
    referral_date: dt.date | None = None,
    child_names: Iterable[str] = (),
    rulebook: Rulebook | None = None,
) -> TextAnalysis:
    book = rulebook or default_rulebook()
    return engine_for(book).analyse(
        text, referral_date=referral_date or dt.date.today(), child_names=child_names
    )


@dataclass(frozen=True)
class RuleFinding:
    """What the rules alone found for one element: their status and how much of each group."""

    status: ElementStatus
    found: dict[str, int]


def rule_findings(
    analysis: TextAnalysis, *, referral_date: dt.date | None, rulebook: Rulebook
) -> tuple[dict[str, RuleFinding], TextFacts]:
    """The rules' status and group counts per element, before any learned adjustment (the
    features bench/train_element_model.py trains on)."""
    vague = vague_phrases(analysis, rulebook=rulebook)
    density = round(100.0 * len(vague) / analysis.word_count, 2) if analysis.word_count else 0.0
    derived = _derived_groups(
        analysis, vague, density, referral_date=referral_date or dt.date.today(), rulebook=rulebook
    )
    findings: dict[str, RuleFinding] = {}
    converted: dict[_EvidenceKey, EvidenceSpan] = {}
    writer = _writer(analysis, rulebook)
    breaks = _Breaks(analysis.text)
    for element_id, rule in rulebook.standard.elements.items():
        groups = _cue_groups(analysis, element_id, rule)
        groups.update(derived)
        _add_writer_groups(element_id, groups, writer, rulebook)
        _add_together(rule, groups, breaks.within(rule.together_within))
        status, _, _ = _decide(rule, groups, converted)
        findings[element_id] = RuleFinding(status, _group_counts(rule, groups))
    return findings, _text_facts(analysis, derived)


def check_from_analysis(
    analysis: TextAnalysis,
    *,
    referral_date: dt.date | None,
    rulebook: Rulebook,
    element_model: ElementModel | Literal["default"] | None = "default",
    writer_agency_kind: str | None = None,
) -> ReferralCheck:
    """The check; ``element_model`` "default" applies the shipped learned adjustment when it was
    trained on these rule files, None gives the rules alone. ``writer_agency_kind`` (an
    ``AgencyKind`` value: the signed-in writer's agency) is the writer's own agency, beside
    what the text says of who writes."""
    standard = rulebook.standard
    vague = vague_phrases(analysis, rulebook=rulebook)
    density = round(100.0 * len(vague) / analysis.word_count, 2) if analysis.word_count else 0.0
    derived = _derived_groups(
        analysis,
        vague,
        density,
        referral_date=referral_date or dt.date.today(),
        rulebook=rulebook,
    )
    model = default_element_model() if element_model == "default" else element_model
    if model is not None and not model.applies_to(rulebook):
        model = None
    facts = _text_facts(analysis, derived) if model is not None else None
    max_severity = max(
        (s.default_severity for s in suggestions_from_analysis(analysis, rulebook=rulebook)),
        default=0,
    )
    elements: dict[str, ElementFinding] = {}
    # Derived evidence (vague phrases, dates, speech) backs many elements; EvidenceSpan is
    # frozen, so each piece of evidence is validated once and the same object shared.
    converted: dict[_EvidenceKey, EvidenceSpan] = {}
    writer = _writer(analysis, rulebook, writer_agency_kind)
    breaks = _Breaks(analysis.text)
    for element_id, rule in standard.elements.items():
        groups = _cue_groups(analysis, element_id, rule)
        groups.update(derived)
        _add_writer_groups(element_id, groups, writer, rulebook)
        _add_together(rule, groups, breaks.within(rule.together_within))
        status, spans, question = _decide(rule, groups, converted)
        if status == "present" and groups.get("writer:own") and groups.get("writer:other"):
            # Shown beside the other service: which agency was read as the writer's own.
            spans = _spans(("writer:other", "writer:own"), groups, converted)
        classifier = model.elements.get(element_id) if model is not None else None
        adjusted: ModelAdjustment | None = None
        if classifier is not None and facts is not None and model is not None:
            status, spans, question, adjusted = _learned(
                rule, groups, (status, spans, question), classifier, facts, model.version, converted
            )
        if (
            element_id in standard.urgent_elements
            and status != "present"
            and max_severity >= standard.r20_timeliness.urgent_severity
            and question
        ):
            question = f"Urgent (the concern described is severity {max_severity}): {question}"
        elements[element_id] = ElementFinding(
            status=status, spans=spans, question=question, adjusted=adjusted
        )
    total_weight = sum(rule.weight for rule in standard.elements.values()) or 1.0
    credit = standard.status_credit
    earned = sum(standard.elements[e].weight * credit.of(f.status) for e, f in elements.items())
    counts = {s: sum(1 for f in elements.values() if f.status == s) for s in STATUSES}
    score = CheckScore(
        value=round(100.0 * earned / total_weight, 1),
        maximum=100.0,
        present=counts["present"],
        partial=counts["partial"],
        absent=counts["absent"],
        weights={e: rule.weight for e, rule in standard.elements.items()},
        word_count=analysis.word_count,
        vague_phrase_count=len(vague),
        vague_density_per_100_words=density,
        rule_versions=rulebook.versions
        | ({"element_model": model.version} if model is not None else {}),
        note="A prompt, never a gate: a low score must not delay or block a referral.",
    )
    return ReferralCheck(elements=elements, vague_phrases=vague, score=score)


def _group_counts(rule: ElementRule, groups: dict[str, list[_Evidence]]) -> dict[str, int]:
    return {name: len(groups.get(name, [])) for name in condition_groups(rule)}


def _text_facts(analysis: TextAnalysis, derived: dict[str, list[_Evidence]]) -> TextFacts:
    return TextFacts(
        word_count=analysis.word_count,
        quotations=len(analysis.quotations),
        child_quotations=len(derived["speech:child_quote"]),
        dated_events=len(derived["timeliness:any_day"]),
    )


def _learned(
    rule: ElementRule,
    groups: dict[str, list[_Evidence]],
    by_rules: tuple[ElementStatus, list[EvidenceSpan], str | None],
    classifier: ElementClassifier,
    facts: TextFacts,
    model_version: str,
    converted: dict[_EvidenceKey, EvidenceSpan],
) -> tuple[ElementStatus, list[EvidenceSpan], str | None, ModelAdjustment | None]:
    """The learned status, only where the rules found some evidence of the element, and then only
    present or partial: the model weighs whether the evidence makes a full account, never
    erases it (absent stays the rules' verdict when nothing was found). Spans are the rules'
    evidence; a partial element asks about the part the rules did not find. Where the status
    changes, the adjustment says so: the rules' status, the model's version and what moved it."""
    status, spans, question = by_rules
    found = _group_counts(rule, groups)
    evidence = tuple(
        name for name in condition_groups(rule) if found[name] and not name.startswith("density:")
    )
    if not evidence:
        return status, spans, question, None
    features = element_features(rule, found, status, facts)
    decided = classifier.decide(features, EVIDENCED)
    if decided == status:
        return status, spans, question, None
    adjusted = _adjustment(
        rule,
        found,
        (status, question),
        decided,
        classifier.moved_by(features, status, decided),
        model_version,
    )
    evidence_spans = _spans(evidence, groups, converted)
    if decided == "present":
        return "present", evidence_spans, None, adjusted
    return "partial", evidence_spans, _partial_question(rule, groups), adjusted


def _adjustment(
    rule: ElementRule,
    found: dict[str, int],
    by_rules: tuple[ElementStatus, str | None],
    decided: ElementStatus,
    moved_by: list[str],
    model_version: str,
) -> ModelAdjustment:
    """The reader's account of a status the learned adjustment changed (never a silent change:
    the project's first principle is that every finding shows what it came from)."""
    rule_status, rule_question = by_rules
    reasons = [
        AdjustmentReason(group=group, words=group_in_words(rule, group), found=found[group])
        for group in moved_by
    ]
    # The sentence names the groups without their counts: a count is of cue matches, which
    # overlap ("I am the class teacher" is four matches of the referrer's role).
    because = (
        f", mainly because of {_listed([reason.words for reason in reasons])}"
        if reasons
        # A logistic model can move a status on its intercept and the rules' status alone.
        else " from its baseline for this element, not from any one piece of the evidence"
    )
    return ModelAdjustment(
        rule_status=rule_status,
        model_version=model_version,
        moved_by=reasons,
        explanation=(
            f"The rules read this as {rule_status}; the learned adjustment (version "
            f"{model_version}) reads it as {decided}{because}."
        ),
        # Read as a full account, the element asks nothing; the rules' question stays beside it
        # for the writer to weigh: a prompt, and the model may be wrong about this referral.
        rule_question=rule_question,
    )


def _listed(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def vague_phrases(analysis: TextAnalysis, *, rulebook: Rulebook) -> list[VaguePhrase]:
    """Vague phrases in the writer's own words (not inside quotations); of overlapping phrases
    the kind with the higher priority is kept, then the longer phrase."""
    kinds = rulebook.vague.kinds
    return [
        VaguePhrase(
            text=m.span.text,
            start=m.span.start,
            end=m.span.end,
            kind=m.key[0],
            family=kinds[m.key[0]].family,
            question=kinds[m.key[0]].question,
        )
        for m in vague_matches(analysis, rulebook=rulebook)
    ]


def vague_matches(analysis: TextAnalysis, *, rulebook: Rulebook) -> list[CueMatch]:
    """The cue matches behind ``vague_phrases``, with the cue that found each."""
    kinds = rulebook.vague.kinds
    candidates = [
        m
        for m in analysis.in_namespace("vague")
        if not (m.cue.outside_quotes and m.in_quote)
        and m.polarity in m.cue.counts_when
        and not m.denied_in_place
        and not (
            m.cue.id in kinds[m.key[0]].cleared_by_evidence
            and analysis.backed_by_evidence(m.span.start)
        )
        and not _a_duration(m, kinds[m.key[0]].duration, analysis.text)
        and not _a_duration(m, kinds[m.key[0]].ability, analysis.text)
        and not _instances_listed(m, kinds[m.key[0]].cleared_by_listed_dates, analysis)
    ]
    candidates.sort(key=lambda m: (m.span.start, -(m.span.end - m.span.start)))

    def rank(match: CueMatch) -> tuple[int, int]:
        return kinds[match.key[0]].priority, match.span.end - match.span.start

    kept: list[CueMatch] = []
    for match in candidates:
        if kept and match.span.start < kept[-1].span.end:
            if rank(match) > rank(kept[-1]):
                kept[-1] = match
            continue
        kept.append(match)
    return [m for m in kept if not _governed(m, kept, analysis.text, rulebook)]


# Words and punctuation, as the clause walk reads them back from a phrase.
_CLAUSE_TOKEN = re.compile(r"[\w'’]+|[^\w\s]")
_NEXT_WORD = re.compile(r"\s*([\w'’]+)")
# Where a sentence or a clause between semicolons ends, for the dates that list instances.
_CLAUSE_STOP = re.compile(r"[.!?](?=\s|$)|;|\n")


def _a_duration(match: CueMatch, duration: VagueDuration | None, text: str) -> bool:
    """Whether the phrase's amount counts clock time ("after several minutes", "within [a few]
    minutes", "for a couple of hours"): how long, not how often or how much. Given a kind's
    ``ability``, whether it counts words of language or speech ("[some] English", "[a few]
    words"): what someone can say, not an amount of concern."""
    if duration is None:
        return False
    words = [w.lower() for w in _CLAUSE_TOKEN.findall(match.span.text)]
    following = _NEXT_WORD.match(text, match.span.end)
    if following:
        words.append(following.group(1).lower())
    for i in range(1, len(words)):
        if words[i] in duration.units:
            before = words[i - 1]
            if before in duration.amounts or (
                before == "of" and i > 1 and words[i - 2] in duration.amounts
            ):
                return True
    return False


def _instances_listed(match: CueMatch, at_least: int | None, analysis: TextAnalysis) -> bool:
    """Whether the phrase's clause (its sentence, or the part between semicolons) gives at least
    ``at_least`` different days: "on several mornings ... recorded on 29/09, 08/10 and 13/10" counts its
    instances."""
    if at_least is None:
        return False
    text = analysis.text
    begin = max(0, match.span.start - 600)
    for stop in _CLAUSE_STOP.finditer(text, begin, match.span.start):
        begin = stop.end()
    after = _CLAUSE_STOP.search(text, match.span.end)
    end = after.start() if after else len(text)
    # Distinct calendar days: "yesterday (Wednesday 14/10)" is one day named twice, and a clock
    # time ("at 2pm") is no instance.
    days = {d.day for d in analysis.dates if d.day is not None and begin <= d.span.start < end}
    return len(days) >= at_least


# The end of a sentence always ends the clause.
_SENTENCE_END = frozenset({".", "!", "?"})


def _clause_start(
    start: int, boundaries: frozenset[str], limit: int | None, tokens: list[re.Match[str]]
) -> int:
    """Where the clause holding a phrase at ``start`` begins: walking back over ``tokens`` (the
    tokens before it on its line, ``_tokens_before``, read once for all of a phrase's governors)
    to a boundary, a line break or a sentence's end, over at most ``limit`` tokens and the one
    before them (the governor)."""
    begin = start
    for count, token in enumerate(reversed(tokens)):
        word = token.group().lower()
        if word in boundaries or word in _SENTENCE_END or (limit is not None and count > limit):
            break
        begin = token.start()
    return begin


def _tokens_before(text: str, start: int) -> list[re.Match[str]]:
    """The tokens on ``start``'s line before it, at most 400 characters back."""
    line_start = text.rfind("\n", 0, start) + 1
    return list(_CLAUSE_TOKEN.finditer(text, max(line_start, start - 400), start))


def _clause_end(text: str, end: int, boundaries: frozenset[str], limit: int | None) -> int:
    """Where the clause holding a phrase that ends at ``end`` stops, walking forward as
    ``_clause_start`` walks back: to a boundary, a line break or a sentence's end, over at most
    ``limit`` tokens and the one after them (the governor's first)."""
    line_end = text.find("\n", end)
    stop = end
    limit_at = min(line_end if line_end >= 0 else len(text), end + 400)
    for count, token in enumerate(_CLAUSE_TOKEN.finditer(text, end, limit_at)):
        word = token.group().lower()
        if word in boundaries or word in _SENTENCE_END or (limit is not None and count > limit):
            break
        stop = token.end()
    return stop


def _governed(match: CueMatch, kept: list[CueMatch], text: str, rulebook: Rulebook) -> bool:
    """Whether something in the phrase's clause takes it into its own reading
    (``VagueKind.governed_by``): earlier (``after_*``) or, for ``before_kinds``, later."""
    lexicon = rulebook.vague
    boundaries = frozenset(lexicon.clause_boundaries)
    # A phrase of a kind with several governors walks back from the same place for each: the
    # tokens before it are read once.
    before: list[re.Match[str]] | None = None
    for governor in lexicon.kinds[match.key[0]].governed_by:
        if governor.cues and match.cue.id not in governor.cues:
            continue
        first = _CLAUSE_TOKEN.match(match.span.text)
        if first and first.group().lower() in governor.unless_phrase_starts_with:
            continue
        if before is None:
            before = _tokens_before(text, match.span.start)
        begin = _clause_start(match.span.start, boundaries, governor.within_tokens, before)
        if governor.after_words:
            words = {w.group().lower() for w in before if w.start() >= begin}
            if words & set(governor.after_words):
                return True
        for other in kept:
            if (
                other.key[0] in governor.after_kinds
                and (not governor.after_cues or other.cue.id in governor.after_cues)
                and other.span.start < match.span.start
                and begin < other.span.end <= match.span.start
            ):
                return True
        if governor.before_kinds:
            stop = _clause_end(text, match.span.end, boundaries, governor.within_tokens)
            for other in kept:
                if (
                    other.key[0] in governor.before_kinds
                    and (not governor.before_cues or other.cue.id in governor.before_cues)
                    and match.span.end <= other.span.start < stop
                ):
                    return True
    return False


def _cue_groups(
    analysis: TextAnalysis, element_id: str, rule: ElementRule
) -> dict[str, list[_Evidence]]:
    groups: dict[str, list[_Evidence]] = {name: [] for name in rule.groups}
    for match in analysis.for_element(element_id):
        if match.polarity not in match.cue.counts_when or match.denied_in_place:
            continue
        if match.cue.whose == "child" and match.holder in ("adult", "writer"):
            continue  # "mum was upset" is not the child's lived experience (R8)
        # ``in_quote`` is the analysis's inside_quotation for the match, read once.
        if match.cue.outside_quotes and match.in_quote:
            continue
        if match.cue.outside_questions and _in_question(analysis.text, match.span.end):
            continue
        groups[match.key[1]].append(_Evidence(match.span, match.cue.id))
    return groups


# Where a sentence ends: a full stop, question or exclamation mark, or a line break.
_SENTENCE_CLOSE = re.compile(r"[.!?\n]")


def _in_question(text: str, end: int) -> bool:
    """Whether the sentence going on at ``end`` ends with a question mark."""
    found = _SENTENCE_CLOSE.search(text, end)
    return found is not None and found.group() == "?"


def _writer(
    analysis: TextAnalysis, rulebook: Rulebook, agency_kind: str | None = None
) -> Writer | None:
    rule = rulebook.standard.writer_agency
    if rule is None:
        return None
    return find_writer(analysis.text, rule, agency_kind=agency_kind)


def _add_writer_groups(
    element_id: str,
    groups: dict[str, list[_Evidence]],
    writer: Writer | None,
    rulebook: Rulebook,
) -> None:
    """``writer:own``, ``writer:other`` and ``writer:unplaced`` for the element that tells the
    writer's own agency from another's (R11): an agency cue found where the text says who
    writes is the writer's own kind of agency, and every mention of that kind is theirs; any
    other kind is another service, unless it is only where the text addresses the recipient
    ("Dear Early Help Team", "for CSC consideration") or advises going to it ("advised to
    contact GP / NHS 111": signposting is not involvement). A member of the public has no agency of their own. Where the text
    does not say who writes, the agencies found are ``unplaced`` (the rule then asks for two)."""
    rule = rulebook.standard.writer_agency
    if rule is None or writer is None or element_id != rule.element:
        return
    agency = groups.get(rule.group, [])
    # A cue inside a longer one of another kind is the longer one's ("School" in "School Nurse").
    found = [
        e
        for e in agency
        if not any(
            o.cue != e.cue
            and o.span.start <= e.span.start
            and e.span.end <= o.span.end
            and o.span.end - o.span.start > e.span.end - e.span.start
            for o in agency
        )
    ]
    own_kinds = {e.cue for e in found if writer.names_writer(e.span)} | writer.given_kinds
    involved = [
        e for e in found if not (writer.names_recipient(e.span) or writer.signposts(e.span))
    ]
    known = bool(own_kinds) or writer.public or writer.agency_given
    groups["writer:own"] = [
        _Evidence(e.span, f"{e.cue} (the writer's own)") for e in found if e.cue in own_kinds
    ]
    groups["writer:other"] = (
        [
            _Evidence(e.span, f"{e.cue} (another service)")
            for e in involved
            if e.cue not in own_kinds
        ]
        if known
        else []
    )
    groups["writer:unplaced"] = [] if known else involved


def _derived_groups(
    analysis: TextAnalysis,
    vague: list[VaguePhrase],
    density: float,
    *,
    referral_date: dt.date,
    rulebook: Rulebook,
) -> dict[str, list[_Evidence]]:
    derived: dict[str, list[_Evidence]] = {"vague:any": []}
    for kind in rulebook.vague.kinds:
        derived[f"vague:{kind}"] = []
    for phrase in vague:
        evidence = _Evidence(
            TextSpan(phrase.start, phrase.end, phrase.text), f"vague_{phrase.kind}"
        )
        derived[f"vague:{phrase.kind}"].append(evidence)
        derived["vague:any"].append(evidence)
    derived["speech:child_quote"] = [
        _Evidence(q.span, "child_quotation") for q in analysis.quotations if q.speaker == "child"
    ]
    derived["speech:child_quote_probable"] = [
        _Evidence(q.span, "child_quotation_by_pronoun")
        for q in analysis.quotations
        if _probably_the_child(q, analysis)
    ]
    derived["speech:child_reported"] = [
        _Evidence(_joined(s.subject, s.verb, analysis.text), "child_reported_speech")
        for s in analysis.speech
        if s.speaker == "child" and not s.negated
    ]
    derived["speech:adult"] = [
        _Evidence(_joined(s.subject, s.verb, analysis.text), "adult_reported_speech")
        for s in analysis.speech
        if s.speaker == "adult" and not s.negated
    ]
    derived.update(_timeliness(analysis, referral_date=referral_date, rulebook=rulebook))
    bands = rulebook.standard.r19_density
    band_evidence = [_Evidence(TextSpan(p.start, p.end, p.text), f"vague_{p.kind}") for p in vague]
    marker = [_Evidence(TextSpan(0, 0, ""), f"density_{density}")]
    derived["density:present"] = (
        (band_evidence or marker) if density <= bands.present_at_most else []
    )
    derived["density:partial"] = (
        (band_evidence or marker) if density <= bands.partial_at_most else []
    )
    return derived


# A first-person quotation ("I just don't go on Fridays now") said by "he" or "she", or by no
# one the language pass could name: referrals quote the child far more often than an adult in
# the first person, and the pronoun resolver reads "she" as the first person named earlier
# (often the teacher or the mother). An adult named or termed as the subject still rules it out.
_FIRST_PERSON = re.compile(r"\b(?:i|me|my|i'm|i’m|i'd|i’d|i've|i’ve|mummy|daddy|mum|dad)\b")
_PRONOUN_SUBJECT = re.compile(r"\b(?:he|she|they)\s*$")


def _probably_the_child(quotation: Quotation, analysis: TextAnalysis) -> bool:
    if quotation.speaker == "child" or quotation.speaker == "writer":
        return False
    words = quotation.span.text.lower()
    if len(words.split()) < 3 or not _FIRST_PERSON.search(words):
        return False
    if quotation.speaker == "unknown":
        return True
    attribution = quotation.attribution.text.lower() if quotation.attribution else ""
    return bool(_PRONOUN_SUBJECT.search(attribution))


def _timeliness(
    analysis: TextAnalysis, *, referral_date: dt.date, rulebook: Rulebook
) -> dict[str, list[_Evidence]]:
    """R20 and R5's date groups from the entity ruler's DATE/TIME/RECENT/OLDER mentions."""
    rule = rulebook.standard.r20_timeliness
    limit = rule.max_working_days
    not_an_event = _not_an_event(rule.not_an_event)
    recent: list[_Evidence] = []
    older: list[_Evidence] = []
    any_day: list[_Evidence] = []
    times: list[_Evidence] = []
    text = analysis.text
    for mention in analysis.dates:
        if mention.is_birth_date:
            continue
        line_start = text.rfind("\n", 0, mention.span.start) + 1
        if not_an_event is not None and not_an_event.search(
            text[line_start : mention.span.start].lower()
        ):
            continue  # the day the referral was written or sent, not an event
        if _a_date_line(text, line_start, mention.span):
            continue
        evidence = _Evidence(mention.span, f"date_{mention.label.lower()}")
        if mention.label == "TIME":
            times.append(evidence)
            continue
        if mention.recency == "older":
            older.append(evidence)
            any_day.append(evidence)
            continue
        if mention.day is None or mention.day > referral_date:
            continue
        any_day.append(evidence)
        if working_days_between(mention.day, referral_date) <= limit:
            recent.append(evidence)
        else:
            older.append(evidence)
    # R9: a list of earlier dated events is a history ("09/10/2024: scratch on cheek, logged …"),
    # read as such when the events fall on two or more days, one of them a fortnight or more back.
    earlier_days = {
        m.day
        for m in analysis.dates
        if m.day is not None and not m.is_birth_date and m.day < referral_date
    }
    dated_history = (
        [e for e in older if e.cue == "date_date"]
        if len(earlier_days) >= 2
        and min(earlier_days) <= referral_date - dt.timedelta(days=rule.history_days)
        else []
    )
    return {
        "timeliness:recent": recent,
        "timeliness:dated_history": dated_history,
        "timeliness:older": older + recent,
        "timeliness:any_day": any_day,
        "timeliness:time": times,
    }


def _a_date_line(text: str, line_start: int, span: TextSpan) -> bool:
    """A date alone on its line is a letter's or note's date (when it was written), unless the
    line before asks for it ("Date of incident:" then the date on the next line)."""
    if text[line_start : span.start].strip():
        return False
    line_end = text.find("\n", span.end)
    if text[span.end : len(text) if line_end < 0 else line_end].strip(" \t.,"):
        return False
    previous = text[: max(line_start - 1, 0)].rstrip()
    return not previous.endswith(":")


@lru_cache(maxsize=4)
def _not_an_event(expressions: tuple[str, ...]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{e})" for e in expressions)) if expressions else None


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (England: weekends and bank holidays off)."""
    if end <= start:
        return 0
    # Whole weeks hold five weekdays each; only the last part-week is walked day by day.
    weeks, remainder = divmod((end - start).days, 7)
    weekdays = 5 * weeks
    day = start + dt.timedelta(days=7 * weeks + 1)
    for _ in range(remainder):
        weekdays += day.weekday() < 5
        day += dt.timedelta(days=1)
    bank_holidays = _england_bank_holidays(start.year, end.year)
    return weekdays - sum(1 for h in bank_holidays if start < h <= end and h.weekday() < 5)


@lru_cache(maxsize=16)
def _england_bank_holidays(first_year: int, last_year: int) -> frozenset[dt.date]:
    years = range(first_year, last_year + 1)
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=years))


# Between two pieces of evidence of one sentence there is no full stop, question or exclamation
# mark ending a sentence, and no line break (form fields and bullets are one line each).
_SENTENCE_BREAK = re.compile(r"[.!?](?:\s|$)|\n")


# Where a break of ``_SENTENCE_BREAK`` may stand: a line break, or a mark a space follows (a mark
# at the end of the range searched is a break too: ``$`` matches there).
_BREAK_AT = re.compile(r"\n|[.!?](?=\s)")


class SentenceBreaks:
    """Whether a sentence break lies between two places of a text, as
    ``_SENTENCE_BREAK.search(text, low, high)`` says, from the breaks found once per text: the
    elements' "in one sentence" searched the text again for each pair of evidence (some 700
    searches a 1,100-word check)."""

    def __init__(self, text: str, *, clauses: bool = False) -> None:
        self._text = text
        self._ends = ".!?;" if clauses else ".!?"
        breaking = _CLAUSE_BREAK_AT if clauses else _BREAK_AT
        self._at = [found.start() for found in breaking.finditer(text)]

    def between(self, low: int, high: int) -> bool:
        if low >= high:
            return False
        first = bisect.bisect_left(self._at, low)
        if first < len(self._at) and self._at[first] < high:
            return True
        return self._text[high - 1] in self._ends


# A clause (ElementRule.together_within "clause") ends where a sentence does or at a semicolon.
_CLAUSE_BREAK_AT = re.compile(r"\n|[.!?](?=\s)|;")


class _Breaks:
    """A text's sentence breaks, and its clause breaks found only if a rule asks for them."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._sentences = SentenceBreaks(text)
        self._clauses: SentenceBreaks | None = None

    def within(self, unit: str) -> SentenceBreaks:
        if unit == "sentence":
            return self._sentences
        if self._clauses is None:
            self._clauses = SentenceBreaks(self._text, clauses=True)
        return self._clauses


def _add_together(
    rule: ElementRule, groups: dict[str, list[_Evidence]], breaks: SentenceBreaks
) -> None:
    """Adds the ``a&b`` groups a rule's conditions name: evidence of every part found in one
    sentence. A full account is one statement ("CAMHS have been contacted and will see him
    today"); an action in one place and "said" anywhere else is not its result."""
    for name in rule.together:
        parts = name.split("&")
        if any(not groups.get(part) for part in parts):
            groups[name] = []
            continue
        first, rest = groups[parts[0]], parts[1:]
        kept: dict[tuple[int, int], _Evidence] = {}
        for anchor in first:
            companions = [_nearest_in_sentence(anchor, groups[part], breaks) for part in rest]
            if all(c is not None for c in companions):
                for evidence in (anchor, *companions):
                    if evidence is not None:
                        kept.setdefault((evidence.span.start, evidence.span.end), evidence)
        groups[name] = sorted(kept.values(), key=lambda e: e.span.start)


def _nearest_in_sentence(
    anchor: _Evidence, candidates: list[_Evidence], breaks: SentenceBreaks
) -> _Evidence | None:
    for candidate in candidates:
        if candidate is anchor:
            continue
        low = min(anchor.span.end, candidate.span.end)
        high = max(anchor.span.start, candidate.span.start)
        if not breaks.between(low, high):
            return candidate
    return None


def _joined(subject: TextSpan | None, verb: TextSpan, text: str) -> TextSpan:
    start = subject.start if subject is not None and subject.start < verb.start else verb.start
    return TextSpan(start, verb.end, text[start : verb.end])


@cache
def _term(term: str) -> tuple[str, bool, int]:
    """A condition's term read once per rulebook term ("!vague:any", "event*2"), not at each
    of the several thousand readings a check makes."""
    negated = term.startswith("!")
    name = term.removeprefix("!")
    minimum = 1
    if "*" in name:
        name, count = name.rsplit("*", 1)
        minimum = int(count)
    return name, negated, minimum


def _holds(term: str, groups: dict[str, list[_Evidence]]) -> bool:
    name, negated, minimum = _term(term)
    found = len({e.cue for e in groups.get(name, [])}) if minimum > 1 else len(groups.get(name, []))
    return (found < minimum) if negated else (found >= minimum)


def _decide(
    rule: ElementRule,
    groups: dict[str, list[_Evidence]],
    converted: dict[_EvidenceKey, EvidenceSpan],
) -> tuple[ElementStatus, list[EvidenceSpan], str | None]:
    for condition in rule.present_when:
        if all(_holds(term, groups) for term in condition):
            return "present", _spans(condition, groups, converted), None
    for condition in rule.partial_when:
        if all(_holds(term, groups) for term in condition):
            return (
                "partial",
                _spans(condition, groups, converted),
                _partial_question(rule, groups),
            )
    return "absent", [], rule.question


def _partial_question(rule: ElementRule, groups: dict[str, list[_Evidence]]) -> str:
    for condition in rule.present_when:
        for term in condition:
            if not _holds(term, groups):
                name = _term(term)[0]
                question = rule.partial_questions.get(term) or rule.partial_questions.get(name)
                if question:
                    return question
    return rule.question


def _spans(
    condition: tuple[str, ...],
    groups: dict[str, list[_Evidence]],
    converted: dict[_EvidenceKey, EvidenceSpan],
) -> list[EvidenceSpan]:
    seen: set[tuple[int, int]] = set()
    spans: list[EvidenceSpan] = []
    for term in condition:
        name, negated, _ = _term(term)
        if negated:
            continue
        for evidence in groups.get(name, []):
            key = (evidence.span.start, evidence.span.end)
            if key in seen or evidence.span.end <= evidence.span.start:
                continue
            seen.add(key)
            found = evidence.span
            shared = (found.start, found.end, found.text, evidence.cue)
            span = converted.get(shared)
            if span is None:
                # Validated: pydantic's model_construct runs in Python and costs about twice
                # as much as the validator (bench/referrals.py builds some 260 spans a check).
                span = converted[shared] = EvidenceSpan(
                    start=evidence.span.start,
                    end=evidence.span.end,
                    text=evidence.span.text,
                    cue=evidence.cue,
                )
            spans.append(span)
    return sorted(spans, key=lambda s: (s.start, s.end))


__all__ = [
    "Polarity",
    "RuleFinding",
    "analyse_referral_text",
    "check_from_analysis",
    "check_referral_text",
    "rule_findings",
    "vague_phrases",
    "working_days_between",
]
