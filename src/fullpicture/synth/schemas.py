"""The synthesis settings file (``synthesis.yaml``): its schema and loader.

Base rates, noise probabilities and harm-trajectory templates are data, so that they can be
tuned and versioned without touching the generator.
"""

from __future__ import annotations

import enum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fullpicture.agencies.models import AgencyKind
from fullpicture.chronology.models import InformationType, ParticipantRole
from fullpicture.chronology.taxonomy import default_taxonomy
from fullpicture.core.rule_files import load_rules_text

SETTINGS_FILE = Path(__file__).with_name("synthesis.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_distribution(value: dict[str, float], what: str) -> dict[str, float]:
    if not value:
        raise ValueError(f"{what} must list at least one option")
    if any(weight < 0 for weight in value.values()):
        raise ValueError(f"{what} has a negative weight")
    if sum(value.values()) <= 0:
        raise ValueError(f"{what} weights must add up to more than 0")
    return value


Probability = float


class Range(_Strict):
    """An inclusive numeric range ``[low, high]`` written as a two-item list."""

    low: float
    high: float

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError("a range is written [low, high]")
            return {"low": value[0], "high": value[1]}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError(f"range [{self.low}, {self.high}] has low above high")
        return self


class Area(_Strict):
    la_number: int = Field(ge=100, le=999, description="DfE local authority number, used in UPNs")
    home_outward_codes: list[str] = Field(min_length=1)
    away_outward_codes: list[str] = Field(min_length=1)
    street_types: dict[str, float]
    flat_share: Probability = Field(ge=0, le=1)
    postcodes_per_street: int = Field(ge=1, le=20)
    streets_per_1000_households: float = Field(gt=0)

    @field_validator("home_outward_codes", "away_outward_codes")
    @classmethod
    def _outward_codes(cls, value: list[str]) -> list[str]:
        import re

        for code in value:
            if not re.fullmatch(r"[A-Z]{1,2}[0-9][0-9A-Z]?", code):
                raise ValueError(f"{code!r} is not a UK outward postcode (e.g. CR0, SE25)")
        return value

    @field_validator("street_types")
    @classmethod
    def _street_types(cls, value: dict[str, float]) -> dict[str, float]:
        return _check_distribution(value, "street_types")


class Households(_Strict):
    children_per_household: dict[int, float]
    # Multiplies family_names.csv weights by name group (a profile's different name mix).
    family_name_group_weights: dict[str, float] = Field(default_factory=dict)
    lone_parent_share: Probability = Field(ge=0, le=1)
    lone_father_share: Probability = Field(ge=0, le=1)
    mother_age_at_first_birth: Range
    partner_age_gap: Range
    birth_spacing_years: Range
    twin_rate: Probability = Field(ge=0, le=1)
    unborn_rate: Probability = Field(ge=0, le=1)
    separation_rate: Probability = Field(ge=0, le=1)
    new_partner_rate: Probability = Field(ge=0, le=1)
    new_partner_child_rate: Probability = Field(ge=0, le=1)
    grandparent_rate: Probability = Field(ge=0, le=1)
    moves_in_window: dict[int, float]
    move_out_of_area: Probability = Field(ge=0, le=1)
    mother_took_partner_surname: Probability = Field(ge=0, le=1)
    mother_takes_new_partner_surname: Probability = Field(ge=0, le=1)
    child_double_barrelled: Probability = Field(ge=0, le=1)
    middle_name_rate: Probability = Field(ge=0, le=1)
    boys_share_at_birth: Probability = Field(ge=0, le=1)
    absent_father_known: Probability = Field(
        ge=0, le=1, description="lone mothers whose children's father is a known person"
    )
    child_has_absent_fathers_surname: Probability = Field(ge=0, le=1)
    new_partner_same_name_group: Probability = Field(ge=0, le=1)
    children_renamed_with_mother: Probability = Field(ge=0, le=1)
    child_first_language_english: Probability = Field(
        ge=0, le=1, description="children recorded with English whatever the household speaks"
    )
    given_name_own_group_share: Probability = Field(
        ge=0, le=1, description="chance a given name comes from the name group's own list"
    )
    interpreter_needed_if_other_language: Probability = Field(ge=0, le=1)

    @field_validator("children_per_household", "moves_in_window")
    @classmethod
    def _distribution(cls, value: dict[int, float]) -> dict[int, float]:
        _check_distribution({str(k): v for k, v in value.items()}, "distribution")
        if any(k < 0 for k in value):
            raise ValueError("counts must be 0 or more")
        return value


class RosterAgency(_Strict):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str
    kind: AgencyKind
    record_prefix: str = Field(pattern=r"^[A-Z]{1,4}$")


class Roster(_Strict):
    children_per_primary_school: int = Field(gt=0)
    children_per_secondary_school: int = Field(gt=0)
    children_per_nursery: int = Field(gt=0)
    patients_per_gp_practice: int = Field(gt=0)
    change_school_on_move: Probability = Field(
        ge=0, le=1, description="households that change school (and nursery) at their last move"
    )
    change_gp_on_move: Probability = Field(
        ge=0, le=1, description="households that register with another GP at their last move"
    )
    record_prefixes: dict[AgencyKind, str] = Field(
        description="prefix of record ids for kinds with several agencies (schools, GPs)"
    )
    practitioners_per_agency: dict[AgencyKind, int]
    single_agencies: list[RosterAgency]


class AdultRole(enum.StrEnum):
    """Adults an agency holds because of a child it knows."""

    MOTHER = "mother"
    FATHER = "father"
    PARTNER = "partner"
    GRANDPARENT = "grandparent"


class Knowledge(_Strict):
    """Which people one kind of agency holds records on, before any planted events."""

    child_share: Probability = Field(ge=0, le=1, description="share of eligible children held")
    child_age_years: Range = Field(description="age at as_of of the children it holds")
    unborn_share: Probability = Field(0.0, ge=0, le=1)
    unit: Literal["person", "household"] = "person"
    adults_of_held_children: dict[AdultRole, Probability] = Field(default_factory=dict)
    other_adult_share: Probability = Field(
        0.0, ge=0, le=1, description="adults held for reasons of their own (e.g. probation)"
    )
    other_adult_sex: Literal["F", "M", "any"] = "any"


class NoiseRates(_Strict):
    """Probability of each kind of recording noise in one agency's copy of a person."""

    given_name_short_form: Probability = Field(ge=0, le=1)
    given_name_spelling: Probability = Field(ge=0, le=1)
    known_as_in_other_names: Probability = Field(ge=0, le=1)
    given_name_typo: Probability = Field(ge=0, le=1)
    family_name_typo: Probability = Field(ge=0, le=1)
    middle_name_in_given_name: Probability = Field(ge=0, le=1)
    hyphenated_part_only: Probability = Field(ge=0, le=1)
    stale_family_name: Probability = Field(ge=0, le=1)
    previous_names_recorded: Probability = Field(ge=0, le=1)
    dob_transposed: Probability = Field(ge=0, le=1)
    dob_day_wrong: Probability = Field(ge=0, le=1)
    dob_missing: Probability = Field(ge=0, le=1)
    sex_missing: Probability = Field(ge=0, le=1)
    old_address: Probability = Field(ge=0, le=1)
    address_missing: Probability = Field(ge=0, le=1)
    postcode_without_space: Probability = Field(ge=0, le=1)
    street_type_abbreviated: Probability = Field(ge=0, le=1)
    address_history_depth: int = Field(ge=1, le=10)
    nhs_number_held: Probability = Field(ge=0, le=1)
    nhs_number_wrong: Probability = Field(ge=0, le=1)
    nhs_number_spaced: Probability = Field(ge=0, le=1)
    upn_held: Probability = Field(ge=0, le=1)
    ethnicity_missing: Probability = Field(ge=0, le=1)
    first_language_missing: Probability = Field(ge=0, le=1)
    relationship_missing: Probability = Field(ge=0, le=1)


class RecordNoise(_Strict):
    default: NoiseRates
    by_agency_kind: dict[AgencyKind, dict[str, float]] = Field(default_factory=dict)

    @field_validator("by_agency_kind")
    @classmethod
    def _known_fields(
        cls, value: dict[AgencyKind, dict[str, float]]
    ) -> dict[AgencyKind, dict[str, float]]:
        for kind, overrides in value.items():
            unknown = set(overrides) - set(NoiseRates.model_fields)
            if unknown:
                raise ValueError(f"{kind.value}: unknown noise setting(s) {sorted(unknown)}")
        return value

    def for_kind(self, kind: AgencyKind) -> NoiseRates:
        merged = self.default.model_dump() | self.by_agency_kind.get(kind, {})
        return NoiseRates.model_validate(merged)


class Wording(_Strict):
    """Plain-English text for an event: one of each list is picked. ``{name}`` is the
    subject's given name as the recording agency holds it."""

    summaries: list[str] = Field(min_length=1)
    impacts: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)


