"""Sharing latency: from the day an agency recorded a significant entry about a child to the
day each other agency working with the child received it, and the entries never shared.

"Working with the child" is holding a current record of the child (linkage); "received" is a
recorded share (``SharingDecision`` with outcome ``shared``) naming any version of the entry.
The front door's pooled view is not a share: an entry it can see but was never sent still
counts as unshared with it, since nobody decided to tell it. A significant entry is one whose
latest version's severity (the practitioner's, or the taxonomy default) reaches
``latency.yaml``'s threshold (issue 15 item 2; research-notes §2.1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from fullpicture.agencies.models import Agency
from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.chronology.repository import ChildRecord, EntryOutline
from fullpicture.chronology.taxonomy import Taxonomy, default_taxonomy
from fullpicture.chronology.versions import entry_is_latest_version
from fullpicture.core.database import among_parameter, is_postgresql, utc_date
from fullpicture.core.frames import read_frame
from fullpicture.core.rule_files import load_rules_file
from fullpicture.people.models import PersonRecordLink
from fullpicture.people.repository import current_links, link_is_current
from fullpicture.sharing.models import (
    EntryReceipt,
    SharedEntry,
    SharingDecision,
    SharingOutcome,
)

LATENCY_FILE = Path(__file__).with_name("latency.yaml")


class LatencyRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    significant_severity: int = Field(ge=1, le=5)


@lru_cache(maxsize=1)
def latency_rules() -> LatencyRules:
    return LatencyRules.model_validate(load_rules_file(LATENCY_FILE))


@dataclass(frozen=True)
class EntrySharing:
    """One significant entry and one other agency working with the child."""

    person_id: int
    event_id: int
    event_ref: str
    concern_code: str
    severity: int
    event_date: dt.date
    from_agency_id: int
    from_agency_code: str
    recorded_on: dt.date
    to_agency_id: int
    to_agency_code: str
    received_on: dt.date | None
    decision_id: str | None

    @property
    def days(self) -> int | None:
        """Calendar days from recording to receipt (None while unshared)."""
        if self.received_on is None:
            return None
        return (self.received_on - self.recorded_on).days


def effective_severity(taxonomy: Taxonomy | None = None) -> ColumnElement[int]:
    """The entry's severity: the practitioner's, else the taxonomy default for its code."""
    taxonomy = taxonomy or default_taxonomy()
    default = case(
        {c.code: c.default_severity for c in taxonomy.codes},
        value=Event.concern_code,
        else_=literal(0),
    )
    return func.coalesce(Event.severity, default)


def is_significant(rules: LatencyRules, taxonomy: Taxonomy | None = None) -> ColumnElement[bool]:
    """``effective_severity() >= rules.significant_severity``, written so the database tests
    the stored severity, or the code against the few codes whose default reaches the threshold,
    rather than evaluating a CASE of every taxonomy code on each of an authority's entries."""
    taxonomy = taxonomy or default_taxonomy()
    codes = sorted(
        c.code for c in taxonomy.codes if c.default_severity >= rules.significant_severity
    )
    return or_(
        Event.severity >= rules.significant_severity,
        and_(Event.severity.is_(None), Event.concern_code.in_(codes)),
    )


def _first_recorded_versions() -> tuple[Any, ColumnElement[bool], ColumnElement[bool]]:
    """For every entry of an authority: (history, single, latest), where ``history`` holds
    each corrected entry's last version and first recording, ``single`` says the entry has no
    other version, and ``latest`` keeps an entry's latest version only (to outer-join on
    agency and ref). An entry with one version (version 1: the unique (agency, ref, version)
    allows no second) is its own latest and first; only entries with another version are
    grouped, so an authority's million entries are scanned, never sorted or hashed whole."""
    versions = aliased(Event, name="other_version")
    corrected = (
        select(Event.agency_id, Event.event_ref)
        .where(Event.version != 1)
        .distinct()
        .subquery("corrected")
    )
    history = (
        select(
            versions.agency_id.label("agency_id"),
            versions.event_ref.label("event_ref"),
            func.max(versions.version).label("version"),
            func.min(versions.date_recorded).label("date_recorded"),
            func.min(versions.recorded_at).label("recorded_at"),
        )
        .join(
            corrected,
            and_(
                corrected.c.agency_id == versions.agency_id,
                corrected.c.event_ref == versions.event_ref,
            ),
        )
        .group_by(versions.agency_id, versions.event_ref)
        .subquery("history")
    )
    single = history.c.version.is_(None)
    latest = or_(and_(single, Event.version == 1), Event.version == history.c.version)
    return history, single, latest


