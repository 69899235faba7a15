"""Households over time, derived from linked people: shared addresses and feed relationships.

A household is one address (postcode and line) with the people who lived there and when, from
every agency's address history; a relationship an agency records as ``lives_with`` adds the
related person to the household for the dates given. Derived memberships are rebuilt from the
records each time; memberships a practitioner recorded are never touched. The child's view lists
every adult known to any agency in each household, flagging adults known to one agency only
(the "unseen adult", research-notes §6: unseen men; concern-taxonomy modifier "unknown adult").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.schemas import HeldElsewhere
from fullpicture.access.subject import AuthSubject, Reader, SystemPrincipal
from fullpicture.core.database import utc_now
from fullpicture.linkage import repository as repo
from fullpicture.linkage.models import HouseholdAddress
from fullpicture.linkage.preparation import standard_address
from fullpicture.linkage.schemas import (
    ChildHouseholdView,
    HouseholdAdultRead,
    HouseholdPeriodRead,
)
from fullpicture.people.childhood import ADULT_AGE, age_on, date_of_birth_from_records
from fullpicture.people.models import (
    Household,
    HouseholdMembership,
    Person,
    PersonRecordLink,
    PersonRelationship,
    RelationshipKind,
    SourceRecord,
    SourceRelationship,
)
from fullpicture.people.repository import link_is_current

SHARED_ADDRESS = "shared address"
FEED_RELATIONSHIP = "feed relationship"
DERIVED_BASES = (SHARED_ADDRESS, FEED_RELATIONSHIP)
# A relationship recorded between two records, seen from the other side.
_INVERSE = {
    RelationshipKind.PARENT: RelationshipKind.CHILD,
    RelationshipKind.CHILD: RelationshipKind.PARENT,
    RelationshipKind.STEP_PARENT: RelationshipKind.CHILD,
    RelationshipKind.PARTNER: RelationshipKind.PARTNER,
    RelationshipKind.SIBLING: RelationshipKind.SIBLING,
    RelationshipKind.GRANDPARENT: RelationshipKind.OTHER_RELATIVE,
    RelationshipKind.OTHER_RELATIVE: RelationshipKind.OTHER_RELATIVE,
    RelationshipKind.LODGER: RelationshipKind.OTHER_RELATIVE,
    RelationshipKind.REGULAR_VISITOR: RelationshipKind.OTHER_RELATIVE,
}


#: Up to this many addresses are looked up by key; more, and every household's is read once.
_FEW_ADDRESSES = 500


class HouseholdNotFound(LookupError):
    pass


def _clean_postcode(value: Any) -> str | None:
    if not value:
        return None
    cleaned = re.sub(r"[^A-Z0-9]", "", str(value).upper())
    return cleaned or None


def _clean_line(value: Any) -> str | None:
    return standard_address(str(value)) if value else None


def _spaced_postcode(postcode: str) -> str:
    """A cleaned UK postcode with its space back ("CR73BH" -> "CR7 3BH"): the inward code is
    always the last three characters; a shorter (non-UK) one is left as it is."""
    return f"{postcode[:-3]} {postcode[-3:]}" if len(postcode) >= 5 else postcode


def _address_in_words(
    address: HouseholdAddress | None, evidence: Iterable[dict[str, Any]], readable: Collection[str]
) -> str | None:
    """The household's address for a reader: the line as one of the agencies the reader may
    read recorded it (the child's own address evidence), else the linkage key's line with each
    word capitalised; the postcode always spaced. The key ("100 willow road", "CR73BH") is
    normalised for matching and was never meant to be read."""
    if address is None or not address.address_line:
        return None
    postcode = _spaced_postcode(address.postcode) if address.postcode else None
    recorded = sorted(
        str(e["address"]).strip()
        for e in evidence
        if e.get("basis") == SHARED_ADDRESS and e.get("agency") in readable and e.get("address")
    )
    line = (
        recorded[0]
        if recorded
        else " ".join(word[:1].upper() + word[1:] for word in address.address_line.split())
    )
    return f"{line}, {postcode}" if postcode else line


def _evidence_read(evidence: dict[str, Any], name_of_code: dict[str, str]) -> dict[str, str | None]:
    """One piece of a membership's stored evidence as the view gives it: its values as text,
    and the agency's name beside its code (``agency_name``), for the words a practitioner
    reads ("Orchard Surgery record G7 …"); the stored evidence keeps the code alone."""
    read = {k: (None if v is None else str(v)) for k, v in evidence.items()}
    code = read.get("agency")
    if code is not None:
        read["agency_name"] = name_of_code.get(code, code)
    return read


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


@dataclass
class _Stay:
    """A person at one address for a period, with what says so."""

    date_from: dt.date | None
    date_to: dt.date | None
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def widen(
        self, date_from: dt.date | None, date_to: dt.date | None, evidence: dict[str, Any]
    ) -> None:
        self.date_from = (
            None if self.date_from is None or date_from is None else min(self.date_from, date_from)
        )
        self.date_to = (
            None if self.date_to is None or date_to is None else max(self.date_to, date_to)
        )
        self.evidence.append(evidence)


def _overlaps(
    a_from: dt.date | None, a_to: dt.date | None, b_from: dt.date | None, b_to: dt.date | None
) -> bool:
    return (a_to is None or b_from is None or b_from <= a_to) and (
        b_to is None or a_from is None or a_from <= b_to
    )


def rebuild_households(
    *, db_session: Session, linker: SystemPrincipal, as_of: dt.date | None = None
) -> dict[str, int]:
    """Derive households, dated memberships and person relationships from the current records
    of linked people, read whole by the audited ``linker``. Idempotent: the same records give
    the same households and memberships."""
    return _rebuild(db_session, linker, as_of, people=None)


def rebuild_households_of(
    *,
    db_session: Session,
    linker: SystemPrincipal,
    person_ids: Collection[int],
    as_of: dt.date | None = None,
) -> dict[str, int]:
    """Rebuild the derived memberships and relationships of these people (the ones a feed
    touched) and of everyone a feed relationship connects them to, directly or through others,
    giving the rows a whole rebuild would give them; no one else's rows are read or rewritten.

    A person's memberships depend only on their own records, the relationships they are in and
    the homes of whoever they are recorded as living with, so that closure is all it needs."""
    people = _connected_by_relationships(db_session, linker, set(person_ids))
    if not people:
        return {"households": 0, "memberships": 0, "relationships": 0}
    return _rebuild(db_session, linker, as_of, people=people)


def _connected_by_relationships(
    db_session: Session, linker: SystemPrincipal, seeds: set[int]
) -> set[int]:
    """``seeds`` and everyone a current feed relationship connects to them, transitively."""
    people = set(seeds)
    frontier = set(seeds)
    while frontier:
        keys = repo.records_of_persons(db_session=db_session, person_ids=frontier)
        related: set[str] = set()
        for rel in _current_source_relationships(db_session, keys=keys):
            related.add(repo.record_key(rel.agency_id, rel.record_ref))
            related.add(repo.record_key(rel.agency_id, rel.related_record_ref))
        links = repo.active_links(db_session=db_session, linker=linker, keys=related)
        frontier = {link.person_id for link in links.values()} - people
        people |= frontier
    return people


def _rebuild(
    db_session: Session,
    linker: SystemPrincipal,
    as_of: dt.date | None,
    *,
    people: set[int] | None,
) -> dict[str, int]:
    """The rebuild, of everyone (``people`` None) or of a set closed under relationships."""
    as_of = as_of or dt.datetime.now(dt.UTC).date()
    codes = repo.agency_codes(db_session=db_session)
    if people is None:
        links = repo.active_links(db_session=db_session, linker=linker)
        records = repo.current_source_records(db_session=db_session, linker=linker)
    else:
        keys = repo.records_of_persons(db_session=db_session, person_ids=people)
        links = repo.active_links(db_session=db_session, linker=linker, keys=keys)
        records = (
            repo.current_source_records(
                db_session=db_session,
                linker=linker,
                keys=[repo.split_record_key(key) for key in sorted(keys)],
            )
            if keys
            else []
        )
    person_of = {key: link.person_id for key, link in links.items()}

    dates_given: dict[int, list[dt.date]] = {}
    stays: dict[tuple[str, int], _Stay] = {}
    address_of_key: dict[str, tuple[str, str]] = {}
    for record in records:
        key = repo.record_key(record.agency_id, record.record_ref)
        person_id = person_of.get(key)
        if person_id is None:
            continue
        if record.date_of_birth:
            dates_given.setdefault(person_id, []).append(record.date_of_birth)
        for entry in record.addresses or []:
            postcode, line = _clean_postcode(entry.get("postcode")), _clean_line(entry.get("line"))
            if postcode is None or line is None:
                continue  # a postcode alone is a street, not a home
            address_key = f"{postcode}|{line}"
            address_of_key[address_key] = (postcode, line)
            evidence = {
                "basis": SHARED_ADDRESS,
                "agency": codes.get(record.agency_id),
                "record_id": record.record_ref,
                "address": entry.get("line"),
                "postcode": entry.get("postcode"),
            }
            start, end = _date(entry.get("date_from")), _date(entry.get("date_to"))
            stay = stays.get((address_key, person_id))
            if stay is None:
                stays[(address_key, person_id)] = _Stay(start, end, [evidence])
            else:
                stay.widen(start, end, evidence)

    relationships = _current_source_relationships(
        db_session, keys=None if people is None else set(links)
    )
    person_relations: list[tuple[int, int, RelationshipKind, Any, Any, dict[str, Any]]] = []
    for rel in relationships:
        a = person_of.get(repo.record_key(rel.agency_id, rel.record_ref))
        b = person_of.get(repo.record_key(rel.agency_id, rel.related_record_ref))
        if a is None or b is None or a == b:
            continue
        evidence = {
            "basis": FEED_RELATIONSHIP,
            "agency": codes.get(rel.agency_id),
            "record_id": rel.record_ref,
            "related_record_id": rel.related_record_ref,
            "relationship": rel.relationship.value,
        }
        person_relations.append((a, b, rel.relationship, rel.date_from, rel.date_to, evidence))
        if rel.lives_with:
            # The related person lives in the person's household(s) for the dates given.
            homes = [k for (k, p) in stays if p == a] or [f"person:{a}"]
            for home in homes:
                if home.startswith("person:"):
                    address_of_key.setdefault(home, ("", ""))
                stay = stays.get((home, b))
                if stay is None:
                    stays[(home, b)] = _Stay(rel.date_from, rel.date_to, [evidence])
                else:
                    stay.evidence.append(evidence)

    households = _households_for(db_session, address_of_key)
    derived = delete(HouseholdMembership).where(HouseholdMembership.basis.in_(DERIVED_BASES))
    if people is not None:
        derived = derived.where(HouseholdMembership.person_id.in_(sorted(people)))
    db_session.execute(derived)
    births: dict[int, dt.date] = {}
    for person_id, dates in dates_given.items():
        born = date_of_birth_from_records(dates)
        if born is not None:
            births[person_id] = born
    roles = _roles(person_relations, births, as_of)
    memberships = []
    for (address_key, person_id), stay in sorted(stays.items()):
        bases = {e["basis"] for e in stay.evidence}
        memberships.append(
            HouseholdMembership(
                household_id=households[address_key],
                person_id=person_id,
                role=roles.get(person_id, "adult"),
                date_from=stay.date_from,
                date_to=stay.date_to,
                basis=SHARED_ADDRESS if SHARED_ADDRESS in bases else FEED_RELATIONSHIP,
                evidence=stay.evidence,
            )
        )
    db_session.add_all(memberships)
    _rebuild_person_relationships(db_session, person_relations, people=people)
    db_session.flush()
    return {
        "households": len({k for k, _p in stays}),
        "memberships": len(memberships),
        "relationships": len(person_relations),
    }


def _current_source_relationships(
    db_session: Session, *, keys: set[str] | None
) -> list[SourceRelationship]:
    """The latest version of each feed relationship; with ``keys``, only those either of whose
    records is among them (record keys)."""
    latest = (
        select(
            SourceRelationship.agency_id,
            SourceRelationship.record_ref,
            SourceRelationship.related_record_ref,
            SourceRelationship.relationship,
            func.max(SourceRelationship.version).label("version"),
        )
        .group_by(
            SourceRelationship.agency_id,
            SourceRelationship.record_ref,
            SourceRelationship.related_record_ref,
            SourceRelationship.relationship,
        )
        .subquery()
    )
    statement = select(SourceRelationship).join(
        latest,
        (SourceRelationship.agency_id == latest.c.agency_id)
        & (SourceRelationship.record_ref == latest.c.record_ref)
        & (SourceRelationship.related_record_ref == latest.c.related_record_ref)
        & (SourceRelationship.relationship == latest.c.relationship)
        & (SourceRelationship.version == latest.c.version),
    )
    if keys is None:
        return list(db_session.scalars(statement.order_by(SourceRelationship.id)))
    if not keys:
        return []
    refs = sorted({repo.split_record_key(key)[1] for key in keys})
    found = db_session.scalars(
        statement.where(
            SourceRelationship.record_ref.in_(refs)
            | SourceRelationship.related_record_ref.in_(refs)
        ).order_by(SourceRelationship.id)
    )
    return [
        rel
        for rel in found
        if repo.record_key(rel.agency_id, rel.record_ref) in keys
        or repo.record_key(rel.agency_id, rel.related_record_ref) in keys
    ]


def _households_for(
    db_session: Session, address_of_key: dict[str, tuple[str, str]]
) -> dict[str, int]:
    """The household of each address key, creating those not seen before."""
    statement = select(HouseholdAddress)
    if len(address_of_key) <= _FEW_ADDRESSES:
        # A rebuild of a few people looks up only their addresses, not every household's.
        statement = statement.where(HouseholdAddress.address_key.in_(sorted(address_of_key)))
    known = {row.address_key: row.household_id for row in db_session.scalars(statement)}
    for address_key in sorted(set(address_of_key) - set(known)):
        household = Household()
        db_session.add(household)
        db_session.flush()
        postcode, line = address_of_key[address_key]
        db_session.add(
            HouseholdAddress(
                household_id=household.id,
                address_key=address_key,
                postcode=postcode or None,
                address_line=line or None,
            )
        )
        known[address_key] = household.id
    db_session.flush()
    return known


def _roles(
    relations: Iterable[tuple[int, int, RelationshipKind, Any, Any, dict[str, Any]]],
    births: dict[int, dt.date],
    as_of: dt.date,
) -> dict[int, str]:
    """Children by age; an adult by how a feed says they stand to someone (parent, partner …)."""
    roles: dict[int, str] = {}
    for person_id, born in births.items():
        if age_on(born, as_of) < ADULT_AGE:
            roles[person_id] = "child"
    for a, b, kind, *_rest in relations:
        # ``b`` is the KIND of ``a``.
        if b not in roles and kind is not RelationshipKind.CHILD:
            roles[b] = kind.value
        inverse = _INVERSE[kind]
        if a not in roles and inverse is not RelationshipKind.CHILD:
            roles[a] = inverse.value
    return roles


def _rebuild_person_relationships(
    db_session: Session,
    relations: list[tuple[int, int, RelationshipKind, Any, Any, dict[str, Any]]],
    *,
    people: set[int] | None,
) -> None:
    statement = select(PersonRelationship)
    if people is not None:
        wanted = sorted(people)
        statement = statement.where(
            PersonRelationship.person_id.in_(wanted)
            | PersonRelationship.related_person_id.in_(wanted)
        )
    derived = [
        r
        for r in db_session.scalars(statement)
        if any(e.get("basis") == FEED_RELATIONSHIP for e in (r.evidence or []))
    ]
    for row in derived:
        db_session.delete(row)
    merged: dict[tuple[int, int, RelationshipKind], PersonRelationship] = {}
    for a, b, kind, start, end, evidence in relations:
        existing = merged.get((a, b, kind))
        if existing is None:
            merged[(a, b, kind)] = PersonRelationship(
                person_id=a,
                related_person_id=b,
                relationship=kind,
                date_from=start,
                date_to=end,
                evidence=[evidence],
            )
        else:
            existing.evidence = [*existing.evidence, evidence]
    db_session.add_all(merged.values())


# --- the child's view -------------------------------------------------------------------


def _agencies_holding(
    db_session: Session, person_ids: Iterable[int], links: Select[int, int, str] | None
) -> dict[int, set[int]]:
    """Agency ids holding a current record of each person: every agency's (``links`` None), or
    only those among ``links`` (the reader's readable record links)."""
    wanted = sorted(set(person_ids))
    if not wanted:
        return {}
    if links is None:
        rows = db_session.execute(
            select(PersonRecordLink.person_id, PersonRecordLink.agency_id).where(
                PersonRecordLink.person_id.in_(wanted), link_is_current()
            )
        )
    else:
        readable = links.subquery("household_reader_link")
        rows = db_session.execute(
            select(readable.c.person_id, readable.c.agency_id).where(
                readable.c.person_id.in_(wanted)
            )
        )
    held: dict[int, set[int]] = {}
    for person_id, agency_id in rows:
        held.setdefault(person_id, set()).add(agency_id)
    return held


def _person_summary(
    db_session: Session, person_id: int, agency_ids: Iterable[int]
) -> tuple[str | None, dt.date | None]:
    """A name and date of birth from the latest of the person's records held by these agencies."""
    row = db_session.execute(
        select(SourceRecord.given_name, SourceRecord.family_name, SourceRecord.date_of_birth)
        .join(
            PersonRecordLink,
            (PersonRecordLink.agency_id == SourceRecord.agency_id)
            & (PersonRecordLink.record_ref == SourceRecord.record_ref),
        )
        .where(
            PersonRecordLink.person_id == person_id,
            link_is_current(),
            PersonRecordLink.agency_id.in_(sorted(set(agency_ids))),
        )
        .order_by(SourceRecord.version.desc(), SourceRecord.id)
        .limit(1)
    ).first()
    if row is None:
        return None, None
    name = " ".join(part for part in (row[0], row[1]) if part) or None
    return name, row[2]


def child_household_view(
    *,
    db_session: Session,
    reader: Reader,
    person_public_id: str,
    as_of: dt.date | None = None,
    opened: Person | None = None,
) -> ChildHouseholdView:
    """Every household the child has belonged to, with the adults there the reader may know of.

    A signed-in reader must have a need to know the child (``access.service.open_person``:
    checked and audited here, or by the caller in the same request, which hands the child it
    opened in as ``opened``: one audited read for one page). With the pooled view of the child (``chronology:all_agencies``
    or break-glass for the child) — or as an audited system job — household members follow the
    child: every adult any agency knows there is shown. Otherwise only members the reader's
    agency holds a record of (or that was shared with it) are shown, with the names, dates of
    birth, agencies and evidence from those records alone; the rest are counted in
    ``held_elsewhere``, never named (issue 12, finding 1).
    """
    as_of = as_of or utc_now().date()
    now = utc_now()
    if isinstance(reader, AuthSubject):
        if opened is not None and opened.public_id == person_public_id:
            child = opened
        else:
            try:
                child = access_service.open_person(
                    db_session=db_session,
                    subject=reader,
                    person_public_id=person_public_id,
                    purpose="households",
                    now=now,
                )
            except access_service.PersonNotVisible as exc:
                raise HouseholdNotFound(str(exc)) from exc
        pooled = access_repository.sees_all_agencies(reader) or (
            access_repository.live_break_glass_grant(
                db_session, subject=reader, person_id=child.id, now=now
            )
            is not None
        )
        links = None if pooled else access_repository.readable_record_links(reader, now)
    else:
        found = db_session.scalar(select(Person).where(Person.public_id == person_public_id))
        if found is None:
            raise HouseholdNotFound(f"no person {person_public_id}")
        child, links = found, None
    codes = repo.agency_codes(db_session=db_session)
    names = repo.agency_names(db_session=db_session)
    name_of_code = {code: names.get(i, code) for i, code in codes.items()}
    # The agencies whose records of the child the reader may read: their address lines are
    # shown as recorded.
    child_readable = {
        codes.get(a, str(a))
        for a in (
            codes
            if links is None
            else _agencies_holding(db_session, [child.id], links).get(child.id, set())
        )
    }
    own = db_session.scalars(
        select(HouseholdMembership)
        .where(HouseholdMembership.person_id == child.id)
        .order_by(HouseholdMembership.date_from.desc(), HouseholdMembership.id)
    ).all()
    periods: list[HouseholdPeriodRead] = []
    unseen: set[str] = set()
    withheld_members: set[int] = set()
    withheld_agencies: set[int] = set()
    for membership in own:
        household = db_session.get(Household, membership.household_id)
        assert household is not None
        address = db_session.scalar(
            select(HouseholdAddress).where(HouseholdAddress.household_id == household.id)
        )
        others = [
            m
            for m in db_session.scalars(
                select(HouseholdMembership).where(
                    HouseholdMembership.household_id == household.id,
                    HouseholdMembership.person_id != child.id,
                )
            )
            if _overlaps(membership.date_from, membership.date_to, m.date_from, m.date_to)
        ]
        members = {m.person_id for m in others}
        held_by_any = _agencies_holding(db_session, members, None)
        visible_to = held_by_any if links is None else _agencies_holding(db_session, members, links)
        by_person: dict[int, list[HouseholdMembership]] = {}
        for m in others:
            by_person.setdefault(m.person_id, []).append(m)
        adults: list[HouseholdAdultRead] = []
        children: list[str] = []
        for person_id, rows in sorted(by_person.items()):
            if not visible_to.get(person_id):
                # Someone the reader's agency holds no record of: counted, never shown.
                withheld_members.add(person_id)
                withheld_agencies |= held_by_any.get(person_id, set())
                continue
            person = db_session.get(Person, person_id)
            assert person is not None
            seen_by = visible_to[person_id]
            name, born = _person_summary(db_session, person_id, seen_by)
            is_child = born is not None and age_on(born, as_of) < ADULT_AGE
            if is_child:
                children.append(person.public_id)
                continue
            shown_codes = {codes.get(a, str(a)) for a in seen_by}
            adult = HouseholdAdultRead(
                person_public_id=person.public_id,
                name=name,
                date_of_birth=born,
                roles=sorted({m.role for m in rows}),
                known_to_agencies=sorted(shown_codes),
                known_to_agency_names=sorted({names.get(a, str(a)) for a in seen_by}),
                # Known to one agency only, counted over every agency (a count, never which).
                unseen_adult=len(held_by_any.get(person_id, set())) <= 1,
                date_from=min((m.date_from for m in rows if m.date_from), default=None),
                date_to=None
                if any(m.date_to is None for m in rows)
                else max(m.date_to for m in rows if m.date_to),
                evidence=[
                    _evidence_read(e, name_of_code)
                    for m in rows
                    for e in m.evidence
                    if e.get("agency") is None or e.get("agency") in shown_codes
                ],
            )
            if adult.unseen_adult:
                unseen.add(person.public_id)
            adults.append(adult)
        periods.append(
            HouseholdPeriodRead(
                household_public_id=household.public_id,
                address=_address_in_words(address, membership.evidence or [], child_readable),
                date_from=membership.date_from,
                date_to=membership.date_to,
                adults=adults,
                children=children,
            )
        )
    return ChildHouseholdView(
        child_public_id=child.public_id,
        households=periods,
        unseen_adults=sorted(unseen),
        held_elsewhere=HeldElsewhere.of(
            entries=len(withheld_members),
            agencies=max(1, len(withheld_agencies)),
            what="about people in the child's households your agency holds no record of",
        ),
    )
