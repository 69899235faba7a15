"""Recording sharing decisions, and the lawful-basis rules they must meet.

Rules (research-notes §2.1; existing-systems.md §5):
* a share names a regime and its lawful basis (``lawful_bases.yaml``); special category data
  needs the regime's safeguarding condition as well (Sch 1 Part 2 para 18, or Sch 8 para 4);
* a decision not to share needs its reason (golden rule 7: record the reasons whether or not
  you share);
* whether the family was told, and if not why (golden rule 2; local procedures require the
  reason to be recorded);
* the duty to share (Children Act 2004 s.16LA) can be cited only once it is in force, and a
  decision under it records the "more detrimental to the child" test;
* the decision is the holder's (golden rules 6 and 7; research-notes §2.1): only an agency
  holding a record of the child records one (``holds_a_record``), and a share names only
  entries the deciding agency recorded. The web form, the API and the CLI all come here.

A decision that breaks a rule is refused with every problem named, and nothing is saved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import audit, person_summaries
from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.subject import AuthSubject
from fullpicture.agencies.models import Agency
from fullpicture.chronology import visibility as chronology_visibility
from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.chronology.repository import ChildRecord
from fullpicture.core.database import utc_now
from fullpicture.people.models import Person, PersonRecordLink
from fullpicture.people.repository import link_is_current
from fullpicture.sharing import latency, receipts, repository
from fullpicture.sharing.lawful_bases import LawfulBases, lawful_bases
from fullpicture.sharing.models import SharedEntry, SharingDecision, SharingOutcome
from fullpicture.sharing.schemas import (
    ChildSharingLatency,
    EntrySharingRead,
    SharedEntryRead,
    SharingDecisionCreate,
    SharingDecisionRead,
    UnsharedEntries,
)

DUTY_TO_SHARE = "ca2004_s16LA"

NO_RECORD_HELD = (
    "Your agency holds no record of this child, so it has no information about them to share, "
    "or to decide not to share: a sharing decision is about what your agency holds (golden "
    "rules 6 and 7). Ask the agency that holds the information to record the decision."
)


class SharingDecisionRefused(ValueError):
    """The decision breaks a rule; ``problems`` says what to fix. Nothing was saved."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("The sharing decision was not recorded: " + " ".join(self.problems))


class NoRecordHeld(SharingDecisionRefused):
    """The deciding agency holds no record of the child (``holds_a_record``): it has nothing
    of the child's to decide on. Nothing was saved."""

    def __init__(self) -> None:
        super().__init__([NO_RECORD_HELD])


def holds_a_record(summary: person_summaries.ChildSummary, agency_code: str | None) -> bool:
    """Whether the agency may record a sharing decision about the child: it holds a record of
    them (one of its own current records among those ``summary``'s viewer may read,
    ``person_summaries.own_records``). A front door reading the pooled view, or a child routed
    to it by an alert, reads other agencies' information, theirs to decide on. Pages ask this
    before offering the form; ``record_decision`` refuses a decision without it."""
    return bool(person_summaries.own_records(summary, agency_code))


def lawful_basis_problems(
    decision: SharingDecisionCreate, *, on: dt.date, rules: LawfulBases | None = None
) -> list[str]:
    """Every way the decision falls short of the lawful-basis rules (empty when it meets them)."""
    rules = rules or lawful_bases()
    problems: list[str] = []
    shared = decision.outcome is SharingOutcome.SHARED
    regime = rules.regime(decision.regime) if decision.regime else None
    if decision.regime and regime is None:
        problems.append(
            f"Regime {decision.regime!r} is not one of: "
            + ", ".join(r.code for r in rules.regimes)
            + "."
        )
    if shared:
        if not decision.basis:
            problems.append(
                "A decision to share needs its lawful basis: choose one of "
                + ", ".join(f"{b.code} ({b.label})" for b in rules.bases)
                + "."
            )
        if not decision.regime:
            problems.append(
                "Say which regime the share is under: uk_gdpr (schools, health, social care) "
                "or law_enforcement (police, DPA 2018 Part 3)."
            )
        if not decision.entries and not decision.documents:
            problems.append("Say what was shared: at least one chronology entry or document.")
    elif decision.entries or decision.documents:
        problems.append(
            "A decision not to share lists no entries or documents; record what was shared "
            "as a separate decision to share."
        )
    if not shared and not (decision.reason_not_shared or "").strip():
        problems.append(
            "A decision not to share needs its reason (golden rule 7: record the reasons for "
            "the decision whether or not you share)."
        )
    if decision.basis:
        basis = rules.basis(decision.basis)
        if basis is None:
            problems.append(
                f"Lawful basis {decision.basis!r} is not one of: "
                + ", ".join(b.code for b in rules.bases)
                + "."
            )
        elif regime is not None and basis.regime != regime.code:
            problems.append(f"{basis.label} is not a basis under {regime.label}.")
    if decision.special_category:
        condition = (
            rules.condition(decision.special_category_condition)
            if decision.special_category_condition
            else None
        )
        if condition is None:
            wanted = [
                c
                for c in rules.special_category_conditions
                if regime is None or c.regime == regime.code
            ]
            problems.append(
                "Special category data (health, ethnicity, sex life, religion …) needs a "
                "condition as well as the basis: "
                + "; ".join(f"{c.code} ({c.label})" for c in wanted)
                + "."
            )
        elif regime is not None and condition.regime != regime.code:
            problems.append(f"{condition.label} is not a condition under {regime.label}.")
    elif decision.special_category_condition:
        problems.append(
            "A special category condition was given but the information is not marked as "
            "special category data; mark it, or leave the condition out."
        )
    for code in decision.gateways:
        gateway = rules.gateway(code)
        if gateway is None:
            problems.append(
                f"Statutory gateway {code!r} is not one of: "
                + ", ".join(g.code for g in rules.gateways)
                + "."
            )
        elif not gateway.in_force_on(on):
            problems.append(f"{gateway.label} cannot be cited: {gateway.commencement}")
        elif gateway.detriment_test and not (decision.detriment_test or "").strip():
            problems.append(f"Under {gateway.label} record the test: {gateway.detriment_test}")
    if not decision.family_informed and not (decision.family_not_informed_reason or "").strip():
        problems.append(
            "Say why the family was not told (golden rule 2: engage the child and carers "
            "wherever practicable and safe; when you do not, record why)."
        )
    return problems


