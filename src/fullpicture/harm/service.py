"""Cumulative-harm rules at the database: score, raise alerts once per episode, route them,
and record what practitioners decided and what happened.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Integer, bindparam, select
from sqlalchemy.orm import Session

from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.roles import Scope
from fullpicture.access.schemas import HeldElsewhere
from fullpicture.access.subject import AuthSubject, Reader, SystemPrincipal
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.chronology import visibility as chronology_visibility
from fullpicture.chronology.models import Event
from fullpicture.chronology.repository import ChildRecord
from fullpicture.chronology.taxonomy import Taxonomy, default_taxonomy
from fullpicture.core.database import utc_now
from fullpicture.harm import repository
from fullpicture.harm.batch import BatchResult, score_population_duckdb
from fullpicture.harm.engine import ChildAssessment, Ref, ScoringEvent, assess_child
from fullpicture.harm.entry_reading import EntryReading, WrittenRow, scoring_events_of
from fullpicture.harm.harm_model import HarmModel, default_harm_model
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.harm.schemas import AlertRead
from fullpicture.people.models import PersonRecordLink
from fullpicture.people.repository import link_is_current


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
            link_is_current(),
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
    scorer: SystemPrincipal,
    as_of: dt.date,
    model: HarmModel | None = None,
    taxonomy: Taxonomy | None = None,
    threads: int | None = None,
) -> BatchResult:
    """Every child scored as of a day by the batch job, with every alert raised up to it: a
    read of the whole population's records, so only for an audited ``scorer``
    (``access.service.system_principal``)."""
    check_scoring_day(as_of)
    model = model or default_harm_model()
    events, children = repository.population_tables(db_session=db_session, as_of=as_of, model=model)
    return score_population_duckdb(
        events, children, as_of=as_of, model=model, taxonomy=taxonomy, threads=threads
    )


def record_alerts(
    *,
    db_session: Session,
    scorer: SystemPrincipal,
    result: BatchResult,
    model: HarmModel | None = None,
) -> list[HarmAlert]:
    """Store the alerts the audited ``scorer``'s batch raised that were not stored before (once
    per child, kind and day) and route them."""
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


#: The first day a score can be computed for: no event before it is accepted
#: (imports/plausible_dates.yaml), and the engine's decay arithmetic overflows for days
#: centuries apart.
EARLIEST_SCORING_DAY = dt.date(1900, 1, 1)
#: How far ahead a score may be asked for (a projection of decay; further is a typing error).
LATEST_SCORING_DAYS_AHEAD = 366


class HarmNotComputable(ValueError):
    """A score that cannot be computed: the message says why and what to do."""


def check_scoring_day(day: dt.date, *, today: dt.date | None = None) -> dt.date:
    """``day`` if a score can be computed as of it; else ``HarmNotComputable`` saying why."""
    latest = (today or dt.date.today()) + dt.timedelta(days=LATEST_SCORING_DAYS_AHEAD)
    if day < EARLIEST_SCORING_DAY:
        raise HarmNotComputable(
            f"{day.isoformat()} is before {EARLIEST_SCORING_DAY.isoformat()}: no chronology "
            "entry is that old, so there is no score to compute; give a later day"
        )
    if day > latest:
        raise HarmNotComputable(
            f"{day.isoformat()} is more than {LATEST_SCORING_DAYS_AHEAD} days ahead "
            f"(after {latest.isoformat()}); give an earlier day"
        )
    return day


@dataclass(frozen=True)
class _AssessmentInputs:
    """Everything an assessment is computed from: the child's written scoring entries as read
    now (a new entry, a correction, a link made or ended and a household change all change
    them), the date of birth, the day (scores decay), and the rules and taxonomy by content."""

    person_id: int
    as_of: dt.date
    date_of_birth: dt.date | None
    model: str
    taxonomy: str
    default_taxonomy: str
    written: tuple[WrittenRow, ...]


class _Assessments:
    """The latest assessments of a process, keyed by every input (``_AssessmentInputs``): a
    child's page reads the scoring entries each time, and scores them only when they, the
    rules or the day changed. Scoring a long record is most of a page's work; a key missing
    an input would show a stale score, so the key is the inputs themselves."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._stored: OrderedDict[
            _AssessmentInputs, tuple[ChildAssessment, dict[int, EntryReading]]
        ] = OrderedDict()
        self._digests: dict[int, tuple[object, str]] = {}
        self.computed = 0

    def digest(self, rules: HarmModel | Taxonomy) -> str:
        """The rules' content as a digest, remembered for the object (they are frozen)."""
        with self._lock:
            known = self._digests.get(id(rules))
            if known is not None and known[0] is rules:
                return known[1]
        digest = hashlib.sha256(rules.model_dump_json().encode()).hexdigest()
        with self._lock:
            if len(self._digests) > 16:
                self._digests.clear()
            # The object is kept with its digest, so its id cannot be reused meanwhile.
            self._digests[id(rules)] = (rules, digest)
        return digest

    def get(
        self, inputs: _AssessmentInputs
    ) -> tuple[ChildAssessment, dict[int, EntryReading]] | None:
        with self._lock:
            found = self._stored.get(inputs)
            if found is not None:
                self._stored.move_to_end(inputs)
            return found

    def put(
        self,
        inputs: _AssessmentInputs,
        assessment: ChildAssessment,
        readings: dict[int, EntryReading],
    ) -> None:
        with self._lock:
            self.computed += 1
            self._stored[inputs] = (assessment, readings)
            self._stored.move_to_end(inputs)
            while len(self._stored) > self._size:
                self._stored.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._stored.clear()
            self._digests.clear()


