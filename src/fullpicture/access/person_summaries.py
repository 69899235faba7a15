"""Who a child is, as the viewer may see them: names, dates of birth and the agencies holding
records, read only from the source records the need-to-know rule lets the viewer read
(``access.repository.readable_record_links``). Pages name children through here, so a page
can never name a child from a record its reader may not see."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, Subquery, and_, select
from sqlalchemy.orm import Session

from fullpicture.access import repository as access_repository
from fullpicture.access.subject import AuthSubject, Moment
from fullpicture.agencies.models import Agency
from fullpicture.core.database import among, is_postgresql
from fullpicture.people.childhood import adults_born_by
from fullpicture.people.models import Person, PersonRecordLink, SourceRecord
from fullpicture.people.repository import link_is_current, record_is_latest_version

NAME_NOT_RECORDED = "Name not recorded"


@dataclass(frozen=True)
class ReadableRecord:
    """One agency's current record of a person, as the viewer may read it."""

    agency_code: str
    agency_name: str
    record_ref: str
    given_name: str | None
    family_name: str | None
    other_names: tuple[str, ...]
    date_of_birth: dt.date | None
    nhs_number: str | None
    upn: str | None
    postcodes: tuple[str, ...]
    link_method: str
    link_confidence: float | None
    #: Why linkage put this record with the person: the strongest pair's comparison levels
    #: (``linkage.service._link_evidence``), empty for a record linked alone or by hand.
    link_evidence: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def waterfall(self) -> list[tuple[str, str, float]]:
        """(comparison, level reached, match weight it added), strongest first."""
        levels = self.link_evidence.get("comparison_levels") or {}
        steps = [
            (name, str(step.get("level", "")), float(step.get("match_weight") or 0.0))
            for name, step in levels.items()
            if isinstance(step, dict)
        ]
        return sorted(steps, key=lambda s: -abs(s[2]))


@dataclass(frozen=True)
class ChildSummary:
    """How a page names a child: from the records the viewer may read, never others."""

    person_id: int
    public_id: str
    name: str
    date_of_birth: dt.date | None
    records: tuple[ReadableRecord, ...] = field(default=())

    @property
    def agencies(self) -> list[str]:
        return sorted({r.agency_name for r in self.records})


def own_records(summary: ChildSummary, agency_code: str | None) -> list[ReadableRecord]:
    """The agency's own current records of the child, among those the viewer may read: what
    "the agency holds a record of the child" means wherever it is asked (an entry is recorded
    about one of them; a sharing decision is the holder's, ``sharing.service.holds_a_record``).
    No agency (an account of none) holds none."""
    return [r for r in summary.records if r.agency_code == agency_code] if agency_code else []


def _postcodes(addresses: object) -> tuple[str, ...]:
    if not isinstance(addresses, list):
        return ()
    found = []
    for address in addresses:
        if isinstance(address, dict) and isinstance(address.get("postcode"), str):
            found.append(address["postcode"])
    return tuple(found)


def _latest_readable(
    db_session: Session, *, subject: AuthSubject, now: dt.datetime, person_ids: Sequence[int]
) -> tuple[Subquery, Any]:
    """The readable links of these people (narrowed to them inside the rule), and the
    condition that a ``SourceRecord`` is the latest version of one of them."""
    links = access_repository.readable_record_links(
        subject, now, only=access_repository.people_among(db_session, person_ids)
    ).subquery("readable")
    return links, and_(
        SourceRecord.agency_id == links.c.agency_id,
        SourceRecord.record_ref == links.c.record_ref,
        record_is_latest_version(),
    )


def _current_link_of(links: Subquery) -> ColumnElement[bool]:
    return and_(
        PersonRecordLink.person_id == links.c.person_id,
        PersonRecordLink.agency_id == links.c.agency_id,
        PersonRecordLink.record_ref == links.c.record_ref,
        link_is_current(),
    )


def readable_records(
    db_session: Session, *, subject: AuthSubject, now: dt.datetime, person_ids: Sequence[int]
) -> dict[int, list[ReadableRecord]]:
    """Each person's current (latest-version) source records the subject may read."""
    if not person_ids:
        return {}
    links, latest = _latest_readable(db_session, subject=subject, now=now, person_ids=person_ids)
    rows = db_session.execute(
        select(
            links.c.person_id,
            Agency.code,
            Agency.name,
            SourceRecord,
            PersonRecordLink.method,
            PersonRecordLink.cluster_confidence,
            PersonRecordLink.evidence,
        )
        .select_from(links)
        .join(SourceRecord, latest)
        .join(Agency, Agency.id == SourceRecord.agency_id)
        .join(PersonRecordLink, _current_link_of(links))
        .order_by(links.c.person_id, Agency.code, SourceRecord.record_ref)
    ).all()
    found: dict[int, list[ReadableRecord]] = {}
    seen: set[tuple[int, str, str]] = set()
    for person_id, code, name, record, method, confidence, evidence in rows:
        key = (person_id, code, record.record_ref)
        if key in seen:  # a record readable by two routes (own agency and shared) once
            continue
        seen.add(key)
        found.setdefault(person_id, []).append(
            ReadableRecord(
                agency_code=code,
                agency_name=name,
                record_ref=record.record_ref,
                given_name=record.given_name,
                family_name=record.family_name,
                other_names=tuple(record.other_names or ()),
                date_of_birth=record.date_of_birth,
                nhs_number=record.nhs_number,
                upn=record.upn,
                postcodes=_postcodes(record.addresses),
                link_method=method,
                link_confidence=confidence,
                link_evidence=evidence if isinstance(evidence, dict) else {},
            )
        )
    return found


