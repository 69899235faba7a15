"""Access queries, and the need-to-know rule, written once as SQL.

The rule (issue 7; research-notes §2.1 golden rule 6): a user sees a person only when their
agency is involved with the person, and within that only their agency's own records plus
what was shared with their agency. "Involved" today means the agency holds a record that
linkage currently points at the person (``person_record_link`` with ``ended_at`` NULL).
Later capabilities widen it without editing this module: being on the child's plan
(``register_involvement_source``) and receiving a sharing decision
(``register_shared_record_source`` for whole records, ``register_shared_event_source`` for
exactly the chronology entries a decision covered). A time-limited break-glass grant opens every agency's
records about one person.

The multi-agency picture is pooled at the children's social care front door, as in a MASH
(research-notes §2.1, §2.2: information put together from several sources is what shows
significant harm, and it is put together where the referral is decided). Roles holding
``chronology:all_agencies`` (roles.yaml) see every agency's current records about the people
they may see; everyone else sees their agency's own records plus what was shared with it.
``chronology.visibility`` applies the same rule to chronology entries (``readable_events``,
``event_visibility``), for the chronology, the harm evidence and the referral cross-checks.

Every page, API route, export and CLI command that shows person-level data must build its
query on ``readable_record_links`` / ``readable_person_ids`` / ``readable_source_records`` /
``chronology.visibility.readable_events`` so none of them can forget the rule.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, TypeVarTuple, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    delete,
    event,
    exists,
    false,
    literal,
    or_,
    select,
    union,
    union_all,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql import Executable
from sqlalchemy.types import Integer, String

from fullpicture.access.models import (
    ApiToken,
    ArchivedRecord,
    AuditEntry,
    BreakGlassGrant,
    Role,
    SignInFailure,
    SignInSession,
    UserAccount,
)
from fullpicture.access.roles import Scope
from fullpicture.access.subject import AuthSubject, Moment, Reader, SystemPrincipal
from fullpicture.agencies.models import Agency
from fullpicture.core.database import UTCDateTime, among_parameter, is_postgresql
from fullpicture.people.models import Person, PersonRecordLink, SourceRecord
from fullpicture.people.repository import link_is_current

#: Person ids the subject's agency is involved with beyond holding a record (e.g. on the plan).
InvolvementSource = Callable[[AuthSubject, Moment], Select[int]]
#: (person_id, agency_id, record_ref) of other agencies' records shared with the subject's agency.
SharedRecordSource = Callable[[AuthSubject, Moment], Select[int, int, str]]

#: (person_id, event_id) of chronology entries (exact versions) shared with the subject's agency.
SharedEventSource = Callable[[AuthSubject, Moment], Select[int, int]]
#: Extra audit detail for a read of one person: what the read rested on (e.g. sharing decisions).
ReadGroundsSource = Callable[[Session, AuthSubject, int, dt.datetime], dict[str, Any]]
#: A condition on a person-id column narrowing a read to some people before the rule is
#: applied, e.g. ``people_among(db_session, candidate_ids)`` (which keeps the statement).
PeopleFilter = Callable[[ColumnElement[int] | InstrumentedAttribute[int]], ColumnElement[bool]]
_Columns = TypeVarTuple("_Columns")
_Statement = TypeVar("_Statement", bound=Select[*tuple[Any, ...]])
_Kept = TypeVar("_Kept", bound=Executable)

_involvement_sources: list[InvolvementSource] = []
_shared_record_sources: list[SharedRecordSource] = []
_shared_event_sources: list[SharedEventSource] = []
_read_grounds_sources: list[ReadGroundsSource] = []
_connected = False


class CapabilitiesNotConnected(RuntimeError):
    """A programmer's error: an entry point read through the rule before connecting the
    capabilities that widen it."""


def mark_connected() -> None:
    """Called by ``fullpicture.wiring.connect_capabilities`` once every source is in."""
    global _connected
    _connected = True


def require_connected() -> None:
    """Refuse to apply the rule before the capabilities widening it are connected: without
    them a share or a case would silently give no access and imports would tell no one."""
    if not _connected:
        raise CapabilitiesNotConnected(
            "the capabilities are not connected: call "
            "fullpicture.wiring.connect_capabilities() when the process starts"
        )


def register_involvement_source(source: InvolvementSource) -> InvolvementSource:
    """Let another capability say when an agency is involved with a person (e.g. plans)."""
    if source not in _involvement_sources:
        _involvement_sources.append(source)
    return source


def register_shared_record_source(source: SharedRecordSource) -> SharedRecordSource:
    """Let another capability add records shared with an agency (e.g. sharing decisions)."""
    if source not in _shared_record_sources:
        _shared_record_sources.append(source)
    return source


def register_shared_event_source(source: SharedEventSource) -> SharedEventSource:
    """Let another capability add single chronology entries shared with an agency: the
    receiving agency sees exactly those entries, not the rest of the sharer's record."""
    if source not in _shared_event_sources:
        _shared_event_sources.append(source)
    return source


