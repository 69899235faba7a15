"""Need to know for linkage review: a reviewer sees (and decides on, and has explained) only
pairs with a record they may read, and every pair shown is audited as a read of the people
its records are about, so it appears in "who has looked". An unknown pair and one the reviewer
may not see get the same 404."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.models import AuditEntry, Role
from fullpicture.access.roles import Scope
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.linkage import repository as repo
from fullpicture.linkage import review as linkage_review
from fullpicture.linkage.models import ReviewItem
from fullpicture.linkage.schemas import RecordRef
from fullpicture.people.models import Person, SourceRecord
from tests.access.principals import (
    authorise_client,
    link_record,
    make_agency,
    make_person,
    make_user,
    subject_of,
)

#: A reviewer who may review but not hold the pooled view: their agency's own records only.
OWN_RECORDS_ONLY = frozenset({Scope.LINKAGE_REVIEW, Scope.CHILDREN_READ})


@dataclass
class Queue:
    csc: Agency
    school: Agency
    gp: Agency
    known: Person  # held by children's social care and the school
    stranger: Person  # held by the GP only
    other: Person  # held by the school only
    known_at_csc: SourceRecord
    known_at_school: SourceRecord
    stranger_at_gp: SourceRecord
    other_at_school: SourceRecord
    involving_known: ReviewItem  # the school's record of `known` vs the GP's `stranger`
    strangers_only: ReviewItem  # the GP's `stranger` vs the school's `other`

    def ref(self, record: SourceRecord) -> str:
        agency = {a.id: a for a in (self.csc, self.school, self.gp)}[record.agency_id]
        return f"{agency.code}:{record.record_ref}"


def _item(db_session: Session, left: SourceRecord, right: SourceRecord) -> ReviewItem:
    keys = sorted(
        repo.record_key(r.agency_id, r.record_ref) for r in (left, right)
    )  # stored ordered
    item = ReviewItem(
        record_key_l=keys[0],
        record_key_r=keys[1],
        match_weight=2.5,
        match_probability=0.85,
        comparison_levels={"date_of_birth": {"level": "exact"}},
    )
    db_session.add(item)
    db_session.flush()
    return item


@pytest.fixture
def queue(db_session: Session) -> Queue:
    csc = make_agency(db_session, kind=AgencyKind.CHILDRENS_SOCIAL_CARE)
    school = make_agency(db_session, kind=AgencyKind.SCHOOL)
    gp = make_agency(db_session, kind=AgencyKind.GP)
    known, stranger, other = (
        make_person(db_session),
        make_person(db_session),
        make_person(db_session),
    )
    known_at_csc = link_record(db_session, person=known, agency=csc)
    known_at_school = link_record(db_session, person=known, agency=school)
    stranger_at_gp = link_record(db_session, person=stranger, agency=gp)
    other_at_school = link_record(db_session, person=other, agency=school)
    return Queue(
        csc=csc,
        school=school,
        gp=gp,
        known=known,
        stranger=stranger,
        other=other,
        known_at_csc=known_at_csc,
        known_at_school=known_at_school,
        stranger_at_gp=stranger_at_gp,
        other_at_school=other_at_school,
        involving_known=_item(db_session, known_at_school, stranger_at_gp),
        strangers_only=_item(db_session, stranger_at_gp, other_at_school),
    )


def _reads(db_session: Session, username: str) -> list[AuditEntry]:
    return list(
        db_session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "person.read", AuditEntry.actor == f"user:{username}")
            .order_by(AuditEntry.position)
        )
    )


def _listed(client: TestClient) -> set[int]:
    response = client.get("/api/v1/linkage/review", params={"status": "open"})
    assert response.status_code == 200, response.text
    return {entry["id"] for entry in response.json()}


def test_the_front_door_sees_pairs_about_children_it_is_involved_with(
    app_client: TestClient, db_session: Session, queue: Queue
) -> None:
    # The pooled view: the school's record of a child children's social care holds counts.
    reviewer = authorise_client(app_client, db_session, role=Role.FRONT_DOOR, agency=queue.csc)

    assert _listed(app_client) == {queue.involving_known.id}

    reads = _reads(db_session, reviewer.username)
    assert {e.person_id for e in reads} == {queue.known.id, queue.stranger.id}
    assert {e.target for e in reads} == {"linkage review queue"}
    assert all(e.detail["review_items"] == [queue.involving_known.id] for e in reads)


def test_without_the_pooled_view_only_pairs_with_an_own_agency_record(
    app_client: TestClient, db_session: Session, queue: Queue
) -> None:
    authorise_client(
        app_client, db_session, role=Role.FRONT_DOOR, agency=queue.csc, scopes=OWN_RECORDS_ONLY
    )
    assert _listed(app_client) == set()  # neither record of either pair is the CSC's own

    authorise_client(
        app_client, db_session, role=Role.FRONT_DOOR, agency=queue.gp, scopes=OWN_RECORDS_ONLY
    )
    assert _listed(app_client) == {queue.involving_known.id, queue.strangers_only.id}


def test_a_reviewer_with_no_involvement_sees_an_empty_queue_and_nothing_is_audited(
    app_client: TestClient, db_session: Session, queue: Queue
) -> None:
    reviewer = authorise_client(app_client, db_session, role=Role.FRONT_DOOR)

    assert _listed(app_client) == set()
    assert _reads(db_session, reviewer.username) == []


def test_the_listing_shows_in_who_has_looked(db_session: Session, queue: Queue) -> None:
    reviewer = make_user(db_session, role=Role.FRONT_DOOR, agency=queue.csc)
    linkage_review.list_items(db_session=db_session, subject=subject_of(reviewer))

    auditor = subject_of(make_user(db_session, role=Role.AUDITOR))
    looked = access_service.who_has_looked(
        db_session=db_session, subject=auditor, person_public_id=queue.stranger.public_id
    )
    assert [(e.actor, e.action, e.target) for e in looked] == [
        (f"user:{reviewer.username}", "person.read", "linkage review queue")
    ]


def test_deciding_on_a_pair_not_yours_is_the_404_of_an_unknown_pair(
    app_client: TestClient, db_session: Session, queue: Queue
) -> None:
    reviewer = authorise_client(app_client, db_session, role=Role.FRONT_DOOR, agency=queue.csc)
    body = {"action": "reject", "reason": "different dates of birth"}

    refused = app_client.post(
        f"/api/v1/linkage/review/{queue.strangers_only.id}/decisions", json=body
    )
    unknown = app_client.post("/api/v1/linkage/review/999999/decisions", json=body)

    assert refused.status_code == unknown.status_code == 404
    assert refused.json() == unknown.json()
    assert "no need to know" in refused.json()["detail"]
    db_session.refresh(queue.strangers_only)
    assert queue.strangers_only.status.value == "open"
    assert _reads(db_session, reviewer.username) == []

    allowed = app_client.post(
        f"/api/v1/linkage/review/{queue.involving_known.id}/decisions", json=body
    )
    assert allowed.status_code == 201, allowed.text
    reads = _reads(db_session, reviewer.username)
    assert {e.person_id for e in reads} == {queue.known.id, queue.stranger.id}
    assert {e.target for e in reads} == {"linkage review decision"}


def test_explaining_a_pair_not_yours_is_the_404_of_an_unknown_record(
    app_client: TestClient, db_session: Session, queue: Queue
) -> None:
    reviewer = authorise_client(app_client, db_session, role=Role.FRONT_DOOR, agency=queue.csc)
    gp_ref = queue.ref(queue.stranger_at_gp)

    def explain(left: str, right: str) -> tuple[int, object]:
        response = app_client.get("/api/v1/linkage/explain", params={"left": left, "right": right})
        return response.status_code, response.json()

    refused = explain(gp_ref, queue.ref(queue.other_at_school))
    unknown_record = explain(gp_ref, f"{queue.school.code}:no-such-record")
    unknown_agency = explain(gp_ref, "no-such-agency:R1")
    assert refused == unknown_record == unknown_agency
    assert refused[0] == 404
    assert _reads(db_session, reviewer.username) == []

    # A pair with a record the reviewer may read passes the gate (and then needs a model).
    status_code, body = explain(gp_ref, queue.ref(queue.known_at_school))
    assert status_code == 422 and "no linkage model" in str(body)


def test_a_token_without_children_read_is_refused(
    app_client: TestClient, db_session: Session, queue: Queue
) -> None:
    authorise_client(
        app_client,
        db_session,
        role=Role.FRONT_DOOR,
        agency=queue.csc,
        scopes=frozenset({Scope.LINKAGE_REVIEW}),
    )
    response = app_client.get("/api/v1/linkage/review")
    assert response.status_code == 403 and "children:read" in response.text


def test_the_service_gates_refuse_alike(db_session: Session, queue: Queue) -> None:
    subject = subject_of(make_user(db_session, role=Role.FRONT_DOOR, agency=queue.csc))
    with pytest.raises(linkage_review.PairNotVisible) as not_yours:
        linkage_review.open_item(
            db_session=db_session,
            subject=subject,
            item_ref=queue.strangers_only.public_id,
            purpose="test",
        )
    with pytest.raises(linkage_review.PairNotVisible) as unknown:
        linkage_review.open_item(
            db_session=db_session, subject=subject, item_ref="no-such-item", purpose="test"
        )
    assert str(not_yours.value) == str(unknown.value)
    with pytest.raises(linkage_review.PairNotVisible):
        linkage_review.open_pair(
            db_session=db_session,
            subject=subject,
            left=RecordRef.parse(queue.ref(queue.stranger_at_gp)),
            right=RecordRef.parse(queue.ref(queue.other_at_school)),
            purpose="test",
        )
    keys = linkage_review.open_pair(
        db_session=db_session,
        subject=subject,
        left=RecordRef.parse(queue.ref(queue.known_at_csc)),
        right=RecordRef.parse(queue.ref(queue.stranger_at_gp)),
        purpose="test",
    )
    assert keys == (
        repo.record_key(queue.csc.id, queue.known_at_csc.record_ref),
        repo.record_key(queue.gp.id, queue.stranger_at_gp.record_ref),
    )
