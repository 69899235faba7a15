"""The partnership dashboard's figures on a known small dataset (both backends), its CSV
neutralised against formula injection, Parquet readable, and aggregates-only access."""

from __future__ import annotations

import datetime as dt
import io

import polars as pl
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.partnership import dashboard
from fullpicture.referrals.models import Referral, ReferralStatus
from fullpicture.sharing import service as sharing_service
from fullpicture.workflow import escalation, service
from fullpicture.workflow.models import CaseKind
from fullpicture.workflow.schemas import CaseOpen, EscalationRaise, StepIn
from tests.access.principals import authorise_client, subject_of
from tests.sharing.scenario import a_share
from tests.sharing.scenario import build as sharing_world
from tests.workflow.world import build as workflow_world

UTC = dt.UTC
TODAY = dt.date(2026, 12, 4)


def _dataset(db_session: Session) -> None:
    # Sharing: the school's three entries (two significant), one sent to the GP after 2 days.
    share = sharing_world(db_session, "-dash")
    first, minor, third = share.school_events
    first.date_recorded, third.date_recorded = dt.date(2026, 3, 2), dt.date(2026, 3, 10)
    minor.severity = 1
    share.police_event.severity = 2
    db_session.flush()
    sharing_service.record_decision(
        db_session=db_session,
        subject=subject_of(share.teacher),
        person_public_id=share.child.public_id,
        decision_in=a_share(
            share.gp, first.event_ref, shared_at=dt.datetime(2026, 3, 4, tzinfo=UTC)
        ),
    )
    # Workflow: a CP case with no lead and an overdue ICPC; one escalation that moved itself.
    world = workflow_world(db_session, "-dash")
    sw = subject_of(world.social_worker)
    case = service.open_case(
        db_session=db_session,
        subject=sw,
        person_public_id=world.child.public_id,
        case_in=CaseOpen(
            kind=CaseKind.CHILD_PROTECTION,
            opened_on=dt.date(2026, 10, 1),
            level_of_need=4,
            level_reason="s47",
        ),
    )
    service.record_step(
        db_session=db_session,
        subject=sw,
        case_public_id=case.public_id,
        step_in=StepIn(kind="strategy_discussion", occurred_on=dt.date(2026, 10, 1)),
    )
    escalation.raise_escalation(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
        raise_in=EscalationRaise(
            with_agency_code=world.csc.code,
            raised_with="duty SW",
            disagreement='=HYPERLINK("http://evil")',
        ),
        now=dt.datetime(2026, 11, 2, tzinfo=UTC),
    )
    escalation.escalate_unanswered(db_session=db_session, now=dt.datetime(2026, 11, 20, tzinfo=UTC))
    # Alerts: one new, one closed with its outcome.
    for kind, status, outcome in (
        ("a", AlertStatus.NEW, None),
        ("b", AlertStatus.CLOSED, "=led to a referral"),
    ):
        db_session.add(
            HarmAlert(
                person_id=world.child.id,
                kind=kind,
                raised_on=dt.date(2026, 11, 1),
                score=1.0,
                reason="r",
                evidence={"event_ids": []},
                model_version="t",
                status=status,
                routed_to_agency_id=world.csc.id,
                routing_reason="r",
                outcome=outcome,
            )
        )
    # Referral quality: two submitted referrals from the school in November.
    for r1 in ("present", "absent"):
        db_session.add(
            Referral(
                status=ReferralStatus.SUBMITTED,
                referrer_agency_id=world.school.id,
                submitted_at=dt.datetime(2026, 11, 5, tzinfo=UTC),
                created_by="test",
                check_result={"elements": {"R1": {"status": r1}, "R2": {"status": "present"}}},
            )
        )
    db_session.flush()


def test_the_figures_on_a_known_dataset(db_session: Session) -> None:
    _dataset(db_session)
    figures = dashboard.all_figures(db_session, today=TODAY)
    latency = {
        (r["from_agency"], r["to_agency"]): (
            r["significant_entries"],
            r["received"],
            r["never_shared"],
            r["median_days"],
        )
        for r in figures["sharing_latency"].to_dicts()
        if r["from_agency"] == "school-sh-dash"
    }
    assert latency == {
        ("school-sh-dash", "gp-sh-dash"): (2, 1, 1, 2.0),
        ("school-sh-dash", "police-sh-dash"): (2, 0, 2, None),
    }
    drift = {(r["finding"], r["kind"]): r["cases"] for r in figures["drift"].to_dicts()}
    assert drift == {
        ("case_without_lead", "child_protection"): 1,
        ("overdue:icpc", "child_protection"): 1,
    }
    assert figures["escalations"].to_dicts() == [
        {"stage": 2, "status": "open", "escalations": 1, "self_escalated": 1}
    ]
    assert {
        (r["status"], r["outcome"]): r["alerts"] for r in figures["alert_outcomes"].to_dicts()
    } == {("closed", "closed: no referral"): 1, ("new", "not yet acknowledged"): 1}
    # What the practitioner wrote on closing is free text about a child: never an aggregate.
    assert "=led to a referral" not in str(figures["alert_outcomes"].to_dicts())
    quality = {
        (r["element"]): (r["referrals"], r["present"], r["present_share"])
        for r in figures["referral_quality"].to_dicts()
    }
    assert quality == {"R1": (2, 1, 0.5), "R2": (2, 2, 1.0)}


def test_csv_is_neutralised_and_parquet_round_trips(db_session: Session) -> None:
    _dataset(db_session)
    frame = dashboard.figure(db_session, "alert_outcomes", today=TODAY)
    # No figure carries free text any more, so the neutralising is shown on a cell that would
    # be a formula: as_csv is what every figure's export goes through.
    text = dashboard.as_csv(pl.DataFrame({"outcome": ["=led to a referral"]}))
    assert '"\'=led to a referral"' in text and ",=led" not in text
    back = pl.read_parquet(io.BytesIO(dashboard.as_parquet(frame)))
    assert back.equals(frame)


def test_the_api_serves_analysts_only(app_client: TestClient, db_session: Session) -> None:
    _dataset(db_session)
    authorise_client(app_client, db_session, role=Role.PARTNERSHIP_ANALYST)
    body = app_client.get("/api/v1/dashboard").json()
    assert set(body) == set(dashboard.FIGURES)
    assert "Test" not in str(body)  # no names: aggregates only
    csv_response = app_client.get("/api/v1/dashboard/alert_outcomes.csv")
    assert csv_response.status_code == 200 and "led to a referral" not in csv_response.text
    assert "closed: no referral" in csv_response.text
    parquet = app_client.get("/api/v1/dashboard/sharing_latency.parquet")
    assert pl.read_parquet(io.BytesIO(parquet.content)).height >= 2
    assert app_client.get("/api/v1/dashboard/nonsense.csv").status_code == 404
    for role in (Role.PRACTITIONER, Role.SOCIAL_WORKER, Role.AUDITOR):
        authorise_client(app_client, db_session, role=role)
        assert app_client.get("/api/v1/dashboard").status_code == 403
        assert app_client.get("/api/v1/dashboard/drift.csv").status_code == 403
