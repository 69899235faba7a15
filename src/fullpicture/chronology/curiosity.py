"""Curiosity prompts for a child's page: each a question to ask, with the evidence that raised
it (``curiosity_prompts.yaml``). Prompts, never verdicts.

Built only from what the viewer was already shown: the chronology the need-to-know rule cut
for them and the household view they opened, so a prompt never reveals a hidden entry.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from fullpicture.chronology.repository import EntryFacts
from fullpicture.core.rule_files import load_rules_text
from fullpicture.linkage.households import FEED_RELATIONSHIP, SHARED_ADDRESS
from fullpicture.linkage.schemas import ChildHouseholdView

PROMPTS_FILE = Path(__file__).with_name("curiosity_prompts.yaml")


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    question: str


class UnseenAdultRule(_Rule):
    max_agencies_knowing: int = Field(ge=0)


class NotSeenAloneRule(_Rule):
    min_contacts: int = Field(ge=1)
    phrases: tuple[str, ...] = Field(min_length=1)


class WasNotBroughtRule(_Rule):
    codes: tuple[str, ...] = Field(min_length=1)
    min_count: int = Field(ge=1)
    within_days: int = Field(ge=1)


class ConcernNotSharedRule(_Rule):
    min_severity: int = Field(ge=1, le=5)
    within_days: int = Field(ge=1)


class HouseholdChangeRule(_Rule):
    within_days: int = Field(ge=1)


class CuriosityRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    version: str
    unseen_adult: UnseenAdultRule
    not_seen_alone: NotSeenAloneRule
    was_not_brought: WasNotBroughtRule
    concern_not_shared: ConcernNotSharedRule
    household_change: HouseholdChangeRule


@lru_cache(maxsize=1)
def default_rules() -> CuriosityRules:
    with PROMPTS_FILE.open(encoding="utf-8") as handle:
        return CuriosityRules.model_validate(load_rules_text(handle))


@dataclass(frozen=True)
class Evidence:
    """One piece of what raised a prompt, in words (and the entry it is, when it is one)."""

    text: str
    event_id: int | None = None


@dataclass(frozen=True, slots=True)
class EntryEvidence:
    """An entry as evidence, put in words when read: a prompt over years of record rests on
    hundreds of entries, and the page lists the latest few."""

    entry: EntryFacts

    @property
    def text(self) -> str:
        return f"{self.entry.date_label}, {self.entry.agency_name}: {self.entry.summary}"

    @property
    def event_id(self) -> int:
        return self.entry.event_id


@dataclass(frozen=True)
class CuriosityPrompt:
    kind: str
    question: str
    evidence: tuple[Evidence | EntryEvidence, ...]


def _entry_evidence(entry: EntryFacts) -> EntryEvidence:
    return EntryEvidence(entry)


def _household_evidence_words(item: Mapping[str, str | None]) -> str:
    """What an agency's record says that puts the adult in the household, in words: the
    practitioner reads it to know which record to ask about (the keys are linkage's), the
    agency by its name as the household view gives it beside the code."""
    agency = item.get("agency_name") or item.get("agency") or "an agency"
    record = item.get("record_id")
    if item.get("basis") == SHARED_ADDRESS:
        where = ", ".join(part for part in (item.get("address"), item.get("postcode")) if part)
        return f"{agency} record {record} gives this address{': ' + where if where else ''}."
    if item.get("basis") == FEED_RELATIONSHIP:
        # An import's relationship row says what the related record is to the record.
        kind = (item.get("relationship") or "relative").replace("_", " ")
        return (
            f"{agency}'s records name record {item.get('related_record_id')} as the {kind} "
            f"of record {record}."
        )
    # Any other basis: every value, the agency once and by its name.
    named = {**item, "agency": agency, "agency_name": None} if item.get("agency") else item
    known = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in named.items() if v is not None)
    return f"Recorded: {known}."


def _unseen_adults(
    households: ChildHouseholdView | None, rule: UnseenAdultRule
) -> list[CuriosityPrompt]:
    if households is None:
        return []
    prompts = []
    seen: set[str] = set()
    for period in households.households:
        for adult in period.adults:
            if adult.person_public_id in seen:
                continue
            if len(adult.known_to_agencies) > rule.max_agencies_knowing:
                continue
            seen.add(adult.person_public_id)
            name = adult.name or "an adult whose name is not recorded"
            # Agencies by name where the view gives them (a code is not what a reader knows).
            agencies = adult.known_to_agency_names or adult.known_to_agencies
            known = f"known only to {', '.join(agencies)}" if agencies else "known to no agency"
            since = f" since {adult.date_from:%d %b %Y}" if adult.date_from else ""
            evidence = [
                Evidence(
                    f"{name} ({', '.join(adult.roles) or 'adult'}) has lived at "
                    f"{period.address or 'the child’s address'}{since}; {known}."
                )
            ]
            evidence.extend(
                Evidence(_household_evidence_words(item)) for item in adult.evidence[:3]
            )
            prompts.append(
                CuriosityPrompt(
                    kind="unseen adult",
                    question=rule.question.format(name=name),
                    evidence=tuple(evidence),
                )
            )
    return prompts


def _not_seen_alone(entries: Sequence[EntryFacts], rule: NotSeenAloneRule) -> list[CuriosityPrompt]:
    # Any phrase within the lower-cased summary: one search for all of them, not one test per
    # phrase per entry (a long record has thousands of entries).
    phrases = re.compile("|".join(re.escape(p.lower()) for p in rule.phrases))
    found = [e for e in entries if e.about == "child" and phrases.search(e.summary.lower())]
    if len(found) < rule.min_contacts:
        return []
    return [
        CuriosityPrompt(
            kind="child not seen alone",
            question=rule.question.format(count=len(found)),
            evidence=tuple(_entry_evidence(e) for e in found),
        )
    ]


def _was_not_brought(
    entries: Sequence[EntryFacts], rule: WasNotBroughtRule, today: dt.date
) -> list[CuriosityPrompt]:
    since = today - dt.timedelta(days=rule.within_days)
    found = [
        e
        for e in entries
        if e.about == "child" and e.concern_code in rule.codes and e.event_date >= since
    ]
    if len(found) < rule.min_count:
        return []
    return [
        CuriosityPrompt(
            kind="repeated was-not-brought",
            question=rule.question.format(count=len(found), days=rule.within_days),
            evidence=tuple(_entry_evidence(e) for e in found),
        )
    ]


def _concerns_not_shared(
    entries: Sequence[EntryFacts],
    agencies_involved: Sequence[str],
    rule: ConcernNotSharedRule,
    today: dt.date,
) -> list[CuriosityPrompt]:
    since = today - dt.timedelta(days=rule.within_days)
    by_agency: dict[str, list[EntryFacts]] = {}
    for entry in entries:
        if (
            entry.code_kind == "concern"
            and (entry.severity or 0) >= rule.min_severity
            and entry.event_date >= since
            # Recorded by more than one agency: the others have it already.
            and entry.incident_group is None
        ):
            by_agency.setdefault(entry.agency_name, []).append(entry)
    prompts = []
    for agency, found in sorted(by_agency.items()):
        others = [a for a in agencies_involved if a != agency]
        if not others:
            continue
        prompts.append(
            CuriosityPrompt(
                kind="concern one agency holds",
                # {count} stays for partnerships' own wording; {concerns} agrees with it.
                question=rule.question.format(
                    agency=agency,
                    count=len(found),
                    concerns=f"{len(found)} concern{'' if len(found) == 1 else 's'}",
                    others=", ".join(others),
                ),
                evidence=tuple(_entry_evidence(e) for e in found),
            )
        )
    return prompts


def _household_changes(
    households: ChildHouseholdView | None, rule: HouseholdChangeRule, today: dt.date
) -> list[CuriosityPrompt]:
    if households is None:
        return []
    since = today - dt.timedelta(days=rule.within_days)
    changes: list[tuple[dt.date, str]] = []
    for period in households.households:
        if period.date_from and period.date_from >= since:
            changes.append((period.date_from, f"moved to {period.address or 'a new address'}"))
        for adult in period.adults:
            name = adult.name or "an adult whose name is not recorded"
            if adult.date_from and adult.date_from >= since:
                changes.append((adult.date_from, f"{name} moved in"))
            if adult.date_to and since <= adult.date_to <= today:
                changes.append((adult.date_to, f"{name} moved out"))
    return [
        CuriosityPrompt(
            kind="change in the household",
            question=rule.question.format(day=f"{day:%d %b %Y}", what=what),
            evidence=(Evidence(f"{day:%d %b %Y}: {what}."),),
        )
        for day, what in sorted(set(changes), reverse=True)
    ]


def curiosity_prompts(
    *,
    entries: Sequence[EntryFacts],
    households: ChildHouseholdView | None,
    agencies_involved: Sequence[str],
    today: dt.date,
    rules: CuriosityRules | None = None,
) -> list[CuriosityPrompt]:
    """Every prompt the viewer's picture of the child raises (``entries``: the combined
    chronology they may see, incidents numbered), each with its evidence."""
    rules = rules or default_rules()
    return [
        *_unseen_adults(households, rules.unseen_adult),
        *_not_seen_alone(entries, rules.not_seen_alone),
        *_was_not_brought(entries, rules.was_not_brought, today),
        *_concerns_not_shared(entries, agencies_involved, rules.concern_not_shared, today),
        *_household_changes(households, rules.household_change, today),
    ]