ASSESSMENTS = _Assessments(size=128)


def assess_one_child(
    *,
    db_session: Session,
    scorer: Reader,
    person_id: int,
    as_of: dt.date,
    model: HarmModel | None = None,
    taxonomy: Taxonomy | None = None,
    readings_out: dict[int, EntryReading] | None = None,
    now: dt.datetime | None = None,
) -> ChildAssessment:
    """The incremental path: one child's score, explanation and alerts from their record read
    fresh; how each entry's words were read goes into ``readings_out`` (by entry id) when one
    is given. Scored again only when an input changed (``ASSESSMENTS``). ``now`` is the moment
    the scorer's need to know is judged at (default: now).

    Raises ``HarmNotComputable`` for a day outside ``check_scoring_day``'s range, or a record
    the engine cannot compute with (an entry stored before imports checked dates)."""
    check_scoring_day(as_of)
    model = model or default_harm_model()
    taxonomy = taxonomy or default_taxonomy()
    written, birth = repository.child_written_rows(
        db_session=db_session,
        scorer=scorer,
        person_id=person_id,
        as_of=as_of,
        model=model,
        now=now,
    )
    return _assessed(person_id, as_of, birth, written, model, taxonomy, readings_out)


def assess_child_record(
    *,
    db_session: Session,
    scorer: Reader,
    record: ChildRecord,
    as_of: dt.date,
    model: HarmModel | None = None,
    taxonomy: Taxonomy | None = None,
    now: dt.datetime | None = None,
) -> ChildAssessment:
    """``assess_one_child`` from the child's chronology already read for a page
    (``chronology.repository.child_record``), under the same access rule and stored
    assessments: the page reads the child's entries once, not once for each. Read afresh
    when the chronology was read under other household rules than ``model``'s."""
    check_scoring_day(as_of)
    model = model or default_harm_model()
    taxonomy = taxonomy or default_taxonomy()
    if tuple(record.model.household_adult_codes) != tuple(model.household_adult_codes) or tuple(
        record.model.household_roles_not_adults
    ) != tuple(model.household_roles_not_adults):
        return assess_one_child(
            db_session=db_session,
            scorer=scorer,
            person_id=record.person_id,
            as_of=as_of,
            model=model,
            taxonomy=taxonomy,
            now=now,
        )
    birth = repository.child_birth(
        db_session=db_session, scorer=scorer, person_id=record.person_id, as_of=as_of, now=now
    )
    written = repository.written_rows_of_record(record, as_of)
    return _assessed(record.person_id, as_of, birth, written, model, taxonomy, None)


def _assessed(
    person_id: int,
    as_of: dt.date,
    birth: dt.date | None,
    written: Sequence[WrittenRow],
    model: HarmModel,
    taxonomy: Taxonomy,
    readings_out: dict[int, EntryReading] | None,
) -> ChildAssessment:
    """The stored assessment for these inputs, or one scored afresh and stored."""
    inputs = _AssessmentInputs(
        person_id=person_id,
        as_of=as_of,
        date_of_birth=birth,
        model=ASSESSMENTS.digest(model),
        taxonomy=ASSESSMENTS.digest(taxonomy),
        # Entry reading takes the default taxonomy's words whatever the score is given.
        default_taxonomy=ASSESSMENTS.digest(default_taxonomy()),
        written=tuple(written),
    )
    stored = ASSESSMENTS.get(inputs)
    if stored is None:
        readings: dict[int, EntryReading] = {}
        events = scoring_events_of(written, birth, model, readings)
        stored = (_assess(events, birth, as_of, model, taxonomy), readings)
        ASSESSMENTS.put(inputs, *stored)
    if readings_out is not None:
        readings_out.update(stored[1])
    return stored[0]