def _significant_entries(rules: LatencyRules, person_ids: Sequence[int] | None) -> Select[Any]:
    """(person, entry id, ref, code, severity, date, agency, first date recorded, first time
    recorded) of each significant entry's latest version, once per child it is about (these
    children, or every child when None)."""
    severity = effective_severity().label("severity")
    versions = aliased(Event, name="other_version")
    if person_ids is None:
        # Every child (the partnership's figures).
        history, single, latest = _first_recorded_versions()
        significant = (
            select(
                PersonRecordLink.person_id,
                Event.id,
                Event.event_ref,
                Event.concern_code,
                severity,
                Event.event_date,
                Event.agency_id,
                case((single, Event.date_recorded), else_=history.c.date_recorded).label(
                    "date_recorded"
                ),
                case((single, Event.recorded_at), else_=history.c.recorded_at).label("recorded_at"),
            )
            .outerjoin(
                history,
                and_(
                    history.c.agency_id == Event.agency_id,
                    history.c.event_ref == Event.event_ref,
                ),
            )
            .where(latest)
        )
    else:
        # A few children (a child's page): per entry, its versions are read through the
        # (agency_id, event_ref, version) unique index.
        same_entry = and_(
            versions.agency_id == Event.agency_id, versions.event_ref == Event.event_ref
        )
        significant = select(
            PersonRecordLink.person_id,
            Event.id,
            Event.event_ref,
            Event.concern_code,
            severity,
            Event.event_date,
            Event.agency_id,
            select(func.min(versions.date_recorded))
            .where(same_entry)
            .scalar_subquery()
            .label("date_recorded"),
            select(func.min(versions.recorded_at))
            .where(same_entry)
            .scalar_subquery()
            .label("recorded_at"),
        ).where(
            entry_is_latest_version(),
            PersonRecordLink.person_id.in_(sorted(set(person_ids))),
        )
    return (
        significant.join(EventParticipant, EventParticipant.event_id == Event.id)
        .join(
            PersonRecordLink,
            current_links(agency_id=Event.agency_id, record_ref=EventParticipant.record_ref),
        )
        .where(is_significant(rules))
        .distinct()
    )


