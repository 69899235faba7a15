"""Need-to-know on stored referrals: a referral is read (and changed) only by a caller who may
see every child it links, or whose own agency made it; anyone else gets the 404 an unknown
referral gets, with nothing about the child in it. Reads are audited against each child."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access.models import AuditEntry, Role
from fullpicture.agencies.models import AgencyKind
from tests.access.principals import authorise_client, make_agency
from tests.referrals.factories import ChildRecord, add_agency, build_child_record, link

AS_OF = dt.date(2026, 11, 23)
NARRATIVE = "Today I saw a bruise on Mia's cheek."


@pytest.fixture
def record(db_session: Session) -> ChildRecord:
    return build_child_record(db_session, as_of=AS_OF)


def _draft(client: TestClient, record: ChildRecord, *, link_child: bool = True) -> str:
    child: dict[str, str] = {"given_name": "Mia", "family_name": "Thompson"}
    if link_child:
        child["person_id"] = record.child.public_id
    created = client.post(
        "/api/v1/referrals",
        json={"concern_narrative": NARRATIVE, "children": [child]},
    )
    assert created.status_code == 201, created.text
    return str(created.json()["referral_ref"])


#: Every route that names a stored referral, as (description, call).
REFERRAL_CALLS: list[tuple[str, Callable[[TestClient, str], Response]]] = [
    ("read", lambda c, ref: c.get(f"/api/v1/referrals/{ref}")),
    ("versions", lambda c, ref: c.get(f"/api/v1/referrals/{ref}/versions")),
    ("check", lambda c, ref: c.get(f"/api/v1/referrals/{ref}/check")),
    ("edit", lambda c, ref: c.put(f"/api/v1/referrals/{ref}", json={})),
    (
        "submit",
        lambda c, ref: c.post(f"/api/v1/referrals/{ref}/submit", json={}),
    ),
    (
        "correct",
        lambda c, ref: c.post(
            f"/api/v1/referrals/{ref}/corrections",
            json={"correction_reason": "wrong time"},
        ),
    ),
]


@pytest.mark.parametrize(("what", "call"), REFERRAL_CALLS, ids=[w for w, _ in REFERRAL_CALLS])
def test_another_agency_gets_the_same_404_as_for_an_unknown_referral(
    app_client: TestClient,
    db_session: Session,
    record: ChildRecord,
    what: str,
    call: Callable[[TestClient, str], Response],
) -> None:
    authorise_client(app_client, db_session, agency=record.agencies["school"])
    ref = _draft(app_client, record)
    authorise_client(app_client, db_session, role=Role.PRACTITIONER)  # an uninvolved agency
    refused = call(app_client, ref)
    unknown = call(app_client, "00000000-0000-4000-8000-000000000000")
    assert refused.status_code == unknown.status_code == 404, (what, refused.text)
    assert refused.json()["detail"] == unknown.json()["detail"].replace(
        "00000000-0000-4000-8000-000000000000", ref
    )
    for leaked in ("Mia", "bruise", record.child.public_id, "Oakfield"):
        assert leaked not in refused.text


def test_a_designated_lead_of_an_uninvolved_agency_cannot_read_it_either(
    app_client: TestClient, db_session: Session, record: ChildRecord
) -> None:
    authorise_client(app_client, db_session, agency=record.agencies["school"])
    ref = _draft(app_client, record)
    authorise_client(
        app_client, db_session, role=Role.DESIGNATED_LEAD, agency=make_agency(db_session)
    )
    assert app_client.get(f"/api/v1/referrals/{ref}").status_code == 404


def test_an_involved_agency_and_the_writers_colleagues_may_read_it(
    app_client: TestClient, db_session: Session, record: ChildRecord
) -> None:
    authorise_client(app_client, db_session, agency=record.agencies["school"])
    ref = _draft(app_client, record)
    # The GP holds a record of the child: a need to know about the child.
    authorise_client(app_client, db_session, agency=record.agencies["gp"])
    assert app_client.get(f"/api/v1/referrals/{ref}").status_code == 200
    # The front door, once its agency holds a record of the child.
    csc = add_agency(db_session, "csc", "Children's Social Care", AgencyKind.CHILDRENS_SOCIAL_CARE)
    link(db_session, record, record.child, csc)
    authorise_client(app_client, db_session, role=Role.FRONT_DOOR, agency=csc)
    assert app_client.get(f"/api/v1/referrals/{ref}/versions").status_code == 200


def test_a_referral_with_no_linked_child_is_read_by_its_own_agency_only(
    app_client: TestClient, db_session: Session, record: ChildRecord
) -> None:
    school = record.agencies["school"]
    authorise_client(app_client, db_session, agency=school)
    ref = _draft(app_client, record, link_child=False)
    read = app_client.get(f"/api/v1/referrals/{ref}")
    assert read.status_code == 200
    assert read.json()["referrer_agency_code"] == school.code  # the signed-in referrer's agency
    authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=school)
    assert app_client.get(f"/api/v1/referrals/{ref}").status_code == 200
    authorise_client(app_client, db_session, agency=record.agencies["gp"])
    assert app_client.get(f"/api/v1/referrals/{ref}").status_code == 404


def test_every_read_is_in_the_childs_audit_trail(
    app_client: TestClient, db_session: Session, record: ChildRecord
) -> None:
    authorise_client(app_client, db_session, agency=record.agencies["school"])
    ref = _draft(app_client, record)
    reader = authorise_client(app_client, db_session, agency=record.agencies["gp"])
    assert app_client.get(f"/api/v1/referrals/{ref}").status_code == 200
    entries = db_session.scalars(
        select(AuditEntry).where(
            AuditEntry.actor_user_id == reader.id, AuditEntry.action == "person.read"
        )
    ).all()
    assert [(e.person_id, e.target) for e in entries] == [(record.child.id, f"referral:{ref}")]
    assert entries[0].detail["purpose"] == "referral"


def test_linking_a_child_one_may_not_see_is_refused_like_an_unknown_child(
    app_client: TestClient, db_session: Session, record: ChildRecord
) -> None:
    authorise_client(app_client, db_session, role=Role.PRACTITIONER)  # uninvolved
    hidden = app_client.post(
        "/api/v1/referrals",
        json={
            "children": [{"person_id": record.child.public_id, "given_name": "A"}],
        },
    )
    unknown = app_client.post(
        "/api/v1/referrals",
        json={
            "children": [{"person_id": "00000000-0000-4000-8000-000000000000", "given_name": "A"}],
        },
    )
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["detail"] == unknown.json()["detail"].replace(
        "00000000-0000-4000-8000-000000000000", record.child.public_id
    )


def test_a_referral_cannot_be_filed_as_another_agencys(
    app_client: TestClient, db_session: Session, record: ChildRecord
) -> None:
    authorise_client(app_client, db_session, agency=record.agencies["school"])
    response = app_client.post(
        "/api/v1/referrals",
        json={"referrer_agency_code": record.agencies["gp"].code},
    )
    assert response.status_code == 403
    assert "your own agency" in response.json()["detail"]


WRITE_CALLS = [(what, call) for what, call in REFERRAL_CALLS if what in {"edit", "submit"}]


@pytest.mark.parametrize(("what", "call"), WRITE_CALLS, ids=[w for w, _ in WRITE_CALLS])
def test_an_agency_that_may_read_a_referral_cannot_change_or_submit_it(
    app_client: TestClient,
    db_session: Session,
    record: ChildRecord,
    what: str,
    call: Callable[[TestClient, str], Response],
) -> None:
    """Issue 12, finding 3: a GP who may read the school's draft (a need to know the child)
    could PUT over its narrative (the referrer agency then flipped to the GP) and submit it."""
    school = record.agencies["school"]
    authorise_client(app_client, db_session, agency=school)
    ref = _draft(app_client, record)
    authorise_client(app_client, db_session, agency=record.agencies["gp"])
    assert app_client.get(f"/api/v1/referrals/{ref}").status_code == 200
    refused = call(app_client, ref)
    assert refused.status_code == 403, (what, refused.text)
    assert "made by another agency" in refused.json()["detail"]
    authorise_client(app_client, db_session, agency=school)
    kept = app_client.get(f"/api/v1/referrals/{ref}").json()
    assert kept["status"] == "draft" and kept["concern_narrative"] == NARRATIVE
    assert kept["referrer_agency_code"] == school.code


def test_another_agency_cannot_correct_a_submitted_referral(
    app_client: TestClient, db_session: Session, record: ChildRecord
) -> None:
    school = record.agencies["school"]
    authorise_client(app_client, db_session, agency=school)
    ref = _draft(app_client, record)
    sent = app_client.post(f"/api/v1/referrals/{ref}/submit", json={})
    assert sent.status_code == 200, sent.text
    authorise_client(app_client, db_session, agency=record.agencies["gp"])
    refused = app_client.post(
        f"/api/v1/referrals/{ref}/corrections",
        json={"correction_reason": "wrong time", "concern_narrative": "No."},
    )
    assert refused.status_code == 403, refused.text
    authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=school)
    versions = app_client.get(f"/api/v1/referrals/{ref}/versions").json()
    assert [v["version"] for v in versions] == [1]
    # The school's own colleagues may correct it.
    corrected = app_client.post(
        f"/api/v1/referrals/{ref}/corrections",
        json={"correction_reason": "time was 09:40"},
    )
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["referrer_agency_code"] == school.code


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("POST", "", {"created_by": "Jane Smith, DSL", "concern_narrative": NARRATIVE}),
        ("PUT", "/{ref}", {"updated_by": "Jane Smith, DSL"}),
        ("POST", "/{ref}/submit", {"submitted_by": "Jane Smith, DSL"}),
    ],
)
def test_a_referral_body_naming_who_acted_is_refused(
    app_client: TestClient,
    db_session: Session,
    record: ChildRecord,
    method: str,
    suffix: str,
    body: dict[str, str],
) -> None:
    """Issue 12, finding 12: who saved, changed or sent a referral is the signed-in principal;
    a body naming someone is a 422 naming the field, and nothing is stored under that name."""
    authorise_client(app_client, db_session, agency=record.agencies["school"])
    ref = _draft(app_client, record)
    response = app_client.request(method, "/api/v1/referrals" + suffix.format(ref=ref), json=body)
    assert response.status_code == 422, response.text
    assert next(iter(body)) in response.text


def test_a_referral_is_saved_sent_and_corrected_as_the_signed_in_user(
    app_client: TestClient, db_session: Session, record: ChildRecord
) -> None:
    school = record.agencies["school"]
    author = authorise_client(app_client, db_session, agency=school)
    ref = _draft(app_client, record)
    sent = app_client.post(f"/api/v1/referrals/{ref}/submit")
    assert sent.status_code == 200, sent.text
    assert sent.json()["created_by"] == f"user:{author.username}"
    assert sent.json()["submitted_by"] == f"user:{author.username}"
    colleague = authorise_client(app_client, db_session, agency=school)
    corrected = app_client.post(
        f"/api/v1/referrals/{ref}/corrections", json={"correction_reason": "time was 09:40"}
    )
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["created_by"] == f"user:{colleague.username}"
