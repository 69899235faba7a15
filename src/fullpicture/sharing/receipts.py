"""First receipts: when each agency first received each entry about a child (``EntryReceipt``).

Kept as each share is recorded (``note_shared``), backfilled by migration 0151, and rebuilt in
one statement (``rebuild``) after a bulk load that bypasses the service. ``computed`` derives
the same rows from the decisions themselves; the tests hold the stored rows equal to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fullpicture.chronology.models import Event
from fullpicture.sharing.models import EntryReceipt, SharedEntry, SharingDecision, SharingOutcome


def computed() -> Select[int, int, str, int, dt.datetime | None]:
    """(person, recording agency, ref, receiving agency, first shared_at) from the decisions:
    what ``entry_receipt`` holds."""
    return (
        select(
            SharingDecision.person_id,
            Event.agency_id,
            Event.event_ref,
            SharingDecision.to_agency_id,
            func.min(SharingDecision.shared_at),
        )
        .join(SharedEntry, SharedEntry.decision_id == SharingDecision.id)
        .join(Event, Event.id == SharedEntry.event_id)
        .where(
            SharingDecision.outcome == SharingOutcome.SHARED,
            SharingDecision.shared_at.is_not(None),
        )
        .group_by(
            SharingDecision.person_id,
            Event.agency_id,
            Event.event_ref,
            SharingDecision.to_agency_id,
        )
    )


def note_shared(
    db_session: Session,
    *,
    person_id: int,
    to_agency_id: int,
    shared_at: dt.datetime,
    entries: Iterable[tuple[int, str]],
) -> None:
    """A share of these entries ((recording agency, ref) each) received at ``shared_at``: the
    first receipt of each, unless one was received earlier. One upsert, so two decisions
    recorded at once for the same entry and agency cannot both insert it."""
    rows = [
        {
            "person_id": person_id,
            "from_agency_id": agency_id,
            "event_ref": event_ref,
            "to_agency_id": to_agency_id,
            "first_shared_at": shared_at,
        }
        for agency_id, event_ref in sorted(set(entries))
    ]
    if not rows:
        return
    dialect = db_session.get_bind().dialect.name
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(EntryReceipt)
    table = EntryReceipt.__table__
    db_session.execute(
        upsert.values(rows).on_conflict_do_update(
            index_elements=["person_id", "from_agency_id", "event_ref", "to_agency_id"],
            set_={"first_shared_at": upsert.excluded.first_shared_at},
            where=upsert.excluded.first_shared_at < table.c.first_shared_at,
        )
    )


def rebuild(db_session: Session) -> int:
    """Every first receipt again from the decisions (after a bulk load); how many there are."""
    db_session.execute(delete(EntryReceipt))
    table = EntryReceipt.__table__
    db_session.execute(
        insert(EntryReceipt).from_select(
            [
                table.c.person_id,
                table.c.from_agency_id,
                table.c.event_ref,
                table.c.to_agency_id,
                table.c.first_shared_at,
            ],
            computed(),
        )
    )
    return db_session.scalar(select(func.count()).select_from(EntryReceipt)) or 0
