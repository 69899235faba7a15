"""The harm and chronology API: the same objects as the CLI, behind need-to-know."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.access.roles import Scope
from fullpicture.access.subject import SystemPrincipal
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.chronology.export import CSV_COLUMNS, HELD_ELSEWHERE_MARKER, chronology_csv
from fullpicture.chronology.models import ParticipantRole
from fullpicture.chronology.repository import Viewer, child_chronology
from fullpicture.core.database import utc_now
from fullpicture.harm import service
from fullpicture.harm.harm_model import default_harm_model
from fullpicture.harm.models import HarmAlert
from fullpicture.people.models import Person, SourceRecord
from tests.access.principals import authorise_client
from tests.chronology import factories as make

CASES = Path("/work/shared/eval/cases")
AS_OF = dt.date(2025, 6, 30)


def _scorer(db_session: Session) -> SystemPrincipal:
    """The audited job a test scores as (access.service.system_principal)."""
    return access_service.system_principal(db_session=db_session, job="harm test", operator="test")


def _child(db_session: Session) -> tuple[Agency, Person]:
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


def test_a_practitioner_sees_their_own_agencys_entries_and_a_count_of_the_rest(
    app_client: TestClient, db_session: Session
) -> None:
    school, child = _child(db_session)
    authorise_client(app_client, db_session, agency=school)
    public_id = child.public_id

    response = app_client.get(f"/api/v1/children/{public_id}/chronology")
    assert response.status_code == 200, response.text
    body = response.json()
    assert {e["agency_code"] for e in body["entries"]} == {"school-api"}
    assert len(body["entries"]) == 3 and body["incidents"] == 3
    assert body["incident_groups"] == []  # the police half of the incident is not shown
    assert body["held_elsewhere"]["entries"] == 1 and body["held_elsewhere"]["agencies"] == 1
    assert "1 further entry held by 1 other agency" in body["held_elsewhere"]["message"]
    assert "Bruise seen by officers" not in response.text
    assert "police" not in response.text

    alone = app_client.get(f"/api/v1/children/{public_id}/chronology?agency=school-api").json()
    assert len(alone["entries"]) == 3 and alone["entries_held_by_other_agencies"] == 0
    police_only = app_client.get(f"/api/v1/children/{public_id}/chronology?agency=police-api")
    assert police_only.json()["entries"] == []

    csv_response = app_client.get(f"/api/v1/children/{public_id}/chronology?format=csv")
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert "Bruise 0" in csv_response.text
    assert "Bruise seen by officers" not in csv_response.text
    pdf_response = app_client.get(f"/api/v1/children/{public_id}/chronology?format=pdf")
    assert pdf_response.content.startswith(b"%PDF")

    harm = app_client.get(f"/api/v1/children/{public_id}/harm?as_of={AS_OF}").json()
    police_event = _police_event_id(db_session)
    assert harm["score"] > 0
    assert harm["agencies"] == ["school-api"]
    shown = {r for c in harm["contributions"] for r in c["refs"]}
    assert shown and police_event not in shown
    assert all(c["agencies"] == ["school-api"] for c in harm["contributions"])
    assert {a["kind"] for a in harm["alerts"]} >= {"minor_injury_cluster"}
    assert all(police_event not in a["evidence"] for a in harm["alerts"])
    assert harm["held_elsewhere"]["entries"] == 1 and harm["held_elsewhere"]["agencies"] == 1
    assert "contributed to this score" in harm["held_elsewhere"]["message"]


def _police_event_id(db_session: Session) -> int:
    from sqlalchemy import select

    from fullpicture.chronology.models import Event

    event_id = db_session.scalar(select(Event.id).where(Event.event_ref == "p-1"))
    assert event_id is not None
    return event_id


def _csc_holds_the_child(db_session: Session, child: Person) -> Agency:
    from sqlalchemy import select

    from fullpicture.people.models import PersonRecordLink

    csc = db_session.scalar(select(Agency).where(Agency.code == "csc-api"))
    assert csc is not None
    db_session.add(
        PersonRecordLink(
            person_id=child.id,
            agency_id=csc.id,
            record_ref="C1",
            method="confirmed",
        )
    )
    db_session.flush()
    return csc


@pytest.mark.parametrize("role", [Role.FRONT_DOOR, Role.SOCIAL_WORKER, Role.TEAM_MANAGER])
def test_the_front_door_roles_see_every_agencys_entries(
    app_client: TestClient, db_session: Session, role: Role
) -> None:
    _school, child = _child(db_session)
    csc = _csc_holds_the_child(db_session, child)
    authorise_client(app_client, db_session, role=role, agency=csc)
    public_id = child.public_id

    body = app_client.get(f"/api/v1/children/{public_id}/chronology").json()
    assert len(body["entries"]) == 4 and body["incidents"] == 3
    assert body["incident_groups"][0]["agencies"] == ["police-api", "school-api"]
    assert body["held_elsewhere"] is None
    alone = app_client.get(f"/api/v1/children/{public_id}/chronology?agency=school-api").json()
    assert len(alone["entries"]) == 3 and alone["entries_held_by_other_agencies"] == 1
    csv_text = app_client.get(f"/api/v1/children/{public_id}/chronology?format=csv").text
    assert "Bruise seen by officers" in csv_text

    harm = app_client.get(f"/api/v1/children/{public_id}/harm?as_of={AS_OF}").json()
    assert harm["agencies"] == ["police-api", "school-api"]
    assert _police_event_id(db_session) in {r for c in harm["contributions"] for r in c["refs"]}
    assert any(c["modifiers"] for c in harm["contributions"])
    assert harm["held_elsewhere"] is None


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.DESIGNATED_LEAD])
def test_partner_agency_roles_at_the_front_door_agency_see_only_its_entries(
    app_client: TestClient, db_session: Session, role: Role
) -> None:
    _school, child = _child(db_session)
    csc = _csc_holds_the_child(db_session, child)
    authorise_client(app_client, db_session, role=role, agency=csc)
    public_id = child.public_id
    body = app_client.get(f"/api/v1/children/{public_id}/chronology").json()
    assert body["entries"] == []
    assert body["held_elsewhere"]["entries"] == 4 and body["held_elsewhere"]["agencies"] == 2
    harm = app_client.get(f"/api/v1/children/{public_id}/harm?as_of={AS_OF}").json()
    assert harm["contributions"] == [] and harm["agencies"] == []
    assert harm["score"] > 0  # the score rests on the whole record
    assert harm["held_elsewhere"]["entries"] == 4


def test_the_score_is_the_same_whoever_reads_it(
    app_client: TestClient, db_session: Session
) -> None:
    school, child = _child(db_session)
    csc = _csc_holds_the_child(db_session, child)
    public_id = child.public_id
    authorise_client(app_client, db_session, agency=school)
    partial = app_client.get(f"/api/v1/children/{public_id}/harm?as_of={AS_OF}").json()
    authorise_client(app_client, db_session, role=Role.FRONT_DOOR, agency=csc)
    pooled = app_client.get(f"/api/v1/children/{public_id}/harm?as_of={AS_OF}").json()
    assert partial["score"] == pooled["score"]
    assert len(partial["contributions"]) < len(pooled["contributions"]) or (
        sum(len(c["refs"]) for c in partial["contributions"])
        < sum(len(c["refs"]) for c in pooled["contributions"])
    )


def test_break_glass_opens_the_pooled_view_for_its_duration(
    app_client: TestClient, db_session: Session
) -> None:
    _school, child = _child(db_session)
    gp = make.agency(db_session, "gp-glass", AgencyKind.GP)
    authorise_client(app_client, db_session, agency=gp)
    public_id = child.public_id
    assert app_client.get(f"/api/v1/children/{public_id}/chronology").status_code == 404
    granted = app_client.post(
        "/api/v1/break-glass",
        json={
            "person_id": public_id,
            "reason": "Child brought to out-of-hours clinic with injuries, school closed",
            "minutes": 30,
        },
    )
    assert granted.status_code == 201, granted.text
    body = app_client.get(f"/api/v1/children/{public_id}/chronology").json()
    assert len(body["entries"]) == 4 and body["held_elsewhere"] is None
    harm = app_client.get(f"/api/v1/children/{public_id}/harm?as_of={AS_OF}").json()
    assert harm["agencies"] == ["police-api", "school-api"] and harm["held_elsewhere"] is None


def test_alert_workflow_over_http(app_client: TestClient, db_session: Session) -> None:
    school, child = _child(db_session)
    # The front door that holds the child's record gets the alert and decides on it.
    csc = _csc_holds_the_child(db_session, child)
    service.record_alerts(
        db_session=db_session,
        scorer=_scorer(db_session),
        result=service.score_population(
            db_session=db_session, scorer=_scorer(db_session), as_of=AS_OF
        ),
    )
    authorise_client(app_client, db_session, agency=school)
    listed = app_client.get("/api/v1/alerts?status=new").json()
    mine = [a for a in listed if a["person_id"] == child.id]
    assert mine and all(a["evidence"]["event_ids"] for a in mine)
    police_event = _police_event_id(db_session)
    stored = db_session.scalars(select(HarmAlert).where(HarmAlert.person_id == child.id)).all()
    assert any(police_event in a.evidence["event_ids"] for a in stored)
    assert all(police_event not in a["evidence"]["event_ids"] for a in mine)
    alert_id = mine[0]["public_id"]
    authorise_client(app_client, db_session, role=Role.FRONT_DOOR, agency=csc)
    early = app_client.post(f"/api/v1/alerts/{alert_id}/close", json={"outcome": "done"})
    assert early.status_code == 409
    ack = app_client.post(
        f"/api/v1/alerts/{alert_id}/acknowledge",
        json={"decision": "Shared with the school nurse; strategy discussion"},
    )
    assert ack.status_code == 200, ack.text
    assert ack.json()["status"] == "acknowledged"
    closed = app_client.post(
        f"/api/v1/alerts/{alert_id}/close", json={"outcome": "Early help plan"}
    )
    assert closed.json()["status"] == "closed"


def test_no_need_to_know_means_not_found(app_client: TestClient, db_session: Session) -> None:
    _school, child = _child(db_session)
    elsewhere = make.agency(db_session, "gp-elsewhere", AgencyKind.GP)
    authorise_client(app_client, db_session, agency=elsewhere)
    public_id = child.public_id
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
        (partner, "partner", None, None),
    )
    make.event(db_session, police, "px-1", dt.date(2025, 2, 1), "DOM-ABU",
               [("PX", ParticipantRole.ALLEGED_PERPETRATOR)], summary="Call-out")  # fmt: skip
    authorise_client(app_client, db_session, agency=school)
    response = app_client.get(f"/api/v1/households/{home.public_id}/chronology")
    assert response.status_code == 200, response.text
    about = {e["about_person_id"] for e in response.json()["entries"]}
    assert about == {child.id}
    missing = app_client.get("/api/v1/households/00000000-0000-0000-0000-000000000000/chronology")
    assert missing.status_code == 404


def test_household_chronology_reads_are_audited(
    app_client: TestClient, db_session: Session
) -> None:
    from sqlalchemy import func, select

    from fullpicture.access.models import AuditEntry

    school, child = _child(db_session)
    home = make.household(db_session, (child, "child", None, None))
    authorise_client(app_client, db_session, agency=school)
    before = db_session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.person_id == child.id)
    )
    assert app_client.get(f"/api/v1/households/{home.public_id}/chronology").status_code == 200
    after = db_session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.person_id == child.id)
    )
    assert after == (before or 0) + 1


def test_the_front_door_sees_every_agencys_alert_evidence(
    app_client: TestClient, db_session: Session
) -> None:
    _school, child = _child(db_session)
    csc = _csc_holds_the_child(db_session, child)
    service.record_alerts(
        db_session=db_session,
        scorer=_scorer(db_session),
        result=service.score_population(
            db_session=db_session, scorer=_scorer(db_session), as_of=AS_OF
        ),
    )
    authorise_client(app_client, db_session, role=Role.FRONT_DOOR, agency=csc)
    listed = app_client.get("/api/v1/alerts").json()
    evidence = {i for a in listed if a["person_id"] == child.id for i in a["evidence"]["event_ids"]}
    assert _police_event_id(db_session) in evidence
    # An alert names its child the way the child routes take it, so a client can follow it.
    followed = {a["person_public_id"] for a in listed if a["person_id"] == child.id}
    assert followed == {child.public_id}
    assert app_client.get(f"/api/v1/children/{child.public_id}/harm").status_code == 200


def test_household_adults_entries_follow_the_childs_picture(
    app_client: TestClient, db_session: Session
) -> None:
    school, child = _child(db_session)
    csc = _csc_holds_the_child(db_session, child)
    police = make.agency(db_session, "police-adults", AgencyKind.POLICE)
    partner = make.person(db_session, (police, "PX"))
    make.household(db_session, (child, "child", None, None), (partner, "partner", None, None))
    make.event(db_session, police, "px-1", dt.date(2025, 2, 1), "DOM-ABU",
               [("PX", ParticipantRole.ALLEGED_PERPETRATOR)], summary="Call-out")  # fmt: skip
    public_id = child.public_id

    authorise_client(app_client, db_session, role=Role.FRONT_DOOR, agency=csc)
    pooled = app_client.get(f"/api/v1/children/{public_id}/chronology").json()
    assert "household member (partner)" in {e["about"] for e in pooled["entries"]}

    authorise_client(app_client, db_session, agency=school)
    partial = app_client.get(f"/api/v1/children/{public_id}/chronology").json()
    assert {e["about"] for e in partial["entries"]} == {"child"}
    assert partial["held_elsewhere"]["entries"] == 2  # the police injury and the call-out
    assert partial["held_elsewhere"]["agencies"] == 2


def test_the_csv_export_counts_what_is_held_elsewhere_on_a_comment_line(
    app_client: TestClient, db_session: Session
) -> None:
    school, child = _child(db_session)
    csc = _csc_holds_the_child(db_session, child)
    authorise_client(app_client, db_session, agency=school)
    url = f"/api/v1/children/{child.public_id}/chronology?format=csv"
    response = app_client.get(url)
    assert response.status_code == 200, response.text
    lines = response.text.split("\r\n")
    assert lines[-1] == ""  # every line, the comment too, ends with CRLF
    *entry_lines, comment = lines[:-1]
    assert comment.startswith(f"{HELD_ELSEWHERE_MARKER} entries=1 agencies=1: ")
    assert "1 further entry held by 1 other agency" in comment
    assert "Bruise seen by officers" not in response.text
    rows = list(csv.reader(io.StringIO("\r\n".join(entry_lines))))
    assert rows[0] == list(CSV_COLUMNS) and len(rows) == 1 + 3
    assert not any(line.startswith("#") for line in entry_lines)
    # The pooled view withholds nothing, so there is no comment line.
    authorise_client(app_client, db_session, role=Role.FRONT_DOOR, agency=csc)
    pooled = app_client.get(url).text
    assert "#" not in pooled and len(pooled.strip().split("\r\n")) == 1 + 4


def test_a_cell_holding_a_hash_is_quoted_so_comment_aware_readers_keep_it(
    db_session: Session,
) -> None:
    school, child = _child(db_session)
    make.event(db_session, school, "s-hash", dt.date(2025, 4, 1), "PHY-INJ",
               [("S1", ParticipantRole.SUBJECT)], summary="Seen in room #4")  # fmt: skip
    text = chronology_csv(
        child_chronology(
            db_session=db_session,
            person_id=child.id,
            model=default_harm_model(),
            viewer=Viewer(
                access_service.system_principal(
                    db_session=db_session, job="csv test", operator="test"
                ),
                utc_now(),
            ),
        )
    )
    assert '"Seen in room #4"' in text
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[2] for r in rows if "room" in r[2]] == ["Seen in room #4"]


#: Summaries a spreadsheet would run as formulas (OWASP CSV Injection), as stored.
FORMULAS = ("=1+1", '=HYPERLINK("http://x.example/?"&A1)', "+1", "-1+1", "@SUM(1)", "\t=1+1")


def test_the_chronology_csv_never_hands_a_spreadsheet_a_formula(
    app_client: TestClient, db_session: Session
) -> None:
    # Issue 12 finding 7: cells starting =, +, -, @, tab or CR were written raw.
    school, child = _child(db_session)
    for number, summary in enumerate(FORMULAS):
        make.event(db_session, school, f"s-f{number}", dt.date(2025, 4, 1), "PHY-INJ",
                   [("S1", ParticipantRole.SUBJECT)], summary=summary)  # fmt: skip
    authorise_client(app_client, db_session, agency=school)
    response = app_client.get(f"/api/v1/children/{child.public_id}/chronology?format=csv")
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.text, newline="")))
    rows = [row for row in rows if not row[0].startswith(HELD_ELSEWHERE_MARKER)]
    summaries = {row[2] for row in rows[1:]}
    assert {f"'{summary}" for summary in FORMULAS} <= summaries
    for summary in FORMULAS:
        quoted = '"' + f"'{summary}".replace('"', '""') + '"'
        assert quoted in response.text  # neutralised and quoted, as OWASP advises
    assert not any(cell[:1] in set("=+-@\t\r") for row in rows for cell in row)


def test_the_harm_explanation_says_how_each_entry_was_read_to_those_who_may_see_it(
    app_client: TestClient, db_session: Session
) -> None:
    school, child = _child(db_session)
    police = db_session.scalar(select(Agency).where(Agency.code == "police-api"))
    assert police is not None
    make.event(
        db_session,
        school,
        "s-report",
        dt.date(2025, 4, 1),
        "EDU-ATT",
        [("S1", ParticipantRole.SUBJECT)],
        summary="Year 4 report: attendance 97%.",
    )
    make.event(
        db_session,
        police,
        "p-2",
        dt.date(2025, 4, 2),
        "PHY-INJ",
        [("P1", ParticipantRole.VICTIM)],
        summary="Collision at football, coach witnessed; fell on the arm.",
    )
    url = f"/api/v1/children/{child.public_id}/harm?as_of={AS_OF}"

    authorise_client(app_client, db_session, agency=school)
    body = app_client.get(url).json()
    read = {r["rule"]: r for r in body["entries_read"]}
    assert read["persistent_absence"]["scored_as"] is None
    assert read["persistent_absence"]["words"] == ["attendance 97%"]
    assert "accidental_injury" not in read  # the police entry is not the school's to see
    assert "coach witnessed" not in json.dumps(body)

    authorise_client(app_client, db_session, role=Role.FRONT_DOOR, agency=police)
    police_view = app_client.get(url).json()
    police_read = {r["rule"]: r for r in police_view["entries_read"]}
    assert police_read["accidental_injury"]["severity"] == 1
    assert "persistent_absence" in police_read  # the front door sees every agency's entries

    authorise_client(
        app_client, db_session, agency=school, scopes=frozenset({Scope.REFERRALS_WRITE})
    )
    assert app_client.get(url).status_code == 403
