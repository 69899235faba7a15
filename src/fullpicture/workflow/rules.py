"""The workflow's rule files, with their schemas: timescales (``timescales.yaml``) and levels
of need (``levels_of_need.yaml``). A partnership points ``FULLPICTURE_TIMESCALES_FILE`` or
``FULLPICTURE_LEVELS_OF_NEED_FILE`` at its own copy."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fullpicture.core.rule_files import load_rules_file

HERE = Path(__file__).parent
_FROZEN = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Within(BaseModel):
    """How long a step may take: exactly one unit."""

    model_config = _FROZEN

    working_days: int | None = Field(default=None, ge=0)
    weeks: int | None = Field(default=None, ge=1)
    months: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_unit(self) -> Self:
        if sum(v is not None for v in (self.working_days, self.weeks, self.months)) != 1:
            raise ValueError("give exactly one of working_days, weeks, months")
        return self

    def describe(self) -> str:
        if self.working_days is not None:
            return f"{self.working_days} working day{'s' if self.working_days != 1 else ''}"
        if self.weeks is not None:
            return f"{self.weeks} weeks"
        return f"{self.months} months"


class Timescale(BaseModel):
    model_config = _FROZEN

    code: str
    label: str
    from_step: str = Field(alias="from")
    met_by: str
    within: Within
    stopped_by: tuple[str, ...] = ()
    source: str


class Timescales(BaseModel):
    model_config = _FROZEN

    version: int = Field(ge=1)
    steps: dict[str, str]
    timescales: tuple[Timescale, ...]

    @model_validator(mode="after")
    def _known_steps(self) -> Self:
        for timescale in self.timescales:
            for step in (timescale.from_step, timescale.met_by, *timescale.stopped_by):
                if step not in self.steps:
                    raise ValueError(f"timescale {timescale.code}: unknown step {step!r}")
        return self


class Level(BaseModel):
    model_config = _FROZEN

    label: str
    response: str


class LevelsOfNeed(BaseModel):
    model_config = _FROZEN

    version: int = Field(ge=1)
    levels: dict[int, Level]

    @model_validator(mode="after")
    def _one_to_four(self) -> Self:
        if sorted(self.levels) != [1, 2, 3, 4]:
            raise ValueError("levels_of_need.yaml must define levels 1 to 4")
        return self


def _file(variable: str, default: str) -> Path:
    return Path(os.environ.get(variable) or HERE / default)


def load_timescales(path: Path | None = None) -> Timescales:
    path = path or _file("FULLPICTURE_TIMESCALES_FILE", "timescales.yaml")
    return Timescales.model_validate(load_rules_file(path))


def load_levels_of_need(path: Path | None = None) -> LevelsOfNeed:
    path = path or _file("FULLPICTURE_LEVELS_OF_NEED_FILE", "levels_of_need.yaml")
    return LevelsOfNeed.model_validate(load_rules_file(path))


@lru_cache(maxsize=1)
def timescales() -> Timescales:
    return load_timescales()


@lru_cache(maxsize=1)
def levels_of_need() -> LevelsOfNeed:
    return load_levels_of_need()


class EscalationStageRule(BaseModel):
    model_config = _FROZEN

    stage: int = Field(ge=1)
    name: str
    formal: bool
    raised_with: str
    respond_within_working_days: int = Field(ge=1)


class EscalationRoute(BaseModel):
    model_config = _FROZEN

    version: int = Field(ge=1)
    name: str
    source: str
    stages: tuple[EscalationStageRule, ...]

    @model_validator(mode="after")
    def _numbered(self) -> Self:
        if [s.stage for s in self.stages] != list(range(1, len(self.stages) + 1)):
            raise ValueError("escalation stages must be numbered 1, 2, 3 … in order")
        return self

    def stage(self, number: int) -> EscalationStageRule:
        return self.stages[number - 1]

    @property
    def last(self) -> int:
        return len(self.stages)


def load_escalation_route(path: Path | None = None) -> EscalationRoute:
    path = path or _file("FULLPICTURE_ESCALATION_FILE", "escalation.yaml")
    return EscalationRoute.model_validate(load_rules_file(path))


@lru_cache(maxsize=1)
def escalation_route() -> EscalationRoute:
    return load_escalation_route()
