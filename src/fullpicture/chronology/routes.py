"""``/api/v1``: a child's or household's combined chronology, one agency's view, and exports."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.auth import ChildReader, PersonPublicId
from fullpicture.access.schemas import UUID_PATTERN
from fullpicture.chronology import repository
from fullpicture.chronology.export import chronology_csv, chronology_pdf
from fullpicture.core.database import utc_now
from fullpicture.core.runtime import request_session
from fullpicture.people.models import Household, Person

router = APIRouter(prefix="/api/v1", tags=["chronology"])

DbSession = Annotated[Session, Depends(request_session, scope="function")]
HouseholdPublicId = Annotated[
    str,
    Path(pattern=UUID_PATTERN, description="the household's public id (a UUID)"),
]


def chronology_rules(request: Request) -> repository.ChronologyRules:
    """The incident and household rules the app was given (``web/app.py`` hands in the
    cumulative-harm model), so the chronology groups incidents as the score counts them."""
    rules: repository.ChronologyRules | None = getattr(request.app.state, "chronology_rules", None)
    if rules is None:
        raise RuntimeError("the app has no chronology rules: set app.state.chronology_rules")
    return rules


Rules = Annotated[repository.ChronologyRules, Depends(chronology_rules)]


class ChronologyFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    PDF = "pdf"


def _render(chronology: repository.Chronology, export: ChronologyFormat, title: str) -> Response:
    if export is ChronologyFormat.CSV:
        return Response(chronology_csv(chronology), media_type="text/csv; charset=utf-8")
    if export is ChronologyFormat.PDF:
        return Response(chronology_pdf(chronology, title=title), media_type="application/pdf")
    return Response(chronology.model_dump_json(), media_type="application/json")


@router.get(
    "/children/{person_id}/chronology",
    response_model=repository.Chronology,
    summary="A child's combined chronology, or one agency's view of it (CSV/PDF export)",
)
def child_chronology(
    person_id: PersonPublicId,
    session: DbSession,
    subject: ChildReader,
    rules: Rules,
    agency: Annotated[str | None, Query(description="only what this agency holds")] = None,
    export: Annotated[ChronologyFormat, Query(alias="format")] = ChronologyFormat.JSON,
) -> Response:
    """Needs ``children:read`` and a need to know the child; the read is audited. Shows every
    agency's entries to roles holding ``chronology:all_agencies`` (or under break-glass),
    otherwise the caller's agency's own plus what was shared with it, and counts the rest."""
    # One moment for the whole read: the child is opened and the entries chosen under the
    # same need-to-know rule, which is then built once (access.repository).
    now = utc_now()
    person = access_service.open_person(
        db_session=session,
        subject=subject,
        person_public_id=person_id,
        purpose="chronology",
        now=now,
    )
    chronology = repository.child_chronology(
        db_session=session,
        person_id=person.id,
        agency_code=agency,
        model=rules,
        viewer=repository.Viewer(subject, now),
    )
    return _render(chronology, export, f"Chronology of child {person.public_id}")


@router.get(
    "/households/{household_id}/chronology",
    response_model=repository.Chronology,
    summary="A household's chronology: its members' entries while they lived there",
)
def household_chronology(
    household_id: HouseholdPublicId,
    session: DbSession,
    subject: ChildReader,
    rules: Rules,
    agency: Annotated[str | None, Query(description="only what this agency holds")] = None,
    export: Annotated[ChronologyFormat, Query(alias="format")] = ChronologyFormat.JSON,
) -> Response:
    """Only entries about members the caller has a need to know about are included."""
    household = session.scalar(select(Household).where(Household.public_id == household_id))
    if household is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such household")
    try:
        chronology = repository.household_chronology(
            db_session=session,
            household_id=household.id,
            agency_code=agency,
            model=rules,
            viewer=repository.Viewer(subject, utc_now()),
        )
    except repository.ChronologyNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    if not chronology.entries:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no entries you have a need to know about")
    # Each member whose entries are shown is a person read, recorded in the audit log.
    shown = {e.about_person_id for e in chronology.entries}
    for public_id in session.scalars(select(Person.public_id).where(Person.id.in_(shown))):
        access_service.open_person(
            db_session=session,
            subject=subject,
            person_public_id=public_id,
            purpose="household chronology",
        )
    return _render(chronology, export, f"Chronology of household {household.public_id}")
