"""The lawful bases and the seven golden rules, as data (``lawful_bases.yaml``,
``golden_rules.yaml``), with the schema they must meet."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fullpicture.core.rule_files import load_rules_file

HERE = Path(__file__).parent
LAWFUL_BASES_FILE = HERE / "lawful_bases.yaml"
GOLDEN_RULES_FILE = HERE / "golden_rules.yaml"

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class Regime(BaseModel):
    model_config = _FROZEN

    code: str
    label: str
    source: str


class Basis(BaseModel):
    """An Article 6 basis (or, for law enforcement, DPA 2018 s.35)."""

    model_config = _FROZEN

    code: str
    regime: str
    label: str
    source: str
    warning: str | None = None


class SpecialCategoryCondition(BaseModel):
    model_config = _FROZEN

    code: str
    regime: str
    label: str
    source: str


class Gateway(BaseModel):
    """A statutory gateway recorded beside the basis; some are not yet in force."""

    model_config = _FROZEN

    code: str
    label: str
    source: str
    in_force_from: dt.date | None = Field(
        default=None, description="None for a gateway always in force unless commencement says"
    )
    commencement: str | None = None
    detriment_test: str | None = None

    def in_force_on(self, day: dt.date) -> bool:
        if self.commencement is None:
            return True
        return self.in_force_from is not None and day >= self.in_force_from


class LawfulBases(BaseModel):
    model_config = _FROZEN

    version: int = Field(ge=1)
    regimes: tuple[Regime, ...]
    bases: tuple[Basis, ...]
    special_category_conditions: tuple[SpecialCategoryCondition, ...]
    gateways: tuple[Gateway, ...]

    @model_validator(mode="after")
    def _consistent(self) -> LawfulBases:
        regimes = {r.code for r in self.regimes}
        for code, regime in [
            *((b.code, b.regime) for b in self.bases),
            *((c.code, c.regime) for c in self.special_category_conditions),
        ]:
            if regime not in regimes:
                raise ValueError(f"{code}: unknown regime {regime!r}")
        for group in (self.regimes, self.bases, self.special_category_conditions, self.gateways):
            codes = [item.code for item in group]
            if len(codes) != len(set(codes)):
                raise ValueError(f"codes repeat: {sorted(codes)}")
        for regime in regimes:
            if not any(b.regime == regime for b in self.bases):
                raise ValueError(f"regime {regime} has no basis")
        return self

    def regime(self, code: str) -> Regime | None:
        return next((r for r in self.regimes if r.code == code), None)

    def basis(self, code: str) -> Basis | None:
        return next((b for b in self.bases if b.code == code), None)

    def condition(self, code: str) -> SpecialCategoryCondition | None:
        return next((c for c in self.special_category_conditions if c.code == code), None)

    def gateway(self, code: str) -> Gateway | None:
        return next((g for g in self.gateways if g.code == code), None)


class GoldenRule(BaseModel):
    model_config = _FROZEN

    number: int = Field(ge=1, le=7)
    text: str


class GoldenRules(BaseModel):
    model_config = _FROZEN

    version: int = Field(ge=1)
    title: str
    source: str
    rules: tuple[GoldenRule, ...]

    @model_validator(mode="after")
    def _seven(self) -> GoldenRules:
        if [r.number for r in self.rules] != list(range(1, 8)):
            raise ValueError("golden_rules.yaml must hold rules 1 to 7 in order")
        return self


def load_lawful_bases(path: Path = LAWFUL_BASES_FILE) -> LawfulBases:
    return LawfulBases.model_validate(load_rules_file(path))


def load_golden_rules(path: Path = GOLDEN_RULES_FILE) -> GoldenRules:
    return GoldenRules.model_validate(load_rules_file(path))


@lru_cache(maxsize=1)
def lawful_bases() -> LawfulBases:
    return load_lawful_bases()


@lru_cache(maxsize=1)
def golden_rules() -> GoldenRules:
    return load_golden_rules()
