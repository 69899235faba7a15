"""Input and output shapes of the referral capability (pydantic at every boundary)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fullpicture.referrals.models import (
    LawfulBasis,
    ParentsAwareness,
    ReferralStatus,
    RequestedResponse,
)

ElementStatusValue = Literal["present", "partial", "absent"]


# -- the check ------------------------------------------------------------------------------


class EvidenceSpan(BaseModel):
    """The exact text that satisfied (part of) an element, and which cue found it."""

    model_config = ConfigDict(frozen=True)

    start: int
    end: int
    text: str
    cue: str


class AdjustmentReason(BaseModel):
    """One piece of the rules' evidence that moved the learned adjustment, in a practitioner's
    words ("a dated event"), with the rule group it is and how many cue matches the rules found
    in it (the model reads that count; matches may overlap)."""

    group: str
    words: str
    found: int


class ModelAdjustment(BaseModel):
    """Where the learned element adjustment, not the rules, chose the status: the rules' own
    status, the model's version, what moved it most, and all of it as one plain sentence."""

    rule_status: ElementStatusValue
    model_version: str
    moved_by: list[AdjustmentReason]
    explanation: str
    rule_question: str | None = Field(
        default=None,
        description="the question the rules would have asked (their status was not present); "
        "kept when the adjustment reads the element as present, so the prompt is not lost",
    )


class ElementFinding(BaseModel):
    """One element of R1–R20: its status, the spans behind it, and the question to ask if not
    present; ``adjusted`` is set only where the learned adjustment changed the rules' status."""

    status: ElementStatusValue
    spans: list[EvidenceSpan]
    question: str | None
    adjusted: ModelAdjustment | None = None


class VaguePhrase(BaseModel):
    text: str
    start: int
    end: int
    kind: str
    family: str = Field(
        default="",
        description="the annotation guide's family: hedge, unquantified, unattributed, reassurance, label, minimiser",
    )
    question: str


class CheckScore(BaseModel):
    """Weighted share of the standard met (present 1, partial 0.5), with what it was computed from."""

    value: float
    maximum: float
    present: int
    partial: int
    absent: int
    weights: dict[str, float]
    word_count: int
    vague_phrase_count: int
    vague_density_per_100_words: float
    rule_versions: dict[str, str]
    note: str


class RecordEvent(BaseModel):
    """A chronology event behind a cross-check finding."""

    agency_code: str
    agency_name: str
    agency_kind: str
    event_ref: str
    version: int
    event_date: dt.date
    concern_code: str
    category: str
    summary: str
    whose_record: Literal["child", "household_adult"]
    person_public_id: str


class CrossCheckFinding(BaseModel):
    kind: Literal["history", "agencies", "adult_factors", "escalations"]
    element: str
    message: str
    contradicts_referral: bool = False
    events: list[RecordEvent]


class CrossCheckReport(BaseModel):
    child_id: str
    as_of: dt.date
    findings: list[CrossCheckFinding]
    notes: list[str]


class ReferralCheck(BaseModel):
    """What ``POST /api/v1/referrals/check`` and ``fullpicture referral check --json`` return."""

    elements: dict[str, ElementFinding]
    vague_phrases: list[VaguePhrase]
    score: CheckScore
    cross_checks: CrossCheckReport | None = None

    def public(self) -> dict[str, Any]:
        """The documented JSON shape: cross-check findings only when a child was given."""
        return self.model_dump(mode="json", exclude_none=False, exclude={"cross_checks"}) | (
            {"cross_checks": self.cross_checks.model_dump(mode="json")}
            if self.cross_checks is not None
            else {}
        )


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The referral text (plain text, English).")
    child_id: str | None = Field(
        default=None, description="public_id of the child's Person: adds record cross-checks"
    )
    referral_date: dt.date | None = Field(
        default=None, description="Date of the referral (default today), for R20 timeliness."
    )
    child_names: list[str] = Field(
        default_factory=list, description="The child's names, to attribute quoted speech."
    )


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=60000)


class ConcernSuggestionOut(BaseModel):
    code: str
    kind: str
    category: str
    default_severity: int
    confidence: float
    spans: list[dict[str, Any]]
    reason: str


