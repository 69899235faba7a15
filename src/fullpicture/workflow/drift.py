"""Drift: overdue statutory steps, no recorded contact with the child on an open plan, a plan
past its review date, an alert not acknowledged within a working day, and referrals closed
with no further action again and again (``drift.yaml``; issue 15 item 5).

Findings are computed when asked for, among the children the reader may see, each with its
evidence; nothing is stored.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.roles import Scope
from fullpicture.access.subject import AuthSubject
from fullpicture.chronology import visibility as chronology_visibility
from fullpicture.chronology.models import EventParticipant
from fullpicture.core.database import utc_now
from fullpicture.core.rule_files import load_rules_file
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.harm.repository import readable_alerts
from fullpicture.people.models import Person, PersonRecordLink
from fullpicture.people.repository import current_links
from fullpicture.workflow import repository
from fullpicture.workflow.models import Case, CaseKind
from fullpicture.workflow.service import clocks_of
from fullpicture.workflow.timescales import StepStatus
from fullpicture.workflow.working_days import ENGLAND, add_months, add_working_days

PLANS = (CaseKind.EARLY_HELP, CaseKind.CHILD_IN_NEED, CaseKind.CHILD_PROTECTION)


class RepeatedNfa(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(ge=2)
    within_months: int = Field(ge=1)
    concern_code: str


class DriftRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    no_contact_days: int = Field(ge=1)
    alert_acknowledge_working_days: int = Field(ge=0)
    repeated_nfa: RepeatedNfa


@lru_cache(maxsize=1)
def drift_rules() -> DriftRules:
    path = Path(__file__).with_name("drift.yaml")
    return DriftRules.model_validate(load_rules_file(path))


class DriftFinding(BaseModel):
    kind: str = Field(
        description="overdue_step, no_contact, plan_past_review, alert_unacknowledged, repeated_nfa"
    )
    child_id: str
    case_id: str | None = None
    message: str
    evidence: dict[str, object]


def _public_ids_of(db_session: Session) -> Callable[[int], str]:
    """A child's public id from their row id, each looked up once."""
    public_ids: dict[int, str] = {}

    def child(person_id: int) -> str:
        if person_id not in public_ids:
            public_ids[person_id] = str(
                db_session.scalar(select(Person.public_id).where(Person.id == person_id))
            )
        return public_ids[person_id]

    return child


def drift_findings(
    *,
    db_session: Session,
    subject: AuthSubject,
    now: dt.datetime | None = None,
    rules: DriftRules | None = None,
) -> list[DriftFinding]:
    """Every drift finding among the children the subject may see."""
    access_service.require_scopes(subject, Scope.CHILDREN_READ)
    now = now or utc_now()
    today = now.date()
    rules = rules or drift_rules()
    readable = access_repository.readable_person_ids(subject, now)
    child = _public_ids_of(db_session)

    findings: list[DriftFinding] = []
    for case in repository.open_cases_among(db_session, readable):
        findings.extend(f for _, f in _case_findings(case, child(case.person_id), today, rules))
    for alert in db_session.scalars(readable_alerts(subject, now, statuses=[AlertStatus.NEW])):
        due = acknowledgement_due(alert, rules)
        if today > due:
            findings.append(_unacknowledged(alert, child(alert.person_id), due))
    findings.extend(_repeated_nfa(db_session, subject, now, rules, child))
    return findings


@dataclass(frozen=True)
class ChildDrift:
    """A drift finding with the day it fell due and the child's row id (for naming the child
    from what the reader may see)."""

    person_id: int
    due_on: dt.date
    finding: DriftFinding


def drift_in_my_care(
    *,
    db_session: Session,
    subject: AuthSubject,
    now: dt.datetime | None = None,
    rules: DriftRules | None = None,
) -> list[ChildDrift]:
    """What is overdue for the subject to act on, the longest overdue first: drift in the open
    cases they lead or their agency opened or leads, and alerts routed to their agency not
    acknowledged in time, among the children they may see (each scoped in the SQL)."""
    access_service.require_scopes(subject, Scope.CHILDREN_READ)
    now = now or utc_now()
    today = now.date()
    rules = rules or drift_rules()
    readable = access_repository.readable_person_ids(subject, now)
    child = _public_ids_of(db_session)

    found: list[ChildDrift] = []
    mine = repository.open_case_ids_in_care_of(subject)
    for case in repository.open_cases_among(db_session, readable, case_ids=mine):
        found.extend(
            ChildDrift(case.person_id, due, finding)
            for due, finding in _case_findings(case, child(case.person_id), today, rules)
        )
    if subject.agency_id is not None:
        routed_here = readable_alerts(
            subject, now, statuses=[AlertStatus.NEW], routed_to_agency_id=subject.agency_id
        )
        for alert in db_session.scalars(routed_here):
            due = acknowledgement_due(alert, rules)
            if today > due:
                found.append(
                    ChildDrift(
                        alert.person_id, due, _unacknowledged(alert, child(alert.person_id), due)
                    )
                )
    return sorted(found, key=lambda d: (d.due_on, d.finding.kind))


