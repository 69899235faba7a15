"""Narrowing a chronology to what a practitioner is looking for: agency, concern code or
group, severity, period, and fact / reported / opinion. Applied to a chronology the
need-to-know rule has already cut (``repository``), so a filter can only ever show less."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fullpicture.chronology.models import InformationType
from fullpicture.chronology.repository import Chronology, EntryFacts


@dataclass(frozen=True)
class ChronologyFilter:
    """What a practitioner narrows a chronology to; an empty field narrows nothing.

    Applied to a chronology the need-to-know rule has already cut (``repository``), so a
    filter can only ever show less.
    """

    agency_codes: frozenset[str] = frozenset()
    #: A concern code, or a category prefix such as ``NEG`` for every neglect code.
    concern_codes: frozenset[str] = frozenset()
    min_severity: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    information_types: frozenset[InformationType] = frozenset()

    @property
    def is_empty(self) -> bool:
        return self == ChronologyFilter()

    def keeps(self, entry: EntryFacts) -> bool:
        if self.agency_codes and entry.agency_code not in self.agency_codes:
            return False
        if self.concern_codes and not any(
            entry.concern_code == code or entry.concern_code.startswith(f"{code}-")
            for code in self.concern_codes
        ):
            return False
        if self.min_severity is not None and (entry.severity or 0) < self.min_severity:
            return False
        if self.date_from is not None and entry.event_date < self.date_from:
            return False
        if self.date_to is not None and entry.event_date > self.date_to:
            return False
        return not (
            self.information_types
            and InformationType(entry.information_type) not in self.information_types
        )


def filter_chronology(chronology: Chronology, criteria: ChronologyFilter) -> Chronology:
    """The chronology with only the entries ``criteria`` keeps (incident groups cut to match)."""
    if criteria.is_empty:
        return chronology
    entries = [e for e in chronology.entries if criteria.keeps(e)]
    kept = {e.event_id for e in entries}
    groups = [
        g.model_copy(update={"event_ids": [i for i in g.event_ids if i in kept]})
        for g in chronology.incident_groups
        if any(i in kept for i in g.event_ids)
    ]
    return chronology.model_copy(update={"entries": entries, "incident_groups": groups})