def _assess(
    events: Sequence[ScoringEvent],
    birth: dt.date | None,
    as_of: dt.date,
    model: HarmModel,
    taxonomy: Taxonomy,
) -> ChildAssessment:
    try:
        return assess_child(
            events, date_of_birth=birth, as_of=as_of, model=model, taxonomy=taxonomy
        )
    except OverflowError as exc:
        # Decay is anchored at the child's first incident, so an entry centuries old (one
        # dated 0001-01-01, stored before imports checked dates: issue 12 finding 6)
        # overflows the arithmetic.
        earliest = min((event.day for event in events), default=None)
        raise HarmNotComputable(
            f"this child's score cannot be computed as of {as_of.isoformat()}: their record "
            f"holds an entry dated {earliest.isoformat() if earliest else 'unknown'}, before "
            f"{EARLIEST_SCORING_DAY.isoformat()}; the agency that recorded it should correct "
            "or withdraw it"
        ) from exc


def on_event_recorded(
    *,
    db_session: Session,
    scorer: SystemPrincipal,
    person_id: int,
    as_of: dt.date,
    model: HarmModel | None = None,
) -> list[HarmAlert]:
    """Rescore one child after an event about them arrives (as the ingest flow's audited
    ``scorer``); store any new alert."""
    model = model or default_harm_model()
    assessment = assess_one_child(
        db_session=db_session, scorer=scorer, person_id=person_id, as_of=as_of, model=model
    )
    return _store(
        db_session,
        [(person_id, a.kind, a.day, a.score, a.reason, a.evidence) for a in assessment.alerts],
        model,
    )


class AlertNotYours(PermissionError):
    """The alert is routed to another agency: only that agency records decisions on it."""


def _alert_row(*, db_session: Session, public_id: str, for_update: bool = False) -> HarmAlert:
    statement = select(HarmAlert).where(HarmAlert.public_id == public_id)
    if for_update:
        # A status change locks the row first, so two people acting on one alert at once
        # cannot both succeed with the later silently overwriting the earlier decision.
        statement = statement.with_for_update()
    alert = db_session.scalar(statement)
    if alert is None:
        raise AlertNotFound(f"no alert {public_id!r}, or you have no need to know about it")
    return alert


def open_alert(
    *,
    db_session: Session,
    reader: AuthSubject,
    public_id: str,
    purpose: str,
    for_update: bool = False,
) -> HarmAlert:
    """The alert, if the reader has a need to know its child; the read is audited.

    An unknown alert and one about a child the reader may not see get the same
    ``AlertNotFound``, so a refusal never confirms that an alert exists.
    """
    alert = _alert_row(db_session=db_session, public_id=public_id, for_update=for_update)
    try:
        access_service.open_person(
            db_session=db_session,
            subject=reader,
            person_public_id=alert.person.public_id,
            purpose=purpose,
        )
    except access_service.PersonNotVisible as exc:
        raise AlertNotFound(
            f"no alert {public_id!r}, or you have no need to know about it"
        ) from exc
    return alert


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
    """Alerts about children the subject has a need to know about, newest first: the one rule
    the API, the CLI and the pages list by, applied in the query
    (``harm.repository.readable_alerts`` on ``access.repository.readable_person_ids``)."""
    access_service.require_scopes(subject, Scope.CHILDREN_READ)
    return repository.listed_alerts(
        db_session,
        subject,
        now,
        statuses=statuses,
        person_id=person_id,
        routed_to_agency_id=routed_to_agency_id,
        limit=limit,
    )


def _decidable(
    db_session: Session, decider: AuthSubject, public_id: str, purpose: str
) -> HarmAlert:
    """The alert locked for a decision: ``children:write``, a need to know the child (audited),
    and the decider's agency is the one the alert is routed to, unless their role holds
    ``alerts:decide_any_agency`` (issue 12, finding 12)."""
    access_service.require_scopes(decider, Scope.CHILDREN_WRITE)
    alert = open_alert(
        db_session=db_session, reader=decider, public_id=public_id, purpose=purpose, for_update=True
    )
    if decider.has(Scope.ALERTS_DECIDE_ANY_AGENCY):
        return alert
    if alert.routed_to_agency_id is None or alert.routed_to_agency_id != decider.agency_id:
        raise AlertNotYours(
            f"alert {public_id} is routed to another agency; only that agency records decisions "
            "on it. Tell them what you know, or ask the children's social care front door."
        )
    return alert


