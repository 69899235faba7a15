"""Quarantined import rows as the people handling a feed see them: whose rows a user may read,
reading, exporting and dismissing them, each read or write audited.

A quarantined row is a feed's row as it arrived (names, dates of birth, what happened), so it is
child data: reading one goes through the user's feed scope and is audited as a read of each
person it names.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access import repository as access_repository
from fullpicture.access.roles import Scope
from fullpicture.access.service import AccessError, record_reads, require_scopes
from fullpicture.access.subject import AuthSubject
from fullpicture.core.database import utc_now
from fullpicture.imports import repository
from fullpicture.imports import service as import_service
from fullpicture.imports.authority import FeedScope
from fullpicture.imports.models import QuarantinedRow, QuarantineStatus
from fullpicture.imports.parsing import named_record_ids


class QuarantinedRowNotVisible(AccessError):
    """No such quarantined row, or it is another agency's. One error for both."""


def feed_scope(*, db_session: Session, subject: AuthSubject) -> FeedScope:
    """Which quarantined rows the subject may read: ``imports:write`` is needed; a user of an
    agency sees that agency's feeds only, a user tied to no agency (the partnership's data
    team, an administrator) every feed."""
    require_scopes(subject, Scope.IMPORTS_WRITE)
    if subject.agency_id is None:
        return FeedScope(agency_code=None, every_feed=True)
    return FeedScope(
        agency_code=access_repository.agency_code_of(db_session, subject.agency_id),
        every_feed=False,
    )


def quarantined_rows(
    *,
    db_session: Session,
    subject: AuthSubject,
    purpose: str,
    target: str = "quarantine",
    batch_id: int | None = None,
    status: QuarantineStatus | None = None,
    limit: int | None = None,
    now: dt.datetime | None = None,
) -> list[QuarantinedRow]:
    """The quarantined rows the subject may read (as they arrived, names and all); the read
    is audited (``target`` names what was asked for, e.g. ``import_batch:<id>``)."""
    scope = feed_scope(db_session=db_session, subject=subject)
    statement = repository.readable_quarantined_rows(scope=scope, batch_id=batch_id, status=status)
    if limit is not None:
        statement = statement.limit(limit)
    rows = list(db_session.scalars(statement))
    if rows:
        record_quarantine_read(
            db_session=db_session,
            subject=subject,
            rows=rows,
            target=target,
            purpose=purpose,
            now=now,
        )
    return rows


def open_quarantined_row(
    *,
    db_session: Session,
    subject: AuthSubject,
    row_id: int,
    purpose: str,
    now: dt.datetime | None = None,
) -> QuarantinedRow:
    """One quarantined row, if the subject may read it; the read is audited."""
    scope = feed_scope(db_session=db_session, subject=subject)
    row = db_session.scalar(repository.readable_quarantined_rows(scope=scope, row_id=row_id))
    if row is None:
        raise QuarantinedRowNotVisible(f"no quarantined row {row_id} among {scope.describe()}")
    record_quarantine_read(
        db_session=db_session,
        subject=subject,
        rows=[row],
        target=f"quarantined_row:{row.id}",
        purpose=purpose,
        now=now,
    )
    return row


def dismiss_quarantined_row(
    *,
    db_session: Session,
    subject: AuthSubject,
    row_id: int,
    reason: str,
    now: dt.datetime | None = None,
) -> QuarantinedRow:
    """Close an open quarantined row of the subject's feeds without repairing it, recorded as
    dismissed by the subject; the write is audited. Another agency's row is answered as an
    unknown one (``QuarantinedRowNotVisible``); ``import_service.QuarantineError`` says why a
    visible row cannot be dismissed."""
    scope = feed_scope(db_session=db_session, subject=subject)
    visible = db_session.scalar(repository.readable_quarantined_rows(scope=scope, row_id=row_id))
    if visible is None:
        raise QuarantinedRowNotVisible(f"no quarantined row {row_id} among {scope.describe()}")
    row = import_service.dismiss_quarantined_row(
        db_session=db_session,
        scope=scope,
        row_id=visible.id,
        dismissed_by=subject.actor,
        reason=reason,
    )
    audit.record(
        db_session=db_session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action="quarantine.dismiss",
        target=f"quarantined_row:{row.id}",
        reason=row.dismissal_reason,
        detail={
            "method": subject.method.value,
            "table": row.table_name,
            "agency_code": row.agency_code,
        },
        occurred_at=now,
    )
    return row


def export_quarantined_rows(
    *,
    db_session: Session,
    subject: AuthSubject,
    batch_public_id: str,
    out_dir: Path,
    purpose: str = "quarantined import rows exported",
    now: dt.datetime | None = None,
) -> import_service.QuarantineExport:
    """Write the batch's open quarantined rows the subject may read as feed CSV files to fix
    (an agency's user: that agency's rows only; a user tied to no agency: every row); what
    was written is audited as read. Raises ``import_service.QuarantineError`` for no batch."""
    scope = feed_scope(db_session=db_session, subject=subject)
    exported = import_service.export_quarantine(
        db_session=db_session,
        batch_public_id=batch_public_id,
        out_dir=out_dir,
        scope=scope,
    )
    if exported.rows:
        record_quarantine_read(
            db_session=db_session,
            subject=subject,
            rows=exported.rows,
            target=f"import_batch:{batch_public_id}",
            purpose=purpose,
            now=now,
        )
    return exported


def record_quarantine_read(
    *,
    db_session: Session,
    subject: AuthSubject,
    rows: Sequence[QuarantinedRow],
    target: str,
    purpose: str,
    now: dt.datetime | None = None,
) -> None:
    """Audit quarantined rows shown to the subject: one ``quarantine.read`` naming the rows,
    and a ``person.read`` (target ``purpose``) of each person a row names a record of (a
    records row's own record, a relationships row's two, an events row's ``people``), so it
    shows in "who has looked"."""
    now = now or utc_now()
    audit.record(
        db_session=db_session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action="quarantine.read",
        target=target[:300],
        detail={
            "purpose": purpose,
            "method": subject.method.value,
            "quarantined_rows": [row.id for row in rows],
        },
        occurred_at=now,
    )
    named: list[tuple[str, str]] = []
    for row in rows:
        if row.agency_code is None or row.row_ref is None:
            continue
        if row.table_name == "records":
            named.append((row.agency_code, row.row_ref))
        elif row.table_name == "relationships":
            # row_ref is "record>related:relationship": both records are about people.
            record_ref, _, rest = row.row_ref.partition(">")
            related_ref = rest.rpartition(":")[0]
            named.extend((row.agency_code, ref) for ref in (record_ref, related_ref) if ref)
        elif row.table_name == "events":
            named.extend((row.agency_code, ref) for ref in _records_an_event_row_names(row.raw))
    record_reads(
        db_session=db_session,
        subject=subject,
        person_ids=sorted(access_repository.persons_of_agency_records(db_session, records=named)),
        purpose=purpose,
        now=now,
    )


def _records_an_event_row_names(raw: str) -> list[str]:
    """The record ids in a quarantined events row's ``people``, as it arrived."""
    try:
        values = json.loads(raw)
    except ValueError:
        return []
    return named_record_ids(values.get("people")) if isinstance(values, dict) else []
