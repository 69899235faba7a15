"""Linkage's queries: current source records, the linkage index, pairs, links and decisions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from fullpicture.access import repository as access_repository
from fullpicture.access.subject import AuthSubject, SystemPrincipal
from fullpicture.agencies.models import Agency
from fullpicture.linkage.models import (
    LinkageModelVersion,
    LinkageNameKey,
    LinkageRecord,
    NameKind,
    PairwiseLink,
    ReviewItem,
    ReviewStatus,
)
from fullpicture.linkage.preparation import PREPARED_COLUMNS, RECORD_SCHEMA
from fullpicture.people.models import PersonRecordLink, SourceRecord
from fullpicture.people.repository import link_is_current

_CHUNK = 5_000


def record_key(agency_id: int, record_ref: str) -> str:
    return f"{agency_id}:{record_ref}"


def split_record_key(key: str) -> tuple[int, str]:
    agency_id, _, record_ref = key.partition(":")
    return int(agency_id), record_ref


def _current_versions() -> Any:
    return (
        select(
            SourceRecord.agency_id,
            SourceRecord.record_ref,
            func.max(SourceRecord.version).label("version"),
        )
        .group_by(SourceRecord.agency_id, SourceRecord.record_ref)
        .subquery()
    )


def current_source_records(
    *,
    db_session: Session,
    linker: SystemPrincipal,
    keys: Sequence[tuple[int, str]] | None = None,
) -> list[SourceRecord]:
    """The latest version of each agency record (optionally only the given records): the
    linkage job's input, read whole by its audited ``linker``."""
    return list(db_session.scalars(_current_records_statement(keys)))


def _current_records_statement(keys: Sequence[tuple[int, str]] | None) -> Select[SourceRecord]:
    latest = _current_versions()
    statement = select(SourceRecord).join(
        latest,
        and_(
            SourceRecord.agency_id == latest.c.agency_id,
            SourceRecord.record_ref == latest.c.record_ref,
            SourceRecord.version == latest.c.version,
        ),
    )
    if keys is not None:
        statement = statement.where(
            or_(*[and_(SourceRecord.agency_id == a, SourceRecord.record_ref == r) for a, r in keys])
        )
    return statement.order_by(SourceRecord.id)


def pair_records(
    *,
    db_session: Session,
    reviewer: AuthSubject,
    now: dt.datetime,
    keys: Sequence[tuple[int, str]],
) -> dict[tuple[int, str], SourceRecord]:
    """The current records of a candidate pair, by (agency id, record ref), if the reviewer may
    read at least one of them (the review rule, ``linkage.review.open_pair``); none otherwise.
    Both are shown, as deciding a pair needs both sides."""
    if not keys:
        return {}
    readable = access_repository.readable_record_links(reviewer, now).subquery("pair_reader")
    may_read_one = exists(
        select(literal(1)).where(
            or_(*[and_(readable.c.agency_id == a, readable.c.record_ref == r) for a, r in keys])
        )
    )
    found = db_session.scalars(_current_records_statement(keys).where(may_read_one))
    return {(record.agency_id, record.record_ref): record for record in found}


def record_is_held(*, db_session: Session, agency_id: int, record_ref: str) -> bool:
    """Whether the agency has sent a record with this reference (nothing about it is read)."""
    return (
        db_session.scalar(
            select(literal(1))
            .where(SourceRecord.agency_id == agency_id, SourceRecord.record_ref == record_ref)
            .limit(1)
        )
        is not None
    )


def _address_parts(addresses: list[dict[str, Any]]) -> tuple[Any, Any, list[str], list[str]]:
    """Current line and postcode (the open-ended entry, else the first), and the rest."""
    if not addresses:
        return None, None, [], []
    current = next((a for a in addresses if not a.get("date_to")), addresses[0])
    others = [a for a in addresses if a is not current]
    return (
        current.get("line"),
        current.get("postcode"),
        [a["postcode"] for a in others if a.get("postcode")],
        [a["line"] for a in others if a.get("line")],
    )


