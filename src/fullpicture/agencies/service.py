"""Agency register: the organisations whose feeds fullpicture accepts."""

from __future__ import annotations

import csv
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.agencies.models import Agency
from fullpicture.agencies.schemas import AgencyCreate


def get_by_code(*, db_session: Session, code: str) -> Agency | None:
    return db_session.scalar(select(Agency).where(Agency.code == code))


def codes_to_ids(*, db_session: Session) -> dict[str, int]:
    return {code: id_ for code, id_ in db_session.execute(select(Agency.code, Agency.id))}


def register(*, db_session: Session, agency_in: AgencyCreate) -> Agency:
    """Add an agency, or update its name and kind if the code is already registered."""
    agency = get_by_code(db_session=db_session, code=agency_in.code)
    if agency is None:
        agency = Agency(code=agency_in.code, name=agency_in.name, kind=agency_in.kind)
        db_session.add(agency)
    else:
        agency.name = agency_in.name
        agency.kind = agency_in.kind
    db_session.flush()
    return agency


class AgencyFileError(ValueError):
    """An agencies file a user supplied is wrong; the message says which rows and why."""


def register_from_csv(*, db_session: Session, path: Path) -> list[Agency]:
    """Register every agency in a CSV with columns ``code,name,kind``; all rows or none."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"code", "name", "kind"} - set(reader.fieldnames or [])
        if missing:
            raise AgencyFileError(f"{path.name}: missing column(s) {', '.join(sorted(missing))}")
        parsed: list[AgencyCreate] = []
        problems: list[str] = []
        for number, row in enumerate(reader, start=1):
            try:
                parsed.append(
                    AgencyCreate.model_validate({k: row[k] for k in ("code", "name", "kind")})
                )
            except ValidationError as exc:
                reasons = "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
                )
                problems.append(f"row {number}: {reasons}")
    if problems:
        raise AgencyFileError(f"{path.name}: " + " | ".join(problems))
    return [register(db_session=db_session, agency_in=item) for item in parsed]
