"""Find a child, and the child's page: who they are (the records behind them and why they were
linked), their households over time, the agencies involved, open alerts, curiosity prompts,
the combined chronology with filters beside one agency's own view, a timeline, and exports.

Every row shown comes from a service that applies the need-to-know rule in SQL
(``access.repository``); this module reads query parameters, calls services and renders.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from fullpicture.access import person_summaries
from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.auth import ChildReader, DbSession, PersonPublicId
from fullpicture.access.person_summaries import ReadableRecord
from fullpicture.access.roles import Scope
from fullpicture.access.subject import AuthSubject
from fullpicture.chronology import curiosity
from fullpicture.chronology import filters as chronology_filters
from fullpicture.chronology import repository as chronology_repository
from fullpicture.chronology.export import chronology_csv, chronology_pdf
from fullpicture.chronology.models import InformationType
from fullpicture.chronology.routes import Rules
from fullpicture.chronology.taxonomy import default_taxonomy
from fullpicture.core.database import utc_now
from fullpicture.harm import service as harm_service
from fullpicture.harm.models import AlertStatus
from fullpicture.linkage import households as linkage_households
from fullpicture.linkage import repository as linkage_repository
from fullpicture.linkage import search as child_search
from fullpicture.linkage.comparisons import level_in_words
from fullpicture.linkage.rules import default_rules
from fullpicture.sharing import service as sharing_service
from fullpicture.web.templating import WEB_DIR, page_templates, render_page
from fullpicture.web.timeline import build_timeline
from fullpicture.web.waterfall import Waterfall, waterfall
from fullpicture.workflow import escalation as escalation_service

templates = page_templates(WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)

OPEN_ALERTS = (AlertStatus.NEW, AlertStatus.ACKNOWLEDGED)
Text = Annotated[str, Query(max_length=100)]


def _date_from_parts(day: str, month: str, year: str) -> tuple[dt.date | None, str | None]:
    """A date from the GOV.UK date input's three boxes, or the message saying what to fix."""
    if not (day.strip() or month.strip() or year.strip()):
        return None, None
    if not (day.strip() and month.strip() and year.strip()):
        return None, "Date of birth must include a day, month and year"
    try:
        return dt.date(int(year), int(month), int(day)), None
    except ValueError:
        return None, "Date of birth must be a real date, for example 27 3 2016"


def _narrow_by(query: child_search.ChildQuery) -> str:
    """The details not yet given that would narrow a search, in words ("date of birth or
    postcode"): what a practitioner is asked to add when more children match than are
    listed."""
    words = len(query.name.split())
    not_given = (
        # One word typed is one of the two names: the other narrows too.
        ("name" if words == 0 else "full name", words < 2),
        ("date of birth", query.date_of_birth is None),
        ("NHS number", not query.nhs_number.strip()),
        ("postcode", not query.postcode.strip()),
    )
    missing = [label for label, absent in not_given if absent]
    if len(missing) <= 1:
        return "".join(missing)
    return ", ".join(missing[:-1]) + " or " + missing[-1]