class _Named(Protocol):
    @property
    def given_name(self) -> str | None: ...
    @property
    def family_name(self) -> str | None: ...
    @property
    def date_of_birth(self) -> dt.date | None: ...


_Value = TypeVar("_Value", str, dt.date)


def _most_common(values: list[_Value]) -> _Value | None:
    """The value given most often, the first given on a tie. Most people's records agree:
    that is answered without counting (a surname search names hundreds of people)."""
    if not values:
        return None
    first = values[0]
    if values.count(first) == len(values):
        return first
    return Counter(values).most_common(1)[0][0]


def _name_and_birth(records: Sequence[_Named]) -> tuple[str, dt.date | None]:
    """The name and date of birth most of the records give (the first given, on a tie)."""
    names = [
        f"{r.given_name} {r.family_name}"
        if r.given_name and r.family_name
        else r.given_name or r.family_name or ""
        for r in records
        if r.given_name or r.family_name
    ]
    births = [r.date_of_birth for r in records if r.date_of_birth is not None]
    return _most_common(names) or NAME_NOT_RECORDED, _most_common(births)


def summarise(person_id: int, public_id: str, records: list[ReadableRecord]) -> ChildSummary:
    """The name and date of birth most of the readable records give."""
    name, born = _name_and_birth(records)
    return ChildSummary(
        person_id=person_id,
        public_id=public_id,
        name=name,
        date_of_birth=born,
        records=tuple(records),
    )


def child_summaries(
    db_session: Session, *, subject: AuthSubject, now: dt.datetime, person_ids: Sequence[int]
) -> dict[int, ChildSummary]:
    """Summaries of these people, from what the subject may read (people they may not see at
    all are left out)."""
    records = readable_records(db_session, subject=subject, now=now, person_ids=person_ids)
    public_ids: dict[int, str] = {
        person_id: public_id
        for person_id, public_id in db_session.execute(
            select(Person.id, Person.public_id).where(among(db_session, Person.id, records))
        )
    }
    return {pid: summarise(pid, public_ids[pid], recs) for pid, recs in records.items()}


@dataclass(frozen=True)
class NamedAs:
    """How a person is named to the viewer, and which of their records the viewer may read:
    what ``child_summaries`` would give for a list of children (name, date of birth, the
    agencies holding records), without building the records, so many people can be ranked
    and the few shown listed from one reading of the need-to-know rule."""

    person_id: int
    public_id: str
    name: str
    date_of_birth: dt.date | None
    #: (agency_id, record_ref) of each current record the viewer may read.
    readable: frozenset[tuple[int, str]]
    #: The names of the agencies holding those records (``ChildSummary.agencies``).
    agency_names: frozenset[str] = frozenset()

    @property
    def agencies(self) -> list[str]:
        return sorted(self.agency_names)


@dataclass(frozen=True)
class _NameRow:
    given_name: str | None
    family_name: str | None
    date_of_birth: dt.date | None


def _named_as_statement(subject: AuthSubject, moment: Moment, *, postgresql: bool) -> Select[Any]:
    """``named_as``'s statement for this subject, the moment and the people as parameters.

    The readable links come once each (``DISTINCT``): the pooled view lists the reader's own
    agency's links twice (as its own and as the pooled picture's), and each row went through
    four index lookups below (surname alone at 20,001 children: 2,667 rows -> 1,779)."""
    links = (
        access_repository.readable_record_links(
            subject, moment, only=access_repository.AmongPeople((), postgresql)
        )
        .distinct()
        .subquery("readable")
    )
    latest = and_(
        SourceRecord.agency_id == links.c.agency_id,
        SourceRecord.record_ref == links.c.record_ref,
        record_is_latest_version(),
    )
    return (
        select(
            links.c.person_id,
            Person.public_id,
            SourceRecord.agency_id,
            SourceRecord.record_ref,
            SourceRecord.given_name,
            SourceRecord.family_name,
            SourceRecord.date_of_birth,
            Agency.name,
        )
        .select_from(links)
        .join(SourceRecord, latest)
        .join(Agency, Agency.id == SourceRecord.agency_id)
        .join(Person, Person.id == links.c.person_id)
        .join(PersonRecordLink, _current_link_of(links))
        .order_by(links.c.person_id, Agency.code, SourceRecord.record_ref)
    )


