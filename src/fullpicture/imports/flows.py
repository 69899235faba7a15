"""One feed in, the picture brought up to date: the one ingest flow.

``ingest_feed`` runs every step a feed sets off, in the caller's transaction and in this order:

1. import the batch (validated row by row, bad rows quarantined, all or nothing),
2. link its new and changed records into people,
3. rebuild the households of the people it touches,
4. rescore the children its events touch (directly or through an adult they live with),
5. route the alerts that raises (each goes to the agency ``harm`` routes it to), then hand
   the outcome to every step registered with ``register_after_ingest`` (notifications).

The CLI (``fullpicture import``), the API (``POST /api/v1/imports``) and the demo all call it,
so a feed raises the same alerts whichever way it arrives. The steps are audited once, under
the caller: ``import.batch`` (or ``import.failed``) and ``import.follow_up``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from fullpicture.access import audit
from fullpicture.access import repository as access_repository
from fullpicture.core.database import unit_of_work
from fullpicture.imports import service
from fullpicture.imports.authority import EVERY_AGENCY, FeedAuthority
from fullpicture.imports.follow_up import (
    INCREMENTAL_RECORD_LIMIT,
    FollowUp,
    LargeBatch,
    follow_up_import,
)
from fullpicture.imports.schemas import ImportResult, flatten_counts


@dataclass(frozen=True)
class Ingested:
    """What one feed did: the batch (or why it failed) and what it set off."""

    result: ImportResult | None
    failure: service.ImportFailed | None = None
    follow_up: FollowUp | None = None


@dataclass(frozen=True)
class AfterIngest:
    """What a step registered with ``register_after_ingest`` is told about one feed."""

    batch_public_id: str
    actor: str
    actor_user_id: int | None
    follow_up: FollowUp


#: A step run after a feed's follow-up, in the same transaction (e.g. "child seen elsewhere"
#: notifications to the agencies already working with a child the feed is about).
AfterIngestStep = Callable[[Session, AfterIngest], None]

_after_ingest_steps: list[AfterIngestStep] = []


def register_after_ingest(step: AfterIngestStep) -> AfterIngestStep:
    """Let another capability act on every ingested feed's outcome (usable as a decorator)."""
    if step not in _after_ingest_steps:
        _after_ingest_steps.append(step)
    return step


def ingest_feed(
    *,
    db_session: Session,
    paths: Sequence[Path],
    actor: str,
    actor_user_id: int | None = None,
    progress: service.ImportProgress | None = None,
    chunk_rows: int | None = None,
    follow_up: bool = True,
    large_batch: LargeBatch = LargeBatch.ADVISE,
    record_limit: int = INCREMENTAL_RECORD_LIMIT,
    as_of: dt.date | None = None,
    authority: FeedAuthority = EVERY_AGENCY,
) -> Ingested:
    """Import the feed at ``paths`` as one batch and bring the picture up to date.

    A batch that fails is undone whole and recorded as FAILED (returned in ``failure``, for
    the caller to commit and report); ``FeedFileError`` (a file that cannot be imported at
    all) stores nothing and is raised. The caller commits. Rows of agencies outside
    ``authority`` are quarantined (``imports.authority``; a user's upload passes theirs).
    """
    try:
        # A savepoint holds the batch: a failure undoes it whole, while the FAILED batch row
        # and its audit entry still commit with the caller's transaction.
        with db_session.begin_nested():
            result = service.import_feed(
                db_session=db_session,
                paths=paths,
                imported_by=actor,
                progress=progress,
                chunk_rows=chunk_rows,
                authority=authority,
            )
    except service.ImportFailed as failure:
        service.record_failed_batch(db_session=db_session, failure=failure)
        audit.record(
            db_session=db_session,
            actor=actor,
            actor_user_id=actor_user_id,
            action="import.failed",
            target=f"import_batch:{failure.public_id}",
            detail={"source": failure.source_name, "error": failure.error},
        )
        return Ingested(result=None, failure=failure)
    batch_id = result.batch.public_id
    audit.record(
        db_session=db_session,
        actor=actor,
        actor_user_id=actor_user_id,
        action="import.batch",
        target=f"import_batch:{batch_id}",
        detail={
            "source": result.batch.source_name,
            "counts": flatten_counts(result.batch.tables, result.batch.repaired),
        },
    )
    if not follow_up:
        return Ingested(result=result)
    outcome = follow_up_import(
        db_session=db_session,
        batch_public_id=batch_id,
        started_by=actor,
        as_of=as_of,
        record_limit=record_limit,
        large_batch=large_batch,
    )
    audit.record(
        db_session=db_session,
        actor=actor,
        actor_user_id=actor_user_id,
        action="import.follow_up",
        target=f"import_batch:{batch_id}",
        detail={
            "records_linked": outcome.records_linked,
            "households": outcome.households,
            "children_rescored": outcome.children_rescored,
            "alerts": len(outcome.alert_ids),
        },
    )
    told = AfterIngest(
        batch_public_id=batch_id, actor=actor, actor_user_id=actor_user_id, follow_up=outcome
    )
    # An import tells practitioners a child was seen elsewhere only once that step is in.
    access_repository.require_connected()
    for step in _after_ingest_steps:
        step(db_session, told)
    return Ingested(result=result, follow_up=outcome)


def run_import(
    *,
    session_factory: sessionmaker[Session],
    paths: Sequence[Path],
    imported_by: str,
    progress: service.ImportProgress | None = None,
    chunk_rows: int | None = None,
) -> ImportResult:
    """The import step alone in a transaction of its own (benchmarks, and tests of the import
    itself): commit the batch, or commit its FAILED row and raise ``ImportFailed``."""
    with unit_of_work(session_factory) as session:
        ingested = ingest_feed(
            db_session=session,
            paths=paths,
            actor=imported_by,
            progress=progress,
            chunk_rows=chunk_rows,
            follow_up=False,
        )
    if ingested.failure is not None:
        raise ingested.failure
    assert ingested.result is not None
    return ingested.result