@router.get("/children", response_class=HTMLResponse)
def find_a_child_page(
    request: Request,
    subject: ChildReader,
    db_session: DbSession,
    name: Text = "",
    dob_day: Annotated[str, Query(max_length=2)] = "",
    dob_month: Annotated[str, Query(max_length=2)] = "",
    dob_year: Annotated[str, Query(max_length=4)] = "",
    nhs_number: Text = "",
    upn: Text = "",
    postcode: Text = "",
    q: Text = "",
) -> HTMLResponse:
    """Find a child by name (nicknames and misspellings too), date of birth, NHS number, UPN
    or postcode; only children the practitioner may see are shown, the rest counted."""
    name = name or q
    born, date_problem = _date_from_parts(dob_day, dob_month, dob_year)
    query = child_search.ChildQuery(
        name=name,
        date_of_birth=born,
        nhs_number=nhs_number.replace(" ", ""),
        upn=upn,
        postcode=postcode,
    )
    errors: list[dict[str, str]] = []
    result: child_search.ChildSearch | None = None
    searched = bool(request.query_params)
    if date_problem:
        errors.append({"text": date_problem, "href": "#dob-day"})
    elif searched:
        try:
            result = child_search.find_children(
                db_session=db_session,
                subject=subject,
                now=utc_now(),
                query=query,
                limit=child_search.MAX_SHOWN,
            )
        except child_search.SearchTooVague as exc:
            errors.append({"text": str(exc), "href": "#name"})
    return render_page(
        templates,
        request,
        "find_a_child.html",
        {
            "form": {
                "name": name,
                "dob_day": dob_day,
                "dob_month": dob_month,
                "dob_year": dob_year,
                "nhs_number": nhs_number,
                "upn": upn,
                "postcode": postcode,
            },
            "errors": errors,
            "result": result,
            "searched": searched,
            "narrow_by": _narrow_by(query),
        },
        subject=subject,
        db_session=db_session,
        status_code=422 if errors else 200,
    )


def _criteria(
    *,
    agency: list[str],
    concern: str,
    severity: str,
    date_from: str,
    date_to: str,
    info: list[str],
) -> tuple[chronology_filters.ChronologyFilter, list[dict[str, str]]]:
    errors: list[dict[str, str]] = []

    def day(value: str, field: str, label: str) -> dt.date | None:
        if not value.strip():
            return None
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            errors.append({"text": f"{label} must be a date like 2025-01-31", "href": f"#{field}"})
            return None

    min_severity = None
    if severity.strip():
        if severity.strip() in {"1", "2", "3", "4", "5"}:
            min_severity = int(severity)
        else:
            errors.append({"text": "Severity must be 1 to 5", "href": "#severity"})
    types = frozenset(InformationType(i) for i in info if i in InformationType.__members__.values())
    criteria = chronology_filters.ChronologyFilter(
        agency_codes=frozenset(a for a in agency if a),
        concern_codes=frozenset(c.strip().upper() for c in concern.split(",") if c.strip()),
        min_severity=min_severity,
        date_from=day(date_from, "from", "From"),
        date_to=day(date_to, "to", "To"),
        information_types=types,
    )
    return criteria, errors


class ChildFilters:
    """The chronology filters as query parameters (shared by the page and its exports)."""

    def __init__(
        self,
        agency: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006 (FastAPI copies)
        concern: Text = "",
        severity: Annotated[str, Query(max_length=2)] = "",
        date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
        date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
        info: Annotated[list[str], Query(max_length=3)] = [],  # noqa: B006
        view: Annotated[str, Query(max_length=64)] = "",
    ) -> None:
        self.raw = {
            "agency": agency,
            "concern": concern,
            "severity": severity,
            "from": date_from,
            "to": date_to,
            "info": info,
            "view": view,
        }
        self.criteria, self.errors = _criteria(
            agency=agency,
            concern=concern,
            severity=severity,
            date_from=date_from,
            date_to=date_to,
            info=info,
        )
        self.view = view


Filters = Annotated[ChildFilters, Depends()]

#: Rows of the combined chronology on one page: the whole record is a click away in the
#: exports, the filters and the next pages, and a page of 2,000 rows took most of the time
#: to render (docs/benchmarks.md).
ENTRIES_PER_PAGE = 100
#: Entries listed under a curiosity prompt or as not yet shared: the latest, the rest counted
#: (a long record listed them all, a third of a 2,000-entry child's page).
EVIDENCE_SHOWN = 10


@dataclass(frozen=True)
class ChronologyPage:
    """One page of the (filtered) combined chronology, and the same entries of one agency's
    view beside it, so the two columns always cover the same entries."""

    number: int
    pages: int
    total: int
    entries: list[chronology_repository.ChronologyEntry]
    agency_entries: list[chronology_repository.ChronologyEntry] | None
    pagination: dict[str, object] | None

    @property
    def first(self) -> int:
        return (self.number - 1) * ENTRIES_PER_PAGE + 1 if self.entries else 0

    @property
    def last(self) -> int:
        return self.first + len(self.entries) - 1 if self.entries else 0


