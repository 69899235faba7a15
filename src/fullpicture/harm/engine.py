"""The cumulative-harm engine for one child: the reference definition of the model.

This module says exactly what a score and an alert are. The batch job (``batch.py``) computes
the same things for a whole population in SQL, and a property test holds the two to one
answer. Case replay and the incremental path (``incremental.py``) call this module.

Days are whole calendar days. A window "within N days" of day t is [t - N, t], and includes
every incident on day t itself, so the result never depends on the order of same-day entries.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fullpicture.chronology.incidents import Incident as Incident
from fullpicture.chronology.incidents import Ref as Ref
from fullpicture.chronology.incidents import ScoringEvent as ScoringEvent
from fullpicture.chronology.incidents import group_incidents, ref_sort_key
from fullpicture.chronology.taxonomy import CodeKind, Taxonomy, default_taxonomy
from fullpicture.harm.harm_model import (
    AllCodesWithin,
    AnyCodeWithin,
    ChildAgeUnder,
    CodesTogether,
    CodeWithOtherConcern,
    CountWithin,
    HarmModel,
    OnPlan,
    OtherConcernWithin,
    PatternRule,
    RelapseCycles,
    Repeated,
    default_harm_model,
)

THRESHOLD_KIND = "score_threshold"
SCORE_DECIMALS = 6
# Scores are compared with thresholds allowing for float rounding, so that the batch job
# (which adds in another order) and this module agree when a score lands exactly on one.
TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    """An alert the engine raises: when, why, how strong, and the entries behind it."""

    kind: str
    day: dt.date
    score: float
    reason: str
    evidence: tuple[Ref, ...]


@dataclass(frozen=True, slots=True)
class ScoreContribution:
    code: str
    day: dt.date
    agencies: tuple[str, ...]
    refs: tuple[Ref, ...]
    base_severity: int
    severity: int
    modifiers: tuple[str, ...]
    points: float
    decay: float
    contribution: float


@dataclass(frozen=True, slots=True)
class ScoreExplanation:
    """A score as of one day, with every incident that makes it up."""

    as_of: dt.date
    score: float
    concern_points: float
    agencies: tuple[str, ...]
    triangulation_multiplier: float
    contributions: tuple[ScoreContribution, ...]
    strengths: tuple[ScoreContribution, ...]
    strength_weight: float


@dataclass(frozen=True, slots=True)
class ChildAssessment:
    """Everything the engine concludes about one child up to one day."""

    incidents: tuple[Incident, ...]
    alerts: tuple[RaisedAlert, ...]
    explanation: ScoreExplanation
    score_by_day: tuple[tuple[dt.date, float], ...]


class _Windows:
    """Counts of incidents by code over day windows, answered with binary search."""

    def __init__(self, incidents: Sequence[Incident]) -> None:
        self.days_by_code: dict[str, list[int]] = defaultdict(list)
        self.concern_days: list[int] = []
        for incident in incidents:
            self.days_by_code[incident.code].append(incident.ordinal)
            if incident.kind is CodeKind.CONCERN:
                self.concern_days.append(incident.ordinal)

    def count(self, codes: Iterable[str], low: int, high: int) -> int:
        total = 0
        for code in codes:
            days = self.days_by_code.get(code)
            if days:
                total += bisect_right(days, high) - bisect_left(days, low)
        return total

    def concerns(self, low: int, high: int) -> int:
        return bisect_right(self.concern_days, high) - bisect_left(self.concern_days, low)

    def last_on_or_before(self, codes: Iterable[str], day: int) -> int | None:
        latest: int | None = None
        for code in codes:
            days = self.days_by_code.get(code)
            if days:
                index = bisect_right(days, day)
                if index and (latest is None or days[index - 1] > latest):
                    latest = days[index - 1]
        return latest


def _on_plan(windows: _Windows, model: HarmModel, day: int) -> bool:
    started = windows.last_on_or_before(model.plans.start_codes, day)
    if started is None:
        return False
    ended = windows.last_on_or_before(model.plans.end_codes, day)
    return ended is None or started >= ended


def apply_modifiers(
    incidents: Sequence[Incident],
    *,
    date_of_birth: dt.date | None,
    model: HarmModel,
    windows: _Windows | None = None,
) -> None:
    """Set each concern incident's severity and points from the modifiers true on its day."""
    windows = windows or _Windows(incidents)
    birth = date_of_birth.toordinal() if date_of_birth else None
    for incident in incidents:
        if incident.kind is CodeKind.STRENGTH:
            incident.points = model.strengths.points
            continue
        if incident.kind is not CodeKind.CONCERN:
            continue
        day = incident.ordinal
        added = 0
        applied: list[str] = []
        for modifier in model.modifiers:
            if not modifier.applies_to_code(incident.code):
                continue
            if _condition_holds(modifier.condition, incident, day, birth, windows, model):
                added += modifier.add_severity
                applied.append(modifier.name)
        incident.modifiers = applied
        incident.severity = min(5, incident.base_severity + added)
        incident.points = model.points_by_severity[incident.severity]


