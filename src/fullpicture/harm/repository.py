"""Queries for the cumulative-harm engine: each child's scoring events, straight from the tables.

A child's events are the current version of every entry in which one of the child's linked
records takes part, plus the adult factors recorded about adults in the child's household
while they lived there (research-notes §6.2, §6.6; ``household_adult_codes`` in the model).
Each entry's words are read first (``harm/entry_reading.py``): a follow-up, an attendance
report above the persistent-absence line or an explained accident is scored as its words say,
the same for the batch job and the incremental path, which both take their events from here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import groupby
from typing import Any

import pyarrow as pa
from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Row,
    Select,
    and_,
    bindparam,
    false,
    func,
    select,
    union,
)
from sqlalchemy.orm import Session

from fullpicture.access import repository as access_repository
from fullpicture.access.subject import AuthSubject, Moment, Reader
from fullpicture.agencies.models import Agency
from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.chronology.repository import ChildRecord
from fullpicture.chronology.versions import entry_is_latest_version
from fullpicture.core.database import among_parameter, is_postgresql, utc_now
from fullpicture.harm.batch import epoch_day
from fullpicture.harm.engine import ScoringEvent
from fullpicture.harm.entry_reading import (
    EntryReading,
    ScoringRow,
    WrittenRow,
    read_written_rows,
    scoring_events_of,
)
from fullpicture.harm.harm_model import HarmModel
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.people.childhood import adults_born_by, date_of_birth_from_records
from fullpicture.people.models import HouseholdMembership, PersonRecordLink, SourceRecord
from fullpicture.people.repository import (
    current_links,
    link_is_current,
    membership_covers,
    record_is_latest_version,
)

EVENTS_SCHEMA = pa.schema(
    [
        ("child_id", pa.int64()),
        ("ref", pa.int64()),
        ("agency", pa.string()),
        ("day", pa.int32()),
        ("code", pa.string()),
        ("severity", pa.int32()),
    ]
)
CHILDREN_SCHEMA = pa.schema([("child_id", pa.int64()), ("birth_day", pa.int32())])


def children_with_birth(
    *, db_session: Session, as_of: dt.date, person_ids: Sequence[int] | None = None
) -> dict[int, dt.date | None]:
    """Children as of a day: under 18 by the date of birth their linked records give
    (``people.childhood.date_of_birth_from_records``), or a household's child; with that date
    where known."""
    if person_ids is not None:
        # One child's score on every harm read: the statements are built once (issue 14).
        births_of, household_children_of = _births_of_some(is_postgresql(db_session))
        values = {"born_people": list(person_ids)}
        return _children_of(
            db_session.execute(births_of, values).all(),
            db_session.execute(household_children_of, values).all(),
            as_of,
        )
    births, household_children = _births_statements()
    return _children_of(
        db_session.execute(births).all(),
        db_session.execute(household_children.distinct()).all(),
        as_of,
    )


def _births_statements() -> tuple[Select[int, dt.date | None, int], Select[int]]:
    """(person, date of birth, how many records give it) of everyone with one, in person
    order, and the household children."""
    births = (
        select(
            PersonRecordLink.person_id,
            SourceRecord.date_of_birth,
            func.count().label("records"),
        )
        .join(
            SourceRecord,
            and_(
                SourceRecord.agency_id == PersonRecordLink.agency_id,
                SourceRecord.record_ref == PersonRecordLink.record_ref,
            ),
        )
        # Only each record's current version: a date an agency has since corrected is not
        # evidence of the child's age.
        .where(
            link_is_current(),
            SourceRecord.date_of_birth.is_not(None),
            record_is_latest_version(),
        )
        .group_by(PersonRecordLink.person_id, SourceRecord.date_of_birth)
        .order_by(PersonRecordLink.person_id)
    )
    household_children = select(HouseholdMembership.person_id).where(
        HouseholdMembership.role == "child"
    )
    return births, household_children


@lru_cache(maxsize=2)
def _births_of_some(postgresql: bool) -> tuple[Select[int, dt.date | None, int], Select[int]]:
    births, household_children = _births_statements()
    return (
        births.where(
            among_parameter(
                postgresql=postgresql, column=PersonRecordLink.person_id, name="born_people"
            )
        ),
        household_children.where(
            among_parameter(
                postgresql=postgresql, column=HouseholdMembership.person_id, name="born_people"
            )
        ).distinct(),
    )


def _children_of(
    births: Iterable[Row[int, dt.date | None, int]],
    household_children: Iterable[Row[int]],
    as_of: dt.date,
) -> dict[int, dt.date | None]:
    found: dict[int, dt.date | None] = {}
    # A child is under the adult age in people/childhood.yaml, by calendar birthdays.
    earliest_birth = adults_born_by(as_of)
    for person_id, dates in groupby(births, key=lambda row: row[0]):
        dob = date_of_birth_from_records(date for _, date, records in dates for _ in range(records))
        if dob is not None and earliest_birth < dob <= as_of:
            found[person_id] = dob
    for (person_id,) in household_children:
        found.setdefault(person_id, None)
    return found


def _event_rows(
    db_session: Session,
    births: dict[int, dt.date | None],
    as_of: dt.date,
    model: HarmModel,
    readings_out: dict[int, EntryReading] | None = None,
) -> list[ScoringRow]:
    """Each child's scoring rows, every entry read for what its words support; the readings a
    rule decided go into ``readings_out`` (by entry id) when one is given."""
    return read_written_rows(
        _written_rows(db_session, births, as_of, model), births, model, readings_out
    )


def _written_rows(
    db_session: Session, child_ids: Iterable[int], as_of: dt.date, model: HarmModel
) -> list[WrittenRow]:
    ids = list(child_ids)
    if not ids:
        return []
    statement = _written_rows_statement(
        is_postgresql(db_session),
        tuple(model.household_roles_not_adults),
        tuple(model.household_adult_codes),
    )
    return [
        (int(c), int(r), str(a), d, str(code), sev, str(text or ""))
        for c, r, a, d, code, sev, text in db_session.execute(
            statement, {"scored_children": ids, "scored_as_of": as_of}
        )
    ]


@lru_cache(maxsize=8)
def _written_rows_statement(
    postgresql: bool, roles_not_adults: tuple[str, ...], adult_codes: tuple[str, ...]
) -> Select[int, int, str, dt.date, str, int | None, str | None]:
    """The written scoring rows of the children given as ``scored_children`` up to
    ``scored_as_of``: built once per backend and model (building it was a third of a harm
    read's Python, issue 14)."""
    as_of = bindparam("scored_as_of", type_=Date())
    own = (
        select(
            PersonRecordLink.person_id.label("child_id"),
            Event.id.label("ref"),
        )
        .join(EventParticipant, EventParticipant.event_id == Event.id)
        .join(
            PersonRecordLink,
            current_links(agency_id=Event.agency_id, record_ref=EventParticipant.record_ref),
        )
        .where(
            among_parameter(
                postgresql=postgresql, column=PersonRecordLink.person_id, name="scored_children"
            ),
            Event.event_date <= as_of,
            entry_is_latest_version(),
        )
    )
    child_home = HouseholdMembership.__table__.alias("child_home")
    adult_home = HouseholdMembership.__table__.alias("adult_home")
    adults = (
        select(child_home.c.person_id.label("child_id"), Event.id.label("ref"))
        .join(EventParticipant, EventParticipant.event_id == Event.id)
        .join(
            PersonRecordLink,
            current_links(agency_id=Event.agency_id, record_ref=EventParticipant.record_ref),
        )
        .join(
            adult_home,
            and_(
                adult_home.c.person_id == PersonRecordLink.person_id,
                adult_home.c.role.not_in(roles_not_adults),
            ),
        )
        .join(
            child_home,
            and_(
                child_home.c.household_id == adult_home.c.household_id,
                child_home.c.person_id != adult_home.c.person_id,
            ),
        )
        .where(
            among_parameter(
                postgresql=postgresql, column=child_home.c.person_id, name="scored_children"
            ),
            Event.event_date <= as_of,
            entry_is_latest_version(),
            Event.concern_code.in_(adult_codes),
            *(
                membership_covers(
                    date_from=home.c.date_from, date_to=home.c.date_to, day=Event.event_date
                )
                for home in (child_home, adult_home)
            ),
        )
    )
    pairs = union(own, adults).subquery()
    return (
        select(
            pairs.c.child_id,
            Event.id,
            Agency.code,
            Event.event_date,
            Event.concern_code,
            Event.severity,
            Event.summary,
        )
        .join(Event, Event.id == pairs.c.ref)
        .join(Agency, Agency.id == Event.agency_id)
        .order_by(pairs.c.child_id, Event.event_date, Event.id)
    )


def population_tables(
    *, db_session: Session, as_of: dt.date, model: HarmModel
) -> tuple[pa.Table, pa.Table]:
    """Every child's scoring events and dates of birth, as the batch job's Arrow inputs."""
    children = children_with_birth(db_session=db_session, as_of=as_of)
    rows = _event_rows(db_session, children, as_of, model)
    columns: list[tuple[Any, ...]] = (
        list(zip(*rows, strict=True)) if rows else [(), (), (), (), (), ()]
    )
    events = pa.table(
        {
            "child_id": pa.array(columns[0], pa.int64()),
            "ref": pa.array(columns[1], pa.int64()),
            "agency": pa.array(columns[2], pa.string()),
            "day": pa.array([epoch_day(d) for d in columns[3]], pa.int32()),
            "code": pa.array(columns[4], pa.string()),
            "severity": pa.array(columns[5], pa.int32()),
        },
        schema=EVENTS_SCHEMA,
    )
    births = pa.table(
        {
            "child_id": pa.array(list(children), pa.int64()),
            "birth_day": pa.array(
                [epoch_day(d) if d else None for d in children.values()], pa.int32()
            ),
        },
        schema=CHILDREN_SCHEMA,
    )
    return events, births


class ChildNotScorable(LookupError):
    """The scorer may not see the child: one answer for an unknown child and a hidden one."""


def child_scoring_events(
    *,
    db_session: Session,
    scorer: Reader,
    person_id: int,
    as_of: dt.date,
    model: HarmModel,
    readings_out: dict[int, EntryReading] | None = None,
) -> tuple[list[ScoringEvent], dt.date | None]:
    """One child's scoring events and date of birth, for the incremental path; the entries an
    entry-reading rule decided go into ``readings_out`` when one is given.

    The score rests on the child's whole record by design (docs/security.md: what each
    reader is shown of its evidence is filtered by ``harm.service.visible_evidence``), so the
    rule here is that a signed-in ``scorer`` may see the child at all; ``ChildNotScorable``
    otherwise. An audited system job scores any child."""
    written, birth = child_written_rows(
        db_session=db_session, scorer=scorer, person_id=person_id, as_of=as_of, model=model
    )
    return scoring_events_of(written, birth, model, readings_out), birth


def child_written_rows(
    *,
    db_session: Session,
    scorer: Reader,
    person_id: int,
    as_of: dt.date,
    model: HarmModel,
    now: dt.datetime | None = None,
) -> tuple[list[WrittenRow], dt.date | None]:
    """Everything one child's score is computed from, as the tables hold it: the written
    scoring entries up to ``as_of`` (in date order) and the date of birth. The access rule is
    ``child_scoring_events``'s, judged at ``now`` (default: now)."""
    birth = child_birth(
        db_session=db_session, scorer=scorer, person_id=person_id, as_of=as_of, now=now
    )
    return _written_rows(db_session, [person_id], as_of, model), birth


def child_birth(
    *,
    db_session: Session,
    scorer: Reader,
    person_id: int,
    as_of: dt.date,
    now: dt.datetime | None = None,
) -> dt.date | None:
    """The child's date of birth as their records give it, under ``child_written_rows``'s
    access rule (``ChildNotScorable`` when the scorer may not see the child)."""
    if not access_repository.can_read_person(
        db_session, subject=scorer, person_id=person_id, now=now or utc_now()
    ):
        raise ChildNotScorable("no such child, or you have no need to know about them")
    births = children_with_birth(db_session=db_session, as_of=as_of, person_ids=[person_id])
    return births.get(person_id)


def written_rows_of_record(record: ChildRecord, as_of: dt.date) -> list[WrittenRow]:
    """The written scoring entries ``child_written_rows`` reads, from a chronology already
    read of the child's whole record (``chronology.repository.child_record``: every entry
    about the child and the household adults' factors while they lived there, seen or not by
    its viewer), so a page reads the record once. A test holds the two equal."""
    rows: list[WrittenRow] = [
        (
            record.person_id,
            e.event_id,
            e.agency_code,
            e.event_date,
            e.concern_code,
            e.recorded_severity,
            e.summary or "",
        )
        for entries in (record.entries, record.hidden)
        for e in entries
        if e.event_date <= as_of
    ]
    rows.sort(key=lambda row: (row[3], row[1]))
    return rows


def involved_through_alerts(subject: AuthSubject, now: Moment) -> Select[int]:
    """Children with an alert routed to the subject's agency (registered with the need-to-know
    rule): only the agency an alert is routed to may decide on it, and it cannot decide about
    a child it may not see. Routing falls back to the children's social care front door when
    no agency leads the child's case, so without this an alert about a child the front door
    holds no record of would reach nobody (docs/security.md, the need-to-know rule)."""
    if subject.agency_id is None:
        return select(HarmAlert.person_id).where(false())
    return select(HarmAlert.person_id).where(HarmAlert.routed_to_agency_id == subject.agency_id)


def readable_alerts(
    reader: AuthSubject,
    now: Moment,
    *,
    statuses: Sequence[AlertStatus] = (),
    person_id: int | None = None,
    routed_to_agency_id: int | None = None,
) -> Select[HarmAlert]:
    """Alerts about children the reader may see (``access.repository.readable_person_ids``),
    newest first: one statement for the API and the CLI, so neither filters rows itself."""
    readable = access_repository.readable_person_ids(reader, now).subquery("alert_reader")
    statement = (
        select(HarmAlert)
        .where(HarmAlert.person_id.in_(select(readable.c.person_id)))
        .order_by(HarmAlert.raised_on.desc(), HarmAlert.id.desc())
    )
    if statuses:
        statement = statement.where(HarmAlert.status.in_(list(statuses)))
    if person_id is not None:
        statement = statement.where(HarmAlert.person_id == person_id)
    if routed_to_agency_id is not None:
        statement = statement.where(HarmAlert.routed_to_agency_id == routed_to_agency_id)
    return statement


def listed_alerts(
    db_session: Session,
    reader: AuthSubject,
    now: dt.datetime,
    *,
    statuses: Sequence[AlertStatus],
    person_id: int | None,
    routed_to_agency_id: int | None,
    limit: int,
) -> list[HarmAlert]:
    """``readable_alerts`` with its filters, newest first, at most ``limit``: the statement
    is kept per reader and filters used (``access.repository.kept_statement``), each list
    given its values (the alerts list is asked on every visit to the page and the API)."""

    def build(moment: ColumnElement[dt.datetime]) -> Select[HarmAlert]:
        statement = readable_alerts(reader, moment)
        if statuses:
            statement = statement.where(
                HarmAlert.status.in_(bindparam("alert_statuses", expanding=True))
            )
        if person_id is not None:
            statement = statement.where(
                HarmAlert.person_id == bindparam("alert_person", type_=Integer())
            )
        if routed_to_agency_id is not None:
            statement = statement.where(
                HarmAlert.routed_to_agency_id == bindparam("alert_agency", type_=Integer())
            )
        return statement.limit(bindparam("alert_limit", type_=Integer()))

    kind = f"alerts:{bool(statuses)}:{person_id is not None}:{routed_to_agency_id is not None}"
    statement = access_repository.kept_statement(db_session, kind, reader, build)
    values = {
        **access_repository.need_to_know_values(now),
        "alert_statuses": list(statuses),
        "alert_person": person_id,
        "alert_agency": routed_to_agency_id,
        "alert_limit": limit,
    }
    return list(db_session.scalars(statement, values))
