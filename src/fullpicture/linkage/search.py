"""Find a child: the practitioner's search, through the linkage's own comparisons.

What is typed is prepared exactly as a record is for linkage (``preparation.prepare_one``, held
equal to ``prepare``: the given-name variants file, the sound-alike codes, the day/month
transposition of a date of birth, cleaned postcodes and identifiers) and looked up in the
linkage index, so "Millie" finds Amelia, "Katherine" finds Catherine and "Okafur" finds Okafor,
as linkage would pair them. One of two names may be a typing slip ("Okafo", "Wrad") when the
other agrees: spelt as close as linkage's "spelling very close" level asks (Jaro-Winkler,
``name_jaro_winkler_close`` in ``linkage_rules.yaml``, through ``linkage.spelling``).

Names are looked up through indexes: each index record's own columns, and its other names
(middle names, further full forms of its given name, other and previous family names) as rows
of ``LinkageNameKey``; the same SQL on both databases.

Only children the practitioner may see are shown (``access.repository.readable_record_links``:
a child is shown when a record they may read matched, named from those records); others who
matched are counted as "held elsewhere", never shown. Names shown are audited as reads.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import ColumnElement, Select, and_, literal, or_, select, true, union_all
from sqlalchemy.orm import Session

from fullpicture.access import person_summaries
from fullpicture.access import service as access_service
from fullpicture.access.subject import AuthSubject
from fullpicture.core.database import is_postgresql, without_parallel_workers
from fullpicture.linkage.models import LinkageNameKey, LinkageRecord, NameKind
from fullpicture.linkage.preparation import prepare_one
from fullpicture.linkage.spelling import spelling_very_close
from fullpicture.people.models import PersonRecordLink
from fullpicture.people.repository import link_is_current

#: The most children one search shows; a practitioner narrows the search rather than scrolls.
MAX_SHOWN = 50
#: A name of fewer letters than this says too little to look anyone up by it alone.
MIN_NAME_LETTERS = 2


class SearchTooVague(ValueError):
    """Nothing to search on (the message says what to give)."""


@dataclass(frozen=True)
class ChildQuery:
    """What the practitioner typed; any blank field is not searched on."""

    name: str = ""
    date_of_birth: dt.date | None = None
    nhs_number: str = ""
    upn: str = ""
    postcode: str = ""

    @property
    def is_empty(self) -> bool:
        return not (
            self.name.strip()
            or self.date_of_birth
            or self.nhs_number.strip()
            or self.upn.strip()
            or self.postcode.strip()
        )


@dataclass(frozen=True)
class ChildMatch:
    #: The child as the practitioner may see them: name, date of birth and agencies, from
    #: the records the need-to-know rule lets them read.
    child: person_summaries.NamedAs
    #: In words, why this child matched (the linkage comparison level each field reached).
    matched_on: tuple[str, ...]
    strength: int


@dataclass(frozen=True)
class ChildSearch:
    matches: list[ChildMatch] = field(default_factory=list)
    #: Children who matched whom the practitioner may not see: counted, never shown.
    held_elsewhere: int = 0
    #: More matched than are shown.
    more: int = 0


def _prepared_query(query: ChildQuery) -> dict[str, str | None]:
    tokens = [t for t in re.split(r"\s+", query.name.strip()) if t]
    given = tokens[0] if len(tokens) > 1 else None
    family = " ".join(tokens[1:]) if len(tokens) > 1 else (tokens[0] if tokens else None)
    row = prepare_one(
        given_name=given,
        family_name=family,
        date_of_birth=query.date_of_birth,
        postcode=query.postcode.strip() or None,
        nhs_number=query.nhs_number.strip() or None,
        upn=query.upn.strip() or None,
    )
    # One word could be either name: it is looked up as both (cleaned as a name is).
    row["single_name"] = row["family_name"] if given is None else None
    return row


class _OtherNames:
    """Which index records hold a value among their other names (``LinkageNameKey``), looked
    up for every value a search needs in one indexed query before the search's own."""

    def __init__(self, db_session: Session, wanted: Sequence[tuple[NameKind, str]]) -> None:
        self._found: dict[tuple[NameKind, str], list[str]] = {key: [] for key in wanted}
        if wanted:
            k = LinkageNameKey
            for kind, name, record_key in db_session.execute(
                select(k.kind, k.name, k.record_key).where(
                    or_(*(and_(k.kind == kind, k.name == name) for kind, name in wanted))
                )
            ):
                self._found[(kind, name)].append(record_key)

    def holding(self, kind: NameKind, value: str) -> ColumnElement[bool]:
        """The index record has ``value`` among its other names of this kind: a list of keys
        (indexed, like every other arm of the name condition, so neither database scans)."""
        return LinkageRecord.record_key.in_(self._found[(kind, value)])