def entry_sharing(
    db_session: Session,
    *,
    person_ids: Sequence[int] | None = None,
    rules: LatencyRules | None = None,
) -> list[EntrySharing]:
    """Each significant entry about these children (all when None) paired with each other
    agency working with the child, with when (if ever) that agency received it."""
    rules = rules or latency_rules()
    significant = _significant_entries(rules, person_ids)
    entries = db_session.execute(significant).all()
    if not entries:
        return []
    persons = sorted({row[0] for row in entries})
    working_links = (
        select(PersonRecordLink.person_id, PersonRecordLink.agency_id)
        .where(link_is_current())
        .distinct()
    )
    shares = (
        select(
            SharingDecision.person_id,
            Event.agency_id,
            Event.event_ref,
            SharingDecision.to_agency_id,
            SharingDecision.shared_at,
            SharingDecision.public_id,
        )
        .join(SharedEntry, SharedEntry.decision_id == SharingDecision.id)
        .join(Event, Event.id == SharedEntry.event_id)
        .where(SharingDecision.outcome == SharingOutcome.SHARED)
    )
    # Only named children are filtered by id: an IN over every child of an authority would
    # overflow PostgreSQL's 65,535 bound parameters.
    if person_ids is not None:
        working_links = working_links.where(PersonRecordLink.person_id.in_(persons))
        shares = shares.where(SharingDecision.person_id.in_(persons))
    working: dict[int, set[int]] = {}
    for person_id, agency_id in db_session.execute(working_links):
        working.setdefault(person_id, set()).add(agency_id)
    received: dict[tuple[int, int, str, int], tuple[dt.datetime, str]] = {}
    for person_id, agency_id, event_ref, to_agency_id, shared_at, public_id in db_session.execute(
        shares
    ):
        key = (person_id, agency_id, event_ref, to_agency_id)
        if shared_at is None:  # a share always carries when it was received
            continue
        if key not in received or shared_at < received[key][0]:
            received[key] = (shared_at, public_id)
    codes = dict(
        (agency_id, code) for agency_id, code in db_session.execute(select(Agency.id, Agency.code))
    )
    rows: list[EntrySharing] = []
    for person_id, event_id, ref, code, sev, day, agency_id, date_recorded, recorded_at in entries:
        recorded_on = date_recorded or recorded_at.date()
        for to_agency_id in sorted(working.get(person_id, set()) - {agency_id}):
            got = received.get((person_id, agency_id, ref, to_agency_id))
            rows.append(
                EntrySharing(
                    person_id=person_id,
                    event_id=event_id,
                    event_ref=ref,
                    concern_code=code,
                    severity=int(sev),
                    event_date=day,
                    from_agency_id=agency_id,
                    from_agency_code=codes[agency_id],
                    recorded_on=recorded_on,
                    to_agency_id=to_agency_id,
                    to_agency_code=codes[to_agency_id],
                    received_on=got[0].date() if got else None,
                    decision_id=got[1] if got else None,
                )
            )
    rows.sort(key=lambda r: (r.person_id, r.recorded_on, r.event_ref, r.to_agency_code))
    return rows


def unshared(rows: Iterable[EntrySharing]) -> list[EntrySharing]:
    return [row for row in rows if row.received_on is None]