# -- the referral ---------------------------------------------------------------------------


class ReferralChildIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    person_id: str | None = Field(default=None, description="public_id of the linked Person")
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str | None = Field(default=None, max_length=100)
    other_names: list[str] = Field(default_factory=list)
    date_of_birth: dt.date | None = None
    expected_date_of_delivery: dt.date | None = None
    sex: Literal["F", "M", "U"] | None = None
    address: str | None = Field(default=None, max_length=500)
    school_or_nursery: str | None = Field(default=None, max_length=200)
    gp_practice: str | None = Field(default=None, max_length=200)


class HouseholdMemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    relationship: str = Field(min_length=1, max_length=100)
    date_of_birth: dt.date | None = None
    lives_with_child: bool | None = None
    notes: str | None = Field(default=None, max_length=2000)


class AgencyInvolvedIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    kind: str | None = Field(default=None, max_length=64)
    contact: str | None = Field(default=None, max_length=300)
    role: str | None = Field(default=None, max_length=200)


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    filename: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=500)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class ReferralFields(BaseModel):
    """Everything a referrer writes; every field may be blank in a draft — and at submission,
    because absence of information must not delay a referral (research-notes §3.1)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    referrer_name: str | None = Field(default=None, max_length=200)
    referrer_role: str | None = Field(default=None, max_length=200)
    referrer_agency_code: str | None = Field(default=None, max_length=64)
    referrer_phone: str | None = Field(default=None, max_length=50)
    referrer_email: str | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )
    relationship_to_child: str | None = Field(default=None, max_length=1000)
    children: list[ReferralChildIn] = Field(default_factory=list)
    household: list[HouseholdMemberIn] = Field(default_factory=list)
    child_location: str | None = Field(default=None, max_length=2000)
    immediate_safety: str | None = Field(default=None, max_length=4000)
    concern_narrative: str | None = Field(default=None, max_length=40000)
    child_voice: str | None = Field(default=None, max_length=10000)
    referrer_analysis: str | None = Field(default=None, max_length=10000)
    request: str | None = Field(default=None, max_length=4000)
    requested_response: RequestedResponse | None = None
    level_of_need: int | None = Field(default=None, ge=1, le=4)
    parents_awareness: ParentsAwareness | None = None
    reason_not_informed: str | None = Field(default=None, max_length=4000)
    lawful_basis: LawfulBasis | None = None
    lawful_basis_reason: str | None = Field(default=None, max_length=4000)
    agencies_involved: list[AgencyInvolvedIn] = Field(default_factory=list)
    professional_disagreement: str | None = Field(default=None, max_length=4000)
    communication_needs: str | None = Field(default=None, max_length=2000)
    attachments: list[AttachmentIn] = Field(default_factory=list)

    @field_validator("children")
    @classmethod
    def _children_distinct(cls, value: list[ReferralChildIn]) -> list[ReferralChildIn]:
        ids = [c.person_id for c in value if c.person_id]
        if len(ids) != len(set(ids)):
            raise ValueError("the same person is listed twice among the children")
        return value


# Who saved, changed or sent a referral is the signed-in principal, never a name in the body
# (issue 12 finding 12): no input schema has such a field, and ``extra="forbid"`` makes a body
# naming one a 422.
class ReferralCreate(ReferralFields):
    """A new draft's content."""


class ReferralUpdate(ReferralFields):
    """A draft's new content: replaces the draft's fields as a whole."""


class ReferralSubmit(BaseModel):
    """Sending a draft needs nothing but who is signed in; an empty body (or none) will do."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReferralCorrection(ReferralFields):
    """A correction of a submitted referral: a new version, with why (who is the principal)."""

    correction_reason: str = Field(min_length=3, max_length=4000)


class ReferralChildRead(ReferralChildIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")


class ReferralRead(ReferralFields):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    referral_ref: str
    version: int
    status: ReferralStatus
    destination: str
    supersedes_version: int | None
    correction_reason: str | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    submitted_by: str | None
    submitted_at: dt.datetime | None
    check_score: float | None
    check_result: dict[str, Any] | None
