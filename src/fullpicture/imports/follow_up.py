"""After an import commits: link its new and changed records, and rescore the children it touches.

A feed that brings a few records and events should change the picture at once: each new or
changed record is matched against the existing people (incremental linkage), and each child
an imported event concerns — directly, or through an adult in their household — is rescored
for cumulative harm, so a new alert is raised the day its evidence arrives. A large batch is
better served by one batch linkage run and one population rescoring; the follow-up then says
so rather than working record by record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.harm import repository as harm_repository
from fullpicture.harm import service as harm_service
from fullpicture.imports.models import ImportBatch
from fullpicture.linkage import repository as linkage_repository
from fullpicture.linkage import service as linkage_service
from fullpicture.linkage.rules import default_rules
from fullpicture.people.models import HouseholdMembership, PersonRecordLink, SourceRecord

#: More changed records than this and a batch run (`fullpicture link`) is the quicker route.
INCREMENTAL_RECORD_LIMIT = 500


@dataclass
class FollowUp:
    """What happened after an import, for the CLI and API to show."""

    records_linked: int = 0
    children_rescored: int = 0
    alert_ids: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)


def follow_up_import(
    *,
    db_session: Session,
    batch_public_id: str,
    started_by: str,
    as_of: dt.date | None = None,
    record_limit: int = INCREMENTAL_RECORD_LIMIT,
) -> FollowUp:
    """Link the batch's new and changed records and rescore the children its events concern."""
    outcome = FollowUp()
    batch = db_session.scalar(select(ImportBatch).where(ImportBatch.public_id == batch_public_id))
    if batch is None:
        raise ValueError(f"no import batch {batch_public_id}")
    changed = db_session.execute(
        select(SourceRecord.agency_id, SourceRecord.record_ref)
        .where(SourceRecord.import_batch_id == batch.id)
        .distinct()
    ).all()
    if changed:
        if linkage_repository.latest_model(db_session=db_session) is None:
            outcome.advice.append(
                "No linkage model yet: run `fullpicture link` once to link these records into people."
            )
        elif len(changed) > record_limit:
            outcome.advice.append(
                f"{len(changed)} records are new or changed: run `fullpicture link` for one batch run."
            )
        else:
            rules = default_rules()
            for agency_id, record_ref in changed:
                linkage_service.link_record(
                    db_session=db_session,
                    agency_id=agency_id,
                    record_ref=record_ref,
                    rules=rules,
                    started_by=started_by,
                )
            outcome.records_linked = len(changed)

    day = as_of or dt.date.today()
    children = sorted(_children_touched(db_session=db_session, batch_id=batch.id, as_of=day))
    if len(children) > record_limit:
        outcome.advice.append(
            f"{len(children)} children are touched: run `fullpicture harm score` to rescore them all."
        )
        return outcome
    for child_id in children:
        alerts = harm_service.on_event_recorded(
            db_session=db_session, person_id=child_id, as_of=day
        )
        outcome.alert_ids.extend(alert.public_id for alert in alerts)
    outcome.children_rescored = len(children)
    return outcome


def _children_touched(*, db_session: Session, batch_id: int, as_of: dt.date) -> set[int]:
    """Children an event of the batch is about, or who live with someone it is about."""
    people = set(
        db_session.scalars(
            select(PersonRecordLink.person_id)
            .join(
                EventParticipant,
                EventParticipant.record_ref == PersonRecordLink.record_ref,
            )
            .join(
                Event,
                and_(
                    Event.id == EventParticipant.event_id,
                    Event.agency_id == PersonRecordLink.agency_id,
                ),
            )
            .where(Event.import_batch_id == batch_id, PersonRecordLink.ended_at.is_(None))
            .distinct()
        )
    )
    if not people:
        return set()
    member, housemate = aliased(HouseholdMembership), aliased(HouseholdMembership)
    housemates = db_session.scalars(
        select(housemate.person_id)
        .join(member, member.household_id == housemate.household_id)
        .where(
            member.person_id.in_(people),
            housemate.date_to.is_(None) | (housemate.date_to >= as_of),
        )
        .distinct()
    )
    candidates = people | set(housemates)
    return set(
        harm_repository.children_with_birth(
            db_session=db_session, as_of=as_of, person_ids=sorted(candidates)
        )
    )
