"""Alerts tell a reader only what they may know, and only the agency an alert is routed to
decides on it, as the signed-in user (issue 12, findings 2 and 12)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.harm import service as harm_service
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.people.models import Person
from tests.access.principals import authorise_client, link_record, make_agency, make_event

REASON = "missing episodes together with signs of exploitation"


def _child_with_alert(db_session: Session) -> tuple[dict[str, Agency], Person, HarmAlert]:
    agencies = {
        "gp": make_agency(db_session, "gp-disclose", AgencyKind.GP),
        "police": make_agency(db_session, "police-disclose", AgencyKind.POLICE),
        "csc": make_agency(db_session, "csc-disclose", AgencyKind.CHILDRENS_SOCIAL_CARE),
    }
    child = Person()
    db_session.add(child)
    db_session.flush()
    records = {k: link_record(db_session, person=child, agency=a) for k, a in agencies.items()}
    gp_event = make_event(db_session, record=records["gp"], summary="missed appointment",
                          concern_code="WNB")  # fmt: skip
    police_event = make_event(db_session, record=records["police"], summary="missing overnight",
                              concern_code="EXP-CSE")  # fmt: skip
    alert = HarmAlert(
        person_id=child.id,
        kind="missing_with_exploitation",
        raised_on=dt.date(2026, 1, 6),
        score=42.0,
        reason=REASON,
        evidence={"event_ids": [gp_event.id, police_event.id]},
        model_version="test",
        status=AlertStatus.NEW,
        routed_to_agency_id=agencies["csc"].id,
        routing_reason="sent to the front door of Agency csc-disclose, which holds the record",
    )
    db_session.add(alert)
    db_session.flush()
    return agencies, child, alert


def test_a_reader_without_the_pooled_view_is_told_an_alert_exists_but_not_what_others_hold(
    app_client: TestClient, db_session: Session
) -> None:
    agencies, _child, alert = _child_with_alert(db_session)
    authorise_client(app_client, db_session, agency=agencies["gp"])
    response = app_client.get("/api/v1/alerts")
    assert response.status_code == 200, response.text
    [shown] = [a for a in response.json() if a["public_id"] == alert.public_id]
    assert shown["kind"] == "withheld" and REASON not in response.text
    assert "exploitation" not in response.text
    assert shown["withheld"]["entries"] == 1 and shown["withheld"]["agencies"] == 1
    assert "csc-disclose" not in response.text and shown["routed_to_agency_id"] is None
    assert len(shown["evidence"]["event_ids"]) == 1

    authorise_client(app_client, db_session, role=Role.FRONT_DOOR, agency=agencies["csc"])
    [whole] = [
        a for a in app_client.get("/api/v1/alerts").json() if a["public_id"] == alert.public_id
    ]
    assert whole["kind"] == "missing_with_exploitation" and whole["reason"] == REASON
    assert whole["routed_to_agency_id"] == agencies["csc"].id and whole["withheld"] is None
    assert len(whole["evidence"]["event_ids"]) == 2


@pytest.mark.parametrize("step", ["acknowledge", "close"])
def test_a_body_naming_who_decided_is_refused(
    app_client: TestClient, db_session: Session, step: str
) -> None:
    agencies, _child, alert = _child_with_alert(db_session)
    authorise_client(app_client, db_session, role=Role.FRONT_DOOR, agency=agencies["csc"])
    field = "decision" if step == "acknowledge" else "outcome"
    for name in ("by", "decided_by", "closed_by"):
        response = app_client.post(
            f"/api/v1/alerts/{alert.public_id}/{step}",
            json={field: "Strategy discussion held", name: "Jane Smith, CSC Team Manager"},
        )
        assert response.status_code == 422, response.text
        assert name in response.text
    db_session.refresh(alert)
    assert alert.status is AlertStatus.NEW and alert.decided_by is None


def test_only_the_agency_the_alert_is_routed_to_decides_and_as_the_signed_in_user(
    app_client: TestClient, db_session: Session
) -> None:
    agencies, _child, alert = _child_with_alert(db_session)
    authorise_client(app_client, db_session, agency=agencies["police"])
    refused = app_client.post(
        f"/api/v1/alerts/{alert.public_id}/acknowledge", json={"decision": "Case can close"}
    )
    assert refused.status_code == 403, refused.text
    assert "routed to another agency" in refused.json()["detail"]
    db_session.refresh(alert)
    assert alert.status is AlertStatus.NEW

    worker = authorise_client(app_client, db_session, role=Role.FRONT_DOOR, agency=agencies["csc"])
    done = app_client.post(
        f"/api/v1/alerts/{alert.public_id}/acknowledge", json={"decision": "Strategy discussion"}
    )
    assert done.status_code == 200, done.text
    assert done.json()["decided_by"] == f"user:{worker.username}"
    authorise_client(app_client, db_session, agency=agencies["police"])
    refused = app_client.post(f"/api/v1/alerts/{alert.public_id}/close", json={"outcome": "Closed"})
    assert refused.status_code == 403
    closer = authorise_client(
        app_client, db_session, role=Role.TEAM_MANAGER, agency=agencies["csc"]
    )
    closed = app_client.post(f"/api/v1/alerts/{alert.public_id}/close", json={"outcome": "CP plan"})
    assert closed.status_code == 200, closed.text
    db_session.refresh(alert)
    assert alert.decided_by == f"user:{worker.username}"
    assert alert.closed_by == f"user:{closer.username}"


def test_an_alert_about_a_child_one_may_not_see_is_not_found_for_a_decision(
    app_client: TestClient, db_session: Session
) -> None:
    _agencies, _child, alert = _child_with_alert(db_session)
    authorise_client(app_client, db_session, agency=make_agency(db_session, "school-nowhere"))
    response = app_client.post(
        f"/api/v1/alerts/{alert.public_id}/acknowledge", json={"decision": "Case can close"}
    )
    assert response.status_code == 404
    assert app_client.post(
        "/api/v1/alerts/no-such-alert/acknowledge", json={"decision": "Case can close"}
    ).json() == {"detail": response.json()["detail"].replace(alert.public_id, "no-such-alert")}


def test_an_alert_routed_to_a_front_door_holding_no_record_opens_the_child_to_it_alone(
    app_client: TestClient, db_session: Session
) -> None:
    """Routing falls back to a children's social care front door that holds no record of the
    child. That front door must see the child to decide (its pooled view: every agency's
    entries); a school that knows nothing of the child still sees nothing."""
    gp = make_agency(db_session, "gp-routed", AgencyKind.GP)
    school = make_agency(db_session, "school-routed", AgencyKind.SCHOOL)
    child = Person()
    db_session.add(child)
    db_session.flush()
    record = link_record(db_session, person=child, agency=gp)
    make_event(db_session, record=record, summary="bruise on the cheek", concern_code="PHY-INJ")
    make_agency(db_session, "aaa-csc-routed", AgencyKind.CHILDRENS_SOCIAL_CARE)
    other_csc = make_agency(db_session, "zzz-csc-routed", AgencyKind.CHILDRENS_SOCIAL_CARE)
    routing = harm_service.route_alert(db_session=db_session, person_id=child.id)
    front_door = db_session.get(Agency, routing.agency_id)
    assert front_door is not None and front_door.kind is AgencyKind.CHILDRENS_SOCIAL_CARE
    # Whichever front door the fallback names (another test's may sort first), it holds no
    # record of this child: before the alert it may not see them.
    authorise_client(app_client, db_session, role=Role.FRONT_DOOR, agency=front_door)
    assert app_client.get(f"/api/v1/children/{child.public_id}/chronology").status_code == 404
    alert = HarmAlert(
        person_id=child.id,
        kind="threshold",
        raised_on=dt.date(2026, 1, 6),
        score=30.0,
        reason=REASON,
        evidence={"event_ids": []},
        model_version="test",
        status=AlertStatus.NEW,
        routed_to_agency_id=routing.agency_id,
        routing_reason=routing.reason,
    )
    db_session.add(alert)
    db_session.flush()

    chronology = app_client.get(f"/api/v1/children/{child.public_id}/chronology")
    assert chronology.status_code == 200, chronology.text
    assert "bruise on the cheek" in chronology.text  # the GP's entry: the pooled view
    listed = app_client.get("/api/v1/alerts").json()
    assert alert.public_id in [a["public_id"] for a in listed]
    done = app_client.post(
        f"/api/v1/alerts/{alert.public_id}/acknowledge", json={"decision": "Strategy discussion"}
    )
    assert done.status_code == 200, done.text

    assert other_csc.id != front_door.id
    for outsider in (school, other_csc):
        authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=outsider)
        assert app_client.get(f"/api/v1/children/{child.public_id}/chronology").status_code == 404
        assert alert.public_id not in app_client.get("/api/v1/alerts").text