def records_frame(*, db_session: Session, records: Iterable[SourceRecord]) -> pl.DataFrame:
    """Source records as linkage input (``RECORD_SCHEMA``), keyed by record key."""
    codes = dict(db_session.execute(select(Agency.id, Agency.code)).all())
    rows = []
    for record in records:
        line, postcode, previous_postcodes, previous_lines = _address_parts(record.addresses)
        rows.append(
            {
                "unique_id": record_key(record.agency_id, record.record_ref),
                "source": codes.get(record.agency_id, str(record.agency_id)),
                "record_id": record.record_ref,
                "given_name": record.given_name,
                "family_name": record.family_name,
                "other_names": list(record.other_names or []),
                "previous_family_names": list(record.previous_family_names or []),
                "date_of_birth": record.date_of_birth,
                "sex": record.sex.value if record.sex else None,
                "postcode": postcode,
                "address": line,
                "previous_postcodes": previous_postcodes,
                "previous_addresses": previous_lines,
                "nhs_number": record.nhs_number,
                "upn": record.upn,
            }
        )
    return pl.DataFrame(rows, schema=RECORD_SCHEMA)


def latest_model(*, db_session: Session) -> LinkageModelVersion | None:
    return db_session.scalar(
        select(LinkageModelVersion).order_by(LinkageModelVersion.version.desc()).limit(1)
    )


def next_model_version(*, db_session: Session) -> int:
    current = db_session.scalar(select(func.max(LinkageModelVersion.version)))
    return (current or 0) + 1


# --- the linkage index -------------------------------------------------------------------


#: Each ``|``-delimited list of a prepared record, the kind its other tokens are kept as in
#: ``LinkageNameKey``, and the column already holding one of its tokens (not repeated there).
_NAME_KEY_LISTS = (
    (NameKind.GIVEN_OTHER, "given_names_all", None),
    (NameKind.GIVEN_VARIANT, "given_name_canonicals", "given_name_canonical"),
    (NameKind.FAMILY_OTHER, "family_names_all", "family_name"),
    (NameKind.POSTCODE_OTHER, "postcodes_all", "postcode"),
)


def name_keys(row: Mapping[str, Any]) -> list[tuple[NameKind, str]]:
    """A prepared record's other names and postcodes, as ``LinkageNameKey`` keeps them: "x is
    among the tokens of the list" is then "the column is x, or a key (kind, x) exists"."""
    keys: list[tuple[NameKind, str]] = []
    for kind, tokens, own_column in _NAME_KEY_LISTS:
        own = row[own_column] if own_column else None
        for token in dict.fromkeys(str(row[tokens] or "").split("|")):
            if token and token != own:
                keys.append((kind, token))
    return keys


def _delete_index_rows(db_session: Session, record_keys: Sequence[str]) -> None:
    for chunk in _chunks(record_keys):
        db_session.execute(delete(LinkageNameKey).where(LinkageNameKey.record_key.in_(chunk)))
        db_session.execute(delete(LinkageRecord).where(LinkageRecord.record_key.in_(chunk)))


def replace_index(
    *, db_session: Session, prepared: pl.DataFrame, source_record_ids: dict[str, int]
) -> None:
    """Make the linkage index hold exactly these prepared records."""
    keys = prepared["unique_id"].to_list()
    stale = set(db_session.scalars(select(LinkageRecord.record_key))) - set(keys)
    _delete_index_rows(db_session, sorted(stale))
    upsert_index(db_session=db_session, prepared=prepared, source_record_ids=source_record_ids)


def upsert_index(
    *, db_session: Session, prepared: pl.DataFrame, source_record_ids: dict[str, int]
) -> None:
    _delete_index_rows(db_session, prepared["unique_id"].to_list())
    rows = []
    other_names: list[dict[str, str]] = []
    for row in prepared.iter_rows(named=True):
        other_names.extend(
            {"record_key": row["unique_id"], "kind": kind, "name": name}
            for kind, name in name_keys(row)
        )
        agency_id, record_ref = split_record_key(row["unique_id"])
        values = {c: row[c] for c in PREPARED_COLUMNS if c not in {"unique_id", "source"}}
        rows.append(
            {
                "record_key": row["unique_id"],
                "agency_id": agency_id,
                "record_ref": record_ref,
                "source_record_id": source_record_ids[row["unique_id"]],
                **values,
            }
        )
    for chunk in _chunks(rows):
        db_session.execute(insert(LinkageRecord), chunk)
    for chunk in _chunks(other_names):
        db_session.execute(insert(LinkageNameKey), chunk)