def _spelt_very_close(
    db_session: Session,
    given: tuple[str, ColumnElement[bool]],
    family: tuple[str, ColumnElement[bool]],
) -> tuple[list[str], list[str]]:
    """The given names recorded where the family name agrees, and the family names recorded
    where the given name agrees, that linkage would call "spelling very close" to the typed
    ones (a typing slip: "Madiso", "Wrad"). Both are read in one statement (one round trip,
    not two), each distinct name once, so the cost follows the names, not the records."""
    r = LinkageRecord
    typed_given, family_agrees = given
    typed_family, given_agrees = family
    both = union_all(
        select(literal("given").label("name_part"), r.given_name.label("name"))
        .where(family_agrees, r.given_name.is_not(None), r.given_name != typed_given)
        .distinct(),
        select(literal("family").label("name_part"), r.family_name.label("name"))
        .where(given_agrees, r.family_name.is_not(None), r.family_name != typed_family)
        .distinct(),
    )
    close: dict[str, list[str]] = {"given": [], "family": []}
    for part, name in db_session.execute(both):
        typed = typed_given if part == "given" else typed_family
        if name and spelling_very_close(typed, name):
            close[part].append(name)
    return sorted(close["given"]), sorted(close["family"])


def _other_names_wanted(row: dict[str, str | None]) -> list[tuple[NameKind, str]]:
    wanted: list[tuple[NameKind, str]] = []
    single = row.get("single_name")
    if single is not None:
        wanted.append((NameKind.GIVEN_VARIANT, single))
    else:
        if row["family_name"]:
            wanted.append((NameKind.FAMILY_OTHER, str(row["family_name"])))
        if row["given_name"]:
            given = str(row["given_name"])
            wanted.append((NameKind.GIVEN_VARIANT, str(row["given_name_canonical"] or given)))
            wanted.append((NameKind.GIVEN_OTHER, given))
    if row["postcode"]:
        wanted.append((NameKind.POSTCODE_OTHER, str(row["postcode"])))
    return wanted


def _name_condition(
    db_session: Session, row: dict[str, str | None], other: _OtherNames
) -> ColumnElement[bool] | None:
    """Index records whose names agree with the typed name(s) as linkage compares them
    (``_matched_on`` says how), or None when too little was typed. Every arm is one indexed
    column, so PostgreSQL combines index bitmaps and SQLite index lookups."""
    r = LinkageRecord
    single = row.get("single_name")
    if single is not None:
        sound = row["family_name_phonetic"]
        if len(single) < MIN_NAME_LETTERS:
            return None
        return or_(
            r.family_name == single,
            r.family_name_phonetic == sound,
            r.given_name == single,
            r.given_name_phonetic == sound,
            # The word is one of the full names the record's given name stands for.
            r.given_name_canonical == single,
            other.holding(NameKind.GIVEN_VARIANT, single),
        )
    family_agrees = given_agrees = None
    if row["family_name"]:
        family = str(row["family_name"])
        family_agrees = or_(
            r.family_name == family,
            r.family_name_phonetic == row["family_name_phonetic"],
            other.holding(NameKind.FAMILY_OTHER, family),
        )
    if row["given_name"]:
        given = str(row["given_name"])
        canonicals = [c for c in str(row["given_name_canonicals"] or "").split("|") if c]
        full_form = str(row["given_name_canonical"] or given)
        given_agrees = or_(
            r.given_name == given,
            r.given_name_phonetic == row["given_name_phonetic"],
            r.given_name_canonical.in_([*canonicals, full_form]),
            other.holding(NameKind.GIVEN_VARIANT, full_form),
            other.holding(NameKind.GIVEN_OTHER, given),
        )
    if family_agrees is None or given_agrees is None:
        return family_agrees if given_agrees is None else given_agrees
    # One of the two names may be mistyped when the other agrees as linkage would pair it.
    close_given, close_family = _spelt_very_close(
        db_session,
        given=(str(row["given_name"]), family_agrees),
        family=(str(row["family_name"]), given_agrees),
    )
    either = [and_(family_agrees, or_(given_agrees, r.given_name.in_(close_given)))]
    if close_family:
        either.append(and_(r.family_name.in_(close_family), given_agrees))
    return or_(*either)


