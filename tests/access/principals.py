"""Test helpers: agencies, people and signed-in users, for access tests and for any other
capability's API tests (``from tests.access.principals import authorise_client``)."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.models import Role, UserAccount
from fullpicture.access.roles import Scope, role_book
from fullpicture.access.schemas import TokenCreate, UserCreate
from fullpicture.access.subject import AuthMethod, AuthSubject, subject_for
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.chronology.models import (
    DatePrecision,
    Event,
    EventParticipant,
    InformationType,
    ParticipantRole,
)
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.people.models import Person, PersonRecordLink, SourceRecord

CHILD_ROLES = tuple(r for r in Role if role_book().policy(r).child_scope != "none")


def strong_password(username: str = "") -> str:
    """A random password the strength rules accept: they refuse one that contains the username,
    and a short username ("dsl") turns up in a random one about once in a few hundred."""
    while True:
        password = "Pw-" + secrets.token_urlsafe(18)
        if not username or username.lower() not in password.lower():
            return password


def make_agency(
    db_session: Session, code: str | None = None, kind: AgencyKind = AgencyKind.SCHOOL
) -> Agency:
    code = code or f"agency-{uuid.uuid4().hex[:8]}"
    existing = db_session.scalars(select(Agency).where(Agency.code == code)).first()
    if existing is not None:
        return existing
    agency = Agency(code=code, name=f"Agency {code}", kind=kind)
    db_session.add(agency)
    db_session.flush()
    return agency


def front_door_with_a_routed_alert(db_session: Session, child: Person, code: str) -> Agency:
    """The children's social care front door, holding no record of ``child``, reading its pooled
    page through a harm alert routed to it (every agency's entries, none its own)."""
    front_door = make_agency(db_session, code, AgencyKind.CHILDRENS_SOCIAL_CARE)
    db_session.add(
        HarmAlert(
            person_id=child.id,
            kind="threshold",
            raised_on=dt.date.today(),
            score=20.0,
            reason="Routed to the front door in this test",
            evidence={"event_ids": []},
            model_version="test",
            status=AlertStatus.NEW,
            routed_to_agency_id=front_door.id,
            routing_reason="no lead practitioner is recorded; sent to the front door",
        )
    )
    db_session.flush()
    return front_door


def make_user(
    db_session: Session,
    *,
    role: Role = Role.PRACTITIONER,
    agency: Agency | None = None,
    username: str | None = None,
    password: str | None = None,
) -> UserAccount:
    if agency is None and role_book().policy(role).child_scope != "none":
        agency = make_agency(db_session)
    username = username or f"user-{uuid.uuid4().hex[:10]}"
    return access_service.create_user(
        db_session=db_session,
        user_in=UserCreate(
            username=username,
            display_name="Test User",
            role=role,
            agency_code=agency.code if agency is not None else None,
            password=SecretStr(password or strong_password(username)),
        ),
        actor="test",
    )


def link_record(
    db_session: Session, *, person: Person, agency: Agency, record_ref: str | None = None
) -> SourceRecord:
    """A source record at ``agency`` that linkage points at ``person``."""
    record_ref = record_ref or f"rec-{uuid.uuid4().hex[:8]}"
    record = SourceRecord(
        agency_id=agency.id,
        record_ref=record_ref,
        version=1,
        content_hash=uuid.uuid4().hex,
        given_name="Test",
        family_name=f"Child-{record_ref}",
        recorded_by="test",
    )
    db_session.add(record)
    db_session.add(
        PersonRecordLink(
            person_id=person.id, agency_id=agency.id, record_ref=record_ref, method="confirmed"
        )
    )
    db_session.flush()
    return record


def make_person(db_session: Session, *, held_by: list[Agency] | None = None) -> Person:
    person = Person()
    db_session.add(person)
    db_session.flush()
    for agency in held_by or []:
        link_record(db_session, person=person, agency=agency)
    return person


def make_event(
    db_session: Session,
    *,
    record: SourceRecord,
    summary: str = "seen",
    concern_code: str = "PHY-INJ",
    event_date: dt.date = dt.date(2026, 1, 5),
) -> Event:
    event = Event(
        agency_id=record.agency_id,
        event_ref=f"ev-{uuid.uuid4().hex[:8]}",
        version=1,
        content_hash=uuid.uuid4().hex,
        event_date=event_date,
        date_precision=DatePrecision.DAY,
        concern_code=concern_code,
        summary=summary,
        information_type=InformationType.FACT,
        recorded_by="test",
        participants=[EventParticipant(record_ref=record.record_ref, role=ParticipantRole.SUBJECT)],
    )
    db_session.add(event)
    db_session.flush()
    return event


def subject_of(user: UserAccount) -> AuthSubject:
    return subject_for(user, method=AuthMethod.CLI)


def bearer_token(
    db_session: Session, user: UserAccount, scopes: frozenset[Scope] | None = None
) -> str:
    plain, _ = access_service.issue_api_token(
        db_session=db_session,
        user=user,
        token_in=TokenCreate(name="test", scopes=scopes or role_book().policy(user.role).scopes),
        actor="test",
    )
    return plain


def authorise_client(
    client: TestClient,
    db_session: Session,
    *,
    role: Role = Role.PRACTITIONER,
    agency: Agency | None = None,
    scopes: frozenset[Scope] | None = None,
) -> UserAccount:
    """Make a user and put their API token on ``client``; returns the user."""
    user = make_user(db_session, role=role, agency=agency)
    client.headers["Authorization"] = f"Bearer {bearer_token(db_session, user, scopes)}"
    return user
