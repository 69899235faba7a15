"""Input boundary for agencies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from fullpicture.agencies.models import AgencyKind


class AgencyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str = Field(min_length=1, max_length=200)
    kind: AgencyKind


class AgencyRead(AgencyCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int
