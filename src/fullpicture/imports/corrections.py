"""Correcting a chronology entry: a new version checked like a feed row, never an edit in place.

It lives with imports because a correction is one more version of an agency's row: the same
row model checks it and the same versioning keeps the agency's own later changes. Every version stays visible with who recorded it, when and why (research-notes §7: the
chronology must stand up in court), so ``event_history`` returns them all.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from fullpicture.agencies import service as agency_service
from fullpicture.agencies.models import Practitioner
from fullpicture.chronology.models import DatePrecision, Event, EventParticipant
from fullpicture.imports import repository as imports_repository
from fullpicture.imports.parsing import ValidationContext
from fullpicture.imports.rows import EventRow
from fullpicture.imports.schemas import QuarantineReason, reasons_from_error

CORRECTABLE_FIELDS = frozenset(EventRow.columns) - {"agency", "event_id", "change_reason"}
"""What a correction may change: everything but which agency's entry it is and its id."""


class EventNotFound(LookupError):
    """No event with that agency and id."""


class EventCorrectionError(ValueError):
    """A correction that cannot be recorded; ``reasons`` say what to fix."""

    def __init__(self, reasons: list[QuarantineReason]) -> None:
        super().__init__("; ".join(f"{r.field}: {r.message}" for r in reasons))
        self.reasons = reasons


def event_history(*, db_session: Session, agency_code: str, event_ref: str) -> list[Event]:
    """Every version of one event, oldest first, each with its people and roles."""
    agency = agency_service.get_by_code(db_session=db_session, code=agency_code)
    if agency is None:
        raise EventNotFound(f"no agency {agency_code!r}")
    versions = list(
        db_session.scalars(
            select(Event)
            .where(Event.agency_id == agency.id, Event.event_ref == event_ref)
            .options(selectinload(Event.participants))
            .order_by(Event.version)
        )
    )
    if not versions:
        raise EventNotFound(f"{agency_code} has no event {event_ref!r}")
    return versions


def event_as_feed_row(event: Event, *, agency_code: str) -> dict[str, Any]:
    """An event in the feed's own form (docs/import-format.md), as it would be imported."""
    if event.date_precision is DatePrecision.DAY:
        event_date = event.event_date.isoformat()
    elif event.date_precision is DatePrecision.MONTH:
        event_date = event.event_date.isoformat()[:7]
    else:
        event_date = event.event_date.isoformat()[:4]
    return {
        "agency": agency_code,
        "event_id": event.event_ref,
        "event_date": event_date,
        "date_recorded": event.date_recorded.isoformat() if event.date_recorded else None,
        "concern_code": event.concern_code,
        "severity": event.severity,
        "summary": event.summary,
        "information_type": event.information_type.value,
        "impact_on_child": event.impact_on_child,
        "action_taken": event.action_taken,
        "practitioner": event.practitioner_ref,
        "people": [
            {"record_id": person.record_ref, "role": person.role.value}
            for person in event.participants
        ],
    }


