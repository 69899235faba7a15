"""Opening a child for a read (``access.service.open_person``) asks who the child is and whether
the reader's agency is involved with them in one statement
(``access.repository.readable_person_and_involvement``), then the need-to-know rule: the audit
entry still names a break-glass grant exactly when the read rests on one (issue 14)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session

from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.models import AuditEntry
from fullpicture.access.schemas import BreakGlassRequest
from fullpicture.agencies.models import AgencyKind
from fullpicture.core.database import utc_now
from tests.access.principals import make_agency, make_person, make_user, subject_of


@pytest.fixture
def statements(db_session: Session) -> Iterator[list[str]]:
    """The ORM statements the session runs."""
    seen: list[str] = []

    def run(state: ORMExecuteState) -> None:
        seen.append(str(state.statement))

    event.listen(db_session, "do_orm_execute", run)
    yield seen
    event.remove(db_session, "do_orm_execute", run)


def test_an_involved_agency_reads_the_child_with_one_statement_before_the_rule(
    db_session: Session, statements: list[str]
) -> None:
    school = make_agency(db_session)
    child = make_person(db_session, held_by=[school])
    teacher = subject_of(make_user(db_session, agency=school))
    now = utc_now()
    assert access_repository.readable_person_and_involvement(
        db_session, reader=teacher, public_id=child.public_id, now=now
    ) == (child, True)

    statements.clear()
    access_service.open_person(
        db_session=db_session,
        subject=teacher,
        person_public_id=child.public_id,
        purpose="chronology",
        now=now,
    )
    # Before the audit append: the person with the involvement, then (the rule answered from
    # the session, asked above at the same moment) the audit detail's sharing decisions; no
    # separate involvement question and no break-glass lookup.
    before_append = [s for s in statements if "audit_" not in s]
    assert len(before_append) == 2, before_append
    assert before_append[0].startswith("SELECT person.id") and "EXISTS" in before_append[0]
    assert "sharing_decision" in before_append[1]
    read = db_session.scalars(
        select(AuditEntry).where(
            AuditEntry.person_id == child.id, AuditEntry.action == "person.read"
        )
    ).one()
    assert read.reason is None
    assert "break_glass_grant_id" not in read.detail


def test_an_uninvolved_reader_under_break_glass_is_not_involved_and_the_grant_is_named(
    db_session: Session,
) -> None:
    hospital, school = (
        make_agency(db_session, kind=AgencyKind.HOSPITAL),
        make_agency(db_session),
    )
    child = make_person(db_session, held_by=[school])
    make_user(db_session, agency=school)
    doctor = subject_of(make_user(db_session, agency=hospital))
    now = utc_now()
    assert (
        access_repository.readable_person_and_involvement(
            db_session, reader=doctor, public_id=child.public_id, now=now
        )
        is None
    )
    grant, _ = access_service.break_glass(
        db_session=db_session,
        subject=doctor,
        request=BreakGlassRequest(
            person_id=child.public_id, reason="Child in ED, need known carers", minutes=30
        ),
        now=now,
    )
    later = now + dt.timedelta(minutes=5)
    assert access_repository.readable_person_and_involvement(
        db_session, reader=doctor, public_id=child.public_id, now=later
    ) == (child, False)
    access_service.open_person(
        db_session=db_session,
        subject=doctor,
        person_public_id=child.public_id,
        purpose="ed",
        now=later,
    )
    read = db_session.scalars(
        select(AuditEntry).where(
            AuditEntry.person_id == child.id, AuditEntry.action == "person.read"
        )
    ).one()
    assert read.detail["break_glass_grant_id"] == grant.id
    assert read.reason == grant.reason