def receipt_days(
    db_session: Session,
    *,
    recorded_until: dt.date,
    recorded_since: dt.date | None = None,
    rules: LatencyRules | None = None,
) -> pl.DataFrame:
    """What ``entry_sharing`` pairs every child's entries into, counted: one row per
    recording agency (``from_agency_id``), receiving agency (``to_agency_id``) and days to
    receipt (``days``, null while unshared), with how many (significant entry, child it is
    about, other agency working with the child) pairs (``pairs``).

    Only entries first recorded in the period count, and only receipts by its last day: an
    entry received later was, on that day, not yet shared.

    The database reads three narrow sets (the significant entries with the records they name,
    the current record links, the first receipts) and polars joins them: the received pairs
    from the first receipts, the rest as each child's entries times the other agencies
    working with the child, so an authority's 772,000 pairs are never joined one by one.
    PostgreSQL's own joins and DISTINCT over the same rows took seconds
    (``bench/dashboard.py``; docs/benchmarks.md).
    """
    rules = rules or latency_rules()
    history, single, latest = _first_recorded_versions()
    first_recorded = func.coalesce(
        case((single, Event.date_recorded), else_=history.c.date_recorded),
        utc_date(case((single, Event.recorded_at), else_=history.c.recorded_at)),
    )
    in_period = [first_recorded <= recorded_until]
    if recorded_since is not None:
        in_period.append(first_recorded >= recorded_since)
    # Each significant entry's latest version once per record it names.
    named = read_frame(
        db_session,
        select(
            Event.agency_id,
            Event.event_ref,
            EventParticipant.record_ref,
            first_recorded,
        )
        .outerjoin(
            history,
            and_(
                history.c.agency_id == Event.agency_id,
                history.c.event_ref == Event.event_ref,
            ),
        )
        .join(EventParticipant, EventParticipant.event_id == Event.id)
        .where(latest, is_significant(rules), *in_period),
        {
            "agency_id": pl.Int64,
            "event_ref": pl.String,
            "record_ref": pl.String,
            "recorded_on": pl.Date,
        },
    )
    links = read_frame(
        db_session,
        select(
            PersonRecordLink.person_id,
            PersonRecordLink.agency_id,
            PersonRecordLink.record_ref,
        ).where(link_is_current()),
        {"person_id": pl.Int64, "agency_id": pl.Int64, "record_ref": pl.String},
    )
    received = read_frame(
        db_session,
        select(
            EntryReceipt.person_id,
            EntryReceipt.from_agency_id,
            EntryReceipt.event_ref,
            EntryReceipt.to_agency_id,
            utc_date(EntryReceipt.first_shared_at),
        ).where(utc_date(EntryReceipt.first_shared_at) <= recorded_until),
        {
            "person_id": pl.Int64,
            "from_agency_id": pl.Int64,
            "event_ref": pl.String,
            "to_agency_id": pl.Int64,
            "received_on": pl.Date,
        },
    )
    # Each entry once per child it is about: an entry can name a child through two of the
    # agency's records.
    entries = (
        named.join(links, on=["agency_id", "record_ref"])
        .select(
            "person_id",
            pl.col("agency_id").alias("from_agency_id"),
            "event_ref",
            "recorded_on",
        )
        .unique()
    )
    working = links.select("person_id", pl.col("agency_id").alias("to_agency_id")).unique()
    # Received: each first receipt of such an entry by another agency working with the child.
    got = (
        received.join(entries, on=["person_id", "from_agency_id", "event_ref"])
        .join(working, on=["person_id", "to_agency_id"], how="semi")
        .filter(pl.col("to_agency_id") != pl.col("from_agency_id"))
        .select(
            "from_agency_id",
            "to_agency_id",
            (pl.col("received_on") - pl.col("recorded_on")).dt.total_days().alias("days"),
        )
        .group_by("from_agency_id", "to_agency_id", "days")
        .agg(pl.len().cast(pl.Int64).alias("pairs"))
    )
    # Every pair: each child's entries by agency, times the other agencies working with them.
    every = (
        entries.group_by("person_id", "from_agency_id")
        .agg(pl.len().cast(pl.Int64).alias("entries"))
        .join(working, on="person_id")
        .filter(pl.col("to_agency_id") != pl.col("from_agency_id"))
        .group_by("from_agency_id", "to_agency_id")
        .agg(pl.col("entries").sum().alias("pairs"))
    )
    unshared = (
        every.join(
            got.group_by("from_agency_id", "to_agency_id").agg(pl.col("pairs").sum().alias("got")),
            on=["from_agency_id", "to_agency_id"],
            how="left",
        )
        .select(
            "from_agency_id",
            "to_agency_id",
            pl.lit(None, dtype=pl.Int64).alias("days"),
            (pl.col("pairs") - pl.col("got").fill_null(0)).alias("pairs"),
        )
        .filter(pl.col("pairs") > 0)
    )
    return pl.concat([got, unshared])


def days_to_receipt(
    db_session: Session,
    *,
    recorded_until: dt.date,
    recorded_since: dt.date | None = None,
    rules: LatencyRules | None = None,
) -> list[tuple[int, int, int | None, int]]:
    """``receipt_days`` as tuples: (recording agency id, receiving agency id, days to receipt
    or None while unshared, how many pairs)."""
    counted = receipt_days(
        db_session,
        recorded_until=recorded_until,
        recorded_since=recorded_since,
        rules=rules,
    )
    return [(a, b, d, n) for a, b, d, n in counted.iter_rows()]


@dataclass(frozen=True)
class UnsharedPairs:
    """How many (significant entry, other agency working with the child) pairs of one child are
    unshared, and the latest of them by the entry's date."""

    total: int
    latest: list[EntrySharing]