def _case_findings(
    case: Case, child_id: str, today: dt.date, rules: DriftRules
) -> list[tuple[dt.date, DriftFinding]]:
    """One open case's drift, each finding with the day it fell due."""
    findings: list[tuple[dt.date, DriftFinding]] = []
    for clock in clocks_of(case, today):
        if clock.status is StepStatus.OVERDUE:
            findings.append(
                (
                    clock.due_on,
                    DriftFinding(
                        kind="overdue_step",
                        child_id=child_id,
                        case_id=case.public_id,
                        message=f"{clock.label}: due {_day(clock.due_on)}, not recorded.",
                        evidence={
                            "timescale": clock.timescale,
                            "due_on": str(clock.due_on),
                            "started_on": str(clock.started_on),
                            "source": clock.source,
                        },
                    ),
                )
            )
    if case.kind in PLANS:
        contacts = [s.occurred_on for s in case.steps if s.kind == "contact_with_child"]
        last = max(contacts) if contacts else None
        since = last or case.opened_on
        if (today - since).days > rules.no_contact_days:
            findings.append(
                (
                    since + dt.timedelta(days=rules.no_contact_days),
                    DriftFinding(
                        kind="no_contact",
                        child_id=child_id,
                        case_id=case.public_id,
                        message=(
                            f"No recorded contact with the child for {(today - since).days} "
                            f"days (standard: {rules.no_contact_days})."
                        ),
                        evidence={
                            "last_contact": str(last) if last else None,
                            "opened_on": str(case.opened_on),
                        },
                    ),
                )
            )
    if case.review_by is not None and case.review_by < today:
        findings.append(
            (
                case.review_by,
                DriftFinding(
                    kind="plan_past_review",
                    child_id=child_id,
                    case_id=case.public_id,
                    message=f"The plan was due for review on {_day(case.review_by)}.",
                    evidence={"review_by": str(case.review_by)},
                ),
            )
        )
    return findings


def acknowledgement_due(alert: HarmAlert, rules: DriftRules) -> dt.date:
    """The day by which an alert should have been acknowledged: the working days of the rule
    counted from the day fullpicture put it in front of people. An alert on an episode from
    years ago, found when that history was first imported, could not have been acknowledged
    then; counting from its ``raised_on`` made a first import show every old alert as
    thousands of days overdue."""
    shown_on = alert.created_at.astimezone(ENGLAND).date() if alert.created_at else None
    start = max(alert.raised_on, shown_on) if shown_on else alert.raised_on
    return add_working_days(start, rules.alert_acknowledge_working_days)


def _unacknowledged(alert: HarmAlert, child_id: str, due: dt.date) -> DriftFinding:
    return DriftFinding(
        kind="alert_unacknowledged",
        child_id=child_id,
        message=(
            f"An alert raised on {_day(alert.raised_on)} was not acknowledged by {_day(due)}."
        ),
        evidence={
            "alert_id": alert.public_id,
            "raised_on": str(alert.raised_on),
            "due_on": str(due),
        },
    )


def _day(day: dt.date) -> str:
    """A date as the pages show it ("9 February 2021"): drift messages are read beside them."""
    return f"{day.day} {day:%B %Y}"


def _repeated_nfa(
    db_session: Session,
    subject: AuthSubject,
    now: dt.datetime,
    rules: DriftRules,
    child: Callable[[int], str],
) -> list[DriftFinding]:
    """Children with ``count`` or more no-further-action closures in the window, counted over
    the entries the subject may see (so a count never reveals an unseen entry)."""
    nfa = rules.repeated_nfa
    since = add_months(now.date(), -nfa.within_months)
    visible = chronology_visibility.readable_events(subject, now).subquery("visible_nfa")
    rows = db_session.execute(
        select(
            PersonRecordLink.person_id,
            visible.c.agency_id,
            visible.c.event_ref,
            visible.c.event_date,
        )
        .join(EventParticipant, EventParticipant.event_id == visible.c.id)
        .join(
            PersonRecordLink,
            current_links(agency_id=visible.c.agency_id, record_ref=EventParticipant.record_ref),
        )
        .where(visible.c.concern_code == nfa.concern_code, visible.c.event_date >= since)
    ).all()
    per_child: dict[int, set[tuple[int, str, dt.date]]] = defaultdict(set)
    for person_id, agency_id, event_ref, day in rows:
        per_child[person_id].add((agency_id, event_ref, day))
    findings = []
    for person_id, closures in sorted(per_child.items()):
        if len(closures) >= nfa.count:
            days = sorted(day for _, _, day in closures)
            findings.append(
                DriftFinding(
                    kind="repeated_nfa",
                    child_id=child(person_id),
                    message=(
                        f"{len(closures)} referrals closed with no further action since {_day(since)}: "
                        "a pattern (consider escalation)."
                    ),
                    evidence={"closed_on": [str(d) for d in days]},
                )
            )
    return findings