def _known_code(code: str) -> str:
    if code not in default_taxonomy():
        raise ValueError(f"{code} is not a code of the concern taxonomy")
    return code


class BaseEvent(Wording):
    """Background events at a base rate per record-year of the agency's involvement."""

    agency: AgencyKind
    code: str
    who: Literal["child", "adult"] = "child"
    age_years: Range = Field(default_factory=lambda: Range(low=0, high=120))
    rate_per_year: float = Field(ge=0)
    information_type: InformationType = InformationType.FACT
    severity: int | None = Field(None, ge=1, le=5)
    month_precision_share: Probability = Field(
        0.0, ge=0, le=1, description="share the agency dates only to a month (YYYY-MM)"
    )

    @field_validator("code")
    @classmethod
    def _code_in_taxonomy(cls, value: str) -> str:
        return _known_code(value)

    @model_validator(mode="after")
    def _month_dates_for_adults(self) -> BaseEvent:
        # A child's entry dated only to a month could read as before the child was born.
        if self.month_precision_share and self.who != "adult":
            raise ValueError(f"{self.code}: month-precision dates are for adults' entries only")
        return self


class Who(enum.StrEnum):
    """Who in the child's household a planted event is about, resolved at the event date."""

    SUBJECT = "subject"
    SIBLINGS = "siblings"
    MOTHER = "mother"
    FATHER = "father"
    MALE_ADULT = "male_adult"  # the mother's partner at the time, else the father
    NEW_PARTNER = "new_partner"


