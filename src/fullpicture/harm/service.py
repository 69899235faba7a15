"""Cumulative-harm rules at the database: score, raise alerts once per episode, route them,
and record what practitioners decided and what happened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import repository as access_repository
from fullpicture.access.schemas import HeldElsewhere
from fullpicture.access.subject import AuthSubject
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.chronology.models import Event
from fullpicture.chronology.taxonomy import Taxonomy, default_taxonomy
from fullpicture.core.database import utc_now
from fullpicture.harm import repository
from fullpicture.harm.batch import BatchResult, score_population_duckdb
from fullpicture.harm.engine import ChildAssessment, Ref, assess_child
from fullpicture.harm.model import HarmModel, default_harm_model
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.people.models import PersonRecordLink


class AlertNotFound(LookupError):
    """No alert with that id."""


class AlertWorkflowError(ValueError):
    """A status change the workflow does not allow; the message says why."""


@dataclass(frozen=True)
class Routing:
    """Who an alert goes to, and why them."""

    agency_id: int | None
    reason: str


AlertRouter = Callable[[Session, int], Routing | None]
"""Given a child's person id, return where their alert goes, or None to pass it on."""


def _front_door_of_childrens_social_care(db_session: Session, person_id: int) -> Routing | None:
    """Children's social care front door: the one holding the child's record, else the first
    registered (research-notes §2.2: referrals go to children's social care)."""
    holding = db_session.scalar(
        select(Agency)
        .join(PersonRecordLink, PersonRecordLink.agency_id == Agency.id)
        .where(
            Agency.kind == AgencyKind.CHILDRENS_SOCIAL_CARE,
            PersonRecordLink.person_id == person_id,
            PersonRecordLink.ended_at.is_(None),
        )
        .order_by(Agency.code)
        .limit(1)
    )
    if holding is not None:
        return Routing(
            holding.id,
            f"no lead practitioner is recorded; sent to the front door of {holding.name}, "
            "which holds the child's record",
        )
    first = db_session.scalar(
        select(Agency)
        .where(Agency.kind == AgencyKind.CHILDRENS_SOCIAL_CARE)
        .order_by(Agency.code)
        .limit(1)
    )
    if first is not None:
        return Routing(
            first.id,
            f"no lead practitioner is recorded; sent to the front door of {first.name}",
        )
    return None


# Tried in order; the workflow capability puts a lead-practitioner router in front.
ALERT_ROUTERS: list[AlertRouter] = [_front_door_of_childrens_social_care]


def route_alert(*, db_session: Session, person_id: int) -> Routing:
    """Where a child's alert goes: the first router with an answer."""
    for router in ALERT_ROUTERS:
        routing = router(db_session, person_id)
        if routing is not None:
            return routing
    return Routing(
        None,
        "no lead practitioner is recorded and no children's social care agency is registered; "
        "the alert waits unrouted: register one with 'fullpicture agency add'",
    )


def score_population(
    *,
    db_session: Session,
    as_of: dt.date,
    model: HarmModel | None = None,
    taxonomy: Taxonomy | None = None,
    threads: int | None = None,
) -> BatchResult:
    """Every child scored as of a day by the batch job, with every alert raised up to it."""
    model = model or default_harm_model()
    events, children = repository.population_tables(db_session=db_session, as_of=as_of, model=model)
    return score_population_duckdb(
        events, children, as_of=as_of, model=model, taxonomy=taxonomy, threads=threads
    )


def record_alerts(
    *,
    db_session: Session,
    result: BatchResult,
    model: HarmModel | None = None,
) -> list[HarmAlert]:
    """Store the alerts not stored before (once per child, kind and day) and route them."""
    model = model or default_harm_model()
    return _store(
        db_session,
        [(a.child_id, a.kind, a.day, a.score, a.reason, a.evidence) for a in result.alerts],
        model,
    )


