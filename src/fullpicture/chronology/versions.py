"""Which version of an agency's entry counts: a corrected entry is a new version beside the old
(court-safe), and every reading of the record uses the latest."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import aliased

from fullpicture.chronology.models import Event


def entry_is_latest_version() -> ColumnElement[bool]:
    """True for the outer ``Event`` row when it is its entry's (agency, event_ref) latest
    version: a correlated lookup the (agency_id, event_ref) index answers, never a pass over
    the whole table."""
    newer = aliased(Event, name="newer_version")
    latest = (
        select(func.max(newer.version))
        .where(newer.agency_id == Event.agency_id, newer.event_ref == Event.event_ref)
        .scalar_subquery()
    )
    return Event.version == latest
