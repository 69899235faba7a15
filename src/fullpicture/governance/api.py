"""``/api/v1``: subject access exports (what an agency holds about a person)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from fullpicture.access.auth import DbSession, PersonPublicId, requires
from fullpicture.access.roles import Scope
from fullpicture.access.subject import AuthSubject
from fullpicture.governance.subject_access import (
    SubjectAccessExport,
    SubjectAccessRequest,
    export_person_data,
)

router = APIRouter(prefix="/api/v1", tags=["access"])


SubjectAccessOfficer = Annotated[
    AuthSubject,
    requires(Scope.CHILDREN_READ, Scope.SUBJECT_ACCESS_EXPORT),
]


@router.post(
    "/people/{person_id}/subject-access-export",
    summary="Export what your agency holds about a person (child-abuse-data exemption applied)",
)
def subject_access_export(
    person_id: PersonPublicId,
    request_in: SubjectAccessRequest,
    subject: SubjectAccessOfficer,
    db_session: DbSession,
) -> SubjectAccessExport:
    return export_person_data(
        db_session=db_session, subject=subject, person_public_id=person_id, request=request_in
    )
