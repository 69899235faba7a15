"""A generated population imports with nothing quarantined, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.agencies import service as agency_service
from fullpicture.chronology.models import Event
from fullpicture.imports.service import import_feed
from fullpicture.people.models import SourceRecord
from fullpicture.synth.service import generate


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_generated_feeds_import_without_quarantine(
    db_session: Session, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "population"
    # Seed 24 at this size includes an entry dated only to a month (YYYY-MM).
    manifest = generate(children=120, seed=24, out=out, fmt=fmt)  # type: ignore[arg-type]
    read = pl.read_csv if fmt == "csv" else pl.read_parquet
    dates = pl.concat(
        [read(p)["event_date"].cast(pl.String) for p in out.glob(f"feeds/*/events.{fmt}")]
    )
    assert (dates.str.len_chars() == 7).any()
    agency_service.register_from_csv(db_session=db_session, path=out / "agencies.csv")
    result = import_feed(
        db_session=db_session,
        paths=[out / "feeds"],
        imported_by="synth test",
        today=dt.date.fromisoformat(str(manifest["as_of"])),
    )
    assert result.quarantined == [], result.quarantined[:3]
    counts = manifest["counts"]
    assert isinstance(counts, dict)
    stored_records = db_session.scalar(select(func.count()).select_from(SourceRecord))
    stored_events = db_session.scalar(select(func.count()).select_from(Event))
    assert stored_records == counts["source_records"]
    assert stored_events == counts["events"]
