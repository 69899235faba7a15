"""First receipts kept as shares are recorded equal those computed from the decisions, after
shares in any order, a decision not to share and a correction of a shared entry; a rebuild
gives the same; and the dashboard's counts from them equal the per-entry pairing's."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.chronology.models import Event, EventParticipant, ParticipantRole
from fullpicture.sharing import latency, receipts, service
from fullpicture.sharing.models import EntryReceipt, SharingOutcome
from fullpicture.sharing.schemas import SharingDecisionCreate
from tests.access.principals import subject_of
from tests.sharing.scenario import Scenario, a_share, build

UTC = dt.UTC


def _stored(db_session: Session) -> set[tuple[int, int, str, int, dt.datetime]]:
    return {
        (r.person_id, r.from_agency_id, r.event_ref, r.to_agency_id, r.first_shared_at)
        for r in db_session.scalars(select(EntryReceipt))
    }


def _computed(db_session: Session) -> set[tuple[int, int, str, int, dt.datetime]]:
    rows = db_session.execute(receipts.computed()).all()
    return {(p, a, ref, b, when) for p, a, ref, b, when in rows if when is not None}


def _record(db_session: Session, world: Scenario, decision_in: SharingDecisionCreate) -> None:
    service.record_decision(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
        decision_in=decision_in,
    )


def _on(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, tzinfo=UTC)


def _counted_per_entry(db_session: Session, until: dt.date) -> Counter[tuple[int, int, int | None]]:
    """The dashboard's counts from the per-entry pairing the child's page uses."""
    counted: Counter[tuple[int, int, int | None]] = Counter()
    for row in latency.entry_sharing(db_session, person_ids=None):
        recorded_on = row.recorded_on
        if recorded_on > until:
            continue
        days = row.days if row.received_on is not None and row.received_on <= until else None
        counted[(row.from_agency_id, row.to_agency_id, days)] += 1
    return counted


def test_first_receipts_stay_equal_to_the_decisions(db_session: Session) -> None:
    world = build(db_session, "-rcpt")
    first, _, third = world.school_events
    first.date_recorded = third.date_recorded = dt.date(2026, 3, 1)
    db_session.flush()
    assert _stored(db_session) == _computed(db_session) == set()
    _record(db_session, world, a_share(world.gp, first.event_ref, shared_at=_on(10)))
    # A later decision about an earlier share moves the first receipt earlier.
    _record(db_session, world, a_share(world.gp, first.event_ref, shared_at=_on(4)))
    # A later share never moves it later; the third entry's first receipt is this one.
    _record(
        db_session, world, a_share(world.gp, first.event_ref, third.event_ref, shared_at=_on(20))
    )
    _record(
        db_session,
        world,
        a_share(
            world.police,
            outcome=SharingOutcome.NOT_SHARED,
            basis=None,
            regime=None,
            reason_not_shared="the police have no role in this concern (golden rule 6)",
        ),
    )
    stored = _stored(db_session)
    assert stored == _computed(db_session)
    school, gp, child = world.school.id, world.gp.id, world.child.id
    assert {(ref, to, when.date()) for _, _, ref, to, when in stored} == {
        (first.event_ref, gp, dt.date(2026, 3, 4)),
        (third.event_ref, gp, dt.date(2026, 3, 20)),
    }
    assert all((p, a) == (child, school) for p, a, _, _, _ in stored)
    # A correction keeps the entry's agency and ref: sharing the corrected version with the
    # police is the police's first receipt of the same entry.
    db_session.add(
        Event(
            agency_id=first.agency_id,
            event_ref=first.event_ref,
            version=2,
            content_hash="v2",
            event_date=first.event_date,
            date_precision=first.date_precision,
            concern_code=first.concern_code,
            summary="corrected",
            information_type=first.information_type,
            recorded_by="test",
            participants=[EventParticipant(record_ref="S1", role=ParticipantRole.SUBJECT)],
        )
    )
    db_session.flush()
    _record(db_session, world, a_share(world.police, first.event_ref, shared_at=_on(6)))
    assert _stored(db_session) == _computed(db_session)
    assert len(_stored(db_session)) == 3
    # A rebuild from the decisions (after a bulk load) gives the same rows.
    before = _stored(db_session)
    assert receipts.rebuild(db_session) == 3
    assert _stored(db_session) == before
    # The dashboard's counts from the stored receipts equal the per-entry pairing's, as of a
    # day between the shares and as of after them all.
    for until in (dt.date(2026, 3, 5), dt.date(2026, 3, 31)):
        counted = latency.days_to_receipt(db_session, recorded_until=until)
        assert Counter({(a, b, d): n for a, b, d, n in counted}) == _counted_per_entry(
            db_session, until
        )
