""" "Child seen elsewhere": when a child with an open case or an open alert appears in another
agency's feed (an emergency-department attendance, a police incident, a school move), the
people leading for the child are told within the import that brought it (issue 15 item 8).

CP-IS does this for children on child protection plans, keyed on the NHS number; here it runs
through the linkage, for every open case and open alert. It is registered as a step of the one
ingest flow (``imports.flows.register_after_ingest``), so the CLI, the API and the demo import
all trigger it. Who is told: each open case's current lead practitioner (a user); for a child
with an open alert and no case led by a user, the designated leads of the agency the alert is
routed to. Nobody is told of their own agency's entries.

What they are told is that, and where: the agency, the kind of entry (its concern category) and
its date — not the entry's text, which stays behind the need-to-know rule on the child's page.
Raising is idempotent (one notification per recipient per entry) and audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access.models import Role, UserAccount
from fullpicture.agencies.models import Agency
from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.chronology.taxonomy import default_taxonomy
from fullpicture.core.database import utc_now
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.imports.flows import AfterIngest
from fullpicture.imports.models import ImportBatch
from fullpicture.people.models import Person, PersonRecordLink
from fullpicture.people.repository import link_is_current
from fullpicture.workflow import notifications, repository
from fullpicture.workflow.models import Case, LeadPractitionerAssignment

ACTOR = "system:seen-elsewhere"
KIND = "seen_elsewhere"


@dataclass(frozen=True)
class Sighting:
    """One new entry of one agency about a child someone is leading for."""

    person_id: int
    event_id: int
    event_ref: str
    agency_id: int
    agency_name: str
    concern_code: str
    event_date: dt.date


def _sightings(db_session: Session, batch_id: int) -> list[Sighting]:
    rows = db_session.execute(
        select(
            PersonRecordLink.person_id,
            Event.id,
            Event.event_ref,
            Event.agency_id,
            Agency.name,
            Event.concern_code,
            Event.event_date,
        )
        .join(EventParticipant, EventParticipant.event_id == Event.id)
        .join(
            PersonRecordLink,
            (PersonRecordLink.agency_id == Event.agency_id)
            & (PersonRecordLink.record_ref == EventParticipant.record_ref)
            & link_is_current(),
        )
        .join(Agency, Agency.id == Event.agency_id)
        .where(Event.import_batch_id == batch_id, Event.version == 1)
        .distinct()
    ).all()
    return [Sighting(*row) for row in rows]


def _recipients(db_session: Session, person_id: int) -> list[tuple[int, int]]:
    """(user id, agency id) of who leads for the child: each open case's current lead user,
    else the designated leads of the agency an open alert is routed to."""
    latest = repository.current_leads().subquery("latest_lead")
    leads = db_session.execute(
        select(LeadPractitionerAssignment.user_id, LeadPractitionerAssignment.agency_id)
        .join(latest, latest.c[1] == LeadPractitionerAssignment.id)
        .join(Case, Case.id == LeadPractitionerAssignment.case_id)
        .where(
            Case.person_id == person_id,
            Case.closed_on.is_(None),
            LeadPractitionerAssignment.user_id.is_not(None),
        )
    ).all()
    found = {
        (int(user_id), int(agency_id))
        for user_id, agency_id in leads
        if user_id is not None and agency_id is not None
    }
    if found:
        return sorted(found)
    routed = select(HarmAlert.routed_to_agency_id).where(
        HarmAlert.person_id == person_id,
        HarmAlert.status.in_([AlertStatus.NEW, AlertStatus.ACKNOWLEDGED]),
    )
    designated = db_session.execute(
        select(UserAccount.id, UserAccount.agency_id).where(
            UserAccount.role == Role.DESIGNATED_LEAD,
            UserAccount.is_active.is_(True),
            UserAccount.agency_id.in_(routed),
        )
    ).all()
    return sorted((int(u), int(a)) for u, a in designated if a is not None)


def notify_seen_elsewhere(
    db_session: Session, *, batch_public_id: str, now: dt.datetime | None = None
) -> int:
    """Notify those leading for each child a batch's new entries are about; returns how many
    notifications were raised (0 on a re-run)."""
    now = now or utc_now()
    batch_id = db_session.scalar(
        select(ImportBatch.id).where(ImportBatch.public_id == batch_public_id)
    )
    if batch_id is None:
        return 0
    taxonomy = default_taxonomy()
    raised = 0
    recipients: dict[int, list[tuple[int, int]]] = {}
    for sighting in _sightings(db_session, batch_id):
        if sighting.person_id not in recipients:
            recipients[sighting.person_id] = _recipients(db_session, sighting.person_id)
        child = db_session.scalar(select(Person.public_id).where(Person.id == sighting.person_id))
        entry = taxonomy.get(sighting.concern_code)
        category = entry.category if entry is not None else sighting.concern_code
        for user_id, agency_id in recipients[sighting.person_id]:
            if agency_id == sighting.agency_id:
                continue  # their own agency's entry is not news to them
            notification = notifications.notify(
                db_session,
                recipient_user_id=user_id,
                kind=KIND,
                person_id=sighting.person_id,
                title=f"Seen elsewhere: {sighting.agency_name}",
                body=(
                    f"{sighting.agency_name} recorded an entry ({category}, "
                    f"{sighting.event_date:%d %B %Y}) about a child you lead for. Open the "
                    "child's page to see what you may of it, and consider contacting them."
                ),
                link=f"/children/{child}",
                dedupe_key=f"{KIND}:{user_id}:{sighting.event_id}",
                now=now,
            )
            if notification is None:
                continue
            raised += 1
            audit.record(
                db_session=db_session,
                actor=ACTOR,
                action="notification.seen_elsewhere",
                person_id=sighting.person_id,
                target=f"notification:{notification.public_id}",
                detail={
                    "event_id": sighting.event_id,
                    "agency": sighting.agency_name,
                    "recipient_user_id": user_id,
                    "batch": batch_public_id,
                },
                occurred_at=now,
            )
    return raised


def seen_elsewhere_after_ingest(db_session: Session, told: AfterIngest) -> None:
    """The ingest flow's step: runs in the import's transaction, so within minutes of it."""
    notify_seen_elsewhere(db_session, batch_public_id=told.batch_public_id)
