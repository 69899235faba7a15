"""Entries about the same incident, counted once.

Agencies often record the same incident each in their own words. Entries about one person
with the same concern code, dated at most ``within_days`` apart, are one incident: the
combined chronology shows them as a group, and the cumulative-harm engine scores the incident
once (``harm_model.yaml``, ``same_incident``, says how many days).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from fullpicture.chronology.taxonomy import CodeKind, Taxonomy

Ref = int | str


@dataclass(frozen=True, slots=True)
class ScoringEvent:
    """One chronology entry as the engine sees it; ``ref`` points back at the entry."""

    ref: Ref
    agency: str
    day: dt.date
    code: str
    severity: int | None = None


@dataclass(slots=True)
class Incident:
    """One incident: entries with the same code within ``same_incident.within_days``, counted once."""

    code: str
    kind: CodeKind
    day: dt.date
    refs: list[Ref]
    agencies: list[str]
    base_severity: int
    severity: int = 0
    points: float = 0.0
    modifiers: list[str] = field(default_factory=list)
    ordinal: int = 0  # day as an integer, for window arithmetic


def group_incidents(
    events: Iterable[ScoringEvent], *, within_days: int, taxonomy: Taxonomy
) -> list[Incident]:
    """Group entries about the same incident (same code, dated at most ``within_days`` apart);
    events with codes the taxonomy lacks are skipped."""
    known = taxonomy.by_code
    by_code: dict[str, list[ScoringEvent]] = defaultdict(list)
    for event in events:
        if event.code in known:
            by_code[event.code].append(event)
    incidents: list[Incident] = []
    for code, entries in by_code.items():
        entry = known[code]
        entries.sort(key=lambda e: (e.day, str(e.ref)))
        for start, end in same_incident_spans([e.day for e in entries], within_days):
            incidents.append(
                _incident(code, entry.kind, entry.default_severity, entries[start:end])
            )
    incidents.sort(key=lambda i: (i.day, i.code))
    return incidents


def same_incident_spans(days: Sequence[dt.date], within_days: int) -> list[tuple[int, int]]:
    """The rule itself, for one person's entries of one code in date order: the ``[start,
    end)`` index spans that are one incident each, every day at most ``within_days`` after
    the one before. The engine and the combined chronology both group by it."""
    spans: list[tuple[int, int]] = []
    start = 0
    for index in range(1, len(days)):
        if (days[index] - days[index - 1]).days > within_days:
            spans.append((start, index))
            start = index
    if days:
        spans.append((start, len(days)))
    return spans


def _incident(
    code: str, kind: CodeKind, default_severity: int, entries: list[ScoringEvent]
) -> Incident:
    if kind is CodeKind.CONCERN:
        base = max(e.severity if e.severity is not None else default_severity for e in entries)
    else:
        base = 0
    if len(entries) == 1:
        # Most incidents are one entry: nothing to order (a long record has thousands).
        refs, agencies = [entries[0].ref], [entries[0].agency]
    else:
        refs = sorted((e.ref for e in entries), key=ref_sort_key)
        agencies = sorted({e.agency for e in entries})
    return Incident(
        code=code,
        kind=kind,
        day=entries[0].day,
        refs=refs,
        agencies=agencies,
        base_severity=base,
        ordinal=entries[0].day.toordinal(),
    )


def ref_sort_key(ref: Ref) -> tuple[int, int, str]:
    """Entry refs in a stable order: numbers (event ids) before text."""
    return (0, ref, "") if isinstance(ref, int) else (1, 0, ref)