class Participant(_Strict):
    who: Who
    role: ParticipantRole


class StepBase(Wording):
    """What every planted step has: the agency, the code, the people and the wording."""

    agency: AgencyKind
    code: str
    count: Range = Field(default_factory=lambda: Range(low=1, high=1))
    people: list[Participant] = Field(
        default_factory=lambda: [Participant(who=Who.SUBJECT, role=ParticipantRole.SUBJECT)]
    )
    information_type: InformationType = InformationType.FACT
    severity: int | None = Field(None, ge=1, le=5)

    @field_validator("code")
    @classmethod
    def _code_in_taxonomy(cls, value: str) -> str:
        return _known_code(value)

    @model_validator(mode="after")
    def _one_subject(self) -> StepBase:
        if not any(p.who is Who.SUBJECT for p in self.people):
            raise ValueError(f"{self.code}: a step's people must include the subject child")
        return self


class Step(StepBase):
    """Events one agency records as a trajectory builds up."""

    window: Range = Field(
        default_factory=lambda: Range(low=0, high=1),
        description="when, as fractions of the time from onset to outcome",
    )

    @field_validator("window")
    @classmethod
    def _window_fractions(cls, value: Range) -> Range:
        if value.low < 0 or value.high > 1:
            raise ValueError("a step window is a fraction of the trajectory, within [0, 1]")
        return value


class OutcomeStep(StepBase):
    """Events recorded when the outcome is reached (referral, strategy discussion, plan)."""

    days_after: Range = Field(description="days after the outcome date")


class Outcome(_Strict):
    outcome: str = Field(pattern=r"^[a-z][a-z_]*$")
    weight: float = Field(gt=0)
    steps: list[OutcomeStep] = Field(default_factory=list)