def index_frame(*, db_session: Session, where: Any | None = None) -> pl.DataFrame:
    """Prepared records from the linkage index (all, or those matching ``where``)."""
    columns = [
        getattr(LinkageRecord, c) for c in PREPARED_COLUMNS if c not in {"unique_id", "source"}
    ]
    statement = select(LinkageRecord.record_key, Agency.code, *columns).join(
        Agency, Agency.id == LinkageRecord.agency_id
    )
    if where is not None:
        statement = statement.where(where)
    rows = db_session.execute(statement).all()
    schema = dict.fromkeys(PREPARED_COLUMNS, pl.String)
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def candidate_condition(record: dict[str, Any]) -> Any:
    """Index rows sharing what any prediction blocking rule needs (a superset of its pairs)."""
    c = LinkageRecord
    options = []
    for column in ("nhs_number", "upn", "date_of_birth", "postcode"):
        if record.get(column):
            options.append(getattr(c, column) == record[column])
    if record.get("given_name_phonetic") and record.get("family_name_phonetic"):
        options.append(
            and_(
                c.given_name_phonetic == record["given_name_phonetic"],
                c.family_name_phonetic == record["family_name_phonetic"],
            )
        )
    if record.get("given_name_canonical") and record.get("family_name_phonetic"):
        options.append(
            and_(
                c.given_name_canonical == record["given_name_canonical"],
                c.family_name_phonetic == record["family_name_phonetic"],
            )
        )
    if not options:
        return None
    return and_(or_(*options), c.record_key != record["unique_id"])


# --- pairs ------------------------------------------------------------------------------


def replace_pairs(
    *, db_session: Session, rows: list[dict[str, Any]], scope: set[str] | None
) -> None:
    """Replace stored pairs: all of them (``scope`` None) or those touching ``scope``."""
    if scope is None:
        db_session.execute(delete(PairwiseLink))
    else:
        for chunk in _chunks(sorted(scope)):
            db_session.execute(
                delete(PairwiseLink).where(
                    or_(PairwiseLink.record_key_l.in_(chunk), PairwiseLink.record_key_r.in_(chunk))
                )
            )
    for chunk in _chunks(rows):
        db_session.execute(insert(PairwiseLink), chunk)


def pairs_touching(
    *, db_session: Session, keys: Iterable[str], min_weight: float | None = None
) -> list[PairwiseLink]:
    found: list[PairwiseLink] = []
    for chunk in _chunks(sorted(set(keys))):
        statement = select(PairwiseLink).where(
            or_(PairwiseLink.record_key_l.in_(chunk), PairwiseLink.record_key_r.in_(chunk))
        )
        if min_weight is not None:
            statement = statement.where(PairwiseLink.match_weight >= min_weight)
        found.extend(db_session.scalars(statement))
    return found


def pair(*, db_session: Session, left: str, right: str) -> PairwiseLink | None:
    a, b = sorted((left, right))
    return db_session.scalar(
        select(PairwiseLink).where(PairwiseLink.record_key_l == a, PairwiseLink.record_key_r == b)
    )


# --- links to persons -------------------------------------------------------------------


def active_links(
    *, db_session: Session, linker: SystemPrincipal, keys: Iterable[str] | None = None
) -> dict[str, PersonRecordLink]:
    """The open link of each record (by record key): the linkage job's own bookkeeping, read
    by its audited ``linker``."""
    statement = select(PersonRecordLink).where(link_is_current())
    links: dict[str, PersonRecordLink] = {}
    if keys is None:
        for link in db_session.scalars(statement):
            links[record_key(link.agency_id, link.record_ref)] = link
        return links
    by_agency: dict[int, list[str]] = {}
    for agency_id, record_ref in map(split_record_key, set(keys)):
        by_agency.setdefault(agency_id, []).append(record_ref)
    for agency_id, refs in by_agency.items():
        for chunk in _chunks(sorted(refs)):
            for link in db_session.scalars(
                statement.where(
                    PersonRecordLink.agency_id == agency_id,
                    PersonRecordLink.record_ref.in_(chunk),
                )
            ):
                links[record_key(link.agency_id, link.record_ref)] = link
    return links


