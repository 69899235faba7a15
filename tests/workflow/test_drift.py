"""Each drift rule, on both backends, as of a fixed day (no clock is read)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.people.models import SourceRecord
from fullpicture.workflow import drift, service
from fullpicture.workflow.models import Case, CaseKind
from fullpicture.workflow.schemas import CaseOpen, LeadChange, LeadIn, StepIn
from tests.access.principals import authorise_client, make_agency, make_event, subject_of
from tests.workflow.world import World, build

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=UTC)  # a Friday


def _case(db_session: Session, world: World, *, opened: dt.date, review_by: dt.date) -> Case:
    return service.open_case(
        db_session=db_session,
        subject=subject_of(world.social_worker),
        person_public_id=world.child.public_id,
        case_in=CaseOpen(
            kind=CaseKind.CHILD_PROTECTION,
            opened_on=opened,
            level_of_need=4,
            level_reason="s47",
            lead=LeadIn(username=world.social_worker.username),
            lead_reason="allocated",
            review_by=review_by,
        ),
        now=NOW,
    )


def _kinds(
    db_session: Session, world: World, now: dt.datetime = NOW
) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {}
    for finding in drift.drift_findings(
        db_session=db_session, subject=subject_of(world.social_worker), now=now
    ):
        assert finding.child_id == world.child.public_id
        found.setdefault(finding.kind, []).append(finding.evidence)
    return found


def test_overdue_steps_no_contact_and_a_plan_past_review(db_session: Session) -> None:
    world = build(db_session)
    case = _case(db_session, world, opened=dt.date(2026, 10, 1), review_by=dt.date(2026, 12, 1))
    service.record_step(
        db_session=db_session,
        subject=subject_of(world.social_worker),
        case_public_id=case.public_id,
        step_in=StepIn(kind="strategy_discussion", occurred_on=dt.date(2026, 10, 1)),
        now=NOW,
    )
    found = _kinds(db_session, world)
    assert [e["timescale"] for e in found["overdue_step"]] == ["icpc"]
    assert found["no_contact"] == [{"last_contact": None, "opened_on": "2026-10-01"}]
    assert found["plan_past_review"] == [{"review_by": "2026-12-01"}]
    service.record_step(
        db_session=db_session,
        subject=subject_of(world.social_worker),
        case_public_id=case.public_id,
        step_in=StepIn(kind="contact_with_child", occurred_on=dt.date(2026, 11, 30)),
        now=NOW,
    )
    assert "no_contact" not in _kinds(db_session, world)
    # 29 days after that visit the standard (28 days) is broken again.
    assert "no_contact" in _kinds(db_session, world, NOW + dt.timedelta(days=25))


def _alert(
    db_session: Session,
    world: World,
    raised_on: dt.date,
    *,
    shown_at: dt.datetime | None = None,
) -> HarmAlert:
    """An alert whose score crossed on ``raised_on``, put before people at ``shown_at`` (by
    default that morning; an import of old history shows it later)."""
    alert = HarmAlert(
        created_at=shown_at or dt.datetime.combine(raised_on, dt.time(9), tzinfo=UTC),
        person_id=world.child.id,
        kind="minor_injury_cluster",
        raised_on=raised_on,
        score=9.0,
        reason="three injuries",
        evidence={"event_ids": []},
        model_version="t",
        status=AlertStatus.NEW,
        routed_to_agency_id=world.csc.id,
        routing_reason="csc holds",
    )
    db_session.add(alert)
    db_session.flush()
    return alert


def test_an_alert_not_acknowledged_within_a_working_day(db_session: Session) -> None:
    world = build(db_session)
    _alert(db_session, world, dt.date(2026, 12, 3))  # Thursday: due Friday 4th
    assert "alert_unacknowledged" not in _kinds(db_session, world)
    alert = _alert(db_session, world, dt.date(2026, 12, 2))  # due Thursday 3rd
    found = _kinds(db_session, world)
    assert [e["alert_id"] for e in found["alert_unacknowledged"]] == [alert.public_id]
    alert.status = AlertStatus.ACKNOWLEDGED
    db_session.flush()
    assert "alert_unacknowledged" not in _kinds(db_session, world)


def test_an_alert_on_old_history_is_due_from_the_day_it_was_first_shown(
    db_session: Session,
) -> None:
    """A first import of six years' history raises alerts on 2021 episodes: they could not have
    been acknowledged in 2021, so they are not "1,800 days overdue" the morning after."""
    world = build(db_session)
    old = _alert(
        db_session,
        world,
        dt.date(2021, 2, 9),
        shown_at=dt.datetime(2026, 12, 3, 15, 0, tzinfo=UTC),  # Thursday: due Friday 4th
    )
    assert drift.acknowledgement_due(old, drift.drift_rules()) == dt.date(2026, 12, 4)
    assert "alert_unacknowledged" not in _kinds(db_session, world)
    # Shown on the Wednesday: overdue on Friday; the message dates read as the pages do.
    old.created_at = dt.datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    db_session.flush()
    findings = [
        f
        for f in drift.drift_findings(
            db_session=db_session, subject=subject_of(world.social_worker), now=NOW
        )
        if f.kind == "alert_unacknowledged"
    ]
    assert [f.message for f in findings] == [
        "An alert raised on 9 February 2021 was not acknowledged by 3 December 2026."
    ]
    # 23:30 UTC on a summer Sunday is already Monday in England.
    late = _alert(
        db_session,
        world,
        dt.date(2026, 6, 7),
        shown_at=dt.datetime(2026, 6, 7, 23, 30, tzinfo=UTC),
    )
    assert drift.acknowledgement_due(late, drift.drift_rules()) == dt.date(2026, 6, 9)


def test_three_no_further_action_closures_in_twelve_months_are_a_pattern(
    db_session: Session,
) -> None:
    world = build(db_session)
    record = db_session.scalars(
        select(SourceRecord).where(SourceRecord.agency_id == world.csc.id)
    ).one()
    for day in (dt.date(2026, 1, 10), dt.date(2026, 5, 2)):
        make_event(db_session, record=record, concern_code="PRC-NFA", event_date=day)
    make_event(db_session, record=record, concern_code="PRC-NFA", event_date=dt.date(2025, 11, 1))
    assert "repeated_nfa" not in _kinds(db_session, world)  # the 2025 one is outside the window
    make_event(db_session, record=record, concern_code="PRC-NFA", event_date=dt.date(2026, 11, 20))
    found = _kinds(db_session, world)
    assert found["repeated_nfa"] == [{"closed_on": ["2026-01-10", "2026-05-02", "2026-11-20"]}]
    # The school cannot see children's social care's entries: no pattern is shown to it.
    school_view = drift.drift_findings(
        db_session=db_session, subject=subject_of(world.teacher), now=NOW
    )
    assert [f.kind for f in school_view] == []


def test_the_route_shows_only_children_the_reader_may_see(
    app_client: TestClient, db_session: Session
) -> None:
    world = build(db_session, "-drift")
    _alert(db_session, world, dt.date(2026, 1, 5))
    authorise_client(app_client, db_session, role=Role.SOCIAL_WORKER, agency=world.csc)
    assert [f["kind"] for f in app_client.get("/api/v1/workflow/drift").json()] == [
        "alert_unacknowledged"
    ]
    authorise_client(
        app_client, db_session, role=Role.SOCIAL_WORKER, agency=make_agency(db_session)
    )
    assert app_client.get("/api/v1/workflow/drift").json() == []
    authorise_client(app_client, db_session, role=Role.AUDITOR)
    assert app_client.get("/api/v1/workflow/drift").status_code == 403


def test_what_is_overdue_in_my_care_is_only_my_cases_and_alerts_routed_to_my_agency(
    db_session: Session,
) -> None:
    """The home page's list: the school may see the child (and drift_findings shows it the
    case's drift), but the case is children's social care's, so nothing is overdue for it."""
    world = build(db_session)
    case = _case(db_session, world, opened=dt.date(2026, 10, 1), review_by=dt.date(2026, 12, 1))
    service.record_step(
        db_session=db_session,
        subject=subject_of(world.social_worker),
        case_public_id=case.public_id,
        step_in=StepIn(kind="strategy_discussion", occurred_on=dt.date(2026, 10, 1)),
        now=NOW,
    )
    alert = _alert(db_session, world, dt.date(2026, 12, 2))  # routed to csc, due Thursday 3rd
    _alert(db_session, world, dt.date(2026, 12, 3))  # due today: not yet overdue

    mine = drift.drift_in_my_care(
        db_session=db_session, subject=subject_of(world.social_worker), now=NOW
    )
    assert [(d.finding.kind, d.due_on) for d in mine] == [
        ("overdue_step", dt.date(2026, 10, 22)),  # the conference: 15 working days on
        ("no_contact", dt.date(2026, 10, 29)),  # 28 days after opening
        ("plan_past_review", dt.date(2026, 12, 1)),
        ("alert_unacknowledged", dt.date(2026, 12, 3)),
    ]
    assert {d.person_id for d in mine} == {world.child.id}
    assert mine[-1].finding.evidence["alert_id"] == alert.public_id

    school_sees = drift.drift_findings(
        db_session=db_session, subject=subject_of(world.teacher), now=NOW
    )
    assert "overdue_step" in {f.kind for f in school_sees}
    assert (
        drift.drift_in_my_care(db_session=db_session, subject=subject_of(world.teacher), now=NOW)
        == []
    )

    # Naming a school practitioner as the lead makes the case's drift theirs too.
    service.change_lead(
        db_session=db_session,
        subject=subject_of(world.social_worker),
        case_public_id=case.public_id,
        change=LeadChange(
            lead=LeadIn(username=world.teacher.username), reason="the school leads the plan"
        ),
        now=NOW,
    )
    school_mine = drift.drift_in_my_care(
        db_session=db_session, subject=subject_of(world.teacher), now=NOW
    )
    assert {d.finding.kind for d in school_mine} == {
        "overdue_step",
        "no_contact",
        "plan_past_review",
    }
    assert (
        drift.drift_in_my_care(db_session=db_session, subject=subject_of(world.officer), now=NOW)
        == []
    )