def _store(
    db_session: Session,
    alerts: Sequence[tuple[int, str, dt.date, float, str, Sequence[int | str]]],
    model: HarmModel,
) -> list[HarmAlert]:
    if not alerts:
        return []
    children = sorted({a[0] for a in alerts})
    known = {
        (person_id, kind, day)
        for person_id, kind, day in db_session.execute(
            select(HarmAlert.person_id, HarmAlert.kind, HarmAlert.raised_on).where(
                HarmAlert.person_id.in_(children)
            )
        )
    }
    routes: dict[int, Routing] = {}
    stored: list[HarmAlert] = []
    for person_id, kind, day, score, reason, evidence in alerts:
        if (person_id, kind, day) in known:
            continue
        known.add((person_id, kind, day))
        if person_id not in routes:
            routes[person_id] = route_alert(db_session=db_session, person_id=person_id)
        routing = routes[person_id]
        alert = HarmAlert(
            person_id=person_id,
            kind=kind,
            raised_on=day,
            score=score,
            reason=reason,
            evidence={"event_ids": [int(r) for r in evidence]},
            model_version=model.version,
            status=AlertStatus.NEW,
            routed_to_agency_id=routing.agency_id,
            routing_reason=routing.reason,
        )
        db_session.add(alert)
        stored.append(alert)
    db_session.flush()
    return stored


def assess_one_child(
    *,
    db_session: Session,
    person_id: int,
    as_of: dt.date,
    model: HarmModel | None = None,
    taxonomy: Taxonomy | None = None,
) -> ChildAssessment:
    """The incremental path: one child's score, explanation and alerts, read fresh."""
    model = model or default_harm_model()
    events, birth = repository.child_scoring_events(
        db_session=db_session, person_id=person_id, as_of=as_of, model=model
    )
    return assess_child(
        events,
        date_of_birth=birth,
        as_of=as_of,
        model=model,
        taxonomy=taxonomy or default_taxonomy(),
    )


def on_event_recorded(
    *,
    db_session: Session,
    person_id: int,
    as_of: dt.date,
    model: HarmModel | None = None,
) -> list[HarmAlert]:
    """Rescore one child after an event about them arrives; store any new alert."""
    model = model or default_harm_model()
    assessment = assess_one_child(
        db_session=db_session, person_id=person_id, as_of=as_of, model=model
    )
    return _store(
        db_session,
        [(person_id, a.kind, a.day, a.score, a.reason, a.evidence) for a in assessment.alerts],
        model,
    )


def get_alert(*, db_session: Session, public_id: str, for_update: bool = False) -> HarmAlert:
    statement = select(HarmAlert).where(HarmAlert.public_id == public_id)
    if for_update:
        # A status change locks the row first, so two people acting on one alert at once
        # cannot both succeed with the later silently overwriting the earlier decision.
        statement = statement.with_for_update()
    alert = db_session.scalar(statement)
    if alert is None:
        raise AlertNotFound(f"no alert {public_id!r}")
    return alert


def list_alerts(
    *,
    db_session: Session,
    status: AlertStatus | None = None,
    person_id: int | None = None,
    routed_to_agency_id: int | None = None,
    limit: int = 200,
) -> list[HarmAlert]:
    statement = select(HarmAlert).order_by(HarmAlert.raised_on.desc(), HarmAlert.id.desc())
    if status is not None:
        statement = statement.where(HarmAlert.status == status)
    if person_id is not None:
        statement = statement.where(HarmAlert.person_id == person_id)
    if routed_to_agency_id is not None:
        statement = statement.where(HarmAlert.routed_to_agency_id == routed_to_agency_id)
    return list(db_session.scalars(statement.limit(limit)))


