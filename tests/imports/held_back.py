"""A partnership linked from every agency's feed but one, whose feed then arrives."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy.orm import Session

from fullpicture.agencies import service as agency_service
from fullpicture.imports import service as import_service
from fullpicture.linkage import service as linkage_service
from fullpicture.linkage.rules import default_rules

HELD_BACK_KIND = "police"


def held_back_agency(population: Path) -> str:
    with (population / "agencies.csv").open(encoding="utf-8", newline="") as handle:
        return next(row["code"] for row in csv.DictReader(handle) if row["kind"] == HELD_BACK_KIND)


def held_back_feed(population: Path) -> Path:
    return population / "feeds" / held_back_agency(population)


def every_other_agency_linked(db_session: Session, population: Path) -> None:
    """The partnership's picture before the held-back agency's feed arrives."""
    agency_service.register_from_csv(db_session=db_session, path=population / "agencies.csv")
    held_back = held_back_feed(population)
    feeds = sorted(p for p in (population / "feeds").iterdir() if p.is_dir() and p != held_back)
    result = import_service.import_feed(db_session=db_session, paths=feeds, imported_by="setup")
    assert result.quarantined == []
    linkage_service.link_database(db_session=db_session, rules=default_rules(), started_by="setup")