def register_read_grounds_source(source: ReadGroundsSource) -> ReadGroundsSource:
    """Let another capability name, in the audit entry of a person read, what gave access."""
    if source not in _read_grounds_sources:
        _read_grounds_sources.append(source)
    return source


def shared_record_sources() -> tuple[SharedRecordSource, ...]:
    """The registered sources of records shared with an agency."""
    require_connected()
    return tuple(_shared_record_sources)


def shared_event_sources() -> tuple[SharedEventSource, ...]:
    """The registered sources of single chronology entries shared with an agency."""
    require_connected()
    return tuple(_shared_event_sources)


def read_grounds(
    db_session: Session, *, subject: AuthSubject, person_id: int, now: dt.datetime
) -> dict[str, Any]:
    """Audit detail from every registered source for one read of one person."""
    require_connected()
    grounds: dict[str, Any] = {}
    for source in _read_grounds_sources:
        grounds.update(source(db_session, subject, person_id, now))
    return grounds


def reads_children(subject: AuthSubject) -> bool:
    return subject.sees_children and subject.has(Scope.CHILDREN_READ)


def _no_links() -> Select[int, int, str]:
    return select(
        PersonRecordLink.person_id, PersonRecordLink.agency_id, PersonRecordLink.record_ref
    ).where(false())


def break_glass_person_ids(subject: AuthSubject, now: Moment) -> Select[int]:
    """Persons the subject holds a live break-glass grant for."""
    return select(BreakGlassGrant.person_id).where(_grant_is_live(subject, now))


def _grant_is_live(subject: AuthSubject, now: Moment) -> ColumnElement[bool]:
    """A ``BreakGlassGrant`` of the subject's, started, not yet expired and not ended early."""
    return and_(
        BreakGlassGrant.user_id == subject.user_id,
        BreakGlassGrant.ended_at.is_(None),
        BreakGlassGrant.granted_at <= now,
        BreakGlassGrant.expires_at > now,
    )


def sees_all_agencies(subject: AuthSubject) -> bool:
    """Whether the subject's role works on the pooled multi-agency picture (roles.yaml)."""
    return reads_children(subject) and subject.has(Scope.CHRONOLOGY_ALL_AGENCIES)


def _current_unarchived_links(only: PeopleFilter | None) -> Select[int, int, str]:
    conditions = [
        link_is_current(),
        # Retention-archived records leave everyday views (break-glass still reaches them).
        ~exists(
            select(literal(1)).where(
                ArchivedRecord.agency_id == PersonRecordLink.agency_id,
                ArchivedRecord.record_ref == PersonRecordLink.record_ref,
            )
        ),
    ]
    if only is not None:
        conditions.append(only(PersonRecordLink.person_id))
    return select(
        PersonRecordLink.person_id, PersonRecordLink.agency_id, PersonRecordLink.record_ref
    ).where(*conditions)


def _narrowed(part: Select[*_Columns], only: PeopleFilter | None, name: str) -> Select[*_Columns]:
    """A registered source's rows, only for the people ``only`` names (its first column is
    the person id); the database pushes the condition into the source's own query."""
    if only is None:
        return part
    rows = part.subquery(name)
    narrowed: Select[*_Columns] = select(*rows.c).where(only(rows.c[0]))
    return narrowed