def _unshared_latest_order(rows: Iterable[EntrySharing]) -> list[EntrySharing]:
    """Newest entry date first; within a date, ``entry_sharing``'s own order (first recorded,
    then ref, then receiving agency), as the child's page has always listed them."""
    ordered = sorted(rows, key=lambda r: (r.recorded_on, r.event_ref, r.to_agency_code))
    return sorted(ordered, key=lambda r: r.event_date, reverse=True)


def significant_outlines(
    record: ChildRecord, rules: LatencyRules | None = None
) -> list[EntryOutline]:
    """The child's own significant entries (``is_significant``, latest versions, whoever
    recorded them and whoever may see them) in a record already read for a page
    (``chronology.repository.child_record``): what ``unshared_of_child`` otherwise finds."""
    threshold = (rules or latency_rules()).significant_severity
    codes = default_taxonomy().by_code
    # Whether each code's default severity reaches the threshold, found once per code.
    by_default: dict[str, bool] = {}
    found = []
    for entries in (record.entries, record.hidden):
        for e in entries:
            # Household adults' entries join the child's chronology, not the child's record.
            if e.about != "child":
                continue
            if e.recorded_severity is not None:
                if e.recorded_severity >= threshold:
                    found.append(e)
                continue
            significant = by_default.get(e.concern_code)
            if significant is None:
                code = codes.get(e.concern_code)
                significant = by_default[e.concern_code] = (
                    code is not None and code.default_severity >= threshold
                )
            if significant:
                found.append(e)
    return found


#: The parameters of the statements ``unshared_of_record`` keeps.
_CHILD = "unshared_child"
_LISTED = "unshared_listed"


@lru_cache(maxsize=1)
def _agencies_working_with() -> Select[int, str, bool]:
    """Every agency, and whether it holds a current record of the child ``_CHILD``."""
    return select(
        Agency.id,
        Agency.code,
        select(literal(1))
        .where(
            PersonRecordLink.person_id == bindparam(_CHILD, type_=Integer()),
            PersonRecordLink.agency_id == Agency.id,
            link_is_current(),
        )
        .exists(),
    )


@lru_cache(maxsize=1)
def _received_about() -> Select[int, int, str]:
    """(receiving agency, recording agency, ref) of every entry shared about ``_CHILD``."""
    shared = aliased(Event, name="shared_version")
    return (
        select(SharingDecision.to_agency_id, shared.agency_id, shared.event_ref)
        .join(SharedEntry, SharedEntry.decision_id == SharingDecision.id)
        .join(shared, shared.id == SharedEntry.event_id)
        .where(
            SharingDecision.person_id == bindparam(_CHILD, type_=Integer()),
            SharingDecision.outcome == SharingOutcome.SHARED,
            SharingDecision.shared_at.is_not(None),
        )
    )


def _effective_severity_of(code: str, severity: int | None) -> int:
    """``effective_severity()`` in Python: the practitioner's severity, else the code's default."""
    if severity is not None:
        return int(severity)
    known = default_taxonomy().by_code.get(code)
    return known.default_severity if known is not None else 0


@lru_cache(maxsize=2)
def _first_recorded(postgresql: bool) -> Select[int, dt.date | None, dt.datetime]:
    """For each entry ``_LISTED``: the first date recorded and moment recorded of any version."""
    versions = aliased(Event, name="other_version")
    return (
        select(Event.id, func.min(versions.date_recorded), func.min(versions.recorded_at))
        .join(
            versions,
            and_(versions.agency_id == Event.agency_id, versions.event_ref == Event.event_ref),
        )
        .where(among_parameter(postgresql=postgresql, column=Event.id, name=_LISTED))
        .group_by(Event.id)
    )


