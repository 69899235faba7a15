"""``/api/v1/referrals``: the check's exact shape, cross-checks with a child id, bad input as
4xx with a reason, and the referral's life (draft, submit, 409 on edit, correction)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.agencies.models import AgencyKind
from tests.access.principals import authorise_client
from tests.referrals.factories import ChildRecord, add_agency, build_child_record, link

AS_OF = dt.date(2026, 11, 23)
TEXT = (
    "Child: Mia Thompson. I am the class teacher at Oakfield. Mia came in today with a cut lip. "
    'She said, "Dean hit me." There are some concerns at home.'
)


@pytest.fixture
def record(db_session: Session) -> ChildRecord:
    return build_child_record(db_session, as_of=AS_OF)


@pytest.fixture
def client(
    app_client: TestClient, db_session: Session, record: ChildRecord
) -> Iterator[TestClient]:
    """A practitioner at the child's school (so they have a need to know about the child)."""
    authorise_client(
        app_client, db_session, role=Role.PRACTITIONER, agency=record.agencies["school"]
    )
    yield app_client


def test_check_returns_exactly_elements_vague_phrases_and_score(client: TestClient) -> None:
    response = client.post(
        "/api/v1/referrals/check", json={"text": TEXT, "referral_date": "2026-11-23"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"elements", "vague_phrases", "score"}
    assert set(body["elements"]["R1"]) == {"status", "spans", "question", "adjusted"}
    assert {"text", "start", "end", "kind", "question"} <= set(body["vague_phrases"][0])
    assert body["elements"]["R7"]["status"] == "present"


def test_a_status_the_learned_adjustment_changed_says_so_and_others_say_null(
    client: TestClient,
) -> None:
    # A dated account with nothing seen: the rules' R5 is partial, the shipped model's present.
    text = (
        "I am the class teacher at Selsdon Primary. On 23/11/2026 Leo, aged 7, told me his dad "
        "hit him. Mum said he fell."
    )
    response = client.post(
        "/api/v1/referrals/check", json={"text": text, "referral_date": "2026-11-24"}
    )
    assert response.status_code == 200, response.text
    elements = response.json()["elements"]
    adjusted = elements["R5"]["adjusted"]
    assert elements["R5"]["status"] == "present"
    assert adjusted["rule_status"] == "partial"
    assert adjusted["moved_by"][0] == {
        "group": "timeliness:any_day",
        "words": "a dated event",
        "found": 1,
    }
    assert adjusted["explanation"].startswith("The rules read this as partial;")
    # The rules' R5 question (what was seen) stays beside the model's "present".
    assert elements["R5"]["question"] is None
    assert adjusted["rule_question"] and "seen" in adjusted["rule_question"]
    assert elements["R7"]["adjusted"] is None


def test_with_a_child_id_a_practitioner_is_checked_against_their_agencys_entries(
    client: TestClient, record: ChildRecord
) -> None:
    response = client.post(
        "/api/v1/referrals/check",
        json={"text": TEXT, "child_id": record.child.public_id, "referral_date": "2026-11-23"},
    )
    assert response.status_code == 200, response.text
    cross = response.json()["cross_checks"]
    assert cross["child_id"] == record.child.public_id
    assert cross["findings"] and all(f["events"] for f in cross["findings"])
    shown = {e["agency_code"] for f in cross["findings"] for e in f["events"]}
    assert shown == {record.agencies["school"].code}
    for hidden in ("Ashdown", "Metropolitan", "Housing Needs"):
        assert hidden not in response.text
    assert any("further entries held by 3 other agencies" in n for n in cross["notes"])


@pytest.mark.parametrize("role", [Role.FRONT_DOOR, Role.SOCIAL_WORKER])
def test_with_a_child_id_the_front_door_is_checked_against_every_agency(
    app_client: TestClient, db_session: Session, record: ChildRecord, role: Role
) -> None:
    csc = add_agency(
        db_session, "csc", "Croydon Children's Social Care", AgencyKind.CHILDRENS_SOCIAL_CARE
    )
    link(db_session, record, record.child, csc)
    authorise_client(app_client, db_session, role=role, agency=csc)
    response = app_client.post(
        "/api/v1/referrals/check",
        json={"text": TEXT, "child_id": record.child.public_id, "referral_date": "2026-11-23"},
    )
    assert response.status_code == 200, response.text
    cross = response.json()["cross_checks"]
    kinds = {f["kind"] for f in cross["findings"]}
    assert {"history", "agencies", "adult_factors"} <= kinds
    assert all(f["events"] for f in cross["findings"])
    assert not any("further" in n for n in cross["notes"])


def test_a_child_the_caller_may_not_see_is_not_found(
    app_client: TestClient, db_session: Session, record: ChildRecord
) -> None:
    authorise_client(app_client, db_session, role=Role.PRACTITIONER)  # another agency
    response = app_client.post(
        "/api/v1/referrals/check", json={"text": TEXT, "child_id": record.child.public_id}
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("text", "status", "problem"),
    [
        ("", 422, "empty"),
        ("x " * 40000, 413, "too_long"),
        ("abc\x00\x01\x02\x03\x04\x05def", 422, "binary"),
        (
            "Dziecko powiedziało nauczycielce, że ojczym bije ją pasem w domu prawie codziennie "
            "wieczorem, a matka nic nie robi.",
            422,
            "not_english",
        ),
    ],
)
def test_bad_text_is_a_4xx_with_the_reason(
    client: TestClient, text: str, status: int, problem: str
) -> None:
    response = client.post("/api/v1/referrals/check", json={"text": text})
    assert response.status_code == status
    assert response.json()["detail"]["problem"] == problem
    assert response.json()["detail"]["message"]


def test_the_check_needs_a_signed_in_caller(app_client: TestClient) -> None:
    assert app_client.post("/api/v1/referrals/check", json={"text": TEXT}).status_code == 401


def test_classify_suggests_codes_with_spans(client: TestClient) -> None:
    response = client.post(
        "/api/v1/referrals/classify",
        json={"text": "Dad was drunk and there is no food in the house; no concerns about school."},
    )
    assert response.status_code == 200
    codes = {s["code"]: s for s in response.json()}
    assert {"PAR-SUB", "NEG-BAS"} <= set(codes)
    assert codes["PAR-SUB"]["spans"][0]["text"].lower() in {"drunk"}


def test_a_referral_is_drafted_submitted_locked_and_corrected(
    client: TestClient, record: ChildRecord
) -> None:
    created = client.post(
        "/api/v1/referrals",
        json={
            "concern_narrative": "Today I saw a bruise on Mia's cheek.",
            "children": [{"person_id": record.child.public_id, "given_name": "Mia"}],
        },
    )
    assert created.status_code == 201, created.text
    ref = created.json()["referral_ref"]
    assert created.json()["status"] == "draft"
    edited = client.put(
        f"/api/v1/referrals/{ref}",
        json={"concern_narrative": "Today at 09:10 I saw a bruise.",
              "children": [{"person_id": record.child.public_id, "given_name": "Mia"}]},
    )  # fmt: skip
    assert edited.status_code == 200
    checked = client.get(f"/api/v1/referrals/{ref}/check")
    assert checked.status_code == 200 and "cross_checks" in checked.json()
    sent = client.post(f"/api/v1/referrals/{ref}/submit", json={})
    assert sent.status_code == 200
    assert sent.json()["status"] == "submitted"
    assert sent.json()["destination"] == "childrens_social_care_front_door"
    assert sent.json()["check_result"]["cross_checks"]["findings"]
    assert client.put(f"/api/v1/referrals/{ref}", json={}).status_code == 409
    assert client.post(f"/api/v1/referrals/{ref}/submit", json={}).status_code == 409
    corrected = client.post(
        f"/api/v1/referrals/{ref}/corrections",
        json={
            "correction_reason": "time was 09:40",
            "concern_narrative": "At 09:40.",
        },
    )
    assert corrected.status_code == 201
    assert (corrected.json()["version"], corrected.json()["supersedes_version"]) == (2, 1)
    versions = client.get(f"/api/v1/referrals/{ref}/versions").json()
    assert [v["status"] for v in versions] == ["submitted", "draft"]
    assert client.get("/api/v1/referrals/no-such-ref").status_code == 404
