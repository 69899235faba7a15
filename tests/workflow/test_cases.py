"""Cases: lead practitioner and level of need with history and reasons, dated steps with due
and overdue computed when read, ownership flags, and involvement through a case (both backends)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access import repository as access_repository
from fullpicture.access.models import AuditEntry, Role
from fullpicture.core.database import utc_now
from fullpicture.workflow import service
from fullpicture.workflow.models import Case, CaseKind
from fullpicture.workflow.schemas import (
    CaseClose,
    CaseOpen,
    LeadChange,
    LeadIn,
    LevelChange,
    StepIn,
)
from fullpicture.workflow.timescales import StepStatus
from tests.access.principals import make_agency, make_user, subject_of
from tests.workflow.world import World, build

TODAY = dt.date.today()


def _open(db_session: Session, world: World, *, lead: bool = True) -> Case:
    return service.open_case(
        db_session=db_session,
        subject=subject_of(world.social_worker),
        person_public_id=world.child.public_id,
        case_in=CaseOpen(
            kind=CaseKind.CHILD_PROTECTION,
            opened_on=TODAY - dt.timedelta(days=60),
            level_of_need=4,
            level_reason="s47 enquiry: injury and domestic abuse",
            lead=LeadIn(username=world.social_worker.username) if lead else None,
            lead_reason="allocated social worker" if lead else None,
        ),
    )


def test_lead_and_level_keep_their_history_and_reasons(db_session: Session) -> None:
    world = build(db_session)
    case = _open(db_session, world)
    sw = subject_of(world.social_worker)
    service.change_level(
        db_session=db_session,
        subject=sw,
        case_public_id=case.public_id,
        change=LevelChange(level=3, reason="plan ended; stepped down to early help"),
    )
    service.change_lead(
        db_session=db_session,
        subject=sw,
        case_public_id=case.public_id,
        change=LeadChange(
            lead=LeadIn(name="Ms Head", agency_code=world.school.code),
            reason="the school knows the family best",
        ),
    )
    read = service.to_read(db_session, case)
    assert [(c.level, c.reason) for c in read.level_history] == [
        (4, "s47 enquiry: injury and domestic abuse"),
        (3, "plan ended; stepped down to early help"),
    ]
    assert read.level_of_need is not None and read.level_of_need.label.startswith("Targeted")
    assert [(lead.name, lead.agency_code) for lead in read.lead_history] == [
        ("Test User", world.csc.code),
        ("Ms Head", world.school.code),
    ]
    assert read.lead is not None and read.lead.reason == "the school knows the family best"
    actions = list(
        db_session.scalars(
            select(AuditEntry.action).where(AuditEntry.target == f"case:{case.public_id}")
        )
    )
    assert actions == ["case.open", "case.level", "case.lead"]


def test_overdue_is_computed_from_the_steps_never_stored(db_session: Session) -> None:
    world = build(db_session)
    case = _open(db_session, world)
    sw = subject_of(world.social_worker)
    service.record_step(
        db_session=db_session,
        subject=sw,
        case_public_id=case.public_id,
        step_in=StepIn(kind="strategy_discussion", occurred_on=TODAY - dt.timedelta(days=50)),
    )
    read = service.to_read(db_session, case)
    icpc = next(c for c in read.clocks if c.timescale == "icpc")
    assert icpc.status is StepStatus.OVERDUE
    assert any("overdue" in flag for flag in read.flags)
    # Read "as of" the day after the discussion: not yet overdue; nothing was stored.
    early = service.to_read(db_session, case, today=TODAY - dt.timedelta(days=49))
    assert next(c for c in early.clocks if c.timescale == "icpc").status is StepStatus.DUE
    service.record_step(
        db_session=db_session,
        subject=sw,
        case_public_id=case.public_id,
        step_in=StepIn(kind="icpc", occurred_on=TODAY - dt.timedelta(days=10)),
    )
    read = service.to_read(db_session, case)
    assert next(c for c in read.clocks if c.timescale == "icpc").status is StepStatus.MET_LATE


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (StepIn(kind="tea_party", occurred_on=TODAY), "is not a step"),
        (StepIn(kind="icpc", occurred_on=TODAY + dt.timedelta(days=1)), "not on a day to come"),
        (StepIn(kind="icpc", occurred_on=TODAY - dt.timedelta(days=400)), "cannot come before"),
    ],
)
def test_a_step_that_cannot_be_is_refused(db_session: Session, step: StepIn, message: str) -> None:
    world = build(db_session)
    case = _open(db_session, world)
    with pytest.raises(service.CaseRefused, match=message):
        service.record_step(
            db_session=db_session,
            subject=subject_of(world.social_worker),
            case_public_id=case.public_id,
            step_in=step,
        )


def test_ownership_flags(db_session: Session) -> None:
    world = build(db_session)
    sw = subject_of(world.social_worker)
    flags = service.ownership_flags(db_session=db_session, subject=sw)
    assert [(f.kind, f.child_id) for f in flags] == [("child_without_case", world.child.public_id)]
    assert flags[0].evidence["agencies_with_concerns"] == 2
    case = _open(db_session, world, lead=False)
    flags = service.ownership_flags(db_session=db_session, subject=sw)
    assert [(f.kind, f.case_id) for f in flags] == [("case_without_lead", case.public_id)]
    service.change_lead(
        db_session=db_session,
        subject=sw,
        case_public_id=case.public_id,
        change=LeadChange(lead=LeadIn(username=world.social_worker.username), reason="allocated"),
    )
    assert service.ownership_flags(db_session=db_session, subject=sw) == []
    # Someone who may not see the child sees no flag about it.
    stranger = make_user(db_session, role=Role.SOCIAL_WORKER, agency=make_agency(db_session))
    service.close_case(
        db_session=db_session,
        subject=sw,
        case_public_id=case.public_id,
        close=CaseClose(reason="no further action"),
    )
    assert service.ownership_flags(db_session=db_session, subject=subject_of(stranger)) == []


def test_leading_an_open_case_makes_an_agency_involved(db_session: Session) -> None:
    world = build(db_session)
    early_help = make_agency(db_session, "early-help-wf")
    worker = make_user(db_session, role=Role.PRACTITIONER, agency=early_help)
    subject = subject_of(worker)
    assert not access_repository.can_read_person(
        db_session, subject=subject, person_id=world.child.id, now=utc_now()
    )
    case = _open(db_session, world)
    service.change_lead(
        db_session=db_session,
        subject=subject_of(world.social_worker),
        case_public_id=case.public_id,
        change=LeadChange(lead=LeadIn(username=worker.username), reason="family support"),
    )
    assert access_repository.can_read_person(
        db_session, subject=subject, person_id=world.child.id, now=utc_now()
    )
    service.close_case(
        db_session=db_session,
        subject=subject_of(world.social_worker),
        case_public_id=case.public_id,
        close=CaseClose(reason="plan outcomes met"),
    )
    assert not access_repository.can_read_person(
        db_session, subject=subject, person_id=world.child.id, now=utc_now()
    )


def test_another_agency_cannot_open_or_change_a_case(db_session: Session) -> None:
    world = build(db_session)
    case = _open(db_session, world)
    stranger = subject_of(
        make_user(db_session, role=Role.SOCIAL_WORKER, agency=make_agency(db_session))
    )
    with pytest.raises(service.CaseNotFound):
        service.record_step(
            db_session=db_session,
            subject=stranger,
            case_public_id=case.public_id,
            step_in=StepIn(kind="icpc", occurred_on=TODAY),
        )
    count = db_session.scalar(select(func.count()).select_from(Case))
    assert count == 1