class TrajectoryTemplate(_Strict):
    kind: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    is_decoy: bool = False
    share_of_children: Probability = Field(ge=0, le=1)
    age_months_at_onset: Range
    duration_months: Range
    anchor: Literal["none", "new_partner_joined"] = "none"
    requires: list[Literal["male_adult", "sibling", "new_partner"]] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)
    outcomes: list[Outcome] = Field(min_length=1)


class RecordingDelay(_Strict):
    """Days from an event to its recording: geometric, capped."""

    geometric_p: float = Field(gt=0, le=1)
    max_days: int = Field(ge=0)


class SynthesisSettings(_Strict):
    version: str
    default_as_of: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    history_years: int = Field(ge=1, le=18)
    prebirth_codes: list[str]
    recording_delay: RecordingDelay
    area: Area
    households: Households
    ethnicity_by_name_group: dict[str, dict[str, float]]
    first_language_by_name_group: dict[str, dict[str, float]]
    roster: Roster
    knowledge: dict[AgencyKind, Knowledge]
    record_noise: RecordNoise
    base_events: list[BaseEvent]
    trajectories: list[TrajectoryTemplate]
    profiles: dict[str, Profile] = Field(default_factory=dict)

    @field_validator("ethnicity_by_name_group", "first_language_by_name_group")
    @classmethod
    def _distributions(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for group, distribution in value.items():
            _check_distribution(distribution, group)
        return value

    @field_validator("prebirth_codes")
    @classmethod
    def _prebirth_codes(cls, value: list[str]) -> list[str]:
        return [_known_code(code) for code in value]

    @model_validator(mode="after")
    def _every_kind_known(self) -> SynthesisSettings:
        missing = set(AgencyKind) - set(self.knowledge)
        if missing:
            raise ValueError(f"knowledge: no rule for {sorted(k.value for k in missing)}")
        trajectory_kinds = [t.kind for t in self.trajectories]
        if len(set(trajectory_kinds)) != len(trajectory_kinds):
            raise ValueError("trajectory kinds must be unique")
        if sum(t.share_of_children for t in self.trajectories) > 0.5:
            raise ValueError("trajectory shares add up to more than half of the children")
        return self


class Profile(_Strict):
    """A variant population for testing linkage on data unlike the default: record-noise
    settings forced on every agency, and family-name groups weighted differently."""

    description: str
    record_noise_every_agency: dict[str, float] = Field(default_factory=dict)
    family_name_group_weights: dict[str, float] = Field(default_factory=dict)

    @field_validator("record_noise_every_agency")
    @classmethod
    def _known_noise(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(NoiseRates.model_fields)
        if unknown:
            raise ValueError(f"unknown noise setting(s) {sorted(unknown)}")
        return value


def apply_profile(settings: SynthesisSettings, name: str) -> SynthesisSettings:
    """``settings`` with profile ``name`` applied; its version names the profile, so a
    manifest says which population it is."""
    if name not in settings.profiles:
        known = ", ".join(sorted(settings.profiles)) or "none"
        raise ValueError(f"unknown profile {name!r} (known: {known})")
    profile = settings.profiles[name]
    by_kind = {
        kind: {
            **settings.record_noise.by_agency_kind.get(kind, {}),
            **profile.record_noise_every_agency,
        }
        for kind in AgencyKind
    }
    noise = settings.record_noise.model_copy(
        update={
            "default": settings.record_noise.default.model_copy(
                update=profile.record_noise_every_agency
            ),
            "by_agency_kind": by_kind,
        }
    )
    households = settings.households.model_copy(
        update={"family_name_group_weights": profile.family_name_group_weights}
    )
    return settings.model_copy(
        update={
            "version": f"{settings.version}+{name}",
            "record_noise": noise,
            "households": households,
        }
    )


def load_settings(path: Path = SETTINGS_FILE) -> SynthesisSettings:
    """Read and validate a synthesis settings file; raises ``ValueError`` naming what is wrong."""
    with path.open(encoding="utf-8") as handle:
        raw = load_rules_text(handle)
    return SynthesisSettings.model_validate(raw)


@lru_cache(maxsize=1)
def default_settings() -> SynthesisSettings:
    return load_settings()
