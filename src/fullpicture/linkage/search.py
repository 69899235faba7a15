"""Find a child: the practitioner's search, through the linkage's own comparisons.

What is typed is prepared exactly as a record is for linkage (``preparation.prepare``: the
given-name variants file, the sound-alike codes, the day/month transposition of a date of
birth, cleaned postcodes and identifiers) and looked up in the linkage index, so "Millie" finds
Amelia, "Katherine" finds Catherine and "Okafur" finds Okafor, as linkage would pair them. One
of two names may be a typing slip ("Okafo", "Wrad") when the other agrees: spelt as close as
linkage's "spelling very close" level asks (Jaro-Winkler, ``name_jaro_winkler_close`` in
``linkage_rules.yaml``, through ``linkage.spelling``).

Only children the practitioner may see are shown (``access.repository.readable_record_links``:
a child is shown when a record they may read matched, named from those records); others who
matched are counted as "held elsewhere", never shown. Names shown are audited as reads.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import polars as pl
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from fullpicture.access import person_summaries
from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.subject import AuthSubject
from fullpicture.core.database import among
from fullpicture.linkage.models import LinkageRecord
from fullpicture.linkage.preparation import RECORD_SCHEMA, prepare
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
    child: person_summaries.ChildSummary
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
    frame = pl.DataFrame(
        [
            {
                "unique_id": "query",
                "source": "search",
                "record_id": "query",
                "given_name": given,
                "family_name": family,
                "other_names": [],
                "previous_family_names": [],
                "date_of_birth": query.date_of_birth,
                "sex": None,
                "postcode": query.postcode.strip() or None,
                "address": None,
                "previous_postcodes": [],
                "previous_addresses": [],
                "nhs_number": query.nhs_number.strip() or None,
                "upn": query.upn.strip() or None,
            }
        ],
        schema=RECORD_SCHEMA,
    )
    row = prepare(frame).row(0, named=True)
    # One word could be either name: it is looked up as both.
    row["single_name"] = family if given is None else None
    return row


def _token(column: InstrumentedAttribute[str], value: str) -> ColumnElement[bool]:
    """``value`` is among the ``|``-delimited tokens of ``column`` (as the comparisons ask)."""
    return column.contains(f"|{value}|", autoescape=True)


def _spelt_very_close(
    db_session: Session,
    column: InstrumentedAttribute[str | None],
    typed: str,
    agreeing: ColumnElement[bool],
) -> list[str]:
    """The names recorded in ``column``, on records where the other name agrees, that linkage
    would call "spelling very close" to ``typed`` (a typing slip: "Madiso", "Wrad"). Each
    distinct name is compared once, so the cost follows the names, not the records."""
    recorded = db_session.scalars(
        select(column).where(agreeing, column.is_not(None), column != typed).distinct()
    )
    return sorted(name for name in recorded if name and spelling_very_close(typed, name))


def _name_condition(db_session: Session, row: dict[str, str | None]) -> ColumnElement[bool] | None:
    r = LinkageRecord
    single = row.get("single_name")
    if single is not None:
        sound = row["family_name_phonetic"]
        word = row["family_name"]
        if not word or len(word) < MIN_NAME_LETTERS:
            return None
        return or_(
            r.family_name == word,
            r.family_name_phonetic == sound,
            r.given_name == word,
            r.given_name_phonetic == sound,
            _token(r.given_name_canonicals, word),
        )
    parts: list[ColumnElement[bool]] = []
    if row["family_name"]:
        parts.append(
            or_(
                r.family_name == row["family_name"],
                r.family_name_phonetic == row["family_name_phonetic"],
                _token(r.family_names_all, str(row["family_name"])),
            )
        )
    if row["given_name"]:
        given = str(row["given_name"])
        canonicals = [c for c in str(row["given_name_canonicals"] or "").split("|") if c]
        parts.append(
            or_(
                r.given_name == given,
                r.given_name_phonetic == row["given_name_phonetic"],
                r.given_name_canonical.in_(canonicals or [given]),
                _token(r.given_name_canonicals, str(row["given_name_canonical"] or given)),
                _token(r.given_names_all, given),
            )
        )
    if len(parts) == 2:
        # One of the two names may be mistyped when the other agrees as linkage would pair it.
        family_agrees, given_agrees = parts
        either = [and_(family_agrees, given_agrees)]
        close_given = _spelt_very_close(
            db_session, r.given_name, str(row["given_name"]), family_agrees
        )
        if close_given:
            either.append(and_(family_agrees, r.given_name.in_(close_given)))
        close_family = _spelt_very_close(
            db_session, r.family_name, str(row["family_name"]), given_agrees
        )
        if close_family:
            either.append(and_(r.family_name.in_(close_family), given_agrees))
        return or_(*either)
    return and_(*parts) if parts else None


def _condition(
    db_session: Session, row: dict[str, str | None], query: ChildQuery
) -> ColumnElement[bool]:
    r = LinkageRecord
    parts: list[ColumnElement[bool]] = []
    if query.name.strip():
        name = _name_condition(db_session, row)
        if name is None:
            raise SearchTooVague("Enter at least two letters of the child's name")
        parts.append(name)
    if row["date_of_birth"]:
        parts.append(
            or_(
                r.date_of_birth == row["date_of_birth"],
                r.date_of_birth == row["date_of_birth_transposed"],
                r.date_of_birth_transposed == row["date_of_birth"],
            )
        )
    if row["nhs_number"]:
        parts.append(r.nhs_number == row["nhs_number"])
    if row["upn"]:
        parts.append(r.upn == row["upn"])
    if row["postcode"]:
        parts.append(
            or_(r.postcode == row["postcode"], _token(r.postcodes_all, str(row["postcode"])))
        )
    if not parts:
        raise SearchTooVague("Enter the child's name, date of birth, NHS number, UPN or postcode")
    return and_(*parts)


TYPO_GIVEN = "given name spelt very closely (a typing slip)"
TYPO_FAMILY = "family name spelt very closely (a typing slip)"


def _matched_on(query_row: dict[str, str | None], record: LinkageRecord) -> list[str]:
    """The comparison levels each searched field reached, in the comparisons' words."""
    found: list[str] = []
    given, family = query_row["given_name"], query_row["family_name"]
    single = query_row.get("single_name")
    if single is not None:
        given = family = single
    if given and record.given_name:
        if record.given_name == given:
            found.append("same given name")
        elif f"|{query_row['given_name_canonical']}|" in (record.given_name_canonicals or "") or (
            record.given_name_canonical
            and f"|{record.given_name_canonical}|" in str(query_row["given_name_canonicals"] or "")
        ):
            found.append("given name: known variant (nickname / short form)")
        elif record.given_name_phonetic == query_row["given_name_phonetic"]:
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


