"""An import as a unit of work: the batch in one transaction, a failure recorded in another."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from fullpicture.core.database import unit_of_work
from fullpicture.imports import service
from fullpicture.imports.schemas import ImportResult


def run_import(
    *,
    session_factory: sessionmaker[Session],
    paths: Sequence[Path],
    imported_by: str,
    progress: service.ImportProgress | None = None,
    chunk_rows: int | None = None,
) -> ImportResult:
    """Import and commit one batch; if it fails, commit only its FAILED batch row and re-raise.

    ``FeedFileError`` (a file that cannot be imported at all) stores nothing.
    """
    try:
        with unit_of_work(session_factory) as session:
            return service.import_feed(
                db_session=session,
                paths=paths,
                imported_by=imported_by,
                progress=progress,
                chunk_rows=chunk_rows,
            )
    except service.ImportFailed as failure:
        with unit_of_work(session_factory) as session:
            service.record_failed_batch(db_session=session, failure=failure)
        raise
