"""The workflow's queries, and what cases add to the need-to-know rule: an agency leading a
child's open case, or having opened it, is involved with the child (registered through
``access.repository.register_involvement_source``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from fullpicture.access.subject import AuthSubject, Moment
from fullpicture.workflow.models import Case, LeadPractitionerAssignment


def current_leads() -> Select[int, int]:
    """(case_id, assignment id) of each case's latest lead assignment."""
    return select(
        LeadPractitionerAssignment.case_id, func.max(LeadPractitionerAssignment.id)
    ).group_by(LeadPractitionerAssignment.case_id)


def involved_through_cases(subject: AuthSubject, now: Moment) -> Select[int]:
    """People with an open case the subject's agency opened or currently leads."""
    if subject.agency_id is None:
        return select(Case.person_id).where(false())
    latest = current_leads().subquery("current_lead")
    leading = (
        select(LeadPractitionerAssignment.case_id)
        .join(latest, latest.c[1] == LeadPractitionerAssignment.id)
        .where(LeadPractitionerAssignment.agency_id == subject.agency_id)
    )
    return select(Case.person_id).where(
        Case.closed_on.is_(None),
        or_(Case.agency_id == subject.agency_id, Case.id.in_(leading)),
    )


def open_case_ids_in_care_of(subject: AuthSubject) -> Select[int]:
    """Open cases the subject leads, or their agency opened or currently leads: the cases whose
    drift is theirs to act on (the home page's "what is overdue")."""
    latest = current_leads().subquery("my_current_lead")
    mine = [LeadPractitionerAssignment.user_id == subject.user_id]
    if subject.agency_id is not None:
        mine.append(LeadPractitionerAssignment.agency_id == subject.agency_id)
    leading = (
        select(LeadPractitionerAssignment.case_id)
        .join(latest, latest.c[1] == LeadPractitionerAssignment.id)
        .where(or_(*mine))
    )
    opened = Case.agency_id == subject.agency_id if subject.agency_id is not None else false()
    return select(Case.id).where(Case.closed_on.is_(None), or_(opened, Case.id.in_(leading)))


def _with_history() -> Select[Case]:
    return select(Case).options(
        selectinload(Case.leads), selectinload(Case.levels), selectinload(Case.steps)
    )


def case_by_public_id(db_session: Session, public_id: str) -> Case | None:
    return db_session.scalars(_with_history().where(Case.public_id == public_id)).first()


def cases_of_person(db_session: Session, person_id: int) -> Sequence[Case]:
    return db_session.scalars(
        _with_history().where(Case.person_id == person_id).order_by(Case.opened_on, Case.id)
    ).all()


def open_cases_among(
    db_session: Session, person_ids: Select[int], *, case_ids: Select[int] | None = None
) -> Sequence[Case]:
    """Open cases of these people (and, given ``case_ids``, only those cases)."""
    statement = _with_history().where(Case.closed_on.is_(None), Case.person_id.in_(person_ids))
    if case_ids is not None:
        statement = statement.where(Case.id.in_(case_ids))
    return db_session.scalars(statement.order_by(Case.id)).all()
