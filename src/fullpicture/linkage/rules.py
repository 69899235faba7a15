"""The linkage rules a partnership may tune (thresholds, review band, training), read from YAML."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fullpicture.core.rule_files import load_rules_text

RULES_FILE = Path(__file__).with_name("linkage_rules.yaml")


class ReviewBand(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lower_match_weight: float
    upper_match_weight: float

    @model_validator(mode="after")
    def _ordered(self) -> ReviewBand:
        if self.lower_match_weight > self.upper_match_weight:
            raise ValueError("review_band: lower_match_weight must not exceed upper_match_weight")
        return self


class TrainingRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    u_max_pairs: int = Field(ge=10_000)
    u_seed: int
    em_blocking_passes: list[list[str]] = Field(min_length=1)
    em_fallback_passes: list[list[str]] = Field(default_factory=list)
    min_field_share: float = Field(gt=0, le=1)
    em_min_pairs: int = Field(ge=1)
    prior_rules: list[list[str]] = Field(min_length=1)
    prior_recall: float = Field(gt=0, le=1)
    max_em_iterations: int = Field(ge=1, le=200)
    m_probability_floor: float = Field(gt=0, lt=0.1)


class ComparisonCutoffs(BaseModel):
    """String-similarity cut-offs of the comparison levels (changing one means retraining:
    a saved model names its levels by them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name_jaro_winkler_close: float = Field(gt=0, lt=1)
    name_jaro_winkler_near: float = Field(gt=0, lt=1)
    address_jaro_winkler: float = Field(gt=0, lt=1)
    address_most_words_share: float = Field(gt=0, le=1)
    address_min_shared_words: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> ComparisonCutoffs:
        if self.name_jaro_winkler_near >= self.name_jaro_winkler_close:
            raise ValueError("name_jaro_winkler_near must be below name_jaro_winkler_close")
        return self


class ThresholdChoiceRules(BaseModel):
    """How ``fullpicture link`` chooses a file's link threshold from the trained model
    (``threshold.py``): down from ``link_threshold_match_weight`` while the model expects at
    most ``expected_false_links_budget`` wrong links among the pairs added, never below
    ``lowest_match_weight``; below the fixed line, pairs whose birth dates are
    ``generation_gap_years`` or more apart are held back."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    expected_false_links_budget: float = Field(ge=0)
    lowest_match_weight: float
    generation_gap_years: int = Field(ge=1)


class BudgetedBlocking(BaseModel):
    """Blocking rules too broad for a large population but cheap on a small file: each is used
    in a batch run only when the pairs it makes stay within ``max_pairs``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[list[str]]
    max_pairs: int = Field(ge=0)


class LinkageRules(BaseModel):
    """Thresholds and training choices; ``version`` is recorded on every run that used them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    link_threshold_match_weight: float
    threshold_choice: ThresholdChoiceRules
    review_band: ReviewBand
    minimum_stored_match_weight: float
    one_record_per_agency: bool
    same_agency_chain_min_match_weight: float
    comparison_cutoffs: ComparisonCutoffs
    budgeted_blocking: BudgetedBlocking
    training: TrainingRules

    @model_validator(mode="after")
    def _consistent(self) -> LinkageRules:
        if self.minimum_stored_match_weight > self.review_band.lower_match_weight:
            raise ValueError("minimum_stored_match_weight must not exceed the review band")
        choice = self.threshold_choice
        if not (
            self.minimum_stored_match_weight
            <= choice.lowest_match_weight
            <= self.link_threshold_match_weight
        ):
            raise ValueError(
                "threshold_choice.lowest_match_weight must lie between "
                "minimum_stored_match_weight (pairs below it are not kept to link) and "
                "link_threshold_match_weight (the line is only ever lowered from it)"
            )
        return self


def load_rules(path: Path = RULES_FILE) -> LinkageRules:
    with path.open(encoding="utf-8") as handle:
        return LinkageRules.model_validate(load_rules_text(handle))


@lru_cache(maxsize=1)
def default_rules() -> LinkageRules:
    return load_rules()
