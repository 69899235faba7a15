"""The cumulative-harm model file (``harm_model.yaml``): its schema and loader.

Every weight, window and threshold the engine uses comes from here, never from code
constants, so a partnership can read and change the rules (research-notes §6).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fullpicture.chronology.taxonomy import CodeKind, Taxonomy, default_taxonomy
from fullpicture.core.rule_files import load_rules_text

HARM_MODEL_FILE = Path(__file__).with_name("harm_model.yaml")

ALL_CONCERNS = "all_concerns"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Decay(_Strict):
    # Below two weeks the exponent used by the batch job grows too large for a float
    # over an 18-year childhood (2**(6570/14) is still fine; 2**(6570/5) is not).
    half_life_days: int = Field(ge=14, le=3650)
    horizon_days: int = Field(ge=1, le=7300)


class SameIncident(_Strict):
    within_days: int = Field(ge=0, le=31)


class Triangulation(_Strict):
    window_days: int = Field(ge=1)
    credit_per_extra_agency: float = Field(ge=0)
    max_multiplier: float = Field(ge=1)


class Strengths(_Strict):
    points: float = Field(ge=0)
    note: str


class ChildAgeUnder(_Strict):
    type: Literal["child_age_under"]
    days: int = Field(ge=1)


class OnPlan(_Strict):
    type: Literal["on_plan"]


class Repeated(_Strict):
    type: Literal["repeated"]
    days: int = Field(ge=1)
    min_count: int = Field(ge=2)


class AllCodesWithin(_Strict):
    type: Literal["all_codes_within"]
    days: int = Field(ge=0)
    codes: tuple[str, ...] = Field(min_length=2)


class AnyCodeWithin(_Strict):
    type: Literal["any_code_within"]
    days: int = Field(ge=0)
    codes: tuple[str, ...] = Field(min_length=1)


class OtherConcernWithin(_Strict):
    type: Literal["other_concern_within"]
    days: int = Field(ge=0)


ModifierCondition = Annotated[
    ChildAgeUnder | OnPlan | Repeated | AllCodesWithin | AnyCodeWithin | OtherConcernWithin,
    Field(discriminator="type"),
]


class Modifier(_Strict):
    """Raises an incident's severity when its condition holds on the incident's date."""

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    reason: str
    add_severity: int = Field(ge=1, le=2)
    applies_to: tuple[str, ...] | Literal["all_concerns"]
    condition: ModifierCondition

    def applies_to_code(self, code: str) -> bool:
        return self.applies_to == ALL_CONCERNS or code in self.applies_to


class Plans(_Strict):
    start_codes: tuple[str, ...]
    end_codes: tuple[str, ...]


class Threshold(_Strict):
    score: float = Field(gt=0)
    reset_below: float = Field(ge=0)

    @model_validator(mode="after")
    def _reset_below_threshold(self) -> Threshold:
        if self.reset_below > self.score:
            raise ValueError("alerts.threshold.reset_below must not exceed the threshold score")
        return self


class CountWithin(_Strict):
    type: Literal["count_within"]
    codes: tuple[str, ...]
    days: int = Field(ge=0)
    min_count: int = Field(ge=1)


class CodeWithOtherConcern(_Strict):
    type: Literal["code_with_other_concern"]
    codes: tuple[str, ...]
    days: int = Field(ge=0)


class CodesTogether(_Strict):
    type: Literal["codes_together"]
    first: tuple[str, ...]
    second: tuple[str, ...]
    days: int = Field(ge=0)


class RelapseCycles(_Strict):
    type: Literal["relapse_cycles"]
    improvement_codes: tuple[str, ...]
    relapse_min_severity: int = Field(ge=1, le=5)
    relapse_days: int = Field(ge=1)
    days: int = Field(ge=1)
    min_count: int = Field(ge=1)


PatternCondition = Annotated[
    CountWithin | CodeWithOtherConcern | CodesTogether | RelapseCycles,
    Field(discriminator="type"),
]


class PatternRule(_Strict):
    kind: str = Field(pattern=r"^[a-z0-9_]+$")
    reason: str
    rule: PatternCondition


class YoungChildCodes(_Strict):
    codes: tuple[str, ...]
    age_under_days: int = Field(ge=1)


class SeriousAloneRule(_Strict):
    kind: str = Field(pattern=r"^[a-z0-9_]+$")
    reason: str
    codes: tuple[str, ...] = ()
    young_child: YoungChildCodes | None = None


class AlertRules(_Strict):
    threshold: Threshold
    patterns: tuple[PatternRule, ...]
    serious_alone: tuple[SeriousAloneRule, ...]

    @field_validator("patterns")
    @classmethod
    def _kinds_unique(cls, value: tuple[PatternRule, ...]) -> tuple[PatternRule, ...]:
        kinds = [p.kind for p in value]
        if len(kinds) != len(set(kinds)):
            raise ValueError("each pattern rule needs its own kind")
        return value


class _Rule(_Strict):
    source: str = Field(min_length=1)


class UncodedReading(_Rule):
    routine_conclusions: tuple[str, ...]


class FollowUpReading(_Rule):
    within_days: int = Field(ge=0, le=365)
    words: tuple[str, ...] = Field(min_length=1)
    unless: tuple[str, ...] = ()


class ShortIllnessAbsence(_Strict):
    max_days: int = Field(ge=1)
    words: tuple[str, ...] = Field(min_length=1)


class PersistentAbsenceReading(_Rule):
    codes: tuple[str, ...]
    min_missed_percent: float = Field(gt=0, lt=100)
    concern_words: tuple[str, ...]
    short_illness: ShortIllnessAbsence


class StrengthsReading(_Rule):
    lower_severity_by: int = Field(ge=1, le=4)
    words: tuple[str, ...]


class InjuryMechanism(_Strict):
    label: str
    min_age_days: int = Field(ge=0)
    words: tuple[str, ...] = Field(min_length=1)


class AccidentalInjuryReading(_Rule):
    codes: tuple[str, ...]
    severity: int = Field(ge=1, le=5)
    explained_words: tuple[str, ...]
    unexplained_words: tuple[str, ...]
    mechanisms: tuple[InjuryMechanism, ...]
    non_mobile_code: str
    non_mobile_words: tuple[str, ...]


class LateBookingReading(_Rule):
    codes: tuple[str, ...]
    late_words: tuple[str, ...]
    explanation_words: tuple[str, ...]
    unless: tuple[str, ...] = ()


class EntryReadingRules(_Strict):
    """How an entry's words decide the code and severity it is scored at (issue 18)."""

    uncoded: UncodedReading
    follow_up: FollowUpReading
    persistent_absence: PersistentAbsenceReading
    strengths: StrengthsReading
    accidental_injury: AccidentalInjuryReading
    late_booking: LateBookingReading