def _need_to_know_links(
    subject: AuthSubject, now: Moment, only: PeopleFilter | None
) -> list[Select[int, int, str]]:
    """Own agency's records, break-glass grants and shared records: what any role may read."""
    parts: list[Select[int, int, str]] = []
    if subject.agency_id is not None:
        parts.append(
            _current_unarchived_links(only).where(PersonRecordLink.agency_id == subject.agency_id)
        )
    glass = [
        link_is_current(),
        PersonRecordLink.person_id.in_(break_glass_person_ids(subject, now)),
    ]
    if only is not None:
        glass.append(only(PersonRecordLink.person_id))
    parts.append(
        select(
            PersonRecordLink.person_id, PersonRecordLink.agency_id, PersonRecordLink.record_ref
        ).where(*glass)
    )
    parts.extend(
        _narrowed(source(subject, now), only, "shared_record") for source in shared_record_sources()
    )
    return parts


#: How many need-to-know statements are kept: one to four per user, token or session in use
#: in this server process (the people they may see, the records they may read, each for
#: everyone or narrowed to a list of people).
_KEPT_STATEMENTS = 2048
_kept_statements: OrderedDict[tuple[Any, ...], Executable] = OrderedDict()
_kept_statements_lock = threading.Lock()
#: The parameter standing for the moment in a kept statement.
NEED_TO_KNOW_MOMENT = "need_to_know_moment"
#: The parameter standing for the people a kept, narrowed statement is about.
NEED_TO_KNOW_PEOPLE = "need_to_know_people"


@dataclass(frozen=True)
class AmongPeople:
    """A ``PeopleFilter`` naming people by id through one parameter (``people_among``). A
    statement narrowed by it is the same for every list of people, so, like the un-narrowed
    rule, it is built once per subject and each use is given its people and moment as values.
    Narrowing by any other condition builds the statement each time."""

    person_ids: tuple[int, ...]
    postgresql: bool

    def __call__(
        self, person_id: ColumnElement[int] | InstrumentedAttribute[int]
    ) -> ColumnElement[bool]:
        return among_parameter(
            postgresql=self.postgresql, column=person_id, name=NEED_TO_KNOW_PEOPLE
        )


def people_among(db_session: Session, person_ids: Sequence[int]) -> AmongPeople:
    """``only`` for a read of these people alone (``readable_record_links`` and the rest)."""
    return AmongPeople(tuple(sorted(set(person_ids))), is_postgresql(db_session))


def _kept(
    kind: str,
    subject: AuthSubject,
    now: dt.datetime,
    only: PeopleFilter | None,
    build: Callable[[Moment, PeopleFilter | None], _Statement],
) -> _Statement:
    """``build``'s statement for this subject, built once with parameters for the moment and
    (narrowed by ``AmongPeople``) the people, and given this read's values.

    Building the need-to-know statements (unions over every registered source, with
    subqueries) took 2.5-5 ms of CPU each, several times in one request: a fifth of an API
    read's cost and a sixth of a search's (issue 14, bench/load_cpu.py). They depend only on
    the subject, the registered sources and the moment and people, which the sources use only
    as values in SQL; so each use gets a copy of the kept statement with its own values
    (``params``: nothing shared is changed). SQLAlchemy then compiles each shape once."""
    if only is not None and not isinstance(only, AmongPeople):
        return build(now, only)
    key = (
        kind,
        subject,
        None if only is None else only.postgresql,
        tuple(_involvement_sources),
        tuple(_shared_record_sources),
        tuple(_shared_event_sources),
    )
    with _kept_statements_lock:
        built = cast("_Statement | None", _kept_statements.get(key))
        if built is not None:
            _kept_statements.move_to_end(key)
    if built is None:
        built = build(bindparam(NEED_TO_KNOW_MOMENT, type_=UTCDateTime()), only)
        with _kept_statements_lock:
            _kept_statements[key] = built
            while len(_kept_statements) > _KEPT_STATEMENTS:
                _kept_statements.popitem(last=False)
    values: dict[str, Any] = {NEED_TO_KNOW_MOMENT: now}
    if only is not None:
        values[NEED_TO_KNOW_PEOPLE] = list(only.person_ids)
    return built.params(values)