def unshared_of_record(
    db_session: Session,
    *,
    record: ChildRecord,
    latest: int,
    from_agency_id: int | None = None,
    rules: LatencyRules | None = None,
) -> UnsharedPairs:
    """``unshared_of_child`` from the child's record already read for a page
    (``chronology.repository.child_record``): its significant entries are among the record's,
    so only the agencies working with the child and the shares recorded about the child are
    read, and the pairs counted here (in SQL, a long record's thousand significant entries
    paired with every agency were most of the page's database time, to list ten). The first
    recording is read for the listed entries alone. A test holds the two equal."""
    rules = rules or latency_rules()
    person_id = record.person_id
    codes: dict[int, str] = {}
    ids: dict[str, int] = {}
    working: list[int] = []
    for agency_id, code, works in db_session.execute(_agencies_working_with(), {_CHILD: person_id}):
        codes[agency_id] = code
        ids[code] = agency_id
        if works:
            working.append(agency_id)
    # Each agency's entries go to every other agency working with the child ...
    others = {agency_id: [a for a in working if a != agency_id] for agency_id in codes}
    # ... but those it has received (by the recording agency: (receiving agency, ref)).
    received: dict[int, set[tuple[int, str]]] = {}
    for to_agency, from_agency, ref in db_session.execute(_received_about(), {_CHILD: person_id}):
        received.setdefault(from_agency, set()).add((to_agency, ref))
    entries = sorted(
        (
            e
            for e in significant_outlines(record, rules)
            if from_agency_id is None or ids[e.agency_code] == from_agency_id
        ),
        key=lambda e: e.event_date,
        reverse=True,
    )
    total = 0
    # (entry, its agency, its ref, an agency that has not received it), newest first.
    pairs: list[tuple[EntryOutline, int, str, int]] = []
    for entry in entries:
        from_agency = ids[entry.agency_code]
        to_agencies = others[from_agency]
        got = received.get(from_agency)
        if got:
            ref = record.event_ref(entry.event_id)
            to_agencies = [a for a in to_agencies if (a, ref) not in got]
        total += len(to_agencies)
        # Every pair dated on or after the latest-th newest, ties included, as the statement
        # keeps them: the order within a date is settled below.
        if to_agencies and (
            len(pairs) < latest or (pairs and pairs[-1][0].event_date == entry.event_date)
        ):
            ref = record.event_ref(entry.event_id)
            pairs.extend((entry, from_agency, ref, a) for a in to_agencies)
    if not pairs or latest < 1:
        return UnsharedPairs(total=total, latest=[])
    first_recorded = {
        event_id: date_recorded or recorded_at.date()
        for event_id, date_recorded, recorded_at in db_session.execute(
            _first_recorded(is_postgresql(db_session)),
            {_LISTED: sorted({e.event_id for e, *_ in pairs})},
        )
    }

    found = [
        EntrySharing(
            person_id=person_id,
            event_id=entry.event_id,
            event_ref=ref,
            concern_code=entry.concern_code,
            severity=_effective_severity_of(entry.concern_code, entry.recorded_severity),
            event_date=entry.event_date,
            from_agency_id=from_agency,
            from_agency_code=codes[from_agency],
            recorded_on=first_recorded[entry.event_id],
            to_agency_id=to_agency,
            to_agency_code=codes[to_agency],
            received_on=None,
            decision_id=None,
        )
        for entry, from_agency, ref, to_agency in pairs
    ]
    return UnsharedPairs(total=total, latest=_unshared_latest_order(found)[:latest])