class HarmModel(_Strict):
    """The whole cumulative-harm model, as read from its YAML file."""

    version: str
    points_by_severity: dict[int, float]
    decay: Decay
    same_incident: SameIncident
    triangulation: Triangulation
    strengths: Strengths
    modifiers: tuple[Modifier, ...]
    plans: Plans
    household_adult_codes: tuple[str, ...]
    household_roles_not_adults: tuple[str, ...]
    alerts: AlertRules
    entry_reading: EntryReadingRules

    @field_validator("points_by_severity")
    @classmethod
    def _every_severity_has_points(cls, value: dict[int, float]) -> dict[int, float]:
        if set(value) != {1, 2, 3, 4, 5}:
            raise ValueError("points_by_severity needs exactly the severities 1 to 5")
        if any(points < 0 for points in value.values()):
            raise ValueError("points must not be negative")
        return value

    def codes_named(self) -> set[str]:
        """Every concern code the model refers to (checked against the taxonomy)."""
        named: set[str] = set(self.household_adult_codes)
        named |= set(self.plans.start_codes) | set(self.plans.end_codes)
        for modifier in self.modifiers:
            if modifier.applies_to != ALL_CONCERNS:
                named |= set(modifier.applies_to)
            condition = modifier.condition
            if isinstance(condition, AllCodesWithin | AnyCodeWithin):
                named |= set(condition.codes)
        for pattern in self.alerts.patterns:
            rule = pattern.rule
            if isinstance(rule, CountWithin | CodeWithOtherConcern):
                named |= set(rule.codes)
            elif isinstance(rule, CodesTogether):
                named |= set(rule.first) | set(rule.second)
            else:
                named |= set(rule.improvement_codes)
        reading = self.entry_reading
        named |= set(reading.persistent_absence.codes) | set(reading.late_booking.codes)
        named |= set(reading.accidental_injury.codes) | {reading.accidental_injury.non_mobile_code}
        for serious in self.alerts.serious_alone:
            named |= set(serious.codes)
            if serious.young_child is not None:
                named |= set(serious.young_child.codes)
        return named

    def check_against(self, taxonomy: Taxonomy) -> None:
        """Raise ``ValueError`` naming any code the model uses that the taxonomy lacks."""
        unknown = sorted(code for code in self.codes_named() if code not in taxonomy)
        if unknown:
            raise ValueError(
                f"harm model {self.version} names codes the taxonomy does not have: "
                + ", ".join(unknown)
            )
        for code in self.plans.start_codes + self.plans.end_codes:
            entry = taxonomy.get(code)
            if entry is not None and entry.kind is not CodeKind.PROCESS:
                raise ValueError(f"plan code {code} must be a process code in the taxonomy")


def load_harm_model(path: Path = HARM_MODEL_FILE, taxonomy: Taxonomy | None = None) -> HarmModel:
    """Read and validate a harm model file; raises ``ValueError`` saying what is wrong."""
    with path.open(encoding="utf-8") as handle:
        raw = load_rules_text(handle)
    model = HarmModel.model_validate(raw)
    model.check_against(taxonomy or default_taxonomy())
    return model


@lru_cache(maxsize=1)
def default_harm_model() -> HarmModel:
    return load_harm_model()
