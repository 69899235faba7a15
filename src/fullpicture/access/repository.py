"""Access queries, and the need-to-know rule, written once as SQL.

The rule (issue 7; research-notes §2.1 golden rule 6): a user sees a person only when their
agency is involved with the person, and within that only their agency's own records plus
what was shared with their agency. "Involved" today means the agency holds a record that
linkage currently points at the person (``person_record_link`` with ``ended_at`` NULL).
Later capabilities widen it without editing this module: being on the child's plan
(``register_involvement_source``) and receiving a sharing decision
(``register_shared_record_source``). A time-limited break-glass grant opens every agency's
records about one person.

Every page, API route, export and CLI command that shows person-level data must build its
query on ``readable_record_links`` / ``readable_person_ids`` / ``readable_source_records`` /
``readable_events`` so none of them can forget the rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import Select, and_, exists, false, literal, select, union, union_all
from sqlalchemy.orm import Session

from fullpicture.access.models import (
    ApiToken,
    ArchivedRecord,
    AuditEntry,
    BreakGlassGrant,
    Role,
    SignInSession,
    UserAccount,
)
from fullpicture.access.roles import Scope
from fullpicture.access.subject import AuthSubject
from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.people.models import Person, PersonRecordLink, SourceRecord

#: Person ids the subject's agency is involved with beyond holding a record (e.g. on the plan).
InvolvementSource = Callable[[AuthSubject, dt.datetime], Select[int]]
#: (person_id, agency_id, record_ref) of other agencies' records shared with the subject's agency.
SharedRecordSource = Callable[[AuthSubject, dt.datetime], Select[int, int, str]]

_involvement_sources: list[InvolvementSource] = []
_shared_record_sources: list[SharedRecordSource] = []


def register_involvement_source(source: InvolvementSource) -> InvolvementSource:
    """Let another capability say when an agency is involved with a person (e.g. plans)."""
    if source not in _involvement_sources:
        _involvement_sources.append(source)
    return source


def register_shared_record_source(source: SharedRecordSource) -> SharedRecordSource:
    """Let another capability add records shared with an agency (e.g. sharing decisions)."""
    if source not in _shared_record_sources:
        _shared_record_sources.append(source)
    return source


def _reads_children(subject: AuthSubject) -> bool:
    return subject.sees_children and subject.has(Scope.CHILDREN_READ)


def _no_links() -> Select[int, int, str]:
    return select(
        PersonRecordLink.person_id, PersonRecordLink.agency_id, PersonRecordLink.record_ref
    ).where(false())


def break_glass_person_ids(subject: AuthSubject, now: dt.datetime) -> Select[int]:
    """Persons the subject holds a live break-glass grant for."""
    return select(BreakGlassGrant.person_id).where(
        BreakGlassGrant.user_id == subject.user_id,
        BreakGlassGrant.ended_at.is_(None),
        BreakGlassGrant.granted_at <= now,
        BreakGlassGrant.expires_at > now,
    )


def readable_record_links(subject: AuthSubject, now: dt.datetime) -> Select[int, int, str]:
    """(person_id, agency_id, record_ref) of every agency record the subject may read."""
    if not _reads_children(subject):
        return _no_links()
    current = PersonRecordLink.ended_at.is_(None)
    parts: list[Select[int, int, str]] = []
    if subject.agency_id is not None:
        parts.append(
            select(
                PersonRecordLink.person_id, PersonRecordLink.agency_id, PersonRecordLink.record_ref
            ).where(
                current,
                PersonRecordLink.agency_id == subject.agency_id,
                # Retention-archived records leave everyday views (break-glass still reaches them).
                ~exists(
                    select(literal(1)).where(
                        ArchivedRecord.agency_id == PersonRecordLink.agency_id,
                        ArchivedRecord.record_ref == PersonRecordLink.record_ref,
                    )
                ),
            )
        )
    parts.append(
        select(
            PersonRecordLink.person_id, PersonRecordLink.agency_id, PersonRecordLink.record_ref
        ).where(current, PersonRecordLink.person_id.in_(break_glass_person_ids(subject, now)))
    )
    parts.extend(source(subject, now) for source in _shared_record_sources)
    combined = union_all(*parts).subquery("readable_link")
    return select(combined.c.person_id, combined.c.agency_id, combined.c.record_ref)


def readable_person_ids(subject: AuthSubject, now: dt.datetime) -> Select[int]:
    """Ids of every person the subject may see at all."""
    if not _reads_children(subject):
        return select(Person.id).where(false())
    links = readable_record_links(subject, now).subquery("readable_link_people")
    parts: list[Select[int]] = [select(links.c.person_id)]
    parts.extend(source(subject, now) for source in _involvement_sources)
    combined = union(*parts).subquery("readable_person")
    return select(combined.c.person_id)


def readable_source_records(
    subject: AuthSubject, now: dt.datetime, *, person_id: int | None = None
) -> Select[SourceRecord]:
    """Source-record versions the subject may read (optionally for one person)."""
    links = readable_record_links(subject, now).subquery("readable_record")
    conditions = [
        links.c.agency_id == SourceRecord.agency_id,
        links.c.record_ref == SourceRecord.record_ref,
    ]
    if person_id is not None:
        conditions.append(links.c.person_id == person_id)
    return select(SourceRecord).where(exists(select(literal(1)).where(and_(*conditions))))


def readable_events(
    subject: AuthSubject, now: dt.datetime, *, person_id: int | None = None
) -> Select[Event]:
    """Event versions the subject may read: recorded by an agency whose record of a
    participant the subject may read (optionally only events about one person)."""
    links = readable_record_links(subject, now).subquery("readable_event_link")
    conditions = [
        EventParticipant.event_id == Event.id,
        links.c.agency_id == Event.agency_id,
        links.c.record_ref == EventParticipant.record_ref,
    ]
    if person_id is not None:
        conditions.append(links.c.person_id == person_id)
    return select(Event).where(
        exists(select(literal(1)).select_from(EventParticipant).where(and_(*conditions)))
    )


def can_read_person(
    db_session: Session, *, subject: AuthSubject, person_id: int, now: dt.datetime
) -> bool:
    readable = readable_person_ids(subject, now).subquery("readable_check")
    return (
        db_session.scalar(select(literal(1)).where(readable.c.person_id == person_id).limit(1))
        is not None
    )


def live_break_glass_grant(
    db_session: Session, *, subject: AuthSubject, person_id: int, now: dt.datetime
) -> BreakGlassGrant | None:
    return db_session.scalars(
        select(BreakGlassGrant)
        .where(
            BreakGlassGrant.user_id == subject.user_id,
            BreakGlassGrant.person_id == person_id,
            BreakGlassGrant.ended_at.is_(None),
            BreakGlassGrant.granted_at <= now,
            BreakGlassGrant.expires_at > now,
        )
        .order_by(BreakGlassGrant.expires_at.desc())
        .limit(1)
    ).first()


def agency_is_involved(db_session: Session, *, agency_id: int, person_id: int) -> bool:
    return (
        db_session.scalar(
            select(literal(1))
            .where(
                PersonRecordLink.agency_id == agency_id,
                PersonRecordLink.person_id == person_id,
                PersonRecordLink.ended_at.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def person_by_public_id(db_session: Session, public_id: str) -> Person | None:
    return db_session.scalars(select(Person).where(Person.public_id == public_id)).first()


def user_by_username(db_session: Session, username: str) -> UserAccount | None:
    return db_session.scalars(select(UserAccount).where(UserAccount.username == username)).first()


def user_by_oidc_subject(db_session: Session, oidc_subject: str) -> UserAccount | None:
    return db_session.scalars(
        select(UserAccount).where(UserAccount.oidc_subject == oidc_subject)
    ).first()


def session_by_token_hash(db_session: Session, token_sha256: str) -> SignInSession | None:
    return db_session.scalars(
        select(SignInSession).where(SignInSession.token_sha256 == token_sha256)
    ).first()


def api_token_by_hash(db_session: Session, token_sha256: str) -> ApiToken | None:
    return db_session.scalars(select(ApiToken).where(ApiToken.token_sha256 == token_sha256)).first()


def designated_leads_for_person(db_session: Session, *, person_id: int) -> Sequence[UserAccount]:
    """Active designated leads of every agency currently holding a record about the person."""
    agencies = select(PersonRecordLink.agency_id).where(
        PersonRecordLink.person_id == person_id, PersonRecordLink.ended_at.is_(None)
    )
    return db_session.scalars(
        select(UserAccount)
        .where(
            UserAccount.role == Role.DESIGNATED_LEAD,
            UserAccount.is_active.is_(True),
            UserAccount.agency_id.in_(agencies),
        )
        .order_by(UserAccount.id)
    ).all()


def all_designated_leads(db_session: Session) -> Sequence[UserAccount]:
    return db_session.scalars(
        select(UserAccount)
        .where(UserAccount.role == Role.DESIGNATED_LEAD, UserAccount.is_active.is_(True))
        .order_by(UserAccount.id)
    ).all()


#: Audit actions that mean someone looked at a person's data.
LOOKING_ACTIONS = ("person.read", "person.export", "break_glass.granted")


def audit_entries_for_person(
    db_session: Session, *, person_id: int, actions: Sequence[str] = LOOKING_ACTIONS
) -> Sequence[AuditEntry]:
    return db_session.scalars(
        select(AuditEntry)
        .where(AuditEntry.person_id == person_id, AuditEntry.action.in_(actions))
        .order_by(AuditEntry.position.desc())
    ).all()