def need_to_know_moment() -> ColumnElement[dt.datetime]:
    """The parameter a statement kept by ``kept_statement`` stands for the moment with."""
    return bindparam(NEED_TO_KNOW_MOMENT, type_=UTCDateTime())


def need_to_know_values(now: dt.datetime) -> dict[str, Any]:
    """The values a statement kept by ``kept_statement`` is executed with, besides its own."""
    return {NEED_TO_KNOW_MOMENT: now}


def kept_statement(
    db_session: Session,
    kind: str,
    subject: AuthSubject,
    build: Callable[[ColumnElement[dt.datetime]], _Kept],
) -> _Kept:
    """A whole statement applying the need-to-know rule for ``subject``, built once (by
    ``build``, given the moment's parameter) and kept, like the rule's own statements, per
    subject and registered sources; execute it with ``need_to_know_values(now)`` and its own
    parameters.

    ``_kept`` gives each use a copy carrying its values (``Select.params``), which clones
    every subquery's columns: with the statement around it built again too, that was most
    of an API read's Python (issue 14, bench/load_cpu.py). A statement kept whole and given
    its values at execution is neither built nor copied; one missing a value fails loudly
    (SQLAlchemy refuses a bind parameter without one)."""
    key = (
        kind,
        subject,
        # A statement may be written for its backend (``among_parameter``).
        db_session.get_bind().dialect.name,
        tuple(_involvement_sources),
        tuple(_shared_record_sources),
        tuple(_shared_event_sources),
    )
    with _kept_statements_lock:
        built = _kept_statements.get(key)
        if built is not None:
            _kept_statements.move_to_end(key)
    if built is None:
        built = build(need_to_know_moment())
        with _kept_statements_lock:
            _kept_statements[key] = built
            while len(_kept_statements) > _KEPT_STATEMENTS:
                _kept_statements.popitem(last=False)
    return cast("_Kept", built)


def _involved_person_ids(
    subject: AuthSubject, now: dt.datetime, only: PeopleFilter | None = None
) -> Select[int]:
    """The people the subject may see at all, as of ``now`` (with ``only``, among those)."""
    return _kept(
        "involved_person_ids",
        subject,
        now,
        only,
        lambda moment, people: _build_involved_person_ids(subject, moment, people),
    )


def _build_involved_person_ids(
    subject: AuthSubject, now: Moment, only: PeopleFilter | None
) -> Select[int]:
    links = union_all(*_need_to_know_links(subject, now, only)).subquery("need_to_know_link")
    parts: list[Select[int]] = [select(links.c.person_id)]
    parts.extend(
        _narrowed(source(subject, now), only, "involved_person_source")
        for source in _involvement_sources
    )
    for event_source in shared_event_sources():
        shared = _narrowed(event_source(subject, now), only, "shared_event").subquery(
            "shared_event_person"
        )
        parts.append(select(shared.c[0]))
    combined = union(*parts).subquery("involved_person")
    return select(combined.c[0])


def readable_record_links(
    subject: AuthSubject, now: Moment, *, only: PeopleFilter | None = None
) -> Select[int, int, str]:
    """(person_id, agency_id, record_ref) of every agency record the subject may read; with
    ``only``, of those people alone, narrowed inside every part of the rule (so reading a few
    people never lists every link of the reader's agency first; ``people_among`` keeps the
    statement). Given the moment's parameter (inside ``kept_statement``'s build), the rule is
    built in place with it, to be given its value at execution."""
    if not reads_children(subject):
        return _no_links()

    def build(moment: Moment, people: PeopleFilter | None) -> Select[int, int, str]:
        parts = _need_to_know_links(subject, moment, people)
        if sees_all_agencies(subject):
            # The pooled picture: every agency's current records about the people the
            # subject may see at all (never more people, only more of each person's record).
            parts.append(
                _current_unarchived_links(people).where(
                    PersonRecordLink.person_id.in_(
                        _build_involved_person_ids(subject, moment, people)
                    )
                )
            )
        combined = union_all(*parts).subquery("readable_link")
        return select(combined.c.person_id, combined.c.agency_id, combined.c.record_ref)

    if not isinstance(now, dt.datetime):
        return build(now, only)
    return _kept("readable_record_links", subject, now, only, build)


