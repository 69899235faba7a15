"""An in-memory SQLite chronology for the referral checker's latency benchmark."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session
from tests.referrals.factories import add_event, build_child_record

from fullpicture.core.database import Base, make_engine
from fullpicture.migrations import tables as _all_tables  # noqa: F401  (register every table)


def build_record_session() -> tuple[Session, str]:
    """A session on a fresh in-memory database holding one child's record of 40 events."""
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    session = Session(engine)
    as_of = dt.date(2026, 11, 23)
    record = build_child_record(session, as_of=as_of)
    school = record.agencies["school"]
    ref = record.refs[(school.code, record.child.id)]
    for n in range(32):
        add_event(
            session,
            agency=school,
            record_ref=ref,
            event_date=as_of - dt.timedelta(days=7 * n + 3),
            code="EDU-ATT",
            summary=f"Late to school, week {n}",
        )
    session.commit()
    return session, record.child.public_id
