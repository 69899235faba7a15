"""Supervision: a practitioner's children, open alerts, overdue steps, unshared significant
entries and open escalations, with reflective prompts drawn from each child's own record
(``supervision_prompts.yaml``), and dated supervision records of decisions and actions
(issue 15 item 7; research-notes §6.10).

A supervisor (``supervision:read``: designated leads and team managers) supervises
practitioners of their own agency, and sees each child only through their own need-to-know
(a child they may not see is counted, never shown).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.models import UserAccount
from fullpicture.access.roles import Scope
from fullpicture.access.subject import AuthSubject
from fullpicture.chronology import visibility as chronology_visibility
from fullpicture.chronology.models import Event, InformationType
from fullpicture.core.database import utc_now
from fullpicture.core.rule_files import load_rules_file
from fullpicture.harm.models import AlertStatus
from fullpicture.harm.repository import readable_alerts
from fullpicture.people.models import HouseholdMembership, Person
from fullpicture.sharing import latency
from fullpicture.workflow import escalation
from fullpicture.workflow.models import Case, LeadPractitionerAssignment, SupervisionRecord
from fullpicture.workflow.repository import current_leads
from fullpicture.workflow.service import clocks_of
from fullpicture.workflow.timescales import StepStatus

NO_SUCH_PRACTITIONER = "no such practitioner in your agency"


class PractitionerNotFound(access_service.AccessError):
    pass


class Prompt(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    question: str


class Prompts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    prompts: tuple[Prompt, ...]


@lru_cache(maxsize=1)
def supervision_prompts() -> Prompts:
    path = Path(__file__).with_name("supervision_prompts.yaml")
    return Prompts.model_validate(load_rules_file(path))


class PromptRead(BaseModel):
    question: str
    from_the_record: str


class SupervisedChild(BaseModel):
    child_id: str
    case_id: str
    case_kind: str
    open_alerts: int
    overdue_steps: list[str]
    unshared_significant_entries: int
    open_escalations: int
    prompts: list[PromptRead]


class SupervisionRecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    held_on: dt.date | None = None
    child_id: str | None = Field(default=None, max_length=36)
    reflections: str = Field(min_length=3, max_length=8000)
    decisions: str = Field(min_length=3, max_length=8000)
    actions: list[dict[str, str]] = Field(default_factory=list, max_length=50)


class SupervisionRecordRead(BaseModel):
    id: str
    supervisee: str
    supervisor: str
    child_id: str | None
    held_on: dt.date
    reflections: str
    decisions: str
    actions: list[dict[str, str]]


class SupervisionView(BaseModel):
    practitioner: str
    children: list[SupervisedChild]
    children_not_shown: int = Field(description="led by the practitioner; you may not see them")
    records: list[SupervisionRecordRead]


def _supervisee(db_session: Session, subject: AuthSubject, username: str) -> UserAccount:
    access_service.require_scopes(subject, Scope.CHILDREN_READ, Scope.SUPERVISION_READ)
    user = access_repository.user_by_username(db_session, username)
    if user is None or subject.agency_id is None or user.agency_id != subject.agency_id:
        raise PractitionerNotFound(NO_SUCH_PRACTITIONER)
    return user


def _prompts(
    db_session: Session,
    case: Case,
    person_id: int,
    visible_events: Sequence[Event],
    unshared: int,
    last_supervised: dt.date | None,
    today: dt.date,
) -> list[PromptRead]:
    contacts = [s.occurred_on for s in case.steps if s.kind == "contact_with_child"]
    last_seen = max(contacts) if contacts else None
    kinds = Counter(e.information_type for e in visible_events)
    since = last_supervised or case.opened_on
    changed = Counter(e.concern_code for e in visible_events if e.event_date > since)
    adults = (
        db_session.scalar(
            select(func.count(func.distinct(HouseholdMembership.person_id))).where(
                HouseholdMembership.household_id.in_(
                    select(HouseholdMembership.household_id).where(
                        HouseholdMembership.person_id == person_id,
                        HouseholdMembership.date_to.is_(None),
                    )
                ),
                HouseholdMembership.person_id != person_id,
                HouseholdMembership.role != "child",
                HouseholdMembership.date_to.is_(None),
            )
        )
        or 0
    )
    evidence = {
        "life_for_the_child": (
            f"{len(visible_events)} entries you may see; the child was last seen "
            + (
                f"on {last_seen} ({(today - last_seen).days} days ago)."
                if last_seen
                else "— no contact with the child is recorded on this case."
            )
        ),
        "what_has_changed": (
            f"Since {since}: "
            + (", ".join(f"{n} × {code}" for code, n in changed.most_common()) or "no new entries")
            + "."
        ),
        "evidence": (
            f"{kinds.get(InformationType.FACT, 0)} fact, {kinds.get(InformationType.REPORTED, 0)} "
            f"reported, {kinds.get(InformationType.OPINION, 0)} opinion."
        ),
        "not_seen": (
            f"{adults} adult(s) currently share a household with the child"
            + (f"; last seen {last_seen}." if last_seen else "; the child has not been seen.")
        ),
        "not_shared": (
            f"{unshared} significant entr{'y' if unshared == 1 else 'ies'} of your agency not "
            "shared with an agency working with the child."
        ),
    }
    return [
        PromptRead(question=p.question, from_the_record=evidence.get(p.code, ""))
        for p in supervision_prompts().prompts
    ]


def supervision_view(
    *, db_session: Session, subject: AuthSubject, username: str, now: dt.datetime | None = None
) -> SupervisionView:
    """The supervisee's open cases as the supervisor may see them (each child audited)."""
    now = now or utc_now()
    today = now.date()
    user = _supervisee(db_session, subject, username)
    latest = current_leads().subquery("supervised_lead")
    cases = db_session.scalars(
        select(Case)
        .join(LeadPractitionerAssignment, LeadPractitionerAssignment.case_id == Case.id)
        .join(latest, latest.c[1] == LeadPractitionerAssignment.id)
        .where(LeadPractitionerAssignment.user_id == user.id, Case.closed_on.is_(None))
        .order_by(Case.opened_on, Case.id)
    ).all()
    readable = access_repository.readable_among(
        db_session, subject=subject, person_ids=[c.person_id for c in cases], now=now
    )
    last_records = _records(db_session, user.id)
    children: list[SupervisedChild] = []
    for case in cases:
        if case.person_id not in readable:
            continue
        child = str(db_session.scalar(select(Person.public_id).where(Person.id == case.person_id)))
        access_service.open_person(
            db_session=db_session,
            subject=subject,
            person_public_id=child,
            purpose="supervision",
            now=now,
        )
        events = db_session.scalars(
            chronology_visibility.readable_events(subject, now, person_id=case.person_id)
        ).all()
        unshared = sum(
            1
            for row in latency.unshared(
                latency.entry_sharing(db_session, person_ids=[case.person_id])
            )
            if row.from_agency_id == user.agency_id
        )
        alerts = db_session.scalars(
            readable_alerts(
                subject,
                now,
                person_id=case.person_id,
                statuses=[AlertStatus.NEW, AlertStatus.ACKNOWLEDGED],
            )
        ).all()
        escalations = escalation.visible_escalations(
            db_session, subject=subject, person_id=case.person_id, open_only=True
        )
        supervised = [r.held_on for r in last_records if r.person_id == case.person_id]
        children.append(
            SupervisedChild(
                child_id=child,
                case_id=case.public_id,
                case_kind=case.kind.value,
                open_alerts=len(alerts),
                overdue_steps=[
                    c.label for c in clocks_of(case, today) if c.status is StepStatus.OVERDUE
                ],
                unshared_significant_entries=unshared,
                open_escalations=len(escalations),
                prompts=_prompts(
                    db_session,
                    case,
                    case.person_id,
                    events,
                    unshared,
                    max(supervised) if supervised else None,
                    today,
                ),
            )
        )
    return SupervisionView(
        practitioner=user.username,
        children=children,
        children_not_shown=len(cases) - len(children),
        records=[_record_read(db_session, r) for r in last_records],
    )


