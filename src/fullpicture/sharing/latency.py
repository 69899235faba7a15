"""Sharing latency: from the day an agency recorded a significant entry about a child to the
day each other agency working with the child received it, and the entries never shared.

"Working with the child" is holding a current record of the child (linkage); "received" is a
recorded share (``SharingDecision`` with outcome ``shared``) naming any version of the entry.
The front door's pooled view is not a share: an entry it can see but was never sent still
counts as unshared with it, since nobody decided to tell it. A significant entry is one whose
latest version's severity (the practitioner's, or the taxonomy default) reaches
``latency.yaml``'s threshold (issue 15 item 2; research-notes §2.1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from fullpicture.agencies.models import Agency
from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.chronology.taxonomy import Taxonomy, default_taxonomy
from fullpicture.people.models import PersonRecordLink
from fullpicture.people.repository import current_links, link_is_current
from fullpicture.sharing.models import SharedEntry, SharingDecision, SharingOutcome

LATENCY_FILE = Path(__file__).with_name("latency.yaml")


class LatencyRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    significant_severity: int = Field(ge=1, le=5)


@lru_cache(maxsize=1)
def latency_rules() -> LatencyRules:
    return LatencyRules.model_validate(yaml.safe_load(LATENCY_FILE.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class EntrySharing:
    """One significant entry and one other agency working with the child."""

    person_id: int
    event_id: int
    event_ref: str
    concern_code: str
    severity: int
    event_date: dt.date
    from_agency_id: int
    from_agency_code: str
    recorded_on: dt.date
    to_agency_id: int
    to_agency_code: str
    received_on: dt.date | None
    decision_id: str | None

    @property
    def days(self) -> int | None:
        """Calendar days from recording to receipt (None while unshared)."""
        if self.received_on is None:
            return None
        return (self.received_on - self.recorded_on).days


def effective_severity(taxonomy: Taxonomy | None = None) -> ColumnElement[int]:
    """The entry's severity: the practitioner's, else the taxonomy default for its code."""
    taxonomy = taxonomy or default_taxonomy()
    default = case(
        {c.code: c.default_severity for c in taxonomy.codes},
        value=Event.concern_code,
        else_=literal(0),
    )
    return func.coalesce(Event.severity, default)


def entry_sharing(
    db_session: Session,
    *,
    person_ids: Sequence[int] | None = None,
    rules: LatencyRules | None = None,
) -> list[EntrySharing]:
    """Each significant entry about these children (all when None) paired with each other
    agency working with the child, with when (if ever) that agency received it."""
    rules = rules or latency_rules()
    severity = effective_severity().label("severity")
    if person_ids is None:
        # Every child (the partnership's figures): one pass grouping the whole table.
        latest = (
            select(
                Event.agency_id.label("agency_id"),
                Event.event_ref.label("event_ref"),
                func.max(Event.version).label("version"),
            )
            .group_by(Event.agency_id, Event.event_ref)
            .subquery("latest")
        )
        first_recorded = (
            select(
                Event.agency_id.label("agency_id"),
                Event.event_ref.label("event_ref"),
                func.min(Event.date_recorded).label("date_recorded"),
                func.min(Event.recorded_at).label("recorded_at"),
            )
            .group_by(Event.agency_id, Event.event_ref)
            .subquery("first_recorded")
        )
        significant = (
            select(
                PersonRecordLink.person_id,
                Event.id,
                Event.event_ref,
                Event.concern_code,
                severity,
                Event.event_date,
                Event.agency_id,
                first_recorded.c.date_recorded,
                first_recorded.c.recorded_at,
            )
            .join(
                latest,
                and_(
                    latest.c.agency_id == Event.agency_id,
                    latest.c.event_ref == Event.event_ref,
                    latest.c.version == Event.version,
                ),
            )
            .join(
                first_recorded,
                and_(
                    first_recorded.c.agency_id == Event.agency_id,
                    first_recorded.c.event_ref == Event.event_ref,
                ),
            )
        )
    else:
        # A few children (a child's page): grouping the whole event table cost seconds at
        # 100,000 entries; per entry, its versions are read through the (agency_id,
        # event_ref, version) unique index instead.
        versions = aliased(Event, name="other_version")
        same_entry = and_(
            versions.agency_id == Event.agency_id, versions.event_ref == Event.event_ref
        )
        significant = select(
            PersonRecordLink.person_id,
            Event.id,
            Event.event_ref,
            Event.concern_code,
            severity,
            Event.event_date,
            Event.agency_id,
            select(func.min(versions.date_recorded))
            .where(same_entry)
            .scalar_subquery()
            .label("date_recorded"),
            select(func.min(versions.recorded_at))
            .where(same_entry)
            .scalar_subquery()
            .label("recorded_at"),
        ).where(
            Event.version == select(func.max(versions.version)).where(same_entry).scalar_subquery()
        )
    significant = (
        significant.join(EventParticipant, EventParticipant.event_id == Event.id)
        .join(
            PersonRecordLink,
            current_links(agency_id=Event.agency_id, record_ref=EventParticipant.record_ref),
        )
        .where(effective_severity() >= rules.significant_severity)
        .distinct()
    )
    if person_ids is not None:
        significant = significant.where(PersonRecordLink.person_id.in_(sorted(set(person_ids))))
    entries = db_session.execute(significant).all()
    if not entries:
        return []
    persons = sorted({row[0] for row in entries})
    working: dict[int, set[int]] = {}
    for person_id, agency_id in db_session.execute(
        select(PersonRecordLink.person_id, PersonRecordLink.agency_id)
        .where(PersonRecordLink.person_id.in_(persons), link_is_current())
        .distinct()
    ):
        working.setdefault(person_id, set()).add(agency_id)
    received: dict[tuple[int, int, str, int], tuple[dt.datetime, str]] = {}
    for person_id, agency_id, event_ref, to_agency_id, shared_at, public_id in db_session.execute(
        select(
            SharingDecision.person_id,
            Event.agency_id,
            Event.event_ref,
            SharingDecision.to_agency_id,
            SharingDecision.shared_at,
            SharingDecision.public_id,
        )
        .join(SharedEntry, SharedEntry.decision_id == SharingDecision.id)
        .join(Event, Event.id == SharedEntry.event_id)
        .where(
            SharingDecision.person_id.in_(persons),
            SharingDecision.outcome == SharingOutcome.SHARED,
        )
    ):
        key = (person_id, agency_id, event_ref, to_agency_id)
        if shared_at is None:  # a share always carries when it was received
            continue
        if key not in received or shared_at < received[key][0]:
            received[key] = (shared_at, public_id)
    codes = dict(
        (agency_id, code) for agency_id, code in db_session.execute(select(Agency.id, Agency.code))
    )
    rows: list[EntrySharing] = []
    for person_id, event_id, ref, code, sev, day, agency_id, date_recorded, recorded_at in entries:
        recorded_on = date_recorded or recorded_at.date()
        for to_agency_id in sorted(working.get(person_id, set()) - {agency_id}):
            got = received.get((person_id, agency_id, ref, to_agency_id))
            rows.append(
                EntrySharing(
                    person_id=person_id,
                    event_id=event_id,
                    event_ref=ref,
                    concern_code=code,
                    severity=int(sev),
                    event_date=day,
                    from_agency_id=agency_id,
                    from_agency_code=codes[agency_id],
                    recorded_on=recorded_on,
                    to_agency_id=to_agency_id,
                    to_agency_code=codes[to_agency_id],
                    received_on=got[0].date() if got else None,
                    decision_id=got[1] if got else None,
                )
            )
    rows.sort(key=lambda r: (r.person_id, r.recorded_on, r.event_ref, r.to_agency_code))
    return rows


def unshared(rows: Iterable[EntrySharing]) -> list[EntrySharing]:
    return [row for row in rows if row.received_on is None]