def person_ids_of_records(*, db_session: Session, keys: Iterable[str]) -> dict[str, int]:
    """The id of the person each record is currently linked to, by record key (only the ids:
    to audit whom a pair shown to a reviewer is about)."""
    people: dict[str, int] = {}
    by_agency: dict[int, list[str]] = {}
    for agency_id, record_ref in map(split_record_key, set(keys)):
        by_agency.setdefault(agency_id, []).append(record_ref)
    for agency_id, refs in by_agency.items():
        for chunk in _chunks(sorted(refs)):
            rows = db_session.execute(
                select(PersonRecordLink.record_ref, PersonRecordLink.person_id).where(
                    link_is_current(),
                    PersonRecordLink.agency_id == agency_id,
                    PersonRecordLink.record_ref.in_(chunk),
                )
            )
            for record_ref, person_id in rows:
                people[record_key(agency_id, record_ref)] = person_id
    return people


def records_of_persons(*, db_session: Session, person_ids: Iterable[int]) -> set[str]:
    keys: set[str] = set()
    for chunk in _chunks(sorted(set(person_ids))):
        rows = db_session.execute(
            select(PersonRecordLink.agency_id, PersonRecordLink.record_ref).where(
                PersonRecordLink.person_id.in_(chunk), link_is_current()
            )
        )
        keys.update(record_key(a, r) for a, r in rows)
    return keys


# --- review decisions -------------------------------------------------------------------


def decided_pairs(*, db_session: Session) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    rows = db_session.execute(
        select(ReviewItem.record_key_l, ReviewItem.record_key_r, ReviewItem.status).where(
            ReviewItem.status != ReviewStatus.OPEN
        )
    ).all()
    confirmed = [(a, b) for a, b, s in rows if s == ReviewStatus.CONFIRMED]
    rejected = [(a, b) for a, b, s in rows if s == ReviewStatus.REJECTED]
    return confirmed, rejected


def review_items_for(
    *, db_session: Session, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], ReviewItem]:
    wanted = set(pairs)
    found: dict[tuple[str, str], ReviewItem] = {}
    lefts = sorted({a for a, _ in wanted})
    for chunk in _chunks(lefts):
        for item in db_session.scalars(
            select(ReviewItem).where(ReviewItem.record_key_l.in_(chunk))
        ):
            key = (item.record_key_l, item.record_key_r)
            if key in wanted:
                found[key] = item
    return found


# --- need to know, for pairs -----------------------------------------------------------
#
# A pair of records is about whoever each record is about. A reviewer may see a pair when at
# least one of its two records is one they may read under the need-to-know rule
# (``access.repository.readable_record_links``): their agency's own, one shared with it, one
# under a break-glass grant, or, for roles with the pooled view, any agency's record about a
# person their agency is involved with. The other record is shown because deciding whether it
# is the same child is the point of the review.


def _readable_key_condition(
    subject: AuthSubject, now: dt.datetime, key: ColumnElement[str] | InstrumentedAttribute[str]
) -> ColumnElement[bool]:
    links = access_repository.readable_record_links(subject, now).subquery("reviewable_link")
    link_key = cast(links.c.agency_id, String).concat(":").concat(links.c.record_ref)
    return exists(select(literal(1)).where(link_key == key))


def readable_review_items(subject: AuthSubject, now: dt.datetime) -> Select[ReviewItem]:
    """Review items the subject has a need to know about (either record readable)."""
    return select(ReviewItem).where(
        or_(
            _readable_key_condition(subject, now, ReviewItem.record_key_l),
            _readable_key_condition(subject, now, ReviewItem.record_key_r),
        )
    )


def readable_record_keys(
    *, db_session: Session, subject: AuthSubject, now: dt.datetime, keys: Iterable[str]
) -> set[str]:
    """Which of these record keys name a record the subject may read."""
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    links = access_repository.readable_record_links(subject, now).subquery("readable_key")
    link_key = cast(links.c.agency_id, String).concat(":").concat(links.c.record_ref)
    return set(db_session.scalars(select(link_key).where(link_key.in_(wanted)).distinct()))


def agency_codes(*, db_session: Session) -> dict[int, str]:
    return dict(db_session.execute(select(Agency.id, Agency.code)).all())


def agency_names(*, db_session: Session) -> dict[int, str]:
    """Each agency's name as practitioners know it ("Rowan Primary School"), by id."""
    return dict(db_session.execute(select(Agency.id, Agency.name)).all())


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
