"""Chronology queries: the combined chronology of a child or a household, and one agency's view.

The combined view puts every agency's entries about the child (and the adult factors recorded
about the adults in the child's household) side by side in date order (research-notes §7).
Entries about the same incident from two agencies are shown as one incident group and counted
once, by the same rule the cumulative-harm model uses (``harm_model.yaml``, ``same_incident``):
the caller hands those rules in (``ChronologyRules``; the harm model is one), so the
chronology does not depend on harm.
The single-agency view is what one agency holds alone, so the difference is visible.

Given a ``viewer``, only the entries the need-to-know rule lets them see are shown
(``chronology.visibility.event_visibility``: every agency's for the pooled front-door roles and
break-glass, otherwise their agency's own plus what was shared with it); the rest are counted
in ``held_elsewhere`` and never shown.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Integer, Row, Select, String, bindparam, select, type_coerce
from sqlalchemy.orm import Session

from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.roles import Scope
from fullpicture.access.schemas import HeldElsewhere
from fullpicture.access.subject import Reader, SystemPrincipal
from fullpicture.agencies.models import Agency
from fullpicture.chronology.incidents import same_incident_spans
from fullpicture.chronology.models import DatePrecision, Event, EventParticipant
from fullpicture.chronology.taxonomy import ConcernCode, Taxonomy, default_taxonomy
from fullpicture.chronology.versions import entry_is_latest_version
from fullpicture.chronology.visibility import event_visibility
from fullpicture.core.database import among_parameter, is_postgresql, utc_now
from fullpicture.people.models import HouseholdMembership, Person, PersonRecordLink
from fullpicture.people.repository import current_links


class SameIncidentWindow(Protocol):
    @property
    def within_days(self) -> int: ...


class ChronologyRules(Protocol):
    """What the combined chronology takes from the cumulative-harm model (``harm_model.yaml``):
    when entries are one incident, and which household adults' entries join a child's."""

    @property
    def version(self) -> str: ...

    @property
    def same_incident(self) -> SameIncidentWindow: ...

    @property
    def household_adult_codes(self) -> Sequence[str]: ...

    @property
    def household_roles_not_adults(self) -> Sequence[str]: ...


class ChronologyNotFound(LookupError):
    """No such child or household; the message says which."""


class ChronologyEntry(BaseModel):
    """One significant event as the recording agency holds it (current version)."""

    event_id: int
    agency_code: str
    agency_name: str
    agency_kind: str
    event_ref: str
    version: int
    event_date: dt.date
    date_precision: DatePrecision
    date_label: str = Field(description="the date as precisely as it is known")
    date_recorded: dt.date | None
    concern_code: str
    code_kind: str
    category: str
    severity: int | None
    severity_source: str = Field(description="practitioner, taxonomy default, or none")
    information_type: str
    summary: str
    impact_on_child: str | None
    action_taken: str | None
    about_person_id: int
    about: str = Field(description="'child', or the household member's role")
    participant_role: str
    incident_group: int | None = Field(
        default=None, description="set when two or more entries describe one incident"
    )


class EntryFacts(Protocol):
    """What the timeline, the curiosity prompts, the filters and incident grouping read of an
    entry: a ``ChronologyEntry`` has it, and so has the lighter ``EntryOutline``."""

    @property
    def event_id(self) -> int: ...
    @property
    def agency_code(self) -> str: ...
    @property
    def agency_name(self) -> str: ...
    @property
    def event_date(self) -> dt.date: ...
    @property
    def date_label(self) -> str: ...
    @property
    def concern_code(self) -> str: ...
    @property
    def code_kind(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def severity(self) -> int | None: ...
    @property
    def information_type(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def about_person_id(self) -> int: ...
    @property
    def about(self) -> str: ...
    @property
    def incident_group(self) -> int | None: ...


@dataclass(slots=True)
class EntryOutline:
    """One entry of a child's record as a plain object: every entry of a long record is one,
    and a validated ``ChronologyEntry`` is built only for the entries a page shows (2,000
    validated models were most of a long chronology's time, for a page showing 100)."""

    event_id: int
    agency_code: str
    agency_name: str
    event_date: dt.date
    date_precision: DatePrecision
    concern_code: str
    code_kind: str
    category: str
    #: As shown: the practitioner's, else the taxonomy's default for the code.
    severity: int | None
    #: As the agency recorded it (None when it gave none): what the harm score reads.
    recorded_severity: int | None
    information_type: str
    summary: str
    about_person_id: int
    about: str
    #: In the combined chronology's numbering (set when the record is grouped).
    incident_group: int | None = None

    @property
    def date_label(self) -> str:
        return date_label(self.event_date, self.date_precision)


class IncidentGroup(BaseModel):
    """Entries taken to describe one incident: shown together, counted once."""

    group: int
    concern_code: str
    first_date: dt.date
    event_ids: list[int]
    agencies: list[str]
    reason: str


class Chronology(BaseModel):
    subject: str = Field(description="child or household")
    subject_id: int
    agency_code: str | None = Field(description="set for a single-agency view")
    entries: list[ChronologyEntry]
    incident_groups: list[IncidentGroup]
    incidents: int = Field(description="entries counted once per incident")
    same_incident_rule: str
    entries_held_by_other_agencies: int | None = Field(
        default=None,
        description="in a single-agency view: what the other agencies hold that you may see",
    )
    held_elsewhere: HeldElsewhere | None = Field(
        default=None, description="entries your role may not see: counted, not shown"
    )


@dataclass(frozen=True)
class Viewer:
    """Who is looking, and when: the need-to-know rule decides which entries they see. A job
    reading the whole record looks as an audited ``access.service.system_principal``."""

    subject: Reader
    now: dt.datetime


@dataclass(frozen=True)
class _Source:
    person_id: int
    about: str
    codes: frozenset[str] | None  # None: every code
    date_from: dt.date | None
    date_to: dt.date | None


def date_label(day: dt.date, precision: DatePrecision) -> str:
    if precision is DatePrecision.YEAR:
        return f"{day.year}"
    if precision is DatePrecision.MONTH:
        return f"{calendar.month_name[day.month]} {day.year}"
    return day.isoformat()


def resolve_person(
    *, db_session: Session, reader: Reader, person_ref: str | int, now: dt.datetime | None = None
) -> Person:
    """A person by id or public id, if the reader may see them; ``ChronologyNotFound`` for an
    unknown person and one the reader may not see alike (``access.repository``'s rule)."""
    text = str(person_ref)
    statement = select(Person).where(
        Person.id == int(text) if text.isdigit() else Person.public_id == text
    )
    if not isinstance(reader, SystemPrincipal):
        access_service.require_scopes(reader, Scope.CHILDREN_READ)
        readable = access_repository.readable_person_ids(reader, now or utc_now()).subquery(
            "resolvable_person"
        )
        statement = statement.where(Person.id.in_(select(readable.c.person_id)))
    person = db_session.scalar(statement)
    if person is None:
        raise ChronologyNotFound(
            f"no child with id {text!r}, or you have no need to know about them"
        )
    return person


def child_chronology(
    *,
    db_session: Session,
    person_id: int,
    agency_code: str | None = None,
    include_household: bool = True,
    model: ChronologyRules,
    taxonomy: Taxonomy | None = None,
    viewer: Viewer,
) -> Chronology:
    """The child's combined chronology as the ``viewer`` may see it, or with ``agency_code``
    what that agency holds alone; what they may not see is counted in ``held_elsewhere``."""
    sources = [_Source(person_id, "child", None, None, None)]
    if include_household:
        sources.extend(_household_adult_sources(db_session, person_id, model))
    picture = _child_picture(db_session, viewer, person_id)
    entries, hidden = _entries(db_session, sources, taxonomy or default_taxonomy(), picture)
    return _assemble("child", person_id, entries, hidden, agency_code, model, taxonomy)


@dataclass(frozen=True)
class ChronologyView:
    """A chronology as a page shows it: every entry's outline (filters applied) for counts, the
    timeline and paging; validated entries are built only for a page's rows
    (``ChildRecord.page_entries``)."""

    agency_code: str | None
    entries: list[EntryOutline]
    incidents: int
    held_elsewhere: HeldElsewhere | None
    entries_held_by_other_agencies: int | None
    #: Incident numbers in this view: one agency's view numbers its own incidents.
    incident_group_of: Mapping[int, int]


@dataclass(frozen=True)
class ChildRecord:
    """A child's combined chronology read once (``child_record``), as outlines: what the viewer
    may see (date order, incidents numbered as the combined chronology numbers them) and what
    they may not (counted, never shown). The page's views, prompts and timeline, and the harm
    score's inputs (``harm.service.assess_child_record``), all come from this one read."""

    person_id: int
    entries: list[EntryOutline]
    hidden: list[EntryOutline]
    incident_groups: list[IncidentGroup]
    model: ChronologyRules
    taxonomy: Taxonomy
    reads: Mapping[int, _Read]

    def view(
        self,
        *,
        agency_code: str | None = None,
        keeps: Callable[[EntryOutline], bool] | None = None,
    ) -> ChronologyView:
        """The combined chronology, or with ``agency_code`` what that agency holds alone, cut
        to the entries ``keeps`` (a filter) keeps; as ``child_chronology`` then
        ``filters.filter_chronology`` give them."""
        entries = self.entries
        others = None
        if agency_code is None:
            numbers = {e.event_id: e.incident_group for e in entries if e.incident_group}
            groups = self.incident_groups
        else:
            entries = [e for e in entries if e.agency_code == agency_code]
            others = len(self.entries) - len(entries)
            groups = _incident_groups(entries, self.model, self.taxonomy)
            numbers = {i: g.group for g in groups for i in g.event_ids}
        if keeps is not None:
            entries = [e for e in entries if keeps(e)]
        # Entries counted once per incident, among those shown.
        in_groups: dict[int, int] = {}
        for entry in entries:
            group = numbers.get(entry.event_id)
            if group is not None:
                in_groups[group] = in_groups.get(group, 0) + 1
        return ChronologyView(
            agency_code=agency_code,
            entries=entries,
            incidents=len(entries) - sum(n - 1 for n in in_groups.values()),
            held_elsewhere=HeldElsewhere.of(
                entries=len(self.hidden),
                agencies=len({e.agency_code for e in self.hidden}),
                what="about this child",
            ),
            entries_held_by_other_agencies=others,
            incident_group_of=numbers,
        )

    def event_ref(self, event_id: int) -> str:
        """The recording agency's reference of an entry read (outlines leave it out)."""
        return str(self.reads[event_id].row[1])

    def page_entries(
        self, view: ChronologyView, outlines: Sequence[EntryOutline]
    ) -> list[ChronologyEntry]:
        """Validated entries for the outlines a page shows, numbered as ``view`` numbers them."""
        codes = self.taxonomy.by_code
        entries = []
        for outline in outlines:
            read = self.reads[outline.event_id]
            entry = _entry(read.row, read.source, codes)
            entry.incident_group = view.incident_group_of.get(outline.event_id)
            entries.append(entry)
        return entries


def child_record(
    *,
    db_session: Session,
    person_id: int,
    model: ChronologyRules,
    taxonomy: Taxonomy | None = None,
    viewer: Viewer,
) -> ChildRecord:
    """The child's combined chronology (household adults' factors included) read once, as
    ``child_chronology`` reads it, for a page that shows a part of it."""
    taxonomy = taxonomy or default_taxonomy()
    sources = [_Source(person_id, "child", None, None, None)]
    sources.extend(_household_adult_sources(db_session, person_id, model))
    reads = _read(db_session, sources, _child_picture(db_session, viewer, person_id))
    shown, hidden = _outlines(reads, taxonomy)
    groups = _incident_groups(shown, model, taxonomy)
    _number_incidents(shown, groups)
    return ChildRecord(
        person_id=person_id,
        entries=shown,
        hidden=hidden,
        incident_groups=groups,
        model=model,
        taxonomy=taxonomy,
        reads={r.row[0]: r for r in reads},
    )


def household_chronology(
    *,
    db_session: Session,
    household_id: int,
    agency_code: str | None = None,
    model: ChronologyRules,
    taxonomy: Taxonomy | None = None,
    viewer: Viewer,
) -> Chronology:
    """Every member's entries for the time they belonged to the household: only members the
    ``viewer`` may see, and within them only the entries they may see."""
    memberships = db_session.scalars(
        select(HouseholdMembership).where(HouseholdMembership.household_id == household_id)
    ).all()
    if not memberships:
        raise ChronologyNotFound(f"no household with id {household_id} (or it has no members)")
    sources = [_Source(m.person_id, m.role, None, m.date_from, m.date_to) for m in memberships]
    picture = _Picture.kept(
        db_session,
        "household_chronology_entries",
        viewer,
        # Each member's entries follow that member's picture.
        lambda moment: event_visibility(viewer.subject, moment, person=PersonRecordLink.person_id),
        {},
    )
    entries, hidden = _entries(db_session, sources, taxonomy or default_taxonomy(), picture)
    if not isinstance(viewer.subject, SystemPrincipal):
        # Members the viewer may not see at all are left out without a count: counting them
        # would say that someone they do not know of lives there.
        shown = {e.about_person_id for e in entries}
        hidden = [e for e in hidden if e.about_person_id in shown]
    return _assemble(
        "household",
        household_id,
        entries,
        hidden,
        agency_code,
        model,
        taxonomy,
    )


def _household_adult_sources(
    db_session: Session, person_id: int, model: ChronologyRules
) -> list[_Source]:
    """Adults who shared a household with the child, with the dates they did so; only their
    adult-factor entries affect the child (research-notes §6.2, §6.6)."""
    own = db_session.scalars(_MEMBERSHIPS_OF, {"member": person_id}).all()
    sources: list[_Source] = []
    for membership in own:
        others = db_session.scalars(
            _housemates(tuple(model.household_roles_not_adults)),
            {"household": membership.household_id, "member": person_id},
        ).all()
        for other in others:
            start = _latest(membership.date_from, other.date_from)
            end = _earliest(membership.date_to, other.date_to)
            if start is not None and end is not None and start > end:
                continue
            sources.append(
                _Source(
                    other.person_id,
                    f"household member ({other.role})",
                    frozenset(model.household_adult_codes),
                    start,
                    end,
                )
            )
    return sources


# Asked on every chronology read; built once (issue 14).
_MEMBERSHIPS_OF = select(HouseholdMembership).where(
    HouseholdMembership.person_id == bindparam("member", type_=Integer())
)


@lru_cache(maxsize=8)
def _housemates(roles_not_adults: tuple[str, ...]) -> Select[HouseholdMembership]:
    return select(HouseholdMembership).where(
        HouseholdMembership.household_id == bindparam("household", type_=Integer()),
        HouseholdMembership.person_id != bindparam("member", type_=Integer()),
        HouseholdMembership.role.not_in(roles_not_adults),
    )


def _latest(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    return max(a, b) if a and b else a or b


def _earliest(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    return min(a, b) if a and b else a or b


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and a long
# record reads 2,000 of them.
@dataclass(slots=True)
class _Read:
    """One entry as read: its row, the source that brought it into the picture, and whether
    the viewer may see it."""

    row: Row[*tuple[Any, ...]]
    source: _Source
    visible: bool


#: The parameters of the kept chronology statements: whose picture, and the people read.
_CHRONOLOGY_CHILD = "chronology_child"
_CHRONOLOGY_PEOPLE = "chronology_people"


@dataclass(frozen=True)
class _Picture:
    """The statement reading entries with whether the viewer may see each, and its values
    (the people read are added by ``_read``)."""

    statement: Select[*tuple[Any, ...]]
    values: dict[str, Any]

    @classmethod
    def kept(
        cls,
        db_session: Session,
        kind: str,
        viewer: Viewer,
        visible_at: Callable[[ColumnElement[dt.datetime]], ColumnElement[bool]],
        values: dict[str, Any],
    ) -> _Picture:
        """Built once per subject and kept (``access.repository.kept_statement``), given the
        moment's parameter: building it on every read was a third of an API chronology
        request's Python (issue 14). An audited system job's is built each time."""
        postgresql = is_postgresql(db_session)

        def build(moment: ColumnElement[dt.datetime]) -> Select[*tuple[Any, ...]]:
            return _entries_select(postgresql, visible_at(moment))

        subject = viewer.subject
        statement = (
            build(access_repository.need_to_know_moment())
            if isinstance(subject, SystemPrincipal)
            else access_repository.kept_statement(db_session, kind, subject, build)
        )
        return cls(statement, {**access_repository.need_to_know_values(viewer.now), **values})


def _child_picture(db_session: Session, viewer: Viewer, person_id: int) -> _Picture:
    # Household adults' entries in a child's chronology follow the child's picture.
    return _Picture.kept(
        db_session,
        "child_chronology_entries",
        viewer,
        lambda moment: event_visibility(
            viewer.subject, moment, person=bindparam(_CHRONOLOGY_CHILD, type_=Integer())
        ),
        {_CHRONOLOGY_CHILD: person_id},
    )


def _read(db_session: Session, sources: Sequence[_Source], picture: _Picture) -> list[_Read]:
    """Every entry the sources bring into the picture, each once (about the child first), in
    date order, with whether the viewer may see it."""
    person_ids = sorted({s.person_id for s in sources})
    # On the session's connection, as plain rows: through the ORM's loading each of a long
    # record's 2,000 rows was built column by column in Python (a quarter of reading it). The
    # session's pending writes are flushed first, as its own execute would (a grant or an
    # entry written earlier in the request is seen).
    if db_session.autoflush:
        db_session.flush()
    rows = (
        db_session.connection()
        .execute(picture.statement, {**picture.values, _CHRONOLOGY_PEOPLE: person_ids})
        .all()
    )
    by_person: dict[int, list[_Source]] = {}
    for source in sources:
        by_person.setdefault(source.person_id, []).append(source)
    found: dict[int, _Read] = {}
    # Columns by position (id 0, ref 1, date 3, code 6, agency code 12, person 15, visible
    # 17): by name, each of 2,000 rows' lookups went through the row's key mapping.
    for row in rows:
        event_id = row[0]
        for source in by_person.get(row[15], []):
            if not _source_includes(source, row[6], row[3]):
                continue
            if event_id in found and found[event_id].source.about == "child":
                break
            found[event_id] = _Read(row, source, bool(row[17]))
            break
    return sorted(found.values(), key=lambda r: (r.row[3], r.row[12], r.row[1]))


def _entries_select(postgresql: bool, visible: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    # Only the columns an entry shows, as plain rows: loading 2,000 ORM events and agencies
    # (identity map, instrumented attributes) was most of a long chronology's time.
    return (
        select(
            *_ENTRY_COLUMNS,
            Agency.code.label("agency_code"),
            Agency.name.label("agency_name"),
            # Enums as the strings stored (each is its value): an entry shows the value, and
            # converting four columns of every row to members and back was a tenth of the time.
            type_coerce(Agency.kind, String).label("agency_kind"),
            PersonRecordLink.person_id,
            type_coerce(EventParticipant.role, String).label("role"),
            visible.label("visible"),
        )
        .join(EventParticipant, EventParticipant.event_id == Event.id)
        .join(
            PersonRecordLink,
            current_links(agency_id=Event.agency_id, record_ref=EventParticipant.record_ref),
        )
        .join(Agency, Agency.id == Event.agency_id)
        .where(
            among_parameter(
                postgresql=postgresql, column=PersonRecordLink.person_id, name=_CHRONOLOGY_PEOPLE
            ),
            entry_is_latest_version(),
        )
    )


def _entries(
    db_session: Session,
    sources: Sequence[_Source],
    taxonomy: Taxonomy,
    picture: _Picture,
) -> tuple[list[ChronologyEntry], list[ChronologyEntry]]:
    """(entries the viewer may see, entries they may not), each in date order."""
    codes = taxonomy.by_code
    shown: list[ChronologyEntry] = []
    hidden: list[ChronologyEntry] = []
    for read in _read(db_session, sources, picture):
        (shown if read.visible else hidden).append(_entry(read.row, read.source, codes))
    return shown, hidden


_ENTRY_COLUMNS = (
    Event.id,
    Event.event_ref,
    Event.version,
    Event.event_date,
    type_coerce(Event.date_precision, String).label("date_precision"),
    Event.date_recorded,
    Event.concern_code,
    Event.severity,
    Event.summary,
    type_coerce(Event.information_type, String).label("information_type"),
    Event.impact_on_child,
    Event.action_taken,
)


def _source_includes(source: _Source, concern_code: str, event_date: dt.date) -> bool:
    if source.codes is not None and concern_code not in source.codes:
        return False
    if source.date_from and event_date < source.date_from:
        return False
    return not (source.date_to and event_date > source.date_to)


def _entry(
    row: Row[*tuple[Any, ...]], source: _Source, codes: Mapping[str, ConcernCode]
) -> ChronologyEntry:
    code = codes.get(row.concern_code)
    precision = DatePrecision(row.date_precision)
    severity, severity_source = _severity(row.severity, code)
    return ChronologyEntry(
        event_id=row.id,
        agency_code=row.agency_code,
        agency_name=row.agency_name,
        agency_kind=row.agency_kind,
        event_ref=row.event_ref,
        version=row.version,
        event_date=row.event_date,
        date_precision=precision,
        date_label=date_label(row.event_date, precision),
        date_recorded=row.date_recorded,
        concern_code=row.concern_code,
        code_kind=code.kind.value if code else "unknown",
        category=code.category if code else "not in the taxonomy",
        severity=severity,
        severity_source=severity_source,
        information_type=row.information_type,
        summary=row.summary,
        impact_on_child=row.impact_on_child,
        action_taken=row.action_taken,
        about_person_id=source.person_id,
        about=source.about,
        participant_role=row.role,
    )


def _severity(recorded: int | None, code: ConcernCode | None) -> tuple[int | None, str]:
    """The severity shown, and where it came from: the practitioner's, else the code's."""
    if recorded is not None:
        return recorded, "practitioner"
    if code is not None and code.default_severity:
        return code.default_severity, "taxonomy default"
    return None, "none"


def _outlines(
    reads: Sequence[_Read], taxonomy: Taxonomy
) -> tuple[list[EntryOutline], list[EntryOutline]]:
    """(outlines of the entries the viewer may see, of those they may not), in read order."""
    codes = taxonomy.by_code
    # What a code gives its entries (kind, category, default severity), found once per code:
    # a long record repeats a few codes thousands of times.
    of_code: dict[str, tuple[str, str, int | None]] = {}
    precisions = {p.value: p for p in DatePrecision}
    shown: list[EntryOutline] = []
    hidden: list[EntryOutline] = []
    for read in reads:
        # By position (the order of _ENTRY_COLUMNS, then the agency's code and name): reading
        # a dozen columns of 2,000 rows by name was most of building the outlines.
        (event_id, _ref, _version, day, precision, _recorded, concern_code, severity, summary,
         information_type, _impact, _action, agency_code, agency_name, *_rest) = read.row  # fmt: skip
        known = of_code.get(concern_code)
        if known is None:
            code = codes.get(concern_code)
            default = _severity(None, code)[0]
            known = of_code[concern_code] = (
                (code.kind.value, code.category, default)
                if code
                else ("unknown", "not in the taxonomy", default)
            )
        (shown if read.visible else hidden).append(
            EntryOutline(
                event_id,
                agency_code,
                agency_name,
                day,
                precisions[precision],
                concern_code,
                known[0],
                known[1],
                severity if severity is not None else known[2],
                severity,
                information_type,
                summary,
                read.source.person_id,
                read.source.about,
            )
        )
    return shown, hidden


def _assemble(
    subject: str,
    subject_id: int,
    entries: list[ChronologyEntry],
    hidden: list[ChronologyEntry],
    agency_code: str | None,
    model: ChronologyRules,
    taxonomy: Taxonomy | None,
) -> Chronology:
    held_elsewhere = None
    if agency_code is not None:
        held_elsewhere = sum(1 for e in entries if e.agency_code != agency_code)
        entries = [e for e in entries if e.agency_code == agency_code]
    groups = _incident_groups(entries, model, taxonomy or default_taxonomy())
    _number_incidents(entries, groups)
    incidents = len(entries) - sum(len(g.event_ids) - 1 for g in groups)
    return Chronology(
        subject=subject,
        subject_id=subject_id,
        agency_code=agency_code,
        entries=entries,
        incident_groups=groups,
        incidents=incidents,
        same_incident_rule=same_incident_rule(model),
        entries_held_by_other_agencies=held_elsewhere,
        held_elsewhere=HeldElsewhere.of(
            entries=len(hidden),
            agencies=len({e.agency_code for e in hidden}),
            what=f"about this {subject}",
        ),
    )


def same_incident_rule(model: ChronologyRules) -> str:
    days = model.same_incident.within_days
    when = "on the same date" if days == 0 else f"within {days} day(s) of each other"
    return (
        "Entries are taken to describe one incident when they are about the same person, "
        f"carry the same concern code and are dated {when}; the incident is counted once, "
        "at the highest severity any agency gave it, and every agency that recorded it is "
        f"credited (harm model {model.version})."
    )


def _number_incidents(
    entries: Iterable[EntryOutline | ChronologyEntry], groups: Iterable[IncidentGroup]
) -> None:
    """Give each grouped entry its incident's number."""
    lookup = {e.event_id: e for e in entries}
    for group in groups:
        for event_id in group.event_ids:
            lookup[event_id].incident_group = group.group


def _incident_groups(
    entries: Iterable[EntryFacts], model: ChronologyRules, taxonomy: Taxonomy
) -> list[IncidentGroup]:
    """Entries about one person with the same code, each within ``same_incident.within_days``
    of the one before (``incidents.same_incident_spans``, the engine's rule), but only groups
    of two or more are built (a long record is thousands of one-entry incidents). Numbered
    person by person in the order their entries come, each person's by date and code."""
    known = taxonomy.by_code
    within = model.same_incident.within_days
    by_person: dict[int, dict[str, list[EntryFacts]]] = {}
    for entry in entries:
        codes = by_person.setdefault(entry.about_person_id, {})
        if entry.concern_code in known:
            codes.setdefault(entry.concern_code, []).append(entry)
    groups: list[IncidentGroup] = []
    for codes in by_person.values():
        runs: list[list[EntryFacts]] = []
        for same_code in codes.values():
            if len(same_code) < 2:
                continue
            same_code.sort(key=lambda e: e.event_date)
            days = [e.event_date for e in same_code]
            runs.extend(
                same_code[start:end]
                for start, end in same_incident_spans(days, within)
                if end - start > 1
            )
        # A person's incidents of one code are days apart, so (first day, code) orders them all.
        runs.sort(key=lambda r: (r[0].event_date, r[0].concern_code))
        for run in runs:
            ids = sorted(e.event_id for e in run)
            agencies = sorted({e.agency_code for e in run})
            code, day = run[0].concern_code, run[0].event_date
            groups.append(
                IncidentGroup(
                    group=len(groups) + 1,
                    concern_code=code,
                    first_date=day,
                    event_ids=ids,
                    agencies=agencies,
                    reason=(
                        f"{len(ids)} entries with code {code} dated {day.isoformat()}"
                        + (" by " + " and ".join(agencies))
                    ),
                )
            )
    groups.sort(key=lambda g: (g.first_date, g.concern_code))
    return groups
