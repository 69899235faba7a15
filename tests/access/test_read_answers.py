"""Whether a subject may read a child is asked of the database once per request and moment
(``access.repository.can_read_person``): the harm summary opens the child and then scores it
under the same rule, and the second question is answered from the first. The answer is never
kept past a flush or the transaction, and the harm summary still refuses a child the caller may
not read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import ORMExecuteState, Session

from fullpicture.access import repository as access_repository
from fullpicture.access.models import AuditEntry, BreakGlassGrant
from fullpicture.core.database import utc_now
from tests.access.principals import (
    bearer_token,
    link_record,
    make_agency,
    make_event,
    make_person,
    make_user,
    subject_of,
)


@pytest.fixture
def rule_checks(db_session: Session) -> Iterator[list[str]]:
    """The "may this subject read this child" statements the session runs."""
    checks: list[str] = []

    def seen(state: ORMExecuteState) -> None:
        if "readable_check" in str(state.statement):
            checks.append(str(state.statement))

    event.listen(db_session, "do_orm_execute", seen)
    yield checks
    event.remove(db_session, "do_orm_execute", seen)


def test_the_harm_summary_asks_the_rule_once_and_still_refuses_an_unknown_reader(
    app_client: TestClient, db_session: Session, rule_checks: list[str]
) -> None:
    school, clinic = make_agency(db_session), make_agency(db_session)
    child = make_person(db_session)
    record = link_record(db_session, person=child, agency=school)
    make_event(db_session, record=record)
    teacher, nurse = make_user(db_session, agency=school), make_user(db_session, agency=clinic)
    harm = f"/api/v1/children/{child.public_id}/harm"

    answer = app_client.get(
        harm, headers={"Authorization": f"Bearer {bearer_token(db_session, teacher)}"}
    )
    assert answer.status_code == 200
    assert len(rule_checks) == 1

    reads = select(func.count()).where(
        AuditEntry.person_id == child.id, AuditEntry.action == "person.read"
    )
    before = db_session.scalar(reads)
    as_nurse = {"Authorization": f"Bearer {bearer_token(db_session, nurse)}"}
    assert app_client.get(harm, headers=as_nurse).status_code == 404
    assert db_session.scalar(reads) == before  # refused, and nothing recorded as read


def test_an_answer_is_kept_for_one_moment_and_forgotten_at_a_flush(
    db_session: Session, rule_checks: list[str]
) -> None:
    school, clinic = make_agency(db_session), make_agency(db_session)
    child = make_person(db_session, held_by=[school])
    nurse = subject_of(make_user(db_session, agency=clinic))
    now = utc_now()

    def may_read(moment: dt.datetime) -> bool:
        return access_repository.can_read_person(
            db_session, subject=nurse, person_id=child.id, now=moment
        )

    assert not may_read(now)
    assert not may_read(now)
    assert len(rule_checks) == 1
    assert not may_read(now + dt.timedelta(microseconds=1))  # another moment: asked again
    assert len(rule_checks) == 2
    db_session.add(
        BreakGlassGrant(
            user_id=nurse.user_id,
            person_id=child.id,
            reason="unconscious child in clinic",
            granted_at=now - dt.timedelta(minutes=1),
            expires_at=now + dt.timedelta(hours=1),
        )
    )
    db_session.flush()
    assert may_read(now)  # the grant written in this transaction is seen at the same moment
    assert len(rule_checks) == 3
