"""Cross-checks of a referral against the child's record: what the record holds that the text leaves out.

referral-standard.md R9 (history: "the record shows N earlier concerns; include or explain"),
R10 (adult factors known for the household), R11 (agencies with recent involvement) and R17
(open escalations of professional disagreement, from the workflow capability). Findings come from the
record, not the writer, so they are listed apart from the element statuses (the standard's
scoring suggestion) and never change the score.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fullpicture.chronology.taxonomy import CodeKind, default_taxonomy
from fullpicture.referrals.classifier import mentions_from_analysis
from fullpicture.referrals.language import TextAnalysis
from fullpicture.referrals.repository import RecordEventRow
from fullpicture.referrals.rulebook import Polarity, Rulebook
from fullpicture.referrals.schemas import CrossCheckFinding, CrossCheckReport, RecordEvent


@dataclass(frozen=True)
class OpenEscalation:
    """An open escalation of professional disagreement about the child, as the reader may see it
    (``workflow.escalation.visible_escalations``; research-notes §5)."""

    stage: int
    stage_name: str
    formal: bool
    raised_by_agency: str
    with_agency: str
    opened_on: dt.date
    disagreement: str


# How the R10 element names each adult-factor code (referral_standard.yaml, R10 groups).
ADULT_FACTOR_GROUPS = {"DOM-ABU": "da", "PAR-MH": "mh", "PAR-SUB": "sub", "PAR-LD": "ld"}
LISTED_IN_MESSAGE = 8


def months_before(day: dt.date, months: int) -> dt.date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for candidate_day in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, candidate_day)
        except ValueError:
            continue
    raise ValueError(f"cannot go back {months} months from {day}")


def cross_check(
    *,
    analysis: TextAnalysis,
    child_public_id: str,
    child_events: Sequence[RecordEventRow],
    household_events: Sequence[RecordEventRow],
    as_of: dt.date,
    rulebook: Rulebook,
    open_escalations: Sequence[OpenEscalation] = (),
    disagreement_mentioned: bool = False,
) -> CrossCheckReport:
    """Compare the referral text with the child's (and household adults') current chronology
    and the open escalations about the child."""
    mentions: dict[str, set[Polarity]] = defaultdict(set)
    for mention in mentions_from_analysis(analysis):
        mentions[mention.code].add(mention.polarity)
    findings: list[CrossCheckFinding] = []
    history = _history(analysis, child_events, mentions, as_of=as_of, rulebook=rulebook)
    if history is not None:
        findings.append(history)
    agencies = _agencies(analysis, child_events, household_events, as_of=as_of, rulebook=rulebook)
    if agencies is not None:
        findings.append(agencies)
    findings.extend(
        _adult_factors(
            analysis, child_events, household_events, mentions, as_of=as_of, rulebook=rulebook
        )
    )
    escalations = _escalations(open_escalations, mentioned=disagreement_mentioned)
    if escalations is not None:
        findings.append(escalations)
    return CrossCheckReport(child_id=child_public_id, as_of=as_of, findings=findings, notes=[])


def _escalations(
    open_escalations: Sequence[OpenEscalation], *, mentioned: bool
) -> CrossCheckFinding | None:
    """R17: open escalations the referral should say where they stand."""
    if not open_escalations:
        return None
    listed = "; ".join(
        f"stage {e.stage} ({'formal' if e.formal else 'informal'}: {e.stage_name}) "
        f"between {e.raised_by_agency} and {e.with_agency} since {e.opened_on:%d/%m/%Y}: "
        f"{e.disagreement}"
        for e in open_escalations
    )
    count = _plural(len(open_escalations), "open escalation", "open escalations")
    if mentioned:
        message = (
            f"The record holds {count} of professional disagreement about this child: {listed}. "
            "Check the referral says where each stands."
        )
    else:
        message = (
            f"The record holds {count} of professional disagreement about this child that the "
            f"referral does not mention: {listed}. Say what the disagreement is and where it "
            "stands."
        )
    return CrossCheckFinding(kind="escalations", element="R17", message=message, events=[])


def _record_event(row: RecordEventRow, whose: str) -> RecordEvent:
    entry = default_taxonomy().get(row.concern_code)
    return RecordEvent(
        agency_code=row.agency_code,
        agency_name=row.agency_name,
        agency_kind=row.agency_kind,
        event_ref=row.event_ref,
        version=row.version,
        event_date=row.event_date,
        concern_code=row.concern_code,
        category=entry.category if entry else row.concern_code,
        summary=row.summary,
        whose_record="child" if whose == "child" else "household_adult",
        person_public_id=row.person_public_id,
    )


def _listing(events: Iterable[RecordEvent]) -> str:
    items = [
        f"{e.event_date:%d/%m/%Y} {e.agency_name}: {e.category} ({e.concern_code}) — {e.summary}"
        for e in events
    ]
    shown = "; ".join(items[:LISTED_IN_MESSAGE])
    more = len(items) - LISTED_IN_MESSAGE
    return shown + (f"; and {more} more" if more > 0 else "")


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _history(
    analysis: TextAnalysis,
    child_events: Sequence[RecordEventRow],
    mentions: dict[str, set[Polarity]],
    *,
    as_of: dt.date,
    rulebook: Rulebook,
) -> CrossCheckFinding | None:
    rules = rulebook.standard.cross_checks
    taxonomy = default_taxonomy()
    since = months_before(as_of, rules.history_months)
    plan_mentioned = any(code.startswith(rules.history_plan_prefix) for code in mentions)
    referral_mentioned = "PRC-REF" in mentions
    uncovered: list[RecordEvent] = []
    for row in child_events:
        entry = taxonomy.get(row.concern_code)
        is_plan = (
            row.concern_code.startswith(rules.history_plan_prefix) and row.concern_code != "PLN-END"
        )
        in_window = row.event_date >= since
        relevant = is_plan or (
            in_window
            and (
                (entry is not None and entry.kind is CodeKind.CONCERN)
                or row.concern_code in rules.history_process_codes
            )
        )
        if not relevant:
            continue
        if row.concern_code in mentions:
            continue
        if is_plan and plan_mentioned:
            continue
        if row.concern_code in rules.history_process_codes and referral_mentioned:
            continue
        uncovered.append(_record_event(row, "child"))
    if not uncovered:
        return None
    denied = any(
        m.polarity is Polarity.NEGATED
        for m in analysis.in_namespace("element")
        # "There are no previous concerns": the denial may be of a history named or described.
        if m.key in {("R9", "history"), ("R9", "history_named")}
    )
    agencies = {e.agency_code for e in uncovered}
    count = _plural(len(uncovered), "earlier concern", "earlier concerns")
    where = _plural(len(agencies), "agency", "agencies")
    if denied:
        message = (
            f"The referral says there are no previous concerns, but the record shows {count} "
            f"from {where}: {_listing(uncovered)}. Check and correct, or explain."
        )
    else:
        message = (
            f"The record shows {count} from {where} that the referral does not mention: "
            f"{_listing(uncovered)}. Include them or explain why they are not relevant."
        )
    return CrossCheckFinding(
        kind="history", element="R9", message=message, contradicts_referral=denied, events=uncovered
    )


def _agency_named(text_lower: str, row: RecordEventRow, words: dict[str, tuple[str, ...]]) -> bool:
    candidates = [row.agency_name.lower(), *words.get(row.agency_kind, ())]
    distinctive = [
        token
        for token in re.findall(r"[a-z][a-z'-]{3,}", row.agency_name.lower())
        if token not in _GENERIC_AGENCY_WORDS
    ]
    candidates.extend(distinctive)
    return any(_named_as_a_word(text_lower, c) for c in candidates if c)


def _named_as_a_word(text_lower: str, name: str) -> bool:
    """``name`` occurs with no letter a-z either side: the regex ``(?<![a-z])name(?![a-z])``,
    found with ``str.find`` rather than a lookbehind tried at every character."""
    at = text_lower.find(name)
    while at >= 0:
        end = at + len(name)
        if (at == 0 or not _is_a_to_z(text_lower[at - 1])) and (
            end == len(text_lower) or not _is_a_to_z(text_lower[end])
        ):
            return True
        at = text_lower.find(name, at + 1)
    return False


def _is_a_to_z(ch: str) -> bool:
    return "a" <= ch <= "z"


_GENERIC_AGENCY_WORDS = {
    "school", "primary", "academy", "junior", "juniors", "infant", "infants", "nursery", "surgery",
    "medical", "centre", "center", "health", "hospital", "university", "police", "metropolitan",
    "service", "services", "council", "housing", "team", "trust", "nhs", "children", "children's",
    "croydon", "london", "borough", "social", "care", "early", "help", "family", "high", "church",
    "catholic", "community", "practice", "group", "the", "and", "of",
}  # fmt: skip


def _agencies(
    analysis: TextAnalysis,
    child_events: Sequence[RecordEventRow],
    household_events: Sequence[RecordEventRow],
    *,
    as_of: dt.date,
    rulebook: Rulebook,
) -> CrossCheckFinding | None:
    rules = rulebook.standard.cross_checks
    since = months_before(as_of, rules.agency_months)
    text_lower = analysis.text.lower()
    by_agency: dict[str, list[tuple[RecordEventRow, str]]] = defaultdict(list)
    for rows, whose in ((child_events, "child"), (household_events, "household")):
        for row in rows:
            if row.event_date >= since:
                by_agency[row.agency_code].append((row, whose))
    unnamed: list[RecordEvent] = []
    names: list[str] = []
    for tagged in by_agency.values():
        first = tagged[0][0]
        if _agency_named(text_lower, first, rules.agency_words):
            continue
        latest = max(row.event_date for row, _ in tagged)
        names.append(
            f"{first.agency_name} ({first.agency_kind.replace('_', ' ')}: "
            f"{_plural(len(tagged), 'event', 'events')}, latest {latest:%d/%m/%Y})"
        )
        unnamed.extend(_record_event(row, whose) for row, whose in tagged)
    if not unnamed:
        return None
    message = (
        f"{_plural(len(names), 'agency has', 'agencies have')} recorded involvement in the last "
        f"{rules.agency_months} months but {'is' if len(names) == 1 else 'are'} not named in the "
        f"referral: {'; '.join(names)}. Say what they know, or that you have checked with them."
    )
    return CrossCheckFinding(kind="agencies", element="R11", message=message, events=unnamed)


def _adult_factors(
    analysis: TextAnalysis,
    child_events: Sequence[RecordEventRow],
    household_events: Sequence[RecordEventRow],
    mentions: dict[str, set[Polarity]],
    *,
    as_of: dt.date,
    rulebook: Rulebook,
) -> list[CrossCheckFinding]:
    rules = rulebook.standard.cross_checks
    since = months_before(as_of, rules.adult_factor_months)
    addressed: dict[str, set[Polarity]] = defaultdict(set)
    for match in analysis.in_namespace("element"):
        if match.key[0] == "R10":
            addressed[match.key[1]].add(match.polarity)
    by_code: dict[str, list[RecordEvent]] = defaultdict(list)
    for rows, whose in ((child_events, "child"), (household_events, "household")):
        for row in rows:
            if row.concern_code in rules.adult_factor_codes and row.event_date >= since:
                by_code[row.concern_code].append(_record_event(row, whose))
    omitted: list[RecordEvent] = []
    omitted_codes: list[str] = []
    denied: list[RecordEvent] = []
    denied_codes: list[str] = []
    for code, events in by_code.items():
        polarities = set(mentions.get(code, set()))
        group = ADULT_FACTOR_GROUPS.get(code)
        if group is not None:
            polarities |= addressed.get(group, set())
        if Polarity.AFFIRMED in polarities:
            continue
        if Polarity.NEGATED in polarities:
            denied.extend(events)
            denied_codes.append(code)
        else:
            omitted.extend(events)
            omitted_codes.append(code)
    findings: list[CrossCheckFinding] = []
    taxonomy = default_taxonomy()

    def label(codes: list[str]) -> str:
        named = []
        for code in sorted(codes):
            entry = taxonomy.get(code)
            named.append(f"{entry.category if entry else code} ({code})")
        return ", ".join(named)

    if omitted:
        findings.append(
            CrossCheckFinding(
                kind="adult_factors",
                element="R10",
                message=(
                    f"The record shows adult factors for this household that the referral leaves out — "
                    f"{label(omitted_codes)}: {_listing(omitted)}. Say what you know about them."
                ),
                events=omitted,
            )
        )
    if denied:
        findings.append(
            CrossCheckFinding(
                kind="adult_factors",
                element="R10",
                contradicts_referral=True,
                message=(
                    f"The referral says there is no {label(denied_codes)}, but the record shows: "
                    f"{_listing(denied)}. Check and correct, or explain."
                ),
                events=denied,
            )
        )
    return findings
