"""What linkage shows and accepts: explanations, review items and decisions, runs, households."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from fullpicture.access.schemas import HeldElsewhere
from fullpicture.linkage.models import ReviewAction, ReviewStatus


class RecordRef(BaseModel):
    """An agency's record, as a practitioner names it: agency code and the agency's own id."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    agency: str = Field(min_length=1, max_length=64)
    record_id: str = Field(min_length=1, max_length=64)

    @classmethod
    def parse(cls, text: str) -> RecordRef:
        agency, sep, record_id = text.partition(":")
        if not sep:
            raise ValueError(f"{text!r}: name a record as AGENCY:RECORD_ID")
        return cls(agency=agency, record_id=record_id)

    def __str__(self) -> str:
        return f"{self.agency}:{self.record_id}"


class WaterfallStep(BaseModel):
    """One comparison's contribution to a pair's match weight."""

    comparison: str
    description: str
    level: str
    value_left: str | None
    value_right: str | None
    match_weight: float = Field(description="log2 Bayes factor this level adds (negative: against)")


class MatchExplanation(BaseModel):
    """Why two records are (or are not) thought to be one person: a match-weight waterfall."""

    left: str
    right: str
    prior_match_weight: float = Field(description="before looking at any field")
    steps: list[WaterfallStep]
    match_weight: float
    match_probability: float
    model_version: int | None
    decision: str = Field(description="link, review or separate, at the configured thresholds")
    first_pass_match_weight: float | None = Field(
        default=None,
        description=(
            "the pair on its own fields, before the relatives' comparison of the second pass "
            "(null when that comparison did not weigh the pair)"
        ),
    )
    second_pass: str | None = Field(
        default=None,
        description="in words, what the relatives' comparison of the second pass did to the pair",
    )


class ReviewDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: ReviewAction
    reason: str = Field(min_length=3, max_length=2000)
    decided_by: str = Field(min_length=1, max_length=200)


class ReviewDecisionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action: ReviewAction
    reason: str
    decided_by: str
    decided_at: dt.datetime
    undoes_decision_id: int | None


class ReviewItemRead(BaseModel):
    id: int
    public_id: str
    left: str
    right: str
    match_weight: float
    match_probability: float
    comparison_levels: dict[str, str]
    status: ReviewStatus
    decisions: list[ReviewDecisionRead]


class LinkageRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    run_ref: str
    kind: str
    engine: str
    rules_version: int
    started_by: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    counts: dict[str, int | float | str]


class IncrementalOutcome(BaseModel):
    record: str
    person_public_id: str
    joined_existing_person: bool
    candidates_scored: int
    records_reclustered: int
    seconds: float


class HouseholdAdultRead(BaseModel):
    person_public_id: str
    name: str | None
    date_of_birth: dt.date | None
    roles: list[str]
    known_to_agencies: list[str]
    known_to_agency_names: list[str] = Field(
        default_factory=list, description="the agencies of known_to_agencies, by name"
    )
    unseen_adult: bool = Field(description="known to one agency only: nobody else has seen them")
    date_from: dt.date | None
    date_to: dt.date | None
    evidence: list[dict[str, str | None]] = Field(
        description="what puts the adult there, as linkage recorded it: each agency by its "
        "code (agency) and its name (agency_name)"
    )


class HouseholdPeriodRead(BaseModel):
    household_public_id: str
    address: str | None = Field(
        description="as an agency the reader may read recorded it (else the linkage key, cased)"
    )
    date_from: dt.date | None
    date_to: dt.date | None
    adults: list[HouseholdAdultRead]
    children: list[str]


class ChildHouseholdView(BaseModel):
    """Every household the child has lived in and every adult any agency knows there."""

    child_public_id: str
    households: list[HouseholdPeriodRead]
    unseen_adults: list[str]
    held_elsewhere: HeldElsewhere | None = Field(
        default=None,
        description="household members your agency holds no record of: counted, never shown",
    )