def readable_alerts(
    *,
    db_session: Session,
    subject: AuthSubject,
    now: dt.datetime,
    statuses: Sequence[AlertStatus] = (),
    routed_to_agency_id: int | None = None,
    person_id: int | None = None,
    limit: int = 500,
) -> list[HarmAlert]:
    """Alerts about children the subject has a need to know about, newest first (the access
    rule is part of the query: ``access.repository.readable_person_ids``)."""
    readable = access_repository.readable_person_ids(subject, now).subquery("alert_reader")
    statement = (
        select(HarmAlert)
        .where(HarmAlert.person_id.in_(select(readable.c.person_id)))
        .order_by(HarmAlert.raised_on.desc(), HarmAlert.id.desc())
        .limit(limit)
    )
    if statuses:
        statement = statement.where(HarmAlert.status.in_(list(statuses)))
    if routed_to_agency_id is not None:
        statement = statement.where(HarmAlert.routed_to_agency_id == routed_to_agency_id)
    if person_id is not None:
        statement = statement.where(HarmAlert.person_id == person_id)
    return list(db_session.scalars(statement))


def acknowledge_alert(*, db_session: Session, public_id: str, decision: str, by: str) -> HarmAlert:
    """Record the decision taken on a new alert (who decided what, and when)."""
    alert = get_alert(db_session=db_session, public_id=public_id, for_update=True)
    if alert.status is not AlertStatus.NEW:
        raise AlertWorkflowError(
            f"alert {public_id} is {alert.status.value}; only a new alert can be acknowledged"
        )
    if not decision.strip():
        raise AlertWorkflowError("say what was decided about the alert, and why")
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.decision = decision.strip()
    alert.decided_by = by
    alert.decided_at = utc_now()
    db_session.flush()
    return alert


def close_alert(*, db_session: Session, public_id: str, outcome: str, by: str) -> HarmAlert:
    """Close an acknowledged alert with its outcome for the child."""
    alert = get_alert(db_session=db_session, public_id=public_id, for_update=True)
    if alert.status is not AlertStatus.ACKNOWLEDGED:
        raise AlertWorkflowError(
            f"alert {public_id} is {alert.status.value}; record a decision (acknowledge) "
            "before closing it"
        )
    if not outcome.strip():
        raise AlertWorkflowError("say what happened for the child before closing the alert")
    alert.status = AlertStatus.CLOSED
    alert.outcome = outcome.strip()
    alert.closed_by = by
    alert.closed_at = utc_now()
    db_session.flush()
    return alert


@dataclass(frozen=True)
class VisibleEvidence:
    """Which of the entries behind a child's score and alerts the viewer may see.

    The score is computed on the whole record (a child's risk does not shrink because one
    reader may not see all of it); only the evidence shown is limited, and what is withheld
    is counted in ``held_elsewhere`` (access.repository.event_visibility decides).
    """

    agency_of: dict[int, str]  # visible event id -> recording agency's code
    held_elsewhere: HeldElsewhere | None

    def shows(self, ref: Ref) -> bool:
        return isinstance(ref, int) and ref in self.agency_of

    def refs(self, refs: Iterable[Ref]) -> list[Ref]:
        return [r for r in refs if self.shows(r)]

    def agencies(self, refs: Iterable[Ref]) -> list[str]:
        return sorted({self.agency_of[r] for r in refs if isinstance(r, int) and self.shows(r)})


def visible_evidence(
    *,
    db_session: Session,
    subject: AuthSubject,
    now: dt.datetime,
    person_id: int,
    refs: Iterable[Ref],
) -> VisibleEvidence:
    """Sort the event ids behind one child's score into those the subject sees and the rest."""
    event_ids = sorted({r for r in refs if isinstance(r, int)})
    visible = access_repository.visible_event_ids(
        db_session, subject=subject, now=now, person_id=person_id, event_ids=event_ids
    )
    agency_of = (
        {
            event_id: code
            for event_id, code in db_session.execute(
                select(Event.id, Agency.code)
                .join(Agency, Agency.id == Event.agency_id)
                .where(Event.id.in_(sorted(visible)))
            )
        }
        if visible
        else {}
    )
    hidden = [r for r in event_ids if r not in visible]
    return VisibleEvidence(
        agency_of=agency_of,
        held_elsewhere=HeldElsewhere.of(
            entries=len(hidden),
            agencies=access_repository.agency_count(db_session, event_ids=hidden),
            what="contributed to this score",
        ),
    )