def named_as(
    db_session: Session, *, subject: AuthSubject, now: dt.datetime, person_ids: Sequence[int]
) -> dict[int, NamedAs]:
    """For each of these people the subject may see, the name and date of birth their pages
    show (``summarise``'s, from the same records in the same order), only those columns read.

    The statement is built once per subject (``kept_statement``) and given the moment and the
    people at execution: building it, or copying a kept rule with its values, cost 2-3 ms of
    CPU a search (issue 14). Its rows are read on the session's connection, as plain rows: the
    ORM's loading of a surname's 1,800 rows cost more than the statement's own Python."""
    if not person_ids:
        return {}
    postgresql = is_postgresql(db_session)
    statement = access_repository.kept_statement(
        db_session,
        "named_as",
        subject,
        lambda moment: _named_as_statement(subject, moment, postgresql=postgresql),
    )
    rows = (
        db_session.connection()
        .execute(
            statement,
            {
                **access_repository.need_to_know_values(now),
                access_repository.NEED_TO_KNOW_PEOPLE: sorted(set(person_ids)),
            },
        )
        .all()
    )
    public_ids: dict[int, str] = {}
    records: dict[int, dict[tuple[int, str], _NameRow]] = {}
    agency_names: dict[int, set[str]] = {}
    for person_id, public_id, agency_id, ref, given, family, born, agency_name in rows:
        public_ids[person_id] = public_id
        # A record readable by two routes (own agency and shared) counts once.
        records.setdefault(person_id, {}).setdefault(
            (agency_id, ref), _NameRow(given, family, born)
        )
        agency_names.setdefault(person_id, set()).add(agency_name)
    named: dict[int, NamedAs] = {}
    for person_id, readable in records.items():
        name, born = _name_and_birth(list(readable.values()))
        named[person_id] = NamedAs(
            person_id=person_id,
            public_id=public_ids[person_id],
            name=name,
            date_of_birth=born,
            readable=frozenset(readable),
            agency_names=frozenset(agency_names[person_id]),
        )
    return named


def child_born_after(today: dt.date) -> dt.date:
    """Someone born after this date is a child today (people/childhood.yaml)."""
    return adults_born_by(today)


def agency_children(
    db_session: Session, *, subject: AuthSubject, now: dt.datetime, limit: int = 25
) -> tuple[list[ChildSummary], int]:
    """Children the subject's own agency holds a current record of (the subject may see all of
    them): the first ``limit`` by name, and how many there are in all."""
    if subject.agency_id is None:
        return [], 0
    readable = access_repository.readable_person_ids(subject, now).subquery("readable_person")
    born_after = child_born_after(now.date())
    own = (
        select(PersonRecordLink.person_id)
        .join(
            SourceRecord,
            and_(
                SourceRecord.agency_id == PersonRecordLink.agency_id,
                SourceRecord.record_ref == PersonRecordLink.record_ref,
            ),
        )
        .where(
            PersonRecordLink.agency_id == subject.agency_id,
            link_is_current(),
            PersonRecordLink.person_id.in_(select(readable.c.person_id)),
            SourceRecord.date_of_birth > born_after,
        )
        .distinct()
    )
    person_ids = list(db_session.scalars(own))
    total = len(person_ids)
    summaries = child_summaries(db_session, subject=subject, now=now, person_ids=person_ids)
    ordered = sorted(summaries.values(), key=lambda s: (s.name.lower(), s.public_id))
    return ordered[:limit], total


def names_of_records(
    db_session: Session,
    *,
    subject: AuthSubject,
    now: dt.datetime,
    agency_id: int,
    record_refs: Sequence[str],
) -> dict[str, str]:
    """How the subject may name the person behind each of one agency's records (an entry's
    people are records of the agency that made it): the person's name as ``child_summaries``
    gives it, for each record the subject may read. A record the subject may not read, or one
    linked to no one, is left out: the page shows its reference, never a name from elsewhere."""
    refs = sorted(set(record_refs))
    if not refs:
        return {}
    person_of = {
        ref: person_id
        for person_id, ref in db_session.execute(
            select(PersonRecordLink.person_id, PersonRecordLink.record_ref).where(
                PersonRecordLink.agency_id == agency_id,
                PersonRecordLink.record_ref.in_(refs),
                link_is_current(),
            )
        )
    }
    summaries = child_summaries(
        db_session, subject=subject, now=now, person_ids=sorted(set(person_of.values()))
    )
    code = db_session.scalar(select(Agency.code).where(Agency.id == agency_id))
    names: dict[str, str] = {}
    for ref, person_id in person_of.items():
        summary = summaries.get(person_id)
        if summary is None or summary.name == NAME_NOT_RECORDED:
            continue
        # Only a record the subject may read itself is named (a person may be visible through
        # another agency's record while this one is not theirs to read).
        if any(r.agency_code == code and r.record_ref == ref for r in summary.records):
            names[ref] = summary.name
    return names
