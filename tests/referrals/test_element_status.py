"""Each submitted referral's element statuses are kept as rows of their own (what the
partnership dashboard counts): written when a referral is submitted or stored submitted,
never for a draft, and backfilled by migration 0501 for the checks stored before it."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from fullpicture.core import migrations
from fullpicture.referrals import service
from fullpicture.referrals.models import (
    Referral,
    ReferralElementStatus,
    ReferralStatus,
    element_statuses,
)
from fullpicture.referrals.schemas import ReferralCreate
from tests.access.principals import make_user, subject_of
from tests.conftest import TestDatabase

CHECK = {"elements": {"R1": {"status": "present"}, "R2": {"status": "absent"}, "R3": {}}}


def _kept(db_session: Session, referral_id: int) -> set[tuple[str, str | None]]:
    return {
        (row.element, row.status)
        for row in db_session.scalars(
            select(ReferralElementStatus).where(ReferralElementStatus.referral_id == referral_id)
        )
    }


def test_submitting_keeps_the_checks_element_statuses(db_session: Session) -> None:
    author = subject_of(make_user(db_session))
    draft = service.create_draft(
        db_session=db_session,
        author=author,
        referral_in=ReferralCreate(
            concern_narrative="There are some concerns about Kai. He appears tired."
        ),
    )
    assert _kept(db_session, draft.id) == set()  # a draft has no check yet
    sent = service.submit(db_session=db_session, author=author, referral_ref=draft.referral_ref)
    assert sent.check_result is not None
    kept = _kept(db_session, sent.id)
    assert kept == set(element_statuses(sent.check_result))
    assert len(kept) == len(sent.check_result["elements"]) >= 20


def test_a_referral_stored_submitted_keeps_them_and_a_draft_does_not(
    db_session: Session,
) -> None:
    submitted, draft = (
        Referral(
            status=status,
            submitted_at=dt.datetime(2026, 11, 5, tzinfo=dt.UTC),
            created_by="test",
            check_result=CHECK,
        )
        for status in (ReferralStatus.SUBMITTED, ReferralStatus.DRAFT)
    )
    db_session.add_all([submitted, draft])
    db_session.flush()
    assert _kept(db_session, submitted.id) == {("R1", "present"), ("R2", "absent"), ("R3", None)}
    assert _kept(db_session, draft.id) == set()


def test_migration_0501_backfills_the_checks_already_stored(
    fresh_database: TestDatabase,
) -> None:
    engine = fresh_database.engine
    migrations.downgrade(engine, "0005")
    with engine.begin() as connection:
        for ref, status, check in (
            ("a", "submitted", CHECK),
            ("b", "draft", CHECK),
            ("c", "submitted", None),
        ):
            connection.execute(
                text(
                    "INSERT INTO referral (referral_ref, version, status, destination, "
                    "household, agencies_involved, attachments, created_by, created_at, "
                    "updated_at, check_result) VALUES (:ref, 1, :status, 'front door', '[]', "
                    "'[]', '[]', 'test', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :check)"
                ),
                {
                    "ref": ref,
                    "status": status,
                    "check": None if check is None else json.dumps(check),
                },
            )
    migrations.upgrade(engine)
    with engine.connect() as connection:
        kept = set(
            connection.execute(
                text(
                    "SELECT r.referral_ref, e.element, e.status FROM referral_element_status e "
                    "JOIN referral r ON r.id = e.referral_id"
                )
            )
        )
    assert kept == {("a", element, status) for element, status in element_statuses(CHECK)}
    assert migrations.is_up_to_date(engine)