def _condition_holds(
    condition: object,
    incident: Incident,
    day: int,
    birth: int | None,
    windows: _Windows,
    model: HarmModel,
) -> bool:
    if isinstance(condition, ChildAgeUnder):
        return birth is not None and day - birth < condition.days
    if isinstance(condition, OnPlan):
        return _on_plan(windows, model, day)
    if isinstance(condition, Repeated):
        return windows.count((incident.code,), day - condition.days, day) >= condition.min_count
    if isinstance(condition, AllCodesWithin):
        return all(windows.count((c,), day - condition.days, day) for c in condition.codes)
    if isinstance(condition, AnyCodeWithin):
        return windows.count(condition.codes, day - condition.days, day) > 0
    if isinstance(condition, OtherConcernWithin):
        low = day - condition.days
        return windows.concerns(low, day) - windows.count((incident.code,), low, day) > 0
    raise TypeError(f"unknown modifier condition {condition!r}")


class _Scorer:
    """Scores one child's incidents at any day: decayed points times the triangulation credit."""

    def __init__(self, incidents: Sequence[Incident], model: HarmModel) -> None:
        self.model = model
        self.concerns = [i for i in incidents if i.kind is CodeKind.CONCERN]
        self.concern_days = [i.ordinal for i in self.concerns]
        self.strengths = [i for i in incidents if i.kind is CodeKind.STRENGTH]
        self.strength_days = [i.ordinal for i in self.strengths]
        # The batch job anchors its exponent at the child's first incident; so do we, so
        # that both do the same floating-point arithmetic.
        self.base = min((i.ordinal for i in incidents), default=0)
        # Each concern's points grown to its day, computed once rather than once per scored
        # day; the same products as before, added in the same order, so the same floats.
        half_life = model.decay.half_life_days
        self.concern_weights = [
            i.points * 2.0 ** ((i.ordinal - self.base) / half_life) for i in self.concerns
        ]
        # The days each agency recorded a concern, to find who recorded one in a window by
        # binary search instead of walking every concern in it.
        self.concern_days_by_agency: dict[str, list[int]] = defaultdict(list)
        for incident in self.concerns:
            for agency in dict.fromkeys(incident.agencies):
                self.concern_days_by_agency[agency].append(incident.ordinal)
        self._raw_scores: dict[int, float] = {}

    def _slice(self, days: list[int], low: int, high: int) -> tuple[int, int]:
        return bisect_left(days, low), bisect_right(days, high)

    def agencies(self, day: int) -> set[str]:
        low = day - self.model.triangulation.window_days
        return {
            agency
            for agency, days in self.concern_days_by_agency.items()
            if bisect_right(days, day) > bisect_left(days, low)
        }

    def multiplier(self, agency_count: int) -> float:
        tri = self.model.triangulation
        if agency_count <= 1:
            return 1.0
        return min(tri.max_multiplier, 1.0 + tri.credit_per_extra_agency * (agency_count - 1))

    def concern_points(self, day: int) -> float:
        decay = self.model.decay
        start, stop = self._slice(self.concern_days, day - decay.horizon_days, day)
        weighted = 0.0
        for weight in self.concern_weights[start:stop]:
            weighted += weight
        return weighted * float(2.0 ** (-(day - self.base) / decay.half_life_days))

    def raw_score(self, day: int) -> float:
        # Asked for each day of the record, the day before each, and again for the timeline.
        known = self._raw_scores.get(day)
        if known is not None:
            return known
        points = self.concern_points(day)
        score = 0.0 if points == 0.0 else points * self.multiplier(len(self.agencies(day)))
        self._raw_scores[day] = score
        return score

    def score(self, day: int) -> float:
        return round(self.raw_score(day), SCORE_DECIMALS)

    def explain(self, as_of: dt.date) -> ScoreExplanation:
        day = as_of.toordinal()
        decay = self.model.decay

        def contributions(items: list[Incident], days: list[int]) -> list[ScoreContribution]:
            start, stop = self._slice(days, day - decay.horizon_days, day)
            found = []
            for incident in items[start:stop]:
                factor = 2.0 ** (-(day - incident.ordinal) / decay.half_life_days)
                found.append(
                    ScoreContribution(
                        code=incident.code,
                        day=incident.day,
                        agencies=tuple(incident.agencies),
                        refs=tuple(incident.refs),
                        base_severity=incident.base_severity,
                        severity=incident.severity,
                        modifiers=tuple(incident.modifiers),
                        points=incident.points,
                        decay=round(factor, SCORE_DECIMALS),
                        contribution=round(incident.points * factor, SCORE_DECIMALS),
                    )
                )
            return found

        agencies = self.agencies(day)
        strengths = contributions(self.strengths, self.strength_days)
        return ScoreExplanation(
            as_of=as_of,
            score=self.score(day),
            concern_points=round(self.concern_points(day), SCORE_DECIMALS),
            agencies=tuple(sorted(agencies)),
            triangulation_multiplier=self.multiplier(len(agencies)),
            contributions=tuple(contributions(self.concerns, self.concern_days)),
            strengths=tuple(strengths),
            strength_weight=round(sum(s.contribution for s in strengths), SCORE_DECIMALS),
        )