def acknowledge_alert(
    *, db_session: Session, decider: AuthSubject, public_id: str, decision: str
) -> HarmAlert:
    """Record the decision taken on a new alert, attributed to the signed-in ``decider``."""
    alert = _decidable(db_session, decider, public_id, "alert decision")
    if alert.status is not AlertStatus.NEW:
        raise AlertWorkflowError(
            f"alert {public_id} is {alert.status.value}; only a new alert can be acknowledged"
        )
    if not decision.strip():
        raise AlertWorkflowError("say what was decided about the alert, and why")
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.decision = decision.strip()
    alert.decided_by = decider.actor
    alert.decided_at = utc_now()
    db_session.flush()
    return alert


def close_alert(
    *, db_session: Session, decider: AuthSubject, public_id: str, outcome: str
) -> HarmAlert:
    """Close an acknowledged alert with its outcome, attributed to the signed-in ``decider``."""
    alert = _decidable(db_session, decider, public_id, "alert closure")
    if alert.status is not AlertStatus.ACKNOWLEDGED:
        raise AlertWorkflowError(
            f"alert {public_id} is {alert.status.value}; record a decision (acknowledge) "
            "before closing it"
        )
    if not outcome.strip():
        raise AlertWorkflowError("say what happened for the child before closing the alert")
    alert.status = AlertStatus.CLOSED
    alert.outcome = outcome.strip()
    alert.closed_by = decider.actor
    alert.closed_at = utc_now()
    db_session.flush()
    return alert


#: What an alert's kind, reason, decision and outcome read as when entries behind it are
#: withheld from the reader: they are worded from every agency's entries, so they would tell
#: what the other agencies recorded (issue 12, finding 2).
WITHHELD = "withheld"
#: Where an alert routed to another agency says it went, for a reader without the pooled view
#: of the child: the routing reason names the agency and says it holds the child's record.
ROUTED_ELSEWHERE = (
    "routed to another agency; who and why are not shown to your role. Ask the children's "
    "social care front door, which holds the multi-agency picture."
)


@dataclass(frozen=True)
class VisibleEvidence:
    """Which of the entries behind a child's score and alerts the viewer may see.

    The score is computed on the whole record (a child's risk does not shrink because one
    reader may not see all of it); only the evidence shown is limited, and what is withheld
    is counted in ``held_elsewhere`` (chronology.visibility.event_visibility decides).
    """

    agency_of: dict[int, str]  # visible event id -> recording agency's code
    held_elsewhere: HeldElsewhere | None
    hidden_agency_of: dict[int, int] = field(default_factory=dict)  # withheld id -> agency id
    incident_of: dict[int, tuple[str, dt.date]] = field(default_factory=dict)  # id -> code, day
    same_incident_days: int = 0

    def shows(self, ref: Ref) -> bool:
        return isinstance(ref, int) and ref in self.agency_of

    def refs(self, refs: Iterable[Ref]) -> list[Ref]:
        return [r for r in refs if self.shows(r)]

    def agencies(self, refs: Iterable[Ref]) -> list[str]:
        return sorted({self.agency_of[r] for r in refs if isinstance(r, int) and self.shows(r)})

    def withheld(self, refs: Iterable[Ref], what: str) -> HeldElsewhere | None:
        """The entries among ``refs`` the viewer may not see, counted (None when none are)."""
        hidden = {r for r in refs if not self.shows(r)}
        known = {self.hidden_agency_of[r] for r in hidden if r in self.hidden_agency_of}
        # An entry sorted before it was known here is still someone else's: at least one.
        return HeldElsewhere.of(entries=len(hidden), agencies=max(1, len(known)), what=what)

    def tells_nothing_new(self, refs: Sequence[Ref]) -> bool:
        """Whether every withheld entry among ``refs`` is another agency's record of an
        incident the viewer's own entries among them show (same concern code, dated within
        the harm model's same-incident window): then an alert worded from all of them says
        nothing the viewer does not hold, bar that someone else recorded it too (counted)."""
        seen = [self.incident_of[r] for r in refs if self.shows(r) and r in self.incident_of]
        for ref in refs:
            if self.shows(ref):
                continue
            fact = self.incident_of.get(ref) if isinstance(ref, int) else None
            if fact is None or not any(
                code == fact[0] and abs((day - fact[1]).days) <= self.same_incident_days
                for code, day in seen
            ):
                return False
        return True

    def alert_text(self, kind: str, reason: str, refs: Sequence[Ref]) -> tuple[str, str]:
        """An alert's kind and reason as the viewer may read them: whole unless an entry
        behind it that the viewer may not see adds an incident they do not hold; then
        withheld, and the entries counted."""
        held = self.withheld(refs, "{are} behind this alert")
        if held is None or self.tells_nothing_new(refs):
            return kind, reason
        return WITHHELD, held.message