def _condition(
    db_session: Session, row: dict[str, str | None], query: ChildQuery
) -> ColumnElement[bool]:
    r = LinkageRecord
    other = _OtherNames(db_session, _other_names_wanted(row))
    parts: list[ColumnElement[bool]] = []
    if query.name.strip():
        named = _name_condition(db_session, row, other)
        if named is None:
            raise SearchTooVague("Enter at least two letters of the child's name")
        parts.append(named)
    if row["date_of_birth"]:
        # A record whose own transposed date is the typed one was born on the typed date
        # transposed (``prepare`` transposes only a valid day-and-month swap, either way), so
        # both are one indexed column.
        born = [row["date_of_birth"], row["date_of_birth_transposed"]]
        parts.append(r.date_of_birth.in_([d for d in born if d]))
    if row["nhs_number"]:
        parts.append(r.nhs_number == row["nhs_number"])
    if row["upn"]:
        parts.append(r.upn == row["upn"])
    if row["postcode"]:
        postcode = str(row["postcode"])
        parts.append(or_(r.postcode == postcode, other.holding(NameKind.POSTCODE_OTHER, postcode)))
    if not parts:
        raise SearchTooVague("Enter the child's name, date of birth, NHS number, UPN or postcode")
    return and_(*parts)


TYPO_GIVEN = "given name spelt very closely (a typing slip)"
TYPO_FAMILY = "family name spelt very closely (a typing slip)"


#: The index columns the match reasons compare, all the search reads of a record.
_COMPARED = (
    LinkageRecord.given_name,
    LinkageRecord.given_name_canonical,
    LinkageRecord.given_name_canonicals,
    LinkageRecord.given_name_phonetic,
    LinkageRecord.given_names_all,
    LinkageRecord.family_name,
    LinkageRecord.family_names_all,
    LinkageRecord.family_name_phonetic,
    LinkageRecord.date_of_birth,
    LinkageRecord.nhs_number,
    LinkageRecord.upn,
    LinkageRecord.postcode,
)


class _Compared(NamedTuple):
    given_name: str | None
    given_name_canonical: str | None
    given_name_canonicals: str | None
    given_name_phonetic: str | None
    given_names_all: str | None
    family_name: str | None
    family_names_all: str | None
    family_name_phonetic: str | None
    date_of_birth: str | None
    nhs_number: str | None
    upn: str | None
    postcode: str | None


_COMPARED_COLUMNS = _Compared._fields


def _matched_on(query_row: dict[str, str | None], record: _Compared) -> list[str]:
    """The comparison levels each searched field reached, in the comparisons' words."""
    found: list[str] = []
    given, family = query_row["given_name"], query_row["family_name"]
    given_sound = query_row["given_name_phonetic"]
    single = query_row.get("single_name")
    if single is not None:
        given = family = single
        given_sound = query_row["family_name_phonetic"]
    full_form = single if single is not None else query_row["given_name_canonical"]
    if given and record.given_name:
        if record.given_name == given:
            found.append("same given name")
        elif f"|{full_form}|" in (record.given_name_canonicals or "") or (
            record.given_name_canonical
            and f"|{record.given_name_canonical}|" in str(query_row["given_name_canonicals"] or "")
        ):
            found.append("given name: known variant (nickname / short form)")
        elif f"|{given}|" in (record.given_names_all or ""):
            found.append("given name among their other names")
        elif record.given_name_phonetic == given_sound:
            found.append("given name sounds alike")
        elif single is None and spelling_very_close(given, record.given_name):
            found.append(TYPO_GIVEN)
    if family and record.family_name:
        if record.family_name == family:
            found.append("same family name")
        elif f"|{family}|" in (record.family_names_all or ""):
            found.append("family name among their other or previous names")
        elif record.family_name_phonetic == query_row["family_name_phonetic"]:
            found.append("family name sounds alike")
        elif single is None and spelling_very_close(family, record.family_name):
            found.append(TYPO_FAMILY)
    if query_row["date_of_birth"] and record.date_of_birth:
        if record.date_of_birth == query_row["date_of_birth"]:
            found.append("same date of birth")
        else:
            found.append("date of birth with day and month swapped")
    if query_row["nhs_number"] and record.nhs_number == query_row["nhs_number"]:
        found.append("same NHS number")
    if query_row["upn"] and record.upn == query_row["upn"]:
        found.append("same UPN")
    if query_row["postcode"]:
        found.append(
            "same postcode"
            if record.postcode == query_row["postcode"]
            else "postcode among their previous addresses"
        )
    return found


def _strength(matched_on: list[str]) -> int:
    """Exact agreement counts above a variant or a sound-alike, identifiers above names."""
    score = 0
    for reason in matched_on:
        if reason in {"same NHS number", "same UPN"}:
            score += 8
        elif reason.startswith("same"):
            score += 4
        elif reason in {TYPO_GIVEN, TYPO_FAMILY}:
            score += 1
        else:
            score += 2
    return score


