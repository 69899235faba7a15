"""Alerts from the database: batch and incremental agree, once per episode, routing, workflow."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.access.subject import SystemPrincipal
from fullpicture.agencies.models import AgencyKind
from fullpicture.chronology.models import ParticipantRole
from fullpicture.harm import service
from fullpicture.harm.models import AlertStatus
from fullpicture.people.models import Person, SourceRecord
from tests.access.principals import make_user, subject_of
from tests.chronology import factories as make

AS_OF = dt.date(2025, 6, 30)
SUBJECT = ParticipantRole.SUBJECT


def _scorer(db_session: Session) -> SystemPrincipal:
    """The audited job a test scores as (access.service.system_principal)."""
    return access_service.system_principal(db_session=db_session, job="harm test", operator="test")


def _record(db_session: Session, agency_id: int, ref: str, dob: dt.date) -> None:
    db_session.add(
        SourceRecord(
            agency_id=agency_id,
            record_ref=ref,
            content_hash=ref,
            date_of_birth=dob,
            recorded_by="test",
        )
    )
    db_session.flush()


@pytest.fixture
def baby(db_session: Session) -> dict[str, object]:
    """A baby the GP and the police both see injured, with a mother's partner unseen."""
    gp = make.agency(db_session, "gp-a", AgencyKind.GP)
    police = make.agency(db_session, "police-a", AgencyKind.POLICE)
    hv = make.agency(db_session, "hv-a", AgencyKind.HEALTH_VISITING)
    csc = make.agency(db_session, "csc-a", AgencyKind.CHILDRENS_SOCIAL_CARE, "Borough CSC")
    make.agency(db_session, "csc-b", AgencyKind.CHILDRENS_SOCIAL_CARE, "Other CSC")
    child = make.person(db_session, (gp, "G1"), (police, "P1"), (hv, "H1"), (csc, "C1"))
    partner = make.person(db_session, (police, "P7"))
    _record(db_session, gp.id, "G1", dt.date(2025, 1, 10))
    make.household(
        db_session, (child, "child", None, None), (partner, "partner", dt.date(2025, 2, 1), None)
    )
    make.event(
        db_session,
        police,
        "p-adult",
        dt.date(2025, 3, 1),
        "ADT-UNK",
        [("P7", SUBJECT)],
        summary="New partner, not known to services",
    )
    make.event(db_session, hv, "h-1", dt.date(2025, 3, 20), "WNB", [("H1", SUBJECT)])
    make.event(
        db_session,
        gp,
        "g-1",
        dt.date(2025, 4, 2),
        "PHY-INJ",
        [("G1", SUBJECT)],
        summary="Bruise on the ear",
    )
    make.event(
        db_session,
        police,
        "p-1",
        dt.date(2025, 4, 2),
        "PHY-INJ",
        [("P1", ParticipantRole.VICTIM)],
        summary="Bruise on the ear",
    )
    return {"child": child, "csc": csc}


def test_batch_alerts_have_evidence_and_match_the_incremental_path(
    db_session: Session, baby: dict[str, object]
) -> None:
    child: Person = baby["child"]  # type: ignore[assignment]
    result = service.score_population(
        db_session=db_session, scorer=_scorer(db_session), as_of=AS_OF
    )
    kinds = {(a.kind, a.day) for a in result.alerts}
    assert ("injury_non_mobile_baby", dt.date(2025, 4, 2)) in kinds
    injury = next(a for a in result.alerts if a.kind == "injury_non_mobile_baby")
    assert len(injury.evidence) == 2  # the GP's and the police's entry: one incident
    assert "immediate referral" in injury.reason

    one = service.assess_one_child(
        db_session=db_session, scorer=_scorer(db_session), person_id=child.id, as_of=AS_OF
    )
    assert {(a.kind, a.day, a.evidence) for a in one.alerts} == {
        (a.kind, a.day, a.evidence) for a in result.alerts
    }
    assert result.score_of()[child.id] == pytest.approx(one.explanation.score)
    injury_contribution = next(c for c in one.explanation.contributions if c.code == "PHY-INJ")
    assert set(injury_contribution.modifiers) == {"infant", "unseen_adult"}
    assert injury_contribution.agencies == ("gp-a", "police-a")


def test_alerts_are_stored_once_and_routed_to_the_csc_holding_the_child(
    db_session: Session, baby: dict[str, object]
) -> None:
    child: Person = baby["child"]  # type: ignore[assignment]
    result = service.score_population(
        db_session=db_session, scorer=_scorer(db_session), as_of=AS_OF
    )
    stored = service.record_alerts(db_session=db_session, scorer=_scorer(db_session), result=result)
    assert stored and all(a.status is AlertStatus.NEW for a in stored)
    assert {a.routed_to_agency_id for a in stored} == {baby["csc"].id}  # type: ignore[attr-defined]
    assert "no lead practitioner" in stored[0].routing_reason
    assert all(a.evidence["event_ids"] for a in stored)
    again = service.record_alerts(
        db_session=db_session,
        scorer=_scorer(db_session),
        result=service.score_population(
            db_session=db_session, scorer=_scorer(db_session), as_of=AS_OF
        ),
    )
    assert again == []
    assert (
        service.on_event_recorded(
            db_session=db_session, scorer=_scorer(db_session), person_id=child.id, as_of=AS_OF
        )
        == []
    )


