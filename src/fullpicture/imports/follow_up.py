"""After an import: link its new and changed records, rebuild the households they touch, and
rescore the children it touches (steps 2-4 of ``flows.ingest_feed``).

A feed that brings a few records and events should change the picture at once: each new or
changed record is matched against the existing people (incremental linkage), the households of
the people it touches are derived again from the linked records, and each child an imported
event concerns — directly, or through an adult in their household — is rescored for cumulative
harm, so a new alert is raised the day its evidence arrives. A large batch is better served by one batch
linkage run and one population rescoring: the follow-up either says so (``LargeBatch.ADVISE``)
or runs them (``LargeBatch.RUN``, as the demo does for a whole population).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import and_, or_, select, union
from sqlalchemy.orm import Session, aliased

from fullpicture.access import service as access_service
from fullpicture.access.subject import SystemPrincipal
from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.core.database import utc_now
from fullpicture.harm import repository as harm_repository
from fullpicture.harm import service as harm_service
from fullpicture.imports.models import ImportBatch
from fullpicture.linkage import households as linkage_households
from fullpicture.linkage import repository as linkage_repository
from fullpicture.linkage import service as linkage_service
from fullpicture.linkage.rules import default_rules
from fullpicture.people.models import (
    HouseholdMembership,
    PersonRecordLink,
    SourceRecord,
    SourceRelationship,
)
from fullpicture.people.repository import link_is_current

#: More changed records than this and a batch run (`fullpicture link`) is the quicker route.
INCREMENTAL_RECORD_LIMIT = 500


class LargeBatch(StrEnum):
    """What the follow-up does with a batch too large (or too early) to work record by record."""

    ADVISE = "advise"  # say which batch command to run
    RUN = "run"  # run batch linkage and rescore the whole population


@dataclass
class FollowUp:
    """What happened after an import, for the CLI and API to show."""

    records_linked: int = 0
    households: int | None = None  # households the rebuild derived; None when not rebuilt
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
    large_batch: LargeBatch = LargeBatch.ADVISE,
) -> FollowUp:
    """Link the batch's new and changed records, rebuild the households, and rescore the
    children its events concern."""
    outcome = FollowUp()
    started = utc_now()
    batch = db_session.scalar(select(ImportBatch).where(ImportBatch.public_id == batch_public_id))
    if batch is None:
        raise ValueError(f"no import batch {batch_public_id}")
    job: SystemPrincipal | None = None

    def as_job() -> SystemPrincipal:
        """Linking, rebuilding households and rescoring read whole records: as one audited
        job under the caller, recorded the first time a step needs it."""
        nonlocal job
        if job is None:
            job = access_service.system_principal(
                db_session=db_session,
                job="import follow-up",
                operator=started_by,
                detail={"import_batch": batch_public_id},
            )
        return job

    changed = db_session.execute(
        select(SourceRecord.agency_id, SourceRecord.record_ref)
        .where(SourceRecord.import_batch_id == batch.id)
        .distinct()
    ).all()
    day = as_of or dt.date.today()
    ran_batch = False
    if changed:
        no_model = linkage_repository.latest_model(db_session=db_session) is None
        if (no_model or len(changed) > record_limit) and large_batch is LargeBatch.RUN:
            linkage_service.link_database(
                db_session=db_session, rules=default_rules(), started_by=started_by
            )
            outcome.records_linked = len(changed)
            ran_batch = True
        elif no_model:
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
                    linker=as_job(),
                    agency_id=agency_id,
                    record_ref=record_ref,
                    rules=rules,
                    started_by=started_by,
                )
            outcome.records_linked = len(changed)

    new_relationships = db_session.scalar(
        select(SourceRelationship.id).where(SourceRelationship.import_batch_id == batch.id).limit(1)
    )
    if ran_batch:
        # A batch run may have moved any record: derive every household again (idempotent).
        rebuilt = linkage_households.rebuild_households(
            db_session=db_session, linker=as_job(), as_of=day
        )
        outcome.households = rebuilt["households"]
    elif outcome.records_linked or new_relationships is not None:
        # Only the households of the people the batch touched, so the adults a child lives
        # with are known before the child is rescored.
        rebuilt = linkage_households.rebuild_households_of(
            db_session=db_session,
            linker=as_job(),
            person_ids=_people_touched(db_session=db_session, batch_id=batch.id, since=started),
            as_of=day,
        )
        outcome.households = rebuilt["households"]

    children = sorted(_children_touched(db_session=db_session, batch_id=batch.id, as_of=day))
    rescore_all = ran_batch or (len(children) > record_limit and large_batch is LargeBatch.RUN)
    if not rescore_all and len(children) > record_limit:
        outcome.advice.append(
            f"{len(children)} children are touched: run `fullpicture harm score` to rescore them all."
        )
        return outcome
    if not rescore_all and not children:
        return outcome
    scorer = as_job()
    if rescore_all:
        scored = harm_service.score_population(db_session=db_session, scorer=scorer, as_of=day)
        alerts = harm_service.record_alerts(db_session=db_session, scorer=scorer, result=scored)
        outcome.alert_ids.extend(alert.public_id for alert in alerts)
        outcome.children_rescored = scored.scores.num_rows
        return outcome
    for child_id in children:
        try:
            alerts = harm_service.on_event_recorded(
                db_session=db_session, scorer=scorer, person_id=child_id, as_of=day
            )
        except harm_service.HarmNotComputable as exc:
            # One child's unscorable record (an entry stored before dates were checked) must
            # not stop the others being rescored.
            outcome.advice.append(f"Child {child_id} was not rescored: {exc}.")
            continue
        outcome.alert_ids.extend(alert.public_id for alert in alerts)
        outcome.children_rescored += 1
    return outcome


def _people_touched(*, db_session: Session, batch_id: int, since: dt.datetime) -> set[int]:
    """People whose households the batch may change: those its records and relationships are
    linked to, and those linkage gave or took a record from since the follow-up started."""
    batch_records = union(
        select(SourceRecord.agency_id, SourceRecord.record_ref).where(
            SourceRecord.import_batch_id == batch_id
        ),
        select(SourceRelationship.agency_id, SourceRelationship.record_ref).where(
            SourceRelationship.import_batch_id == batch_id
        ),
        select(SourceRelationship.agency_id, SourceRelationship.related_record_ref).where(
            SourceRelationship.import_batch_id == batch_id
        ),
    ).subquery("batch_record")
    linked = select(PersonRecordLink.person_id).join(
        batch_records,
        and_(
            PersonRecordLink.agency_id == batch_records.c.agency_id,
            PersonRecordLink.record_ref == batch_records.c.record_ref,
        ),
    )
    moved = select(PersonRecordLink.person_id).where(
        or_(PersonRecordLink.created_at >= since, PersonRecordLink.ended_at >= since)
    )
    return set(db_session.scalars(union(linked, moved)))


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
            .where(Event.import_batch_id == batch_id, link_is_current())
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