def warnings_for(decision: SharingDecision) -> list[str]:
    basis = lawful_bases().basis(decision.basis) if decision.basis else None
    return [basis.warning] if basis is not None and basis.warning else []


def _entries_to_share(
    db_session: Session,
    *,
    subject: AuthSubject,
    person: Person,
    sharer: Agency,
    decision: SharingDecisionCreate,
    now: dt.datetime,
) -> tuple[list[Event], list[str]]:
    """The latest version of each named entry, when it is the sharer's own, about the child and
    one the sharer may see; otherwise a problem naming it (an entry the sharer may not see
    answers as unknown)."""
    events: list[Event] = []
    problems: list[str] = []
    for entry in decision.entries:
        code = entry.agency_code or sharer.code
        if code != sharer.code:
            # Golden rules 6-7: the decision is the holder's; another agency's entry is theirs
            # to share (said without looking it up, so nothing is told of what it holds).
            problems.append(
                f"Entry {code}:{entry.event_ref} is not your agency's: a sharing decision shares "
                "only entries your agency recorded; ask that agency to record its own decision."
            )
            continue
        agency = repository.agency_by_code(db_session, code)
        event = (
            repository.latest_event_version(
                db_session,
                subject=subject,
                person_id=person.id,
                now=now,
                agency_id=agency.id,
                event_ref=entry.event_ref,
            )
            if agency is not None
            else None
        )
        if event is None or not _about_and_visible(db_session, subject, person, event, now):
            problems.append(
                f"Entry {code}:{entry.event_ref} is not an entry about this child that you may see."
            )
            continue
        if event not in events:
            events.append(event)
    return events, problems


def _about_and_visible(
    db_session: Session, subject: AuthSubject, person: Person, event: Event, now: dt.datetime
) -> bool:
    about_child = db_session.scalar(
        select(EventParticipant.id)
        .join(
            PersonRecordLink,
            (PersonRecordLink.record_ref == EventParticipant.record_ref)
            & (PersonRecordLink.agency_id == event.agency_id),
        )
        .where(
            EventParticipant.event_id == event.id,
            PersonRecordLink.person_id == person.id,
            link_is_current(),
        )
        .limit(1)
    )
    if about_child is None:
        return False
    return bool(
        chronology_visibility.visible_event_ids(
            db_session, subject=subject, now=now, person_id=person.id, event_ids=[event.id]
        )
    )