def readable_person_ids(
    subject: AuthSubject, now: Moment, *, only: PeopleFilter | None = None
) -> Select[int]:
    """Ids of every person the subject may see at all (with ``only``, among those people).
    Given the moment's parameter (inside ``kept_statement``'s build), the rule is built in
    place with it, to be given its value at execution."""
    if not reads_children(subject):
        return select(Person.id).where(false())
    if not isinstance(now, dt.datetime):
        return _build_involved_person_ids(subject, now, only)
    return _involved_person_ids(subject, now, only)


def readable_source_records(
    subject: AuthSubject, now: dt.datetime, *, person_id: int | None = None
) -> Select[SourceRecord]:
    """Source-record versions the subject may read (optionally for one person)."""
    links = readable_record_links(subject, now).subquery("readable_record")
    conditions = [
        links.c.agency_id == SourceRecord.agency_id,
        links.c.record_ref == SourceRecord.record_ref,
    ]
    if person_id is not None:
        conditions.append(links.c.person_id == person_id)
    return select(SourceRecord).where(exists(select(literal(1)).where(and_(*conditions))))


_CHECKED_PERSON = "readable_check_person"


# A request may ask twice at one moment whether its subject may read a child (the harm
# summary opens the child, then scores it under the scorer's rule): the answer is kept in the
# session for that subject, child and moment, and forgotten when the session next flushes or
# its transaction ends, so nothing the request writes (a break-glass grant) goes unseen.
_READ_ANSWERS = "fullpicture.access.can_read_person"


