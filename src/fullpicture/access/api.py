"""Access API routes (who am I, break-glass, who has looked, subject access, audit chain,
notifications) and the wiring that installs access into the app."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, status
from sqlalchemy import select

from fullpicture.access import audit
from fullpicture.access import service as access_service
from fullpicture.access.auth import (
    AccessLogReader,
    AuditReader,
    BreakGlassUser,
    DbSession,
    PersonPublicId,
    Principal,
)
from fullpicture.access.models import AccessNotification
from fullpicture.access.schemas import (
    AccessLogEntry,
    BreakGlassRead,
    BreakGlassRequest,
    ChainVerdictRead,
    WhoAmI,
)
from fullpicture.access.web_security import (
    BodyLimitMiddleware,
    HeaderLimitMiddleware,
    SecurityHeadersMiddleware,
)

# --- access API ----------------------------------------------------------------------------

router = APIRouter(prefix="/api/v1", tags=["access"])


@router.get("/me", summary="Who the caller is, and what they may do")
def who_am_i(subject: Principal) -> WhoAmI:
    # The subject was read from the database for this request (token or session and user).
    return WhoAmI(
        username=subject.username,
        display_name=subject.display_name or subject.username,
        role=subject.role,
        agency_id=subject.agency_id,
        scopes=sorted(subject.scopes),
        method=subject.method.value,
    )


@router.post(
    "/break-glass",
    status_code=status.HTTP_201_CREATED,
    summary="Emergency, time-limited access to one person; the designated leads are told",
)
def break_glass(
    request_in: BreakGlassRequest, subject: BreakGlassUser, db_session: DbSession
) -> BreakGlassRead:
    grant, notifications = access_service.break_glass(
        db_session=db_session, subject=subject, request=request_in
    )
    return BreakGlassRead(
        grant_id=grant.id,
        person_id=request_in.person_id,
        reason=grant.reason,
        granted_at=grant.granted_at,
        expires_at=grant.expires_at,
        notified_user_ids=[n.recipient_user_id for n in notifications],
    )


@router.get(
    "/people/{person_id}/access-log",
    summary="Who has looked at this person (designated leads, auditors)",
)
def who_has_looked(
    person_id: PersonPublicId, subject: AccessLogReader, db_session: DbSession
) -> list[AccessLogEntry]:
    return access_service.who_has_looked(
        db_session=db_session, subject=subject, person_public_id=person_id
    )


@router.get("/audit/verify", summary="Check the audit log's hash chain")
def verify_audit_chain(subject: AuditReader, db_session: DbSession) -> ChainVerdictRead:
    verdict = audit.verify_chain(db_session=db_session)
    audit.record(
        db_session=db_session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action="audit.verify",
        detail={"intact": verdict.intact, "entries_checked": verdict.entries_checked},
    )
    return ChainVerdictRead(
        intact=verdict.intact,
        entries_checked=verdict.entries_checked,
        first_broken_position=verdict.first_broken_position,
        first_broken_id=verdict.first_broken_id,
        problem=verdict.problem,
    )


@router.get("/notifications", summary="The caller's notifications (e.g. break-glass uses)")
def my_notifications(subject: Principal, db_session: DbSession) -> list[dict[str, Any]]:
    rows = db_session.scalars(
        select(AccessNotification)
        .where(AccessNotification.recipient_user_id == subject.user_id)
        .order_by(AccessNotification.id.desc())
        .limit(200)
    ).all()
    return [
        {
            "id": n.id,
            "kind": n.kind,
            "message": n.message,
            "created_at": n.created_at.isoformat(),
            "read": n.read_at is not None,
        }
        for n in rows
    ]


def install(app: FastAPI) -> None:
    """Add the security middleware and the access API routes to the app (the sign-in pages
    and refusal handlers are the web app's: ``web.sign_in.install_pages``)."""
    app.add_middleware(BodyLimitMiddleware)
    # Outside everything that reads the request (sign-in, bodies); inside the security headers,
    # so the 431 carries them too.
    app.add_middleware(HeaderLimitMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.include_router(router)