def assess_child(
    events: Iterable[ScoringEvent],
    *,
    date_of_birth: dt.date | None,
    as_of: dt.date,
    model: HarmModel | None = None,
    taxonomy: Taxonomy | None = None,
) -> ChildAssessment:
    """Score one child as of a day and list every alert raised on or before it."""
    model = model or default_harm_model()
    taxonomy = taxonomy or default_taxonomy()
    incidents = [
        i
        for i in group_incidents(
            (e for e in events if e.day <= as_of),
            within_days=model.same_incident.within_days,
            taxonomy=taxonomy,
        )
    ]
    windows = _Windows(incidents)
    apply_modifiers(incidents, date_of_birth=date_of_birth, model=model, windows=windows)
    scorer = _Scorer(incidents, model)
    alerts = _raise_alerts(incidents, windows, scorer, model, date_of_birth)
    days = sorted({i.ordinal for i in incidents})
    return ChildAssessment(
        incidents=tuple(incidents),
        alerts=tuple(alerts),
        explanation=scorer.explain(as_of),
        score_by_day=tuple((dt.date.fromordinal(d), scorer.score(d)) for d in days),
    )


def _raise_alerts(
    incidents: Sequence[Incident],
    windows: _Windows,
    scorer: _Scorer,
    model: HarmModel,
    date_of_birth: dt.date | None,
) -> list[RaisedAlert]:
    rules = model.alerts
    alerts: list[RaisedAlert] = []
    days = sorted({i.ordinal for i in incidents})
    relapse = _relapse_days(incidents, model)
    threshold_raised_in_episode = False
    horizon = model.decay.horizon_days
    ordinals = [i.ordinal for i in incidents]  # sorted: group_incidents orders by day
    for day in days:
        raw = scorer.raw_score(day)
        score = round(raw, SCORE_DECIMALS)
        if scorer.raw_score(day - 1) < rules.threshold.reset_below - TOLERANCE:
            threshold_raised_in_episode = False
        if raw >= rules.threshold.score - TOLERANCE and not threshold_raised_in_episode:
            threshold_raised_in_episode = True
            start, stop = scorer._slice(scorer.concern_days, day - horizon, day)
            contributing = [i for i in scorer.concerns[start:stop] if i.points > 0]
            alerts.append(
                RaisedAlert(
                    kind=THRESHOLD_KIND,
                    day=dt.date.fromordinal(day),
                    score=score,
                    reason=threshold_reason(
                        score=score,
                        threshold=rules.threshold.score,
                        incident_count=len(contributing),
                        agency_count=len(scorer.agencies(day)),
                        model=model,
                    ),
                    evidence=_refs(contributing),
                )
            )
        for pattern in rules.patterns:
            if not _pattern_holds(pattern, day, windows, relapse):
                continue
            if _pattern_holds(pattern, day - 1, windows, relapse):
                continue
            now = _pattern_state(pattern, day, windows, relapse, incidents, ordinals)
            if now is None:  # never: _pattern_holds has just said it holds
                continue
            count, evidence = now
            alerts.append(
                RaisedAlert(
                    kind=pattern.kind,
                    day=dt.date.fromordinal(day),
                    score=score,
                    reason=pattern_reason(pattern, count),
                    evidence=_refs(evidence),
                )
            )
    birth = date_of_birth.toordinal() if date_of_birth else None
    # One alert per kind and day: two serious incidents on one day are one episode.
    serious_found: dict[tuple[str, int], list[Incident]] = defaultdict(list)
    for incident in incidents:
        for serious in rules.serious_alone:
            young = serious.young_child
            if incident.code in serious.codes or (
                young is not None
                and incident.code in young.codes
                and birth is not None
                and incident.ordinal - birth < young.age_under_days
            ):
                serious_found[(serious.kind, incident.ordinal)].append(incident)
    reasons = {serious.kind: serious.reason for serious in rules.serious_alone}
    for (kind, day), found in serious_found.items():
        alerts.append(
            RaisedAlert(
                kind=kind,
                day=dt.date.fromordinal(day),
                score=scorer.score(day),
                reason=reasons[kind],
                evidence=_refs(found),
            )
        )
    alerts.sort(key=lambda a: (a.day, a.kind))
    return alerts


