"""The concern taxonomy, loaded from its versioned data file (``concern_taxonomy.yaml``)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from fullpicture.core.rule_files import load_rules_text

TAXONOMY_FILE = Path(__file__).with_name("concern_taxonomy.yaml")


class CodeKind(enum.StrEnum):
    CONCERN = "concern"
    STRENGTH = "strength"
    PROCESS = "process"


class ConcernCode(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[A-Z]{2,4}(-[A-Z]{2,4})?$")
    kind: CodeKind
    category: str
    description: str
    default_severity: int = Field(ge=0, le=5)
    severity_if: dict[str, int] = Field(default_factory=dict)

    @field_validator("severity_if")
    @classmethod
    def _severities_in_scale(cls, value: dict[str, int]) -> dict[str, int]:
        for condition, severity in value.items():
            if not 1 <= severity <= 5:
                raise ValueError(f"severity for {condition!r} must be 1-5, got {severity}")
        return value


class Taxonomy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    severity_scale: dict[int, str]
    codes: tuple[ConcernCode, ...]
    _by_code: dict[str, ConcernCode] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: object, /) -> None:
        self._by_code = {c.code: c for c in self.codes}

    @field_validator("codes")
    @classmethod
    def _codes_unique(cls, value: tuple[ConcernCode, ...]) -> tuple[ConcernCode, ...]:
        seen: set[str] = set()
        for item in value:
            if item.code in seen:
                raise ValueError(f"concern code {item.code} is listed twice")
            seen.add(item.code)
        return value

    def get(self, code: str) -> ConcernCode | None:
        return self._by_code.get(code)

    @property
    def by_code(self) -> Mapping[str, ConcernCode]:
        """Every code by its name: for loops over thousands of entries, where each ``get``
        reaching the private mapping through pydantic's attribute lookup added up."""
        return self._by_code

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._by_code

    def codes_of_kind(self, kind: CodeKind) -> list[ConcernCode]:
        return [c for c in self.codes if c.kind is kind]


def load_taxonomy(path: Path = TAXONOMY_FILE) -> Taxonomy:
    """Read and validate a taxonomy file; raises ``ValueError`` naming what is wrong."""
    with path.open(encoding="utf-8") as handle:
        raw = load_rules_text(handle)
    return Taxonomy.model_validate(raw)


@lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    return load_taxonomy()