def find_children(
    *,
    db_session: Session,
    subject: AuthSubject,
    now: dt.datetime,
    query: ChildQuery,
    limit: int = MAX_SHOWN,
) -> ChildSearch:
    """Children matching ``query`` whom the subject may see (best first), and how many
    others matched whom they may not. Raises ``SearchTooVague`` when nothing can be searched."""
    row = _prepared_query(query)
    condition = _condition(db_session, row, query)
    matched = db_session.execute(
        select(LinkageRecord, PersonRecordLink.person_id)
        .join(
            PersonRecordLink,
            and_(
                PersonRecordLink.agency_id == LinkageRecord.agency_id,
                PersonRecordLink.record_ref == LinkageRecord.record_ref,
                link_is_current(),
            ),
        )
        .where(condition)
    ).all()
    if not matched:
        return ChildSearch()
    person_ids = sorted({person_id for _record, person_id in matched})
    readable_links = access_repository.readable_record_links(subject, now).subquery("may_read")
    readable_keys = {
        (agency_id, record_ref, person_id)
        for person_id, agency_id, record_ref in db_session.execute(
            select(
                readable_links.c.person_id,
                readable_links.c.agency_id,
                readable_links.c.record_ref,
            ).where(among(db_session, readable_links.c.person_id, person_ids))
        )
    }
    visible_people = {person_id for _a, _r, person_id in readable_keys}
    reasons: dict[int, list[str]] = {}
    for record, person_id in matched:
        if (record.agency_id, record.record_ref, person_id) not in readable_keys:
            continue
        for reason in _matched_on(row, record):
            if reason not in reasons.setdefault(person_id, []):
                reasons[person_id].append(reason)
    summaries = person_summaries.child_summaries(
        db_session, subject=subject, now=now, person_ids=sorted(reasons)
    )
    born_after = person_summaries.child_born_after(now.date())
    matches = [
        ChildMatch(child=summary, matched_on=tuple(reasons[pid]), strength=_strength(reasons[pid]))
        for pid, summary in summaries.items()
        # Adults the search also found (a parent sharing a surname) are not children.
        if summary.date_of_birth is None or summary.date_of_birth > born_after
    ]
    matches.sort(key=lambda m: (-m.strength, m.child.name.lower(), m.child.public_id))
    shown = matches[:limit]
    access_service.record_reads(
        db_session=db_session,
        subject=subject,
        person_ids=[m.child.person_id for m in shown],
        purpose="find a child",
        now=now,
    )
    hidden_people = {pid for pid in person_ids if pid not in visible_people}
    hidden_children = {
        person_id
        for record, person_id in matched
        if person_id in hidden_people
        and (record.date_of_birth is None or record.date_of_birth > born_after.isoformat())
    }
    return ChildSearch(
        matches=shown, held_elsewhere=len(hidden_children), more=len(matches) - len(shown)
    )
