"""Subject access: export what an agency holds about a person, respecting the child-abuse-data
exemption (DPA 2018 Sch 3 Part 5; research-notes §2.1) when a parent asks for a child's data."""

from __future__ import annotations

import datetime as dt
import enum
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.roles import Scope
from fullpicture.access.schemas import PlainText
from fullpicture.access.subject import AuthSubject
from fullpicture.agencies.models import Agency
from fullpicture.chronology import visibility as chronology_visibility
from fullpicture.core.database import utc_now
from fullpicture.core.rule_files import load_rules_file

RULES_FILE = Path(__file__).with_name("subject_access.yaml")
EXEMPTION = "child abuse data: DPA 2018 Schedule 3 Part 5 (disclosure not shown to be in the child's best interests)"


class SubjectAccessRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    child_abuse_concern_codes: frozenset[str] = Field(min_length=1)


@lru_cache(maxsize=1)
def subject_access_rules() -> SubjectAccessRules:
    return SubjectAccessRules.model_validate(load_rules_file(RULES_FILE))


class Requester(enum.StrEnum):
    DATA_SUBJECT = "data_subject"  # the person themselves (including a competent child)
    PARENT_FOR_CHILD = "parent_for_child"  # someone with parental responsibility, for the child


class SubjectAccessRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requester: Requester
    release_child_abuse_data: bool = Field(
        default=False,
        description="only for a parent's request: the reviewer judged disclosure in the child's best interests",
    )
    best_interests_reason: PlainText | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _release_needs_a_reason(self) -> SubjectAccessRequest:
        if self.release_child_abuse_data and len((self.best_interests_reason or "").strip()) < 15:
            raise ValueError(
                "releasing child abuse data to a parent needs the best-interests reason recorded"
            )
        return self


class WithheldEntry(BaseModel):
    agency_code: str
    event_ref: str
    event_date: dt.date
    exemption: str


class SubjectAccessExport(BaseModel):
    """Everything the exporting user's agency may disclose about the person, and what it withheld."""

    person_id: str
    prepared_by: str
    prepared_at: dt.datetime
    requester: Requester
    rules_version: int
    records: list[dict[str, Any]]
    events: list[dict[str, Any]]
    withheld: list[WithheldEntry]


def export_person_data(
    *,
    db_session: Session,
    subject: AuthSubject,
    person_public_id: str,
    request: SubjectAccessRequest,
    now: dt.datetime | None = None,
) -> SubjectAccessExport:
    """Build the export through the need-to-know statements, so only the agency's own records
    (and what was shared with it) can be disclosed, and audit it."""
    now = now or utc_now()
    access_service.require_scopes(subject, Scope.CHILDREN_READ, Scope.SUBJECT_ACCESS_EXPORT)
    person = access_service.open_person(
        db_session=db_session,
        subject=subject,
        person_public_id=person_public_id,
        purpose="subject access export",
        now=now,
    )
    agency_codes = {row.id: row.code for row in db_session.execute(select(Agency.id, Agency.code))}
    records = [
        {
            "agency_code": agency_codes.get(record.agency_id),
            "record_ref": record.record_ref,
            "version": record.version,
            "given_name": record.given_name,
            "family_name": record.family_name,
            "other_names": record.other_names,
            "date_of_birth": record.date_of_birth.isoformat() if record.date_of_birth else None,
            "nhs_number": record.nhs_number,
            "addresses": record.addresses,
            "recorded_at": record.recorded_at.isoformat(),
        }
        for record in db_session.scalars(
            access_repository.readable_source_records(subject, now, person_id=person.id)
        )
    ]
    exempt_codes = subject_access_rules().child_abuse_concern_codes
    withhold = (
        request.requester is Requester.PARENT_FOR_CHILD and not request.release_child_abuse_data
    )
    events: list[dict[str, Any]] = []
    withheld: list[WithheldEntry] = []
    for event in db_session.scalars(
        chronology_visibility.readable_events(subject, now, person_id=person.id)
    ):
        agency_code = agency_codes.get(event.agency_id, "")
        if withhold and event.concern_code in exempt_codes:
            withheld.append(
                WithheldEntry(
                    agency_code=agency_code,
                    event_ref=event.event_ref,
                    event_date=event.event_date,
                    exemption=EXEMPTION,
                )
            )
            continue
        events.append(
            {
                "agency_code": agency_code,
                "event_ref": event.event_ref,
                "version": event.version,
                "event_date": event.event_date.isoformat(),
                "concern_code": event.concern_code,
                "summary": event.summary,
                "information_type": event.information_type.value,
                "action_taken": event.action_taken,
            }
        )
    audit.record(
        db_session=db_session,
        actor=subject.actor,
        actor_user_id=subject.user_id,
        action="person.export",
        person_id=person.id,
        target="subject access export",
        reason=request.best_interests_reason if request.release_child_abuse_data else None,
        detail={
            "requester": request.requester.value,
            "records": len(records),
            "events": len(events),
            "withheld": len(withheld),
        },
        occurred_at=now,
    )
    return SubjectAccessExport(
        person_id=person.public_id,
        prepared_by=subject.username,
        prepared_at=now,
        requester=request.requester,
        rules_version=subject_access_rules().version,
        records=records,
        events=events,
        withheld=withheld,
    )