def record_decision(
    *,
    db_session: Session,
    subject: AuthSubject,
    person_public_id: str,
    decision_in: SharingDecisionCreate,
    now: dt.datetime | None = None,
) -> SharingDecision:
    """Record a decision by the subject (for their agency) about a child they may see and their
    agency holds a record of (``NoRecordHeld`` otherwise, before any other rule is looked at:
    the one reason that matters); every other broken rule is named in one refusal."""
    now = now or utc_now()
    person, agency_id = access_service.open_person_for_agency_write(
        db_session=db_session,
        subject=subject,
        person_public_id=person_public_id,
        purpose="sharing decision",
        no_agency="a sharing decision is made for an agency; your account belongs to none",
        now=now,
    )
    sharer = db_session.get(Agency, agency_id)
    assert sharer is not None  # the account's agency is a foreign key
    summary = person_summaries.child_summaries(
        db_session, subject=subject, now=now, person_ids=[person.id]
    ).get(person.id)
    if summary is None or not holds_a_record(summary, sharer.code):
        raise NoRecordHeld()
    decided_at = decision_in.decided_at or now
    problems = lawful_basis_problems(decision_in, on=decided_at.date())
    recipient = repository.agency_by_code(db_session, decision_in.to_agency_code)
    if recipient is None:
        problems.append(f"No agency with code {decision_in.to_agency_code!r}.")
    elif recipient.id == sharer.id:
        problems.append("A sharing decision is about another agency, not your own.")
    events, entry_problems = _entries_to_share(
        db_session, subject=subject, person=person, sharer=sharer, decision=decision_in, now=now
    )
    problems.extend(entry_problems)
    shared = decision_in.outcome is SharingOutcome.SHARED
    shared_at = (decision_in.shared_at or decided_at) if shared else None
    if decided_at > now or (shared_at is not None and shared_at > now):
        problems.append("A decision is recorded after it is made: its times cannot be in future.")
    if problems:
        raise SharingDecisionRefused(problems)
    assert recipient is not None
    decision = SharingDecision(
        person_id=person.id,
        outcome=decision_in.outcome,
        from_agency_id=sharer.id,
        to_agency_id=recipient.id,
        recipient_role=decision_in.recipient_role,
        recipient_name=decision_in.recipient_name,
        purpose=decision_in.purpose,
        regime=decision_in.regime,
        basis=decision_in.basis,
        special_category=decision_in.special_category,
        special_category_condition=decision_in.special_category_condition,
        gateways=list(decision_in.gateways),
        detriment_test=decision_in.detriment_test,
        reason_not_shared=decision_in.reason_not_shared,
        family_informed=decision_in.family_informed,
        family_not_informed_reason=decision_in.family_not_informed_reason,
        documents=list(decision_in.documents),
        decided_at=decided_at,
        shared_at=shared_at,
        rules_version=lawful_bases().version,
        recorded_at=now,
        recorded_by=subject.actor,
        recorded_by_user_id=subject.user_id,
        entries=[SharedEntry(event_id=event.id) for event in events],
    )
    db_session.add(decision)
    db_session.flush()
    if shared_at is not None:
        receipts.note_shared(
            db_session,
            person_id=person.id,
            to_agency_id=recipient.id,
            shared_at=shared_at,
            entries=[(event.agency_id, event.event_ref) for event in events],
        )
    audit.record(
        db_session=db_session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action="sharing.decision",
        person_id=person.id,
        target=f"sharing_decision:{decision.public_id}",
        reason=decision_in.purpose if shared else decision_in.reason_not_shared,
        detail={
            "outcome": decision.outcome.value,
            "to_agency": recipient.code,
            "basis": decision.basis,
            "event_ids": [event.id for event in events],
        },
        occurred_at=now,
    )
    return decision


def decisions_for_child(
    *,
    db_session: Session,
    subject: AuthSubject,
    person_public_id: str,
    now: dt.datetime | None = None,
) -> Sequence[SharingDecision]:
    """Decisions about the child the subject's agency made or received (all, for the pooled
    view); the read is audited."""
    person = access_service.open_person(
        db_session=db_session,
        subject=subject,
        person_public_id=person_public_id,
        purpose="sharing decisions",
        now=now,
    )
    return repository.decisions_about(db_session, subject=subject, person_id=person.id)


def to_read(db_session: Session, decision: SharingDecision) -> SharingDecisionRead:
    codes: dict[int, str] = {
        agency_id: code
        for agency_id, code in db_session.execute(
            select(Agency.id, Agency.code).where(
                Agency.id.in_([decision.from_agency_id, decision.to_agency_id])
            )
        )
    }
    child_id = db_session.scalar(select(Person.public_id).where(Person.id == decision.person_id))
    events = [
        (event, code)
        for event, code in db_session.execute(
            select(Event, Agency.code)
            .join(Agency, Agency.id == Event.agency_id)
            .where(Event.id.in_([entry.event_id for entry in decision.entries]))
            .order_by(Event.event_date, Event.id)
        )
    ]
    basis = lawful_bases().basis(decision.basis) if decision.basis else None
    return SharingDecisionRead(
        id=decision.public_id,
        child_id=str(child_id),
        outcome=decision.outcome,
        from_agency_code=codes[decision.from_agency_id],
        to_agency_code=codes[decision.to_agency_id],
        recipient_role=decision.recipient_role,
        recipient_name=decision.recipient_name,
        purpose=decision.purpose,
        regime=decision.regime,
        basis=decision.basis,
        basis_label=basis.label if basis is not None else None,
        special_category=decision.special_category,
        special_category_condition=decision.special_category_condition,
        gateways=list(decision.gateways),
        detriment_test=decision.detriment_test,
        reason_not_shared=decision.reason_not_shared,
        family_informed=decision.family_informed,
        family_not_informed_reason=decision.family_not_informed_reason,
        documents=list(decision.documents),
        entries=[
            SharedEntryRead(
                event_ref=event.event_ref,
                agency_code=code,
                version=event.version,
                event_date=event.event_date,
                concern_code=event.concern_code,
            )
            for event, code in events
        ],
        decided_at=decision.decided_at,
        shared_at=decision.shared_at,
        recorded_by=decision.recorded_by,
        rules_version=decision.rules_version,
        warnings=warnings_for(decision),
    )