# Every score shown and every alert listed asks this; built once (issue 14).
_EVIDENCE_RECORDED_BY = (
    select(Event.id, Agency.id, Agency.code, Event.concern_code, Event.event_date)
    .join(Agency, Agency.id == Event.agency_id)
    .where(Event.id.in_(bindparam("evidence_events", expanding=True, type_=Integer())))
)


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
    visible = chronology_visibility.visible_event_ids(
        db_session, subject=subject, now=now, person_id=person_id, event_ids=event_ids
    )
    recorded_by = (
        {
            event_id: (agency_id, code, concern_code, day)
            for event_id, agency_id, code, concern_code, day in db_session.execute(
                _EVIDENCE_RECORDED_BY, {"evidence_events": event_ids}
            )
        }
        if event_ids
        else {}
    )
    hidden = [r for r in event_ids if r not in visible]
    return VisibleEvidence(
        agency_of={i: recorded_by[i][1] for i in visible if i in recorded_by},
        held_elsewhere=HeldElsewhere.of(
            entries=len(hidden),
            agencies=chronology_visibility.agency_count(db_session, event_ids=hidden),
            what="contributed to this score",
        ),
        hidden_agency_of={i: recorded_by[i][0] for i in hidden if i in recorded_by},
        incident_of={i: (row[2], row[3]) for i, row in recorded_by.items()},
        same_incident_days=default_harm_model().same_incident.within_days,
    )


def disclose_alerts(
    *, db_session: Session, reader: AuthSubject, alerts: Sequence[HarmAlert]
) -> list[AlertRead]:
    """Each alert as the reader may be told of it (issue 12, finding 2).

    * Evidence: only the entries the reader may see (``chronology.visibility.event_visibility``).
    * ``withheld`` counts the entries behind the alert the reader may not see, and how many
      agencies hold them (never which), as ``held_elsewhere`` does for a score.
    * Kind, reason, decision and outcome are worded from every agency's entries: they are
      shown when each withheld entry is another agency's record of an incident the reader's
      own entries behind the alert show (``VisibleEvidence.tells_nothing_new``), and read
      ``withheld`` otherwise.
    * Routing: shown when the alert is routed to the reader's own agency or the reader holds
      the pooled view of the child (``chronology:all_agencies``, or break-glass for the
      child); otherwise it says only that the alert went to another agency.

    Readers with the pooled view of a child therefore see its alerts whole.
    """
    now = utc_now()
    pooled = (
        {a.person_id for a in alerts}
        if access_repository.sees_all_agencies(reader)
        else set(db_session.scalars(access_repository.break_glass_person_ids(reader, now)))
    )
    evidence: dict[int, VisibleEvidence] = {}
    for person_id in sorted({a.person_id for a in alerts}):
        evidence[person_id] = visible_evidence(
            db_session=db_session,
            subject=reader,
            now=now,
            person_id=person_id,
            refs=[i for a in alerts if a.person_id == person_id for i in _event_ids(a)],
        )
    reads: list[AlertRead] = []
    for alert in alerts:
        seen = evidence[alert.person_id]
        ids = _event_ids(alert)
        update: dict[str, object] = {"evidence": {"event_ids": [int(r) for r in seen.refs(ids)]}}
        held = seen.withheld(ids, "{are} behind this alert")
        if held is not None:
            update["withheld"] = held
        if held is not None and not seen.tells_nothing_new(ids):
            update |= {
                "kind": WITHHELD,
                "reason": held.message,
                "decision": WITHHELD if alert.decision is not None else None,
                "outcome": WITHHELD if alert.outcome is not None else None,
            }
        routed_elsewhere = (
            alert.routed_to_agency_id is not None and alert.routed_to_agency_id != reader.agency_id
        )
        if routed_elsewhere and alert.person_id not in pooled:
            update |= {"routed_to_agency_id": None, "routing_reason": ROUTED_ELSEWHERE}
        reads.append(AlertRead.model_validate(alert).model_copy(update=update))
    return reads


def _event_ids(alert: HarmAlert) -> list[int]:
    return [int(i) for i in (alert.evidence or {}).get("event_ids", [])]