def _refs(incidents: Iterable[Incident]) -> tuple[Ref, ...]:
    return tuple(sorted({r for i in incidents for r in i.refs}, key=ref_sort_key))


def _relapse_days(incidents: Sequence[Incident], model: HarmModel) -> dict[str, dict[int, int]]:
    """For each relapse rule: each day a concern followed a recent improvement, and the day
    of that improvement (research-notes §6.7)."""
    found: dict[str, dict[int, int]] = {}
    for pattern in model.alerts.patterns:
        rule = pattern.rule
        if not isinstance(rule, RelapseCycles):
            continue
        improvement_days = sorted(
            {i.ordinal for i in incidents if i.code in rule.improvement_codes}
        )
        concern_days = sorted(
            {
                i.ordinal
                for i in incidents
                if i.kind is CodeKind.CONCERN and i.severity >= rule.relapse_min_severity
            }
        )
        relapses: dict[int, int] = {}
        for day in concern_days:
            index = bisect_left(improvement_days, day)
            if not index:
                continue
            improved = improvement_days[index - 1]
            earlier = bisect_left(concern_days, day)
            previous_concern = concern_days[earlier - 1] if earlier else None
            if day - improved <= rule.relapse_days and (
                previous_concern is None or previous_concern <= improved
            ):
                relapses[day] = improved
        found[pattern.kind] = relapses
    return found


