"""Queries about people that every capability shares: which person an agency's record is of now.

Linkage ends a record's link when it moves the record to another person and starts a new one,
so "the person this record is about" is always the link whose ``ended_at`` is NULL. These are
the one spelling of that rule; access to the rows they reach is applied by the caller's query
(``access.repository``, ``chronology.visibility``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, literal, or_, select
from sqlalchemy.orm import aliased

from fullpicture.people.models import PersonRecordLink, SourceRecord


def link_is_current() -> ColumnElement[bool]:
    """The condition that a ``PersonRecordLink`` row is the record's current link."""
    return PersonRecordLink.ended_at.is_(None)


def record_is_latest_version() -> ColumnElement[bool]:
    """The condition that the outer ``SourceRecord`` row is its record's latest version: no
    later version exists, asked through the (agency, ref, version) index. A grouped maximum
    over every record in the table cost more than the rest of a search together at 40,000
    records (issue 14)."""
    later = aliased(SourceRecord, name="later_record")
    return ~exists(
        select(literal(1)).where(
            later.agency_id == SourceRecord.agency_id,
            later.record_ref == SourceRecord.record_ref,
            later.version > SourceRecord.version,
        )
    )


def current_links(*, agency_id: Any, record_ref: Any) -> ColumnElement[bool]:
    """Join condition: ``PersonRecordLink`` is the current link of the agency record named by
    the two columns, e.g. ``current_links(agency_id=Event.agency_id,
    record_ref=EventParticipant.record_ref)`` for the person an entry is about."""
    return and_(
        PersonRecordLink.agency_id == agency_id,
        PersonRecordLink.record_ref == record_ref,
        link_is_current(),
    )


def membership_covers(*, date_from: Any, date_to: Any, day: Any) -> ColumnElement[bool]:
    """A household membership's dates (columns) cover ``day``: an open end covers every day."""
    return and_(
        or_(date_from.is_(None), date_from <= day),
        or_(date_to.is_(None), date_to >= day),
    )
