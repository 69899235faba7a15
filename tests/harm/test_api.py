"""The harm and chronology API: the same objects as the CLI, behind need-to-know."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fullpicture.agencies.models import AgencyKind
from fullpicture.chronology.models import ParticipantRole
from fullpicture.harm import service
from fullpicture.people.models import SourceRecord
from tests.access.principals import authorise_client
from tests.chronology import factories as make

CASES = Path("/work/shared/eval/cases")
AS_OF = dt.date(2025, 6, 30)


def _child(db_session: Session) -> tuple[object, object]:
    school = make.agency(db_session, "school-api", AgencyKind.SCHOOL)
    police = make.agency(db_session, "police-api", AgencyKind.POLICE)
    make.agency(db_session, "csc-api", AgencyKind.CHILDRENS_SOCIAL_CARE)
    child = make.person(db_session, (school, "S1"), (police, "P1"))
    db_session.add(
        SourceRecord(
            agency_id=school.id,
            record_ref="S1",
            content_hash="h",
            date_of_birth=dt.date(2015, 5, 1),
            recorded_by="test",
        )
    )
    for number, day in enumerate((dt.date(2025, 1, 5), dt.date(2025, 2, 5), dt.date(2025, 3, 5))):
        make.event(
            db_session,
            school,
            f"s-{number}",
            day,
            "PHY-INJ",
            [("S1", ParticipantRole.SUBJECT)],
            summary=f"Bruise {number}",
        )
    make.event(
        db_session,
        police,
        "p-1",
        dt.date(2025, 3, 5),
        "PHY-INJ",
        [("P1", ParticipantRole.VICTIM)],
        summary="Bruise seen by officers",
    )
    return school, child


def test_chronology_and_score_for_a_practitioner_who_needs_to_know(
    app_client: TestClient, db_session: Session
) -> None:
    school, child = _child(db_session)
    authorise_client(app_client, db_session, agency=school)  # type: ignore[arg-type]
    public_id = child.public_id  # type: ignore[attr-defined]

    response = app_client.get(f"/api/v1/children/{public_id}/chronology")
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["entries"]) == 4 and body["incidents"] == 3
    assert body["incident_groups"][0]["agencies"] == ["police-api", "school-api"]

    alone = app_client.get(f"/api/v1/children/{public_id}/chronology?agency=school-api").json()
    assert len(alone["entries"]) == 3 and alone["entries_held_by_other_agencies"] == 1

    csv_response = app_client.get(f"/api/v1/children/{public_id}/chronology?format=csv")
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert "Bruise seen by officers" in csv_response.text
    pdf_response = app_client.get(f"/api/v1/children/{public_id}/chronology?format=pdf")
    assert pdf_response.content.startswith(b"%PDF")

    harm = app_client.get(f"/api/v1/children/{public_id}/harm?as_of={AS_OF}").json()
    assert harm["score"] > 0
    assert {a["kind"] for a in harm["alerts"]} >= {"minor_injury_cluster"}
    assert any(c["modifiers"] for c in harm["contributions"])


def test_alert_workflow_over_http(app_client: TestClient, db_session: Session) -> None:
    school, child = _child(db_session)
    service.record_alerts(
        db_session=db_session, result=service.score_population(db_session=db_session, as_of=AS_OF)
    )
    authorise_client(app_client, db_session, agency=school)  # type: ignore[arg-type]
    listed = app_client.get("/api/v1/alerts?status=new").json()
    mine = [a for a in listed if a["person_id"] == child.id]  # type: ignore[attr-defined]
    assert mine and all(a["evidence"]["event_ids"] for a in mine)
    alert_id = mine[0]["public_id"]
    early = app_client.post(f"/api/v1/alerts/{alert_id}/close", json={"outcome": "done", "by": "x"})
    assert early.status_code == 409
    ack = app_client.post(
        f"/api/v1/alerts/{alert_id}/acknowledge",
        json={"decision": "Shared with the school nurse; strategy discussion", "by": "DSL"},
    )
    assert ack.status_code == 200, ack.text
    assert ack.json()["status"] == "acknowledged"
    closed = app_client.post(
        f"/api/v1/alerts/{alert_id}/close", json={"outcome": "Early help plan", "by": "DSL"}
    )
    assert closed.json()["status"] == "closed"


def test_no_need_to_know_means_not_found(app_client: TestClient, db_session: Session) -> None:
    _school, child = _child(db_session)
    elsewhere = make.agency(db_session, "gp-elsewhere", AgencyKind.GP)
    authorise_client(app_client, db_session, agency=elsewhere)
    public_id = child.public_id  # type: ignore[attr-defined]
    assert app_client.get(f"/api/v1/children/{public_id}/chronology").status_code == 404
    assert app_client.get(f"/api/v1/children/{public_id}/harm").status_code == 404
    assert app_client.get("/api/v1/alerts").json() == []


def test_replay_over_http(app_client: TestClient, db_session: Session) -> None:
    authorise_client(app_client, db_session)
    case = json.loads((CASES / "peter-connelly.json").read_text(encoding="utf-8"))
    response = app_client.post("/api/v1/replay", json=case)
    assert response.status_code == 200, response.text
    assert response.json()["combined"]["first_alert_date"] is not None
    empty = app_client.post("/api/v1/replay", json={**case, "events": []})
    assert empty.status_code == 422
    assert "no events" in empty.text


def test_household_chronology_shows_only_members_you_need_to_know_about(
    app_client: TestClient, db_session: Session
) -> None:
    school, child = _child(db_session)
    police = make.agency(db_session, "police-house", AgencyKind.POLICE)
    partner = make.person(db_session, (police, "PX"))
    home = make.household(
        db_session,
        (child, "child", None, None),
        (partner, "partner", None, None),  # type: ignore[arg-type]
    )
    make.event(db_session, police, "px-1", dt.date(2025, 2, 1), "DOM-ABU",
               [("PX", ParticipantRole.ALLEGED_PERPETRATOR)], summary="Call-out")  # fmt: skip
    authorise_client(app_client, db_session, agency=school)  # type: ignore[arg-type]
    response = app_client.get(f"/api/v1/households/{home.public_id}/chronology")
    assert response.status_code == 200, response.text
    about = {e["about_person_id"] for e in response.json()["entries"]}
    assert about == {child.id}  # type: ignore[attr-defined]
    missing = app_client.get("/api/v1/households/00000000-0000-0000-0000-000000000000/chronology")
    assert missing.status_code == 404


def test_household_chronology_reads_are_audited(
    app_client: TestClient, db_session: Session
) -> None:
    from sqlalchemy import func, select

    from fullpicture.access.models import AuditEntry

    school, child = _child(db_session)
    home = make.household(db_session, (child, "child", None, None))  # type: ignore[arg-type]
    authorise_client(app_client, db_session, agency=school)  # type: ignore[arg-type]
    before = db_session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.person_id == child.id)  # type: ignore[attr-defined]
    )
    assert app_client.get(f"/api/v1/households/{home.public_id}/chronology").status_code == 200
    after = db_session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.person_id == child.id)  # type: ignore[attr-defined]
    )
    assert after == (before or 0) + 1