def _pattern_holds(
    pattern: PatternRule, day: int, windows: _Windows, relapse: dict[str, dict[int, int]]
) -> bool:
    """Whether the rule holds on ``day``: ``_pattern_state``'s test without gathering the
    evidence, which is asked for every day of the record and twice (that day and the day
    before) and so made a child with 2,000 entries take seconds."""
    rule = pattern.rule
    low = day - rule.days
    if isinstance(rule, CountWithin):
        return windows.count(rule.codes, low, day) >= rule.min_count
    if isinstance(rule, CodeWithOtherConcern):
        own = windows.count(rule.codes, low, day)
        return bool(own) and windows.concerns(low, day) - own > 0
    if isinstance(rule, CodesTogether):
        return bool(windows.count(rule.first, low, day)) and bool(
            windows.count(rule.second, low, day)
        )
    relapses = relapse[pattern.kind]
    return sum(1 for d in relapses if low <= d <= day) >= rule.min_count


def _pattern_state(
    pattern: PatternRule,
    day: int,
    windows: _Windows,
    relapse: dict[str, dict[int, int]],
    incidents: Sequence[Incident],
    ordinals: Sequence[int],
) -> tuple[int, list[Incident]] | None:
    """When the rule holds on ``day``: how many, and the incidents that make it hold
    (``ordinals`` are the incidents' days, in order, to find the window by binary search)."""
    rule = pattern.rule
    low = day - rule.days

    def within(predicate: object) -> list[Incident]:
        start, stop = bisect_left(ordinals, low), bisect_right(ordinals, day)
        return [i for i in incidents[start:stop] if predicate(i)]  # type: ignore[operator]

    if isinstance(rule, CountWithin):
        count = windows.count(rule.codes, low, day)
        if count < rule.min_count:
            return None
        return count, within(lambda i: i.code in rule.codes)
    if isinstance(rule, CodeWithOtherConcern):
        own = windows.count(rule.codes, low, day)
        others = windows.concerns(low, day) - own
        if not own or others <= 0:
            return None
        return own, within(lambda i: i.kind is CodeKind.CONCERN)
    if isinstance(rule, CodesTogether):
        first = windows.count(rule.first, low, day)
        second = windows.count(rule.second, low, day)
        if not first or not second:
            return None
        return first, within(lambda i: i.code in rule.first or i.code in rule.second)
    relapses = relapse[pattern.kind]
    chosen = {d: improved for d, improved in relapses.items() if low <= d <= day}
    if len(chosen) < rule.min_count:
        return None
    improved_days = set(chosen.values())
    return len(chosen), [
        i
        for i in incidents
        if (
            i.ordinal in chosen
            and i.kind is CodeKind.CONCERN
            and i.severity >= rule.relapse_min_severity
        )
        or (i.ordinal in improved_days and i.code in rule.improvement_codes)
    ]


def threshold_reason(
    *, score: float, threshold: float, incident_count: int, agency_count: int, model: HarmModel
) -> str:
    years = model.decay.horizon_days / 365
    agencies = "one agency" if agency_count == 1 else f"{agency_count} agencies"
    return (
        f"The cumulative score reached {score:.1f} (alert threshold {threshold:g}) from "
        f"{incident_count} concerns recorded by {agencies} over the last {years:g} years; "
        "each alone may look low-level (research-notes §6.1)."
    )


def pattern_reason(pattern: PatternRule, count: int) -> str:
    rule = pattern.rule
    values: dict[str, object] = {"count": count, "days": rule.days}
    if isinstance(rule, RelapseCycles):
        values["relapse_days"] = rule.relapse_days
    return pattern.reason.format(**values)