def _page_number(text: str, pages: int) -> int:
    """The page asked for, within the pages there are (a mistyped number shows the nearest)."""
    try:
        number = int(text)
    except ValueError:
        number = 1
    return min(max(number, 1), pages)


def chronology_page(
    request: Request,
    record: chronology_repository.ChildRecord,
    shown: chronology_repository.ChronologyView,
    agency_view: chronology_repository.ChronologyView | None,
    page: str,
) -> ChronologyPage:
    """The page asked for: its entries built in full, the rest of the record left as outlines
    (filters were applied before paging, so every page counts what the filters show)."""
    total = len(shown.entries)
    pages = max(1, -(-total // ENTRIES_PER_PAGE))
    number = _page_number(page, pages)
    start = (number - 1) * ENTRIES_PER_PAGE
    on_page = shown.entries[start : start + ENTRIES_PER_PAGE]
    entries = record.page_entries(shown, on_page)
    agency_entries = None
    if agency_view is not None:
        # One agency's entries are among the combined ones: those on this page, side by side.
        ids = {e.event_id for e in on_page}
        agency_entries = record.page_entries(
            agency_view, [e for e in agency_view.entries if e.event_id in ids]
        )

    def href(to: int) -> str:
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
        return f"?{urlencode([*kept, ('page', str(to))])}#chronology"

    pagination: dict[str, object] | None = None
    if pages > 1:
        items: list[dict[str, object]] = []
        for to in range(1, pages + 1):
            # The first, the last and the two either side of this one; gaps shown as "…".
            if to in (1, pages) or abs(to - number) <= 2:
                items.append({"number": to, "href": href(to), "current": to == number})
            elif items and not items[-1].get("ellipsis"):
                items.append({"ellipsis": True})
        pagination = {
            "items": items,
            "landmarkLabel": "Chronology pages",
            "previous": {"href": href(number - 1)} if number > 1 else None,
            "next": {"href": href(number + 1)} if number < pages else None,
        }
    return ChronologyPage(number, pages, total, entries, agency_entries, pagination)


def _chronologies(
    db_session: Session,
    subject: AuthSubject,
    person_id: int,
    filters: ChildFilters,
    rules: chronology_repository.ChronologyRules,
) -> tuple[
    chronology_repository.Chronology,
    chronology_repository.Chronology,
    chronology_repository.Chronology | None,
]:
    """(the whole combined chronology, it filtered, one agency's view filtered or None)."""
    viewer = chronology_repository.Viewer(subject, utc_now())
    combined = chronology_repository.child_chronology(
        db_session=db_session, person_id=person_id, viewer=viewer, model=rules
    )
    agency_view = None
    if filters.view:
        agency_view = chronology_filters.filter_chronology(
            chronology_repository.child_chronology(
                db_session=db_session,
                person_id=person_id,
                agency_code=filters.view,
                viewer=viewer,
                model=rules,
            ),
            filters.criteria,
        )
    return combined, chronology_filters.filter_chronology(combined, filters.criteria), agency_view


def _link_waterfall(index: int, record: ReadableRecord) -> Waterfall | None:
    """Why ``record`` was linked, drawn: the stored strongest pair's comparisons and total,
    against the line the database links from (``linkage_rules.yaml``)."""
    total = record.link_evidence.get("match_weight")
    if not isinstance(total, int | float):
        return None
    return waterfall(
        f"why-linked-{index}",
        record.waterfall,
        total=float(total),
        line=default_rules().link_threshold_match_weight,
    )


def _open_escalations(
    db_session: Session, subject: AuthSubject, person_id: int
) -> list[dict[str, Any]]:
    """The child's open escalations the reader may see, each with both agencies by name (as
    the escalation's own page gives them; the parties to a disagreement are the reader's to
    know whatever records it sees), from linkage's one agency-name lookup."""
    escalations = escalation_service.visible_escalations(
        db_session, subject=subject, person_id=person_id, open_only=True
    )
    names = linkage_repository.agency_names(db_session=db_session) if escalations else {}
    found = []
    for escalation in escalations:
        read = escalation_service.to_read(db_session, escalation)
        found.append(
            {
                "read": read,
                "raised_by": names.get(escalation.raised_by_agency_id, read.raised_by_agency_code),
                "with": names.get(escalation.with_agency_id, read.with_agency_code),
            }
        )
    return found


@router.get("/children/{person_id}", response_class=HTMLResponse)
def child_page(
    request: Request,
    person_id: PersonPublicId,
    subject: ChildReader,
    db_session: DbSession,
    filters: Filters,
    rules: Rules,
    page: Annotated[str, Query(max_length=6)] = "1",
) -> HTMLResponse:
    now = utc_now()
    person = access_service.open_person(
        db_session=db_session, subject=subject, person_public_id=person_id, purpose="child page"
    )
    summary = person_summaries.child_summaries(
        db_session, subject=subject, now=now, person_ids=[person.id]
    ).get(person.id) or person_summaries.summarise(person.id, person.public_id, [])
    # Household members the user's agency holds no record of are counted, not shown.
    households = linkage_households.child_household_view(
        db_session=db_session, reader=subject, person_public_id=person.public_id, opened=person
    )
    # The child's entries are read once, as outlines: the views, prompts, timeline and harm
    # score share them, and only the page's rows are built in full.
    record = chronology_repository.child_record(
        db_session=db_session,
        person_id=person.id,
        viewer=chronology_repository.Viewer(subject, now),
        model=rules,
    )
    keeps = None if filters.criteria.is_empty else filters.criteria.keeps
    shown = record.view(keeps=keeps)
    agency_view = record.view(agency_code=filters.view, keeps=keeps) if filters.view else None
    alerts = harm_service.readable_alerts(
        db_session=db_session, subject=subject, now=now, person_id=person.id, limit=100
    )
    assessment = harm_service.assess_child_record(
        db_session=db_session, scorer=subject, record=record, as_of=now.date(), now=now
    )
    # Each agency's name by its code, in one pass over a long record's entries.
    entry_agencies = {e.agency_code: e.agency_name for e in record.entries}
    agencies_involved = sorted(
        {r.agency_name for r in summary.records} | set(entry_agencies.values())
    )
    agency_choices = sorted(entry_agencies.items())
    # Names for the agencies the unshared list gives by code: those whose records or entries
    # the reader sees (a partner agency's list names no other agency).
    agency_names = {r.agency_code: r.agency_name for r in summary.records} | entry_agencies
    prompts = curiosity.curiosity_prompts(
        entries=record.entries,
        households=households,
        agencies_involved=agencies_involved,
        today=now.date(),
    )
    disclosed = harm_service.disclose_alerts(db_session=db_session, reader=subject, alerts=alerts)
    timeline = build_timeline(
        entries=shown.entries,
        score_by_day=assessment.score_by_day,
        # Reasons as the user may read them: withheld when they rest on others' entries.
        alerts=[(a.raised_on, a.reason) for a in disclosed],
    )
    own_agency_code = (
        access_repository.agency_code_of(db_session, subject.agency_id)
        if subject.agency_id is not None and subject.has(Scope.CHILDREN_WRITE)
        else None
    )
    # The exports take every entry the filters show, whatever page is open.
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "page"])
    return render_page(
        templates,
        request,
        "child.html",
        {
            "person": person,
            "child": summary,
            "households": households,
            "chronology": shown,
            "agency_view": agency_view,
            "chronology_page": chronology_page(request, record, shown, agency_view, page),
            # Lists of entries above the chronology show the latest few and count the rest.
            "evidence_shown": EVIDENCE_SHOWN,
            "agency_choices": agency_choices,
            "agency_view_name": dict(agency_choices).get(filters.view, filters.view),
            "agencies_involved": agencies_involved,
            "open_alerts": [a for a in disclosed if a.status in OPEN_ALERTS],
            "score": assessment.explanation.score,
            "prompts": prompts,
            "timeline": timeline,
            "filters": filters.raw,
            "errors": filters.errors,
            "filtered": not filters.criteria.is_empty,
            "taxonomy": default_taxonomy(),
            "export_query": query,
            "reads_access_log": subject.has(Scope.ACCESS_LOG_READ),
            "own_agency_code": own_agency_code,
            "writes_children": subject.has(Scope.CHILDREN_WRITE),
            # The rule the entry and sharing decision forms apply (person_summaries.own_records,
            # through sharing.service.holds_a_record): an entry is about one of the agency's
            # own records of the child, and a sharing decision about what the agency holds; a
            # front door that opened the child through an alert, or reads the pooled view, may
            # hold none, and is told so rather than offered a form that cannot be sent.
            "holds_a_record": sharing_service.holds_a_record(summary, own_agency_code),
            "writes_referrals": subject.has(Scope.REFERRALS_WRITE),
            "level_in_words": level_in_words,
            "link_waterfall": _link_waterfall,
            # Issue 15: open escalations and significant entries not yet shared, as the
            # reader may see them (workflow.escalation, sharing.service).
            "open_escalations": _open_escalations(db_session, subject, person.id),
            "agency_names": agency_names,
            "unshared": sharing_service.unshared_entries_of(
                db_session=db_session,
                subject=subject,
                person=person,
                latest=EVIDENCE_SHOWN,
                record=record,
            ),
        },
        subject=subject,
        db_session=db_session,
        status_code=422 if filters.errors else 200,
    )