def unshared_of_child(
    db_session: Session,
    *,
    person_id: int,
    latest: int,
    from_agency_id: int | None = None,
    rules: LatencyRules | None = None,
) -> UnsharedPairs:
    """``unshared(entry_sharing(person_ids=[person_id]))`` counted in SQL, with only the
    ``latest`` newest (by entry date) built: a long record pairs thousands of entries with
    every agency, and a page lists ten. ``from_agency_id`` keeps one recording agency's entries
    (what a partner agency may be told); None keeps every agency's (the pooled view). A page
    that has read the child's record asks ``unshared_of_record``."""
    rules = rules or latency_rules()
    versions = aliased(Event, name="other_version")
    columns = (
        Event.id.label("event_id"),
        Event.agency_id.label("from_agency_id"),
        Event.event_ref.label("event_ref"),
        Event.concern_code.label("concern_code"),
        # The practitioner's severity; the taxonomy's default is added below for the few
        # rows read, not written into the statement as a CASE of every code (its hundred
        # bound parameters cost more to key, bind and plan than the rows to read).
        Event.severity.label("severity"),
        Event.event_date.label("event_date"),
    )
    entries = (
        select(*columns)
        .join(EventParticipant, EventParticipant.event_id == Event.id)
        .join(
            PersonRecordLink,
            current_links(agency_id=Event.agency_id, record_ref=EventParticipant.record_ref),
        )
        .where(
            PersonRecordLink.person_id == person_id,
            entry_is_latest_version(),
            is_significant(rules),
        )
        .distinct()
    )
    if from_agency_id is not None:
        entries = entries.where(Event.agency_id == from_agency_id)
    entry = entries.subquery("significant_entry")
    working = (
        select(PersonRecordLink.agency_id.label("to_agency_id"))
        .where(PersonRecordLink.person_id == person_id, link_is_current())
        .distinct()
        .subquery("working_agency")
    )
    shared = aliased(Event, name="shared_version")
    received = (
        select(literal(1))
        .select_from(SharingDecision)
        .join(SharedEntry, SharedEntry.decision_id == SharingDecision.id)
        .join(shared, shared.id == SharedEntry.event_id)
        .where(
            SharingDecision.person_id == person_id,
            SharingDecision.outcome == SharingOutcome.SHARED,
            SharingDecision.shared_at.is_not(None),
            SharingDecision.to_agency_id == working.c.to_agency_id,
            shared.agency_id == entry.c.from_agency_id,
            shared.event_ref == entry.c.event_ref,
        )
    )
    # Read once (a CTE) for the count, the date of the n-th newest and the rows from it on.
    pairs = (
        select(entry, working.c.to_agency_id)
        .join(working, working.c.to_agency_id != entry.c.from_agency_id)
        .where(~received.exists())
        .cte("unshared_pair")
    )
    nth_newest = (
        select(pairs.c.event_date)
        .order_by(pairs.c.event_date.desc())
        .limit(1)
        .offset(max(latest, 1) - 1)
        .scalar_subquery()
    )
    same_pair_entry = and_(
        versions.agency_id == pairs.c.from_agency_id, versions.event_ref == pairs.c.event_ref
    )
    # Every row dated on or after the n-th newest date, ties included: the order within a
    # date is settled here, on agency codes and refs as Python compares them.
    rows = db_session.execute(
        select(
            pairs,
            select(func.count()).select_from(pairs).scalar_subquery().label("total"),
            select(func.min(versions.date_recorded)).where(same_pair_entry).scalar_subquery(),
            select(func.min(versions.recorded_at)).where(same_pair_entry).scalar_subquery(),
        ).where(or_(nth_newest.is_(None), pairs.c.event_date >= nth_newest))
    ).all()
    if not rows or latest < 1:
        return UnsharedPairs(total=int(rows[0].total) if rows else 0, latest=[])
    codes = dict(
        (agency_id, code) for agency_id, code in db_session.execute(select(Agency.id, Agency.code))
    )

    found = [
        EntrySharing(
            person_id=person_id,
            event_id=event_id,
            event_ref=ref,
            concern_code=code,
            severity=_effective_severity_of(code, severity),
            event_date=day,
            from_agency_id=from_agency,
            from_agency_code=codes[from_agency],
            recorded_on=date_recorded or recorded_at.date(),
            to_agency_id=to_agency,
            to_agency_code=codes[to_agency],
            received_on=None,
            decision_id=None,
        )
        for (
            event_id,
            from_agency,
            ref,
            code,
            severity,
            day,
            to_agency,
            _total,
            date_recorded,
            recorded_at,
        ) in rows
    ]
    return UnsharedPairs(total=int(rows[0].total), latest=_unshared_latest_order(found)[:latest])