def correct_event(
    *,
    db_session: Session,
    agency_code: str,
    event_ref: str,
    changes: Mapping[str, Any],
    changed_by: str,
    reason: str,
) -> Event:
    """Record a correction as the next version of the event; the earlier versions stay.

    ``changes`` uses the feed's field names (``summary``, ``event_date``, ``people`` …) and is
    validated by the same rules as an import.
    """
    problems: list[QuarantineReason] = []
    if not changed_by.strip():
        problems.append(QuarantineReason(field="changed_by", message="say who is correcting it"))
    if not reason.strip():
        problems.append(
            QuarantineReason(field="reason", message="say why the entry is being corrected")
        )
    unknown = sorted(set(changes) - CORRECTABLE_FIELDS)
    problems.extend(
        QuarantineReason(
            field=name,
            message=f"{name} cannot be corrected; correctable fields are "
            + ", ".join(sorted(CORRECTABLE_FIELDS)),
        )
        for name in unknown
    )
    if problems:
        raise EventCorrectionError(problems)

    versions = event_history(db_session=db_session, agency_code=agency_code, event_ref=event_ref)
    latest = versions[-1]
    proposed = event_as_feed_row(latest, agency_code=agency_code) | dict(changes)
    try:
        row = EventRow.model_validate(proposed, context=ValidationContext.current())
    except ValidationError as exc:
        raise EventCorrectionError(reasons_from_error(exc)) from exc
    people = [person.record_id for person in row.people]
    known = imports_repository.known_record_refs(
        db_session=db_session, agency_id=latest.agency_id, refs=people
    )
    missing = [
        QuarantineReason(
            field="people",
            message=f"record {ref} is not a record of {agency_code}; correct the id",
        )
        for ref in people
        if ref not in known
    ]
    if missing:
        raise EventCorrectionError(missing)
    digest = row.content_hash()
    if digest == latest.content_hash:
        raise EventCorrectionError(
            [QuarantineReason(field="changes", message="the correction changes nothing")]
        )
    practitioner_id = (
        db_session.scalar(
            select(Practitioner.id).where(
                Practitioner.agency_id == latest.agency_id,
                Practitioner.staff_ref == row.practitioner,
            )
        )
        if row.practitioner
        else None
    )
    corrected = Event(
        agency_id=latest.agency_id,
        event_ref=latest.event_ref,
        version=latest.version + 1,
        content_hash=digest,
        event_date=row.event_date.day,
        date_precision=row.event_date.precision,
        date_recorded=row.date_recorded,
        concern_code=row.concern_code,
        severity=row.severity,
        summary=row.summary,
        information_type=row.information_type,
        impact_on_child=row.impact_on_child,
        action_taken=row.action_taken,
        practitioner_ref=row.practitioner,
        practitioner_id=practitioner_id,
        recorded_by=changed_by.strip(),
        change_reason=reason.strip(),
        participants=[
            EventParticipant(record_ref=person.record_id, role=person.role) for person in row.people
        ],
    )
    db_session.add(corrected)
    db_session.flush()
    return corrected


def record_entry(
    *,
    db_session: Session,
    agency_code: str,
    fields: Mapping[str, Any],
    recorded_by: str,
) -> Event:
    """Record a new chronology entry as a practitioner of ``agency_code`` (version 1), checked
    by the same row model as a feed row (``fields`` uses the feed's names). Its id is new and
    the agency's own; a later change to it is a correction (``correct_event``), never an edit.
    Raises ``EventCorrectionError`` with what to fix."""
    agency = agency_service.get_by_code(db_session=db_session, code=agency_code)
    if agency is None:
        raise EventNotFound(f"no agency {agency_code!r}")
    proposed = dict(fields) | {"agency": agency_code, "event_id": f"fp-{uuid.uuid4().hex[:16]}"}
    try:
        row = EventRow.model_validate(proposed, context=ValidationContext.current())
    except ValidationError as exc:
        raise EventCorrectionError(reasons_from_error(exc)) from exc
    people = [person.record_id for person in row.people]
    known = imports_repository.known_record_refs(
        db_session=db_session, agency_id=agency.id, refs=people
    )
    missing = [
        QuarantineReason(field="people", message=f"record {ref} is not a record of {agency_code}")
        for ref in people
        if ref not in known
    ]
    if missing:
        raise EventCorrectionError(missing)
    event = Event(
        agency_id=agency.id,
        event_ref=row.event_id,
        version=1,
        content_hash=row.content_hash(),
        event_date=row.event_date.day,
        date_precision=row.event_date.precision,
        date_recorded=row.date_recorded,
        concern_code=row.concern_code,
        severity=row.severity,
        summary=row.summary,
        information_type=row.information_type,
        impact_on_child=row.impact_on_child,
        action_taken=row.action_taken,
        recorded_by=recorded_by,
        participants=[
            EventParticipant(record_ref=person.record_id, role=person.role) for person in row.people
        ],
    )
    db_session.add(event)
    db_session.flush()
    return event
