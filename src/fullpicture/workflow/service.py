"""Cases: open one with its level of need and lead practitioner, change either with a reason,
record dated steps, close it; flag what nobody owns (issue 15 items 3-4).

Every write is attributed to the signed-in subject and audited; every read goes through the
access gate for the child (``access.service.open_person``), so a case is seen only by those
with a need to know the child, and an unknown case answers as an unknown child does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.models import UserAccount
from fullpicture.access.roles import Scope
from fullpicture.access.subject import AuthSubject
from fullpicture.agencies.models import Agency
from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.chronology.taxonomy import CodeKind, default_taxonomy
from fullpicture.core.database import utc_now
from fullpicture.core.rule_files import load_rules_file
from fullpicture.people.models import Person, PersonRecordLink
from fullpicture.people.repository import current_links
from fullpicture.workflow import repository
from fullpicture.workflow.models import (
    Case,
    CaseStep,
    LeadPractitionerAssignment,
    LevelOfNeedChange,
)
from fullpicture.workflow.rules import levels_of_need, timescales
from fullpicture.workflow.schemas import (
    CaseClose,
    CaseOpen,
    CaseRead,
    ClockRead,
    LeadChange,
    LeadIn,
    LeadRead,
    LevelChange,
    LevelRead,
    OwnershipFlag,
    StepIn,
    StepRead,
)
from fullpicture.workflow.timescales import DatedStep, StepStatus, steps_due
from fullpicture.workflow.working_days import add_months

NO_SUCH_CASE = "no such case, or you have no need to know about the child"


class CaseNotFound(access_service.PersonNotVisible):
    """An unknown case and one about a child the subject may not see answer alike."""


class CaseRefused(ValueError):
    """A change a user asked for that the rules do not allow; says what to fix."""


class CaseNotYours(access_service.AccessError):
    """The subject may see the case's child but works for neither the agency that opened the
    case nor the current lead's: reading it is need-to-know, changing it is the owner's."""


class OwnershipRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    class UnownedChild(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        agencies_with_concerns: int = Field(ge=2)
        within_months: int = Field(ge=1)

    version: int = Field(ge=1)
    unowned_child: UnownedChild


@lru_cache(maxsize=1)
def ownership_rules() -> OwnershipRules:
    path = Path(__file__).with_name("ownership.yaml")
    return OwnershipRules.model_validate(load_rules_file(path))


def _today(now: dt.datetime | None) -> dt.date:
    return (now or utc_now()).date()


def _audit(
    db_session: Session,
    subject: AuthSubject,
    action: str,
    case: Case,
    reason: str | None,
    detail: dict[str, Any],
) -> None:
    audit.record(
        db_session=db_session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action=action,
        person_id=case.person_id,
        target=f"case:{case.public_id}",
        reason=reason,
        detail=detail,
    )


def _resolve_lead(db_session: Session, lead: LeadIn) -> tuple[int | None, str, int]:
    """(user id, name, agency id) of the named lead; refuses what cannot be found."""
    if lead.username is not None:
        user = access_repository.user_by_username(db_session, lead.username)
        if user is None or not user.is_active:
            raise CaseRefused(f"No active user {lead.username!r} to lead the case.")
        if user.agency_id is None:
            raise CaseRefused(f"{lead.username!r} belongs to no agency; a lead works for one.")
        return user.id, lead.name or user.display_name, user.agency_id
    assert lead.name is not None and lead.agency_code is not None
    agency = db_session.scalars(select(Agency).where(Agency.code == lead.agency_code)).first()
    if agency is None:
        raise CaseRefused(f"No agency with code {lead.agency_code!r}.")
    return None, lead.name, agency.id


def open_case(
    *,
    db_session: Session,
    subject: AuthSubject,
    person_public_id: str,
    case_in: CaseOpen,
    now: dt.datetime | None = None,
) -> Case:
    person, opening_agency_id = access_service.open_person_for_agency_write(
        db_session=db_session,
        subject=subject,
        person_public_id=person_public_id,
        purpose="case",
        no_agency="a case is opened by an agency; your account has none",
        now=now,
    )
    today = _today(now)
    opened_on = case_in.opened_on or today
    if opened_on > today:
        raise CaseRefused("A case cannot be opened on a day still to come.")
    if case_in.lead is not None and not (case_in.lead_reason or "").strip():
        raise CaseRefused("Say why this lead practitioner was chosen (kept in the history).")
    case = Case(
        person_id=person.id,
        kind=case_in.kind,
        agency_id=opening_agency_id,
        opened_on=opened_on,
        review_by=case_in.review_by,
        recorded_by=subject.actor,
    )
    db_session.add(case)
    case.levels.append(
        LevelOfNeedChange(
            level=case_in.level_of_need,
            starts_on=opened_on,
            reason=case_in.level_reason,
            recorded_by=subject.actor,
        )
    )
    if case_in.lead is not None:
        user_id, name, agency_id = _resolve_lead(db_session, case_in.lead)
        case.leads.append(
            LeadPractitionerAssignment(
                user_id=user_id,
                name=name,
                agency_id=agency_id,
                starts_on=opened_on,
                reason=case_in.lead_reason or "",
                recorded_by=subject.actor,
            )
        )
    db_session.flush()
    _audit(
        db_session,
        subject,
        "case.open",
        case,
        case_in.level_reason,
        {"kind": case.kind.value, "level_of_need": case_in.level_of_need},
    )
    return case


def open_case_for(
    *,
    db_session: Session,
    subject: AuthSubject,
    case_public_id: str,
    purpose: str,
    now: dt.datetime | None = None,
) -> Case:
    """The case, if the subject may see its child (audited as a read of the child)."""
    case = repository.case_by_public_id(db_session, case_public_id)
    if case is None:
        raise CaseNotFound(NO_SUCH_CASE)
    access_service.open_person_behind(
        db_session=db_session,
        subject=subject,
        person_id=case.person_id,
        purpose=purpose,
        not_found=CaseNotFound(NO_SUCH_CASE),
        now=now,
    )
    return case


def _open_for_change(
    db_session: Session,
    subject: AuthSubject,
    case_public_id: str,
    purpose: str,
    now: dt.datetime | None,
) -> Case:
    access_service.require_scopes(subject, Scope.CHILDREN_READ, Scope.CHILDREN_WRITE)
    case = open_case_for(
        db_session=db_session,
        subject=subject,
        case_public_id=case_public_id,
        purpose=purpose,
        now=now,
    )
    # Object-level authorisation (issue 12's rule for writes): a partner agency that may read
    # the case must not name another lead (which makes an agency of its choosing involved with
    # the child), lower the level, record steps or close it.
    current_lead = case.leads[-1] if case.leads else None
    owners = {case.agency_id} | ({current_lead.agency_id} if current_lead else set())
    if subject.agency_id is None or subject.agency_id not in owners:
        raise CaseNotYours(
            "Only the agency that opened the case or the lead practitioner's agency may change"
            " it; raise it with them (or escalate) instead."
        )
    if case.closed_on is not None:
        raise CaseRefused(f"The case was closed on {case.closed_on}; open a new one.")
    return case


def _on(day: dt.date | None, case: Case, now: dt.datetime | None) -> dt.date:
    on = day or _today(now)
    if on > _today(now):
        raise CaseRefused("A change is recorded once it has happened: not on a day to come.")
    if on < case.opened_on:
        raise CaseRefused(f"The case opened on {case.opened_on}; a change cannot come before.")
    return on


def change_lead(
    *,
    db_session: Session,
    subject: AuthSubject,
    case_public_id: str,
    change: LeadChange,
    now: dt.datetime | None = None,
) -> Case:
    case = _open_for_change(db_session, subject, case_public_id, "case lead", now)
    starts_on = _on(change.starts_on, case, now)
    user_id, name, agency_id = (
        _resolve_lead(db_session, change.lead) if change.lead is not None else (None, None, None)
    )
    case.leads.append(
        LeadPractitionerAssignment(
            user_id=user_id,
            name=name,
            agency_id=agency_id,
            starts_on=starts_on,
            reason=change.reason,
            recorded_by=subject.actor,
        )
    )
    db_session.flush()
    _audit(db_session, subject, "case.lead", case, change.reason, {"lead": name})
    return case


def change_level(
    *,
    db_session: Session,
    subject: AuthSubject,
    case_public_id: str,
    change: LevelChange,
    now: dt.datetime | None = None,
) -> Case:
    case = _open_for_change(db_session, subject, case_public_id, "case level of need", now)
    starts_on = _on(change.starts_on, case, now)
    case.levels.append(
        LevelOfNeedChange(
            level=change.level,
            starts_on=starts_on,
            reason=change.reason,
            recorded_by=subject.actor,
        )
    )
    db_session.flush()
    _audit(db_session, subject, "case.level", case, change.reason, {"level": change.level})
    return case


def record_step(
    *,
    db_session: Session,
    subject: AuthSubject,
    case_public_id: str,
    step_in: StepIn,
    now: dt.datetime | None = None,
) -> Case:
    case = _open_for_change(db_session, subject, case_public_id, "case step", now)
    rules = timescales()
    if step_in.kind not in rules.steps:
        raise CaseRefused(f"{step_in.kind!r} is not a step: one of {', '.join(rules.steps)}.")
    occurred_on = _on(step_in.occurred_on, case, now)
    step = CaseStep(
        kind=step_in.kind,
        occurred_on=occurred_on,
        note=step_in.note,
        recorded_by=subject.actor,
        recorded_by_user_id=subject.user_id,
    )
    case.steps.append(step)
    db_session.flush()
    _audit(
        db_session,
        subject,
        "case.step",
        case,
        None,
        {"kind": step.kind, "occurred_on": occurred_on.isoformat()},
    )
    return case


def close_case(
    *,
    db_session: Session,
    subject: AuthSubject,
    case_public_id: str,
    close: CaseClose,
    now: dt.datetime | None = None,
) -> Case:
    case = _open_for_change(db_session, subject, case_public_id, "case close", now)
    case.closed_on = _on(close.closed_on, case, now)
    case.closed_reason = close.reason
    db_session.flush()
    _audit(db_session, subject, "case.close", case, close.reason, {})
    return case


def cases_for_child(
    *,
    db_session: Session,
    subject: AuthSubject,
    person_public_id: str,
    now: dt.datetime | None = None,
) -> Sequence[Case]:
    person = access_service.open_person(
        db_session=db_session,
        subject=subject,
        person_public_id=person_public_id,
        purpose="cases",
        now=now,
    )
    return repository.cases_of_person(db_session, person.id)


# --- reading a case: history, clocks and flags, computed when read -------------------------


def clocks_of(case: Case, today: dt.date) -> list[ClockRead]:
    steps = [DatedStep(id=s.id, kind=s.kind, occurred_on=s.occurred_on) for s in case.steps]
    return [
        ClockRead(
            timescale=c.timescale,
            label=c.label,
            within=c.within,
            started_on=c.started_on,
            due_on=c.due_on,
            met_on=c.met_on,
            status=c.status,
            source=c.source,
        )
        for c in steps_due(steps, today=today, closed_on=case.closed_on)
    ]


def _lead_reads(db_session: Session, case: Case) -> list[LeadRead]:
    agencies = {
        agency_id: code for agency_id, code in db_session.execute(select(Agency.id, Agency.code))
    }
    users = {
        user_id: username
        for user_id, username in db_session.execute(
            select(UserAccount.id, UserAccount.username).where(
                UserAccount.id.in_([a.user_id for a in case.leads if a.user_id is not None])
            )
        )
    }
    return [
        LeadRead(
            name=a.name,
            agency_code=agencies.get(a.agency_id) if a.agency_id is not None else None,
            username=users.get(a.user_id) if a.user_id is not None else None,
            starts_on=a.starts_on,
            reason=a.reason,
            recorded_by=a.recorded_by,
        )
        for a in case.leads
    ]


def to_read(db_session: Session, case: Case, *, today: dt.date | None = None) -> CaseRead:
    today = today or utc_now().date()
    labels = levels_of_need().levels
    leads = _lead_reads(db_session, case)
    levels = [
        LevelRead(
            level=c.level,
            label=labels[c.level].label,
            starts_on=c.starts_on,
            reason=c.reason,
            recorded_by=c.recorded_by,
        )
        for c in case.levels
    ]
    lead = leads[-1] if leads and leads[-1].name is not None else None
    clocks = clocks_of(case, today)
    flags = []
    if case.closed_on is None and lead is None:
        flags.append("No lead practitioner: name who leads this case.")
    overdue = [c for c in clocks if c.status is StepStatus.OVERDUE]
    if case.closed_on is None and overdue:
        flags.append(f"{len(overdue)} step(s) overdue: " + "; ".join(c.label for c in overdue))
    child = db_session.scalar(select(Person.public_id).where(Person.id == case.person_id))
    agency = db_session.scalar(select(Agency.code).where(Agency.id == case.agency_id))
    return CaseRead(
        id=case.public_id,
        child_id=str(child),
        kind=case.kind,
        agency_code=str(agency),
        opened_on=case.opened_on,
        review_by=case.review_by,
        closed_on=case.closed_on,
        closed_reason=case.closed_reason,
        lead=lead,
        lead_history=leads,
        level_of_need=levels[-1] if levels else None,
        level_history=levels,
        steps=[
            StepRead(
                id=s.id,
                kind=s.kind,
                occurred_on=s.occurred_on,
                note=s.note,
                recorded_by=s.recorded_by,
            )
            for s in case.steps
        ],
        clocks=clocks,
        flags=flags,
    )


def ownership_flags(
    *, db_session: Session, subject: AuthSubject, now: dt.datetime | None = None
) -> list[OwnershipFlag]:
    """Open cases with no lead, and children with concerns from several agencies and no open
    case, among the children the subject may see (each flag carries its evidence)."""
    access_service.require_scopes(subject, Scope.CHILDREN_READ)
    now = now or utc_now()
    readable = access_repository.readable_person_ids(subject, now)
    flags: list[OwnershipFlag] = []
    for case in repository.open_cases_among(db_session, readable):
        latest = case.leads[-1] if case.leads else None
        if latest is None or latest.name is None:
            child = db_session.scalar(select(Person.public_id).where(Person.id == case.person_id))
            flags.append(
                OwnershipFlag(
                    kind="case_without_lead",
                    child_id=str(child),
                    case_id=case.public_id,
                    message="This open case has no lead practitioner.",
                    evidence={
                        "opened_on": case.opened_on.isoformat(),
                        "since": latest.starts_on.isoformat() if latest else None,
                    },
                )
            )
    rules = ownership_rules().unowned_child
    since = add_months(now.date(), -rules.within_months)
    concern_codes = [c.code for c in default_taxonomy().codes_of_kind(CodeKind.CONCERN)]
    readable_sq = readable.subquery("readable_child")
    with_case = select(Case.person_id).where(Case.closed_on.is_(None))
    agencies_per_child = (
        select(PersonRecordLink.person_id, func.count(func.distinct(Event.agency_id)))
        .select_from(Event)
        .join(EventParticipant, EventParticipant.event_id == Event.id)
        .join(
            PersonRecordLink,
            current_links(agency_id=Event.agency_id, record_ref=EventParticipant.record_ref),
        )
        .where(
            Event.concern_code.in_(concern_codes),
            Event.event_date >= since,
            PersonRecordLink.person_id.in_(select(readable_sq.c.person_id)),
            PersonRecordLink.person_id.not_in(with_case),
        )
        .group_by(PersonRecordLink.person_id)
        .having(func.count(func.distinct(Event.agency_id)) >= rules.agencies_with_concerns)
    )
    for person_id, agencies in db_session.execute(agencies_per_child):
        child = db_session.scalar(select(Person.public_id).where(Person.id == person_id))
        flags.append(
            OwnershipFlag(
                kind="child_without_case",
                child_id=str(child),
                case_id=None,
                message=(
                    f"Concerns from {agencies} agencies since {since} and no open case: "
                    "who is leading for this child?"
                ),
                evidence={"agencies_with_concerns": int(agencies), "since": since.isoformat()},
            )
        )
    return flags
