"""Retention: archive agency records closed for longer than the configured period.

One set-based statement per run (population scale): the latest chronology entry of each
agency record is found with a window function, and records whose latest entry closed them
before the cut-off are added to ``archived_record``. Re-running archives nothing twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, exists, func, insert, literal, select
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access.models import ArchivedRecord
from fullpicture.chronology.models import Event, EventParticipant
from fullpicture.core.database import utc_now
from fullpicture.core.rule_files import load_rules_file

RULES_FILE = Path(__file__).with_name("retention.yaml")


class RetentionRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    closing_concern_codes: frozenset[str] = Field(min_length=1)
    archive_after_closed_years: float = Field(gt=0)

    def cutoff(self, today: dt.date) -> dt.date:
        return today - dt.timedelta(days=round(self.archive_after_closed_years * 365.25))

    @property
    def description(self) -> str:
        return (
            f"retention v{self.version}: closed ({', '.join(sorted(self.closing_concern_codes))}) "
            f"more than {self.archive_after_closed_years:g} years"
        )


@lru_cache(maxsize=1)
def retention_rules() -> RetentionRules:
    return RetentionRules.model_validate(load_rules_file(RULES_FILE))


@dataclass(frozen=True)
class RetentionOutcome:
    cutoff: dt.date
    archived: int
    dry_run: bool


def archive_closed_records(
    *,
    db_session: Session,
    actor: str,
    now: dt.datetime | None = None,
    rules: RetentionRules | None = None,
    dry_run: bool = False,
) -> RetentionOutcome:
    """Archive every agency record closed before the cut-off; audited as one entry."""
    rules = rules or retention_rules()
    now = now or utc_now()
    cutoff = rules.cutoff(now.date())
    ranked = (
        select(
            Event.agency_id.label("agency_id"),
            EventParticipant.record_ref.label("record_ref"),
            Event.concern_code.label("concern_code"),
            Event.event_date.label("event_date"),
            func.row_number()
            .over(
                partition_by=(Event.agency_id, EventParticipant.record_ref),
                order_by=(Event.event_date.desc(), Event.version.desc(), Event.id.desc()),
            )
            .label("recency"),
        )
        .join(EventParticipant, EventParticipant.event_id == Event.id)
        .subquery("latest_entry")
    )
    closed = select(
        ranked.c.agency_id,
        ranked.c.record_ref,
        ranked.c.event_date,
        literal(now, ArchivedRecord.archived_at.type).label("archived_at"),
        literal(rules.description).label("rule"),
    ).where(
        ranked.c.recency == 1,
        ranked.c.concern_code.in_(sorted(rules.closing_concern_codes)),
        ranked.c.event_date < cutoff,
        ~exists(
            select(literal(1)).where(
                and_(
                    ArchivedRecord.agency_id == ranked.c.agency_id,
                    ArchivedRecord.record_ref == ranked.c.record_ref,
                )
            )
        ),
    )
    if dry_run:
        count = int(db_session.scalar(select(func.count()).select_from(closed.subquery())) or 0)
    else:
        archived_ids = db_session.scalars(
            insert(ArchivedRecord)
            .from_select(["agency_id", "record_ref", "closed_on", "archived_at", "rule"], closed)
            .returning(ArchivedRecord.id)
        ).all()
        count = len(archived_ids)
        audit.append(
            db_session=db_session,
            actor=actor,
            action="retention.archive",
            target=rules.description,
            detail={"cutoff": cutoff.isoformat(), "archived": count},
            occurred_at=now,
        )
    return RetentionOutcome(cutoff=cutoff, archived=count, dry_run=dry_run)