def _is_child(born: dt.date | None, born_after: dt.date) -> bool:
    return born is None or born > born_after


def _matching_records(
    db_session: Session, condition: ColumnElement[bool]
) -> Select[int, int, str, *tuple[str | None, ...]]:
    """The index records matching ``condition``, each with its current person (a record
    currently linked to none is left out), and the compared columns."""
    r = LinkageRecord
    columns = (r.agency_id, r.record_ref, *_COMPARED)
    if not is_postgresql(db_session):
        return (
            select(PersonRecordLink.person_id, *columns)
            .join(
                PersonRecordLink,
                and_(
                    PersonRecordLink.agency_id == r.agency_id,
                    PersonRecordLink.record_ref == r.record_ref,
                    link_is_current(),
                ),
            )
            .where(condition)
        )
    # The same join, written so PostgreSQL looks each matched record's person up in the
    # current-link index: joined plainly, it hashed every current link in the table (a scan
    # of all 40,005 at 20,001 children) to meet a few hundred matched records ("Amelya
    # Okafur": 441; the statement took 25 ms, 15 ms this way). OFFSET 0 keeps the planner
    # from flattening the lateral subquery back into that join.
    person = (
        select(PersonRecordLink.person_id)
        .where(
            PersonRecordLink.agency_id == r.agency_id,
            PersonRecordLink.record_ref == r.record_ref,
            link_is_current(),
        )
        .offset(0)
        .lateral("current_person")
    )
    return select(person.c.person_id, *columns).select_from(r).join(person, true()).where(condition)


def find_children(
    *,
    db_session: Session,
    subject: AuthSubject,
    now: dt.datetime,
    query: ChildQuery,
    limit: int = MAX_SHOWN,
) -> ChildSearch:
    """Children matching ``query`` whom the subject may see (best first), and how many
    others matched whom they may not. Raises ``SearchTooVague`` when nothing can be searched.

    The matching records are found first (only the columns compared), the need-to-know rule
    is then asked once about their people alone (in SQL: ``named_as`` reads the names, dates
    of birth and agencies the practitioner may see), the children are ranked by what their
    pages would call them, and only those shown are audited."""
    row = _prepared_query(query)
    with without_parallel_workers(db_session):
        condition = _condition(db_session, row, query)
        # Plain rows on the session's connection: the ORM's loading of a surname's 4,500
        # matched records cost more Python than the rest of the search's handling of them.
        matching = _matching_records(db_session, condition)
        candidates = db_session.connection().execute(matching).all()
        if not candidates:
            return ChildSearch()
        named = person_summaries.named_as(
            db_session,
            subject=subject,
            now=now,
            person_ids=sorted({c.person_id for c in candidates}),
        )
    born_after = person_summaries.child_born_after(now.date())
    born_after_text = born_after.isoformat()  # the index holds dates as ISO text
    born_column = _COMPARED_COLUMNS.index("date_of_birth")
    # Many matched records share their compared values (a surname search): each is judged once.
    judged: dict[tuple[str | None, ...], list[str]] = {}
    reasons: dict[int, list[str]] = {}
    hidden_children: set[int] = set()
    for person_id, agency_id, record_ref, *values in candidates:
        seen = named.get(person_id)
        if seen is None:
            # Matched, but the subject may not see them: counted when a child, never shown.
            born = values[born_column]
            if born is None or born > born_after_text:
                hidden_children.add(person_id)
            continue
        if (agency_id, record_ref) not in seen.readable:
            continue  # a record the subject may not read says nothing to them
        compared = tuple(values)
        found = judged.get(compared)
        if found is None:
            found = judged[compared] = _matched_on(row, _Compared(*compared))
        person_reasons = reasons.get(person_id)
        if person_reasons is None:
            reasons[person_id] = list(found)
        else:
            person_reasons.extend(r for r in found if r not in person_reasons)
    ranked = sorted(
        (-_strength(found), named[pid].name.lower(), named[pid].public_id, pid)
        for pid, found in reasons.items()
        # Adults the search also found (a parent sharing a surname) are not children.
        if _is_child(named[pid].date_of_birth, born_after)
    )
    shown = [
        ChildMatch(
            child=named[pid], matched_on=tuple(reasons[pid]), strength=_strength(reasons[pid])
        )
        for *_order, pid in ranked[:limit]
    ]
    access_service.record_reads(
        db_session=db_session,
        subject=subject,
        person_ids=[m.child.person_id for m in shown],
        purpose="find a child",
        now=now,
    )
    return ChildSearch(
        matches=shown, held_elsewhere=len(hidden_children), more=len(ranked) - len(shown)
    )