def _records(db_session: Session, supervisee_id: int) -> Sequence[SupervisionRecord]:
    return db_session.scalars(
        select(SupervisionRecord)
        .where(SupervisionRecord.supervisee_user_id == supervisee_id)
        .order_by(SupervisionRecord.held_on.desc(), SupervisionRecord.id.desc())
    ).all()


def _record_read(db_session: Session, record: SupervisionRecord) -> SupervisionRecordRead:
    names = {i: n for i, n in db_session.execute(select(UserAccount.id, UserAccount.username))}
    child = (
        db_session.scalar(select(Person.public_id).where(Person.id == record.person_id))
        if record.person_id is not None
        else None
    )
    return SupervisionRecordRead(
        id=record.public_id,
        supervisee=names[record.supervisee_user_id],
        supervisor=names[record.supervisor_user_id],
        child_id=child,
        held_on=record.held_on,
        reflections=record.reflections,
        decisions=record.decisions,
        actions=record.actions,
    )


def record_supervision(
    *,
    db_session: Session,
    subject: AuthSubject,
    username: str,
    record_in: SupervisionRecordIn,
    now: dt.datetime | None = None,
) -> SupervisionRecordRead:
    """A dated supervision record, by the signed-in supervisor (audited)."""
    now = now or utc_now()
    access_service.require_scopes(subject, Scope.CHILDREN_WRITE)
    user = _supervisee(db_session, subject, username)
    person_id = None
    if record_in.child_id is not None:
        person = access_service.open_person(
            db_session=db_session,
            subject=subject,
            person_public_id=record_in.child_id,
            purpose="supervision record",
            now=now,
        )
        person_id = person.id
    record = SupervisionRecord(
        supervisee_user_id=user.id,
        supervisor_user_id=subject.user_id,
        person_id=person_id,
        held_on=record_in.held_on or now.date(),
        reflections=record_in.reflections,
        decisions=record_in.decisions,
        actions=record_in.actions,
        recorded_at=now,
    )
    db_session.add(record)
    db_session.flush()
    audit.record(
        db_session=db_session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action="supervision.record",
        person_id=person_id,
        target=f"supervision_record:{record.public_id}",
        detail={"supervisee": user.username, "actions": len(record.actions)},
        occurred_at=now,
    )
    return _record_read(db_session, record)
