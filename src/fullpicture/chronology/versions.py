"""Which version of an agency's entry counts: a corrected entry is a new version beside the old
(court-safe), and every reading of the record uses the latest."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, not_
from sqlalchemy.orm import aliased

from fullpicture.chronology.models import Event


def entry_is_latest_version() -> ColumnElement[bool]:
    """True for the outer ``Event`` row when no later version of its entry (agency, event_ref)
    exists. Versions count from 1 (a check constraint), so a later version is above 1: saying
    so lets both databases ask the partial index of corrections (``ix_event_later_version``),
    small and mostly empty, instead of the unique index once per entry (migration 0071)."""
    newer = aliased(Event, name="newer_version")
    return not_(
        exists().where(
            newer.agency_id == Event.agency_id,
            newer.event_ref == Event.event_ref,
            newer.version > Event.version,
            # Implied by the line above and the check; written out so the planner may use
            # the partial index, whose predicate this is.
            newer.version > 1,
        )
    )
