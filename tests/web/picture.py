"""A small multi-agency picture for the page tests: a child known to a school and a GP (with
entries at both, in the linkage index, with an alert), another child of the same name known
only to another GP, and an agency that knows neither."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.chronology.models import (
    DatePrecision,
    Event,
    EventParticipant,
    InformationType,
    ParticipantRole,
)
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.linkage import repository as linkage_repository
from fullpicture.linkage.models import ReviewItem, ReviewStatus
from fullpicture.linkage.preparation import prepare
from fullpicture.people.models import Person, SourceRecord
from tests.access.principals import make_agency
from tests.web.pages import named_child


@dataclass
class Picture:
    school: Agency
    gp: Agency
    other_gp: Agency
    stranger: Agency
    child: Person
    school_record: SourceRecord
    gp_record: SourceRecord
    namesake: Person
    namesake_records: list[SourceRecord]
    school_events: list[Event]
    gp_events: list[Event]
    alert: HarmAlert


def entry(
    db_session: Session,
    record: SourceRecord,
    *,
    code: str,
    summary: str,
    day: dt.date,
    severity: int | None = None,
    information_type: InformationType = InformationType.FACT,
) -> Event:
    event = Event(
        agency_id=record.agency_id,
        event_ref=f"ev-{uuid.uuid4().hex[:8]}",
        version=1,
        content_hash=uuid.uuid4().hex,
        event_date=day,
        date_precision=DatePrecision.DAY,
        concern_code=code,
        severity=severity,
        summary=summary,
        information_type=information_type,
        recorded_by="test",
        participants=[EventParticipant(record_ref=record.record_ref, role=ParticipantRole.SUBJECT)],
    )
    db_session.add(event)
    db_session.flush()
    return event


def index_for_linkage(db_session: Session, records: list[SourceRecord]) -> None:
    """Put records in the linkage index, prepared as a linkage run prepares them."""
    prepared = prepare(linkage_repository.records_frame(db_session=db_session, records=records))
    linkage_repository.upsert_index(
        db_session=db_session,
        prepared=prepared,
        source_record_ids={
            linkage_repository.record_key(r.agency_id, r.record_ref): r.id for r in records
        },
    )


def build_picture(db_session: Session, tag: str) -> Picture:
    school = make_agency(db_session, f"school-{tag}")
    gp = make_agency(db_session, f"gp-{tag}", kind=AgencyKind.GP)
    other_gp = make_agency(db_session, f"gp-other-{tag}", kind=AgencyKind.GP)
    stranger = make_agency(db_session, f"police-{tag}", kind=AgencyKind.POLICE)
    child, (school_record, gp_record) = named_child(
        db_session,
        held_by=[school, gp],
        given_name="Amelia",
        family_name="Okafor",
        date_of_birth=dt.date(2016, 3, 14),
        nhs_number="9434765919",
        postcode="CR0 1AA",
    )
    namesake, namesake_records = named_child(
        db_session,
        held_by=[other_gp],
        given_name="Amelia",
        family_name="Okafor",
        date_of_birth=dt.date(2019, 7, 2),
    )
    today = dt.date.today()
    school_events = [
        entry(
            db_session,
            school_record,
            code="WNB",
            summary="Not brought to the school nurse's hearing check.",
            day=today - dt.timedelta(days=60),
        ),
        entry(
            db_session,
            school_record,
            code="WNB",
            summary="Not brought to the school nurse's follow-up; child seen with mother.",
            day=today - dt.timedelta(days=30),
        ),
    ]
    gp_events = [
        entry(
            db_session,
            gp_record,
            code="NEG-HLT",
            summary="Untreated tooth decay; pain reported by the child.",
            day=today - dt.timedelta(days=20),
            severity=3,
            information_type=InformationType.REPORTED,
        )
    ]
    alert = HarmAlert(
        person_id=child.id,
        kind="threshold",
        raised_on=today - dt.timedelta(days=19),
        # Shown on the day it was raised: the acknowledgement clock starts then.
        created_at=dt.datetime.combine(today - dt.timedelta(days=19), dt.time(9), tzinfo=dt.UTC),
        score=9.5,
        reason="Neglect of health and repeated was-not-brought from two agencies",
        evidence={"event_ids": [e.id for e in [*school_events, *gp_events]]},
        model_version="test",
        status=AlertStatus.NEW,
        routed_to_agency_id=school.id,
        routing_reason="sent to the school in this test",
    )
    db_session.add(alert)
    db_session.flush()
    index_for_linkage(db_session, [school_record, gp_record, *namesake_records])
    return Picture(
        school=school,
        gp=gp,
        other_gp=other_gp,
        stranger=stranger,
        child=child,
        school_record=school_record,
        gp_record=gp_record,
        namesake=namesake,
        namesake_records=namesake_records,
        school_events=school_events,
        gp_events=gp_events,
        alert=alert,
    )


def add_stranger_child(db_session: Session, picture: Picture) -> Person:
    """A child only the other GP knows, with a name nobody else shares: a page that shows
    "Zebedee" (or this child's id or record) to the school shows a child it does not know."""
    stranger, (record,) = named_child(
        db_session,
        held_by=[picture.other_gp],
        given_name="Zebedee",
        family_name="Quarrington",
        date_of_birth=dt.date(2015, 5, 5),
        postcode="CR0 1AA",
    )
    entry(
        db_session,
        record,
        code="PHY-INJ",
        summary="Zebedee seen with a bruise at the surgery.",
        day=dt.date.today() - dt.timedelta(days=10),
        severity=4,
    )
    index_for_linkage(db_session, [record])
    return stranger


def queue_namesake_review(db_session: Session, picture: Picture) -> ReviewItem:
    """An open review of the GP's record of the child against its namesake's: the same given
    name, a different date of birth, so a reviewer has a real choice to make."""
    namesake_record = picture.namesake_records[0]
    queued = ReviewItem(
        record_key_l=linkage_repository.record_key(
            picture.gp_record.agency_id, picture.gp_record.record_ref
        ),
        record_key_r=linkage_repository.record_key(
            namesake_record.agency_id, namesake_record.record_ref
        ),
        match_weight=2.5,
        match_probability=0.85,
        comparison_levels={
            "given_name": {"level": "same given name", "match_weight": 6.4},
            "date_of_birth": {"level": "different date of birth", "match_weight": -7.2},
        },
        status=ReviewStatus.OPEN,
    )
    db_session.add(queued)
    db_session.flush()
    return queued
