"""An import as a unit of work: the batch in one transaction, a failure recorded in another,
each with its entry in the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from fullpicture.access import audit
from fullpicture.core.database import unit_of_work
from fullpicture.imports import service
from fullpicture.imports.schemas import ImportResult, flatten_counts


def run_import(
    *,
    session_factory: sessionmaker[Session],
    paths: Sequence[Path],
    imported_by: str,
    progress: service.ImportProgress | None = None,
    chunk_rows: int | None = None,
) -> ImportResult:
    """Import and commit one batch; if it fails, commit only its FAILED batch row and re-raise.

    Either way the audit log gets an entry in the same transaction. ``FeedFileError`` (a file
    that cannot be imported at all) stores nothing.
    """
    try:
        with unit_of_work(session_factory) as session:
            result = service.import_feed(
                db_session=session,
                paths=paths,
                imported_by=imported_by,
                progress=progress,
                chunk_rows=chunk_rows,
            )
            audit.append(
                db_session=session,
                actor=imported_by,
                action="import.batch",
                target=f"import_batch:{result.batch.public_id}",
                detail={
                    "source": result.batch.source_name,
                    "counts": flatten_counts(result.batch.tables, result.batch.repaired),
                },
            )
            return result
    except service.ImportFailed as failure:
        with unit_of_work(session_factory) as session:
            service.record_failed_batch(db_session=session, failure=failure)
            audit.append(
                db_session=session,
                actor=imported_by,
                action="import.failed",
                target=f"import_batch:{failure.public_id}",
                detail={"source": failure.source_name, "error": failure.error},
            )
        raise
