"""``/api/v1/imports``: upload a feed, read a batch's summary and its quarantined rows."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, Query, UploadFile, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from fullpicture.access.auth import ImportWriter
from fullpicture.access.service import AccessError
from fullpicture.core.runtime import request_session
from fullpicture.core.settings import get_settings
from fullpicture.imports import flows, quarantine, repository, service
from fullpicture.imports.authority import FeedAuthorityMissing, upload_authority
from fullpicture.imports.models import QuarantineStatus
from fullpicture.imports.readers import FORMATS
from fullpicture.imports.schemas import ImportBatchRead, ImportResult, QuarantinedRowRead

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])

SessionDep = Annotated[Session, Depends(request_session, scope="function")]
FeedUpload = Annotated[
    UploadFile | None,
    File(description="The table as .csv, .jsonl or .parquet (docs/import-format.md)"),
]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportResult,
    summary="Import a feed (records, relationships and/or events) as one batch",
    responses={
        403: {"description": "A user of an agency named another agency in for_agencies"},
        413: {
            "description": "A file is larger than the upload limit, or the batch ran past "
            "the import time budget (FULLPICTURE_IMPORT_MAX_SECONDS) and was rolled back "
            "whole: split the feed or import it with `fullpicture import`"
        },
        422: {"description": "A file cannot be imported at all; nothing was stored"},
        500: {"description": "The batch failed and was rolled back; a FAILED batch is recorded"},
    },
)
def upload_feed(
    session: SessionDep,
    subject: ImportWriter,
    records: FeedUpload = None,
    relationships: FeedUpload = None,
    events: FeedUpload = None,
    for_agencies: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="whose feeds the batch holds (agency codes, comma-separated, or * for "
            "every agency): needed from a partnership-level operator (a user tied to no "
            "agency); a user of an agency imports that agency's rows only",
        ),
    ] = None,
) -> ImportResult | JSONResponse:
    """Validate every row; store new and changed rows as new versions; quarantine bad rows
    with their reasons. The batch commits whole or not at all. Then, as ``fullpicture import``
    does, link its new and changed records, rebuild the households and rescore the children it
    touches, raising their alerts. Needs ``imports:write``; the batch is recorded as imported
    by the signed-in user. Rows of agencies the uploader may not write for are quarantined
    with the reason (``imports.authority``)."""
    try:
        authority = upload_authority(
            db_session=session,
            subject=subject,
            for_agencies=for_agencies.split(",") if for_agencies else None,
        )
    except FeedAuthorityMissing as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    except AccessError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    uploads = {"records": records, "relationships": relationships, "events": events}
    given = {table: upload for table, upload in uploads.items() if upload is not None}
    if not given:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "send at least one of the files records, relationships or events",
        )
    limit = get_settings().max_upload_bytes
    with tempfile.TemporaryDirectory(prefix="fullpicture-upload-") as workdir:
        paths: list[Path] = []
        for table, upload in given.items():
            suffix = Path(upload.filename or "").suffix.lower()
            if suffix not in FORMATS:
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_CONTENT,
                    f"{table}: {upload.filename!r} is not .csv, .jsonl or .parquet",
                )
            path = Path(workdir) / f"{table}{suffix}"
            _save_within_limit(upload, path, limit=limit, table=table)
            paths.append(path)
        try:
            # The one ingest flow, as the CLI and the demo run it: the batch, then linking,
            # households, rescoring and alerts, all committed with the request.
            ingested = flows.ingest_feed(
                db_session=session,
                paths=paths,
                actor=subject.actor,
                actor_user_id=subject.user_id,
                authority=authority,
            )
        except service.FeedFileError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    if ingested.failure is not None and ingested.failure.over_time_budget:
        # Not a fault to retry as it is: the same file would overrun again. The batch was
        # undone whole (its savepoint); the FAILED batch row and import.failed audit entry
        # commit with the request, so the attempt is on record.
        return JSONResponse(
            status_code=status.HTTP_413_CONTENT_TOO_LARGE,
            content={
                "detail": (
                    f"the import ran past its time budget of {get_settings().import_max_seconds:,}"
                    " seconds (FULLPICTURE_IMPORT_MAX_SECONDS) and was stopped; nothing of it "
                    "was stored. Split the feed into smaller files and upload them one by one, "
                    "or have an administrator import it on the server with `fullpicture "
                    "import`, where the budget can be raised for that run"
                ),
                "batch": ingested.failure.public_id,
                "error": ingested.failure.error,
            },
        )
    if ingested.failure is not None:
        return JSONResponse(
            status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
            content={
                "detail": "the import failed and nothing of it was stored",
                "batch": ingested.failure.public_id,
                "error": ingested.failure.error,
            },
        )
    assert ingested.result is not None
    return ingested.result


def _save_within_limit(upload: UploadFile, path: Path, *, limit: int, table: str) -> None:
    too_large = HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"the {table} file is larger than the {limit:,}-byte upload limit; split the feed "
        "or import it with `fullpicture import` (the limit is FULLPICTURE_MAX_UPLOAD_BYTES)",
    )
    if upload.size is not None and upload.size > limit:
        raise too_large
    written = 0
    with path.open("wb") as handle:
        while block := upload.file.read(1 << 20):
            written += len(block)
            if written > limit:
                raise too_large
            handle.write(block)


@router.get("/{public_id}", response_model=ImportBatchRead, summary="One import batch")
def read_batch(public_id: str, session: SessionDep, subject: ImportWriter) -> ImportBatchRead:
    batch = repository.get_batch(db_session=session, public_id=public_id)
    if batch is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no import batch {public_id}")
    return service.batch_read(batch)


@router.get(
    "/{public_id}/quarantine",
    response_model=list[QuarantinedRowRead],
    summary="The rows a batch quarantined, with every reason",
)
def read_quarantine(
    public_id: str,
    session: SessionDep,
    subject: ImportWriter,
    status_filter: Annotated[
        QuarantineStatus | None, Query(alias="status", description="open, repaired or dismissed")
    ] = None,
) -> list[QuarantinedRowRead]:
    """The rows as they arrived (names and all): a user of an agency gets that agency's rows
    only, a user tied to no agency every feed's. Needs ``imports:write``; the read is audited
    (``quarantine.read``, and ``person.read`` of each person a row names a record of)."""
    batch = repository.get_batch(db_session=session, public_id=public_id)
    if batch is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no import batch {public_id}")
    rows = quarantine.quarantined_rows(
        db_session=session,
        subject=subject,
        purpose="quarantined import rows",
        target=f"import_batch:{batch.public_id}",
        batch_id=batch.id,
        status=status_filter,
    )
    return [QuarantinedRowRead.model_validate(row) for row in rows]