HIDDEN_AGENCIES_NOTE = (
    "Agencies your agency has not shared with are not named: ask the children's social care "
    "front door, which sees every agency working with the child."
)


def _read(row: latency.EntrySharing, *, name_recipient: bool) -> EntrySharingRead:
    return EntrySharingRead(
        event_ref=row.event_ref,
        from_agency_code=row.from_agency_code,
        concern_code=row.concern_code,
        severity=row.severity,
        event_date=row.event_date,
        recorded_on=row.recorded_on,
        to_agency_code=row.to_agency_code if name_recipient else None,
        received_on=row.received_on,
        days=row.days,
        decision_id=row.decision_id,
    )


def unshared_entries_of(
    *,
    db_session: Session,
    subject: AuthSubject,
    person: Person,
    latest: int,
    record: ChildRecord | None = None,
) -> UnsharedEntries:
    """``sharing_latency_of(...).unshared`` counted, and only the ``latest`` newest built, for
    a child the caller has already opened (and audited). The reader's rule is applied in the
    query: the pooled view sees every agency's entries; a partner agency its own entries only,
    without the names of the agencies that have not received them. ``record``: the child's
    chronology the caller has read (``chronology.repository.child_record``), whose entries
    are then not read again."""
    pooled = access_repository.sees_all_agencies(subject)
    if not pooled and subject.agency_id is None:
        return UnsharedEntries(total=0, latest=[])
    if record is not None and record.person_id != person.id:
        raise ValueError(f"the record read is person {record.person_id}'s, not {person.id}'s")
    from_agency_id = None if pooled else subject.agency_id
    pairs = (
        latency.unshared_of_child(
            db_session, person_id=person.id, latest=latest, from_agency_id=from_agency_id
        )
        if record is None
        else latency.unshared_of_record(
            db_session, record=record, latest=latest, from_agency_id=from_agency_id
        )
    )
    return UnsharedEntries(
        total=pairs.total,
        latest=[_read(row, name_recipient=pooled) for row in pairs.latest],
        note=HIDDEN_AGENCIES_NOTE if pairs.total and not pooled else None,
    )


def child_sharing_latency(
    *,
    db_session: Session,
    subject: AuthSubject,
    person_public_id: str,
    now: dt.datetime | None = None,
) -> ChildSharingLatency:
    """A child's significant entries, when each other agency working with the child received
    them, and those never shared, as the subject may see them (audited read).

    The front door's pooled view sees every row. A partner agency sees its own entries (naming
    a receiving agency only once it has received the entry from them, since which agencies hold
    records about a child is not told to partners) and the entries shared with it.
    """
    person = access_service.open_person(
        db_session=db_session,
        subject=subject,
        person_public_id=person_public_id,
        purpose="sharing latency",
        now=now,
    )
    return sharing_latency_of(db_session=db_session, subject=subject, person=person)


def sharing_latency_of(
    *, db_session: Session, subject: AuthSubject, person: Person
) -> ChildSharingLatency:
    """``child_sharing_latency`` for a child the caller has already opened (and audited)."""
    rows = latency.entry_sharing(db_session, person_ids=[person.id])
    pooled = access_repository.sees_all_agencies(subject)
    shown: list[EntrySharingRead] = []
    hidden = False
    for row in rows:
        own = row.from_agency_id == subject.agency_id
        received_here = row.to_agency_id == subject.agency_id and row.received_on is not None
        if not (pooled or own or received_here):
            continue
        name_recipient = pooled or row.received_on is not None
        hidden = hidden or not name_recipient
        shown.append(_read(row, name_recipient=name_recipient))
    return ChildSharingLatency(
        child_id=person.public_id,
        significant_severity=latency.latency_rules().significant_severity,
        received=[r for r in shown if r.received_on is not None],
        unshared=[r for r in shown if r.received_on is None],
        note=HIDDEN_AGENCIES_NOTE if hidden else None,
    )