@router.get("/children/{person_id}/chronology.csv")
def child_chronology_csv(
    person_id: PersonPublicId,
    subject: ChildReader,
    db_session: DbSession,
    filters: Filters,
    rules: Rules,
) -> Response:
    """The chronology as shown (filters and view applied), as CSV; the export is audited."""
    person = access_service.open_person(
        db_session=db_session, subject=subject, person_public_id=person_id, purpose="export csv"
    )
    _combined, shown, agency_view = _chronologies(db_session, subject, person.id, filters, rules)
    return Response(
        chronology_csv(agency_view or shown),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="chronology-{person_id}.csv"'},
    )


@router.get("/children/{person_id}/chronology.pdf")
def child_chronology_pdf(
    person_id: PersonPublicId,
    subject: ChildReader,
    db_session: DbSession,
    filters: Filters,
    rules: Rules,
    for_whom: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """A printable chronology naming the child, marked OFFICIAL-SENSITIVE, saying who produced
    it, for whom and when, on every page; the export is audited."""
    now = utc_now()
    person = access_service.open_person(
        db_session=db_session, subject=subject, person_public_id=person_id, purpose="export pdf"
    )
    summary = person_summaries.child_summaries(
        db_session, subject=subject, now=now, person_ids=[person.id]
    ).get(person.id) or person_summaries.summarise(person.id, person.public_id, [])
    _combined, shown, agency_view = _chronologies(db_session, subject, person.id, filters, rules)
    born = f"{summary.date_of_birth:%d %B %Y}" if summary.date_of_birth else "not recorded"
    pdf = chronology_pdf(
        agency_view or shown,
        title=f"Chronology of {summary.name}, born {born}",
        page_marking=(
            f"OFFICIAL-SENSITIVE  |  {summary.name}, born {born}  |  produced by "
            f"{subject.username} for {for_whom.strip() or 'their own agency’s use'}  |  "
            f"{now:%d %b %Y %H:%M} UTC"
        ),
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="chronology-{person_id}.pdf"'},
    )