def test_workflow_new_acknowledged_closed(db_session: Session, baby: dict[str, object]) -> None:
    result = service.score_population(
        db_session=db_session, scorer=_scorer(db_session), as_of=AS_OF
    )
    alert = service.record_alerts(db_session=db_session, scorer=_scorer(db_session), result=result)[
        0
    ]
    # Decisions are the signed-in user's, of the agency the alert is routed to.
    manager = subject_of(
        make_user(db_session, role=Role.TEAM_MANAGER, agency=baby["csc"])  # type: ignore[arg-type]
    )
    with pytest.raises(service.AlertWorkflowError, match="acknowledge"):
        service.close_alert(
            db_session=db_session, decider=manager, public_id=alert.public_id, outcome="x y z"
        )
    service.acknowledge_alert(
        db_session=db_session,
        decider=manager,
        public_id=alert.public_id,
        decision="Strategy discussion held the same day",
    )
    assert alert.status is AlertStatus.ACKNOWLEDGED and alert.decided_by == manager.actor
    with pytest.raises(service.AlertWorkflowError, match="only a new alert"):
        service.acknowledge_alert(
            db_session=db_session, decider=manager, public_id=alert.public_id, decision="again"
        )
    service.close_alert(
        db_session=db_session,
        decider=manager,
        public_id=alert.public_id,
        outcome="Child protection plan; baby seen by paediatrician",
    )
    assert alert.status is AlertStatus.CLOSED and alert.closed_at is not None
    with pytest.raises(service.AlertNotFound):
        service.open_alert(db_session=db_session, reader=manager, public_id="nope", purpose="t")


def test_without_a_csc_agency_the_alert_waits_unrouted(db_session: Session) -> None:
    gp = make.agency(db_session, "gp-z", AgencyKind.GP)
    child = make.person(db_session, (gp, "Z1"))
    routing = service.route_alert(db_session=db_session, person_id=child.id)
    assert routing.agency_id is None
    assert "unrouted" in routing.reason


def test_only_the_latest_version_of_a_corrected_entry_is_scored(db_session: Session) -> None:
    gp = make.agency(db_session, "gp-v", AgencyKind.GP)
    child = make.person(db_session, (gp, "V1"))
    _record(db_session, gp.id, "V1", dt.date(2015, 1, 1))
    make.event(db_session, gp, "v-1", dt.date(2025, 3, 1), "SEX-ABU", [("V1", SUBJECT)])
    make.event(db_session, gp, "v-1", dt.date(2025, 3, 1), "PRC-RTN", [("V1", SUBJECT)], version=2)
    one = service.assess_one_child(
        db_session=db_session, scorer=_scorer(db_session), person_id=child.id, as_of=AS_OF
    )
    assert one.alerts == () and one.explanation.score == 0
    batch = service.score_population(db_session=db_session, scorer=_scorer(db_session), as_of=AS_OF)
    assert [a for a in batch.alerts if a.child_id == child.id] == []


def test_the_database_paths_score_what_each_entry_says(db_session: Session) -> None:
    """Batch and incremental read each entry's words (harm_model.yaml entry_reading) alike."""
    school = make.agency(db_session, "school-r", AgencyKind.SCHOOL)
    hospital = make.agency(db_session, "hosp-r", AgencyKind.HOSPITAL)
    child = make.person(db_session, (school, "S1"), (hospital, "A1"))
    _record(db_session, school.id, "S1", dt.date(2015, 5, 1))
    entries = [
        (school, "S1", "s-1", dt.date(2024, 7, 16), "EDU-ATT", "Year 3 report: attendance 97%."),
        (hospital, "A1", "a-1", dt.date(2024, 9, 27), "PHY-INJ",
         "ED: fell from trampoline, dad witnessed, brought straight in. Fracture R arm."),
        (hospital, "A1", "a-2", dt.date(2024, 10, 4), "PHY-INJ", "Fracture clinic: position held."),
        (hospital, "A1", "a-3", dt.date(2024, 10, 25), "PHY-INJ", "Fracture clinic: healing well."),
        (school, "S1", "s-2", dt.date(2025, 1, 10), "NEG-BAS", "Hungry again, no breakfast."),
    ]  # fmt: skip
    for agency, record, ref, day, code, summary in entries:
        make.event(db_session, agency, ref, day, code, [(record, SUBJECT)], summary=summary)

    one = service.assess_one_child(
        db_session=db_session, scorer=_scorer(db_session), person_id=child.id, as_of=AS_OF
    )
    scored = {(c.code, c.day, c.severity) for c in one.explanation.contributions}
    # The 97 % report is not persistent absence; the two clinic visits follow the fracture,
    # which was an explained accident of a 9-year-old (severity 1); the hunger stands.
    assert scored == {("PHY-INJ", dt.date(2024, 9, 27), 1), ("NEG-BAS", dt.date(2025, 1, 10), 3)}
    assert not one.alerts  # no "minor injury cluster", no "absence with another concern"

    batch = service.score_population(db_session=db_session, scorer=_scorer(db_session), as_of=AS_OF)
    assert batch.score_of()[child.id] == pytest.approx(one.explanation.score)
    assert not [a for a in batch.alerts if a.child_id == child.id]