@event.listens_for(Session, "after_flush")
def _forget_read_answers_on_flush(db_session: Session, _flush_context: object) -> None:
    db_session.info.pop(_READ_ANSWERS, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_read_answers(db_session: Session, _transaction: object) -> None:
    db_session.info.pop(_READ_ANSWERS, None)


def can_read_person(
    db_session: Session, *, subject: Reader, person_id: int, now: dt.datetime
) -> bool:
    if isinstance(subject, SystemPrincipal):
        return True
    answers: dict[tuple[AuthSubject, int, dt.datetime], bool] = db_session.info.setdefault(
        _READ_ANSWERS, {}
    )
    answer = answers.get((subject, person_id, now))
    if answer is None:
        answer = answers[(subject, person_id, now)] = _may_read_person(
            db_session, subject=subject, person_id=person_id, now=now
        )
    return answer


def _may_read_person(
    db_session: Session, *, subject: AuthSubject, person_id: int, now: dt.datetime
) -> bool:

    def build(moment: ColumnElement[dt.datetime]) -> Select[int]:
        readable = readable_person_ids(subject, moment).subquery("readable_check")
        return (
            select(literal(1))
            .where(readable.c.person_id == bindparam(_CHECKED_PERSON, type_=Integer()))
            .limit(1)
        )

    statement = kept_statement(db_session, "can_read_person", subject, build)
    values = {**need_to_know_values(now), _CHECKED_PERSON: person_id}
    return db_session.scalar(statement, values) is not None


def readable_among(
    db_session: Session, *, subject: AuthSubject, person_ids: Sequence[int], now: dt.datetime
) -> set[int]:
    """Which of these people the subject may see at all."""
    if not person_ids:
        return set()
    return set(
        db_session.scalars(
            readable_person_ids(subject, now, only=people_among(db_session, person_ids))
        )
    )


def live_break_glass_grant(
    db_session: Session, *, subject: AuthSubject, person_id: int, now: dt.datetime
) -> BreakGlassGrant | None:
    return db_session.scalars(
        select(BreakGlassGrant)
        .where(_grant_is_live(subject, now), BreakGlassGrant.person_id == person_id)
        .order_by(BreakGlassGrant.expires_at.desc())
        .limit(1)
    ).first()


# Asked on every audited read of a child; built once (issue 14).
_AGENCY_IS_INVOLVED = (
    select(literal(1))
    .where(
        PersonRecordLink.agency_id == bindparam("involved_agency", type_=Integer()),
        PersonRecordLink.person_id == bindparam("involved_person", type_=Integer()),
        link_is_current(),
    )
    .limit(1)
)


def agency_is_involved(db_session: Session, *, agency_id: int, person_id: int) -> bool:
    values = {"involved_agency": agency_id, "involved_person": person_id}
    return db_session.scalar(_AGENCY_IS_INVOLVED, values) is not None


def agency_code_of(db_session: Session, agency_id: int) -> str | None:
    return db_session.scalar(select(Agency.code).where(Agency.id == agency_id))


def persons_of_agency_records(
    db_session: Session, *, records: Sequence[tuple[str, str]]
) -> set[int]:
    """The people linkage currently puts these (agency code, record ref) records with."""
    wanted = sorted(set(records))
    if not wanted:
        return set()
    return set(
        db_session.scalars(
            select(PersonRecordLink.person_id)
            .join(Agency, Agency.id == PersonRecordLink.agency_id)
            .where(
                link_is_current(),
                or_(
                    *[
                        and_(Agency.code == code, PersonRecordLink.record_ref == ref)
                        for code, ref in wanted
                    ]
                ),
            )
            .distinct()
        )
    )


_PERSON_BY_PUBLIC_ID = select(Person).where(
    Person.public_id == bindparam("public_id", type_=String())
)


def readable_person(
    db_session: Session, *, reader: Reader, public_id: str, now: dt.datetime
) -> Person | None:
    """The person with this public id, if the reader may see them (an audited system job: any)."""
    person = db_session.scalars(_PERSON_BY_PUBLIC_ID, {"public_id": public_id}).first()
    # Asked of the one id (``can_read_person``), the rule's every branch is an index lookup;
    # joined to the public id, PostgreSQL built the reader's whole readable set first (8,000
    # children for a front door, 35-60 ms a check, two checks a child's page).
    if person is None or can_read_person(db_session, subject=reader, person_id=person.id, now=now):
        return person
    return None


# A child read asks who the child is and whether the reader's agency is involved with them
# (which decides whether the read rests on break-glass); asked together, one statement fewer
# for every audited read of a child (issue 14).
_PERSON_AND_INVOLVEMENT = select(
    Person,
    exists(
        select(literal(1)).where(
            PersonRecordLink.agency_id == bindparam("involved_agency", type_=Integer()),
            PersonRecordLink.person_id == Person.id,
            link_is_current(),
        )
    ),
).where(Person.public_id == bindparam("public_id", type_=String()))


def readable_person_and_involvement(
    db_session: Session, *, reader: AuthSubject, public_id: str, now: dt.datetime
) -> tuple[Person, bool] | None:
    """``readable_person``, and whether ``agency_is_involved`` holds for the reader's agency
    (False for a reader of no agency), or None when the reader may not see the person."""
    if reader.agency_id is None:
        person = readable_person(db_session, reader=reader, public_id=public_id, now=now)
        return None if person is None else (person, False)
    row = db_session.execute(
        _PERSON_AND_INVOLVEMENT, {"public_id": public_id, "involved_agency": reader.agency_id}
    ).first()
    if row is None:
        return None
    person, involved = row
    if not can_read_person(db_session, subject=reader, person_id=person.id, now=now):
        return None
    return person, bool(involved)


def person_id_by_public_id(db_session: Session, public_id: str) -> int | None:
    """Only the internal id, for the two acts that name a person without a need to know:
    asking for break-glass access, and asking who has looked (each checks its own rule)."""
    return db_session.scalar(select(Person.id).where(Person.public_id == public_id))


def user_by_username(db_session: Session, username: str) -> UserAccount | None:
    return db_session.scalars(select(UserAccount).where(UserAccount.username == username)).first()


def user_by_oidc_subject(db_session: Session, oidc_subject: str) -> UserAccount | None:
    return db_session.scalars(
        select(UserAccount).where(UserAccount.oidc_subject == oidc_subject)
    ).first()


def session_by_token_hash(db_session: Session, token_sha256: str) -> SignInSession | None:
    return db_session.scalars(
        select(SignInSession).where(SignInSession.token_sha256 == token_sha256)
    ).first()


def nth_latest_sign_in_failure(
    db_session: Session, *, client: str, since: dt.datetime, n: int
) -> dt.datetime | None:
    """When the ``n``-th most recent refused sign-in from ``client`` after ``since`` happened
    (None when there were fewer than ``n``)."""
    return db_session.scalar(
        select(SignInFailure.occurred_at)
        .where(SignInFailure.client == client, SignInFailure.occurred_at > since)
        .order_by(SignInFailure.occurred_at.desc())
        .offset(n - 1)
        .limit(1)
    )


def forget_sign_in_failures(db_session: Session, *, before: dt.datetime) -> None:
    """Drop refused sign-ins too old to count towards any throttle."""
    db_session.execute(
        delete(SignInFailure)
        .where(SignInFailure.occurred_at <= before)
        .execution_options(synchronize_session=False)
    )


def api_token_by_hash(db_session: Session, token_sha256: str) -> ApiToken | None:
    return db_session.scalars(select(ApiToken).where(ApiToken.token_sha256 == token_sha256)).first()


# Every API request is checked with these two, read afresh (a revoked token fails on the very
# next request); built once, one round trip for the token and its user (issue 14).
_TOKEN_HOLDER = (
    select(
        ApiToken.id.label("token_id"),
        ApiToken.scopes,
        ApiToken.expires_at,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        UserAccount.id.label("user_id"),
        UserAccount.username,
        UserAccount.display_name,
        UserAccount.role,
        UserAccount.agency_id,
        UserAccount.practitioner_id,
        UserAccount.is_active,
    )
    .join(UserAccount, UserAccount.id == ApiToken.user_id)
    .where(ApiToken.token_sha256 == bindparam("token_sha256", type_=String()))
)
_TOKEN_USED = (
    update(ApiToken)
    .where(ApiToken.id == bindparam("used_token", type_=Integer()))
    .values(last_used_at=bindparam("used_at", type_=UTCDateTime()))
    .execution_options(synchronize_session=False)
)


@dataclass(frozen=True)
class TokenHolder:
    """An API token's state and its user's columns, as one request reads them."""

    token_id: int
    scopes: list[str]
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
    user_id: int
    username: str
    display_name: str
    role: Role
    agency_id: int | None
    practitioner_id: int | None
    is_active: bool


def token_holder(db_session: Session, token_sha256: str) -> TokenHolder | None:
    """The token with this hash and its user, whatever their state (the caller judges it)."""
    row = db_session.execute(_TOKEN_HOLDER, {"token_sha256": token_sha256}).first()
    return None if row is None else TokenHolder(**row._asdict())


def mark_token_used(db_session: Session, *, token_id: int, at: dt.datetime) -> None:
    db_session.execute(_TOKEN_USED, {"used_token": token_id, "used_at": at})


def designated_leads_for_person(db_session: Session, *, person_id: int) -> Sequence[UserAccount]:
    """Active designated leads of every agency currently holding a record about the person."""
    agencies = select(PersonRecordLink.agency_id).where(
        PersonRecordLink.person_id == person_id, link_is_current()
    )
    return db_session.scalars(
        select(UserAccount)
        .where(
            UserAccount.role == Role.DESIGNATED_LEAD,
            UserAccount.is_active.is_(True),
            UserAccount.agency_id.in_(agencies),
        )
        .order_by(UserAccount.id)
    ).all()


def all_designated_leads(db_session: Session) -> Sequence[UserAccount]:
    return db_session.scalars(
        select(UserAccount)
        .where(UserAccount.role == Role.DESIGNATED_LEAD, UserAccount.is_active.is_(True))
        .order_by(UserAccount.id)
    ).all()


#: Audit actions that mean someone looked at a person's data.
LOOKING_ACTIONS = ("person.read", "person.export", "break_glass.granted")


def audit_entries_for_person(
    db_session: Session, *, person_id: int, actions: Sequence[str] = LOOKING_ACTIONS
) -> Sequence[AuditEntry]:
    return db_session.scalars(
        select(AuditEntry)
        .where(AuditEntry.person_id == person_id, AuditEntry.action.in_(actions))
        .order_by(AuditEntry.position.desc())
    ).all()
