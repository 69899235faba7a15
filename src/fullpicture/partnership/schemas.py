"""What the partnership dashboard is asked for: the day its figures are as of, and the period
they count, checked the same way for the page, the API and the CLI."""

from __future__ import annotations

import datetime as dt
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from fullpicture.core.database import utc_now

#: None of the figures can count anything before the service could hold records.
EARLIEST_DATE = dt.date(2000, 1, 1)
DATE_FORMAT_MESSAGE = "Enter the date as year-month-day, for example 2026-12-06"


class DashboardPeriod(BaseModel):
    """Figures as of ``as_of`` (drift's clocks run to that day; nothing recorded after it is
    counted), over the records dated from ``since`` (the beginning when None) to ``as_of``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    as_of: dt.date
    since: dt.date | None = None

    @field_validator("as_of", "since", mode="before")
    @classmethod
    def _a_calendar_date(cls, value: Any) -> Any:
        # Only year-month-day: pydantic would also take a number of seconds since 1970.
        if value is None or isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise ValueError(DATE_FORMAT_MESSAGE)

    @field_validator("as_of", "since")
    @classmethod
    def _in_range(cls, value: dt.date | None) -> dt.date | None:
        if value is None:
            return value
        if value > utc_now().date():
            raise ValueError("The date must be today or in the past")
        if value < EARLIEST_DATE:
            raise ValueError(f"The date must be in {EARLIEST_DATE.year} or later")
        return value

    @model_validator(mode="after")
    def _since_before_as_of(self) -> Self:
        if self.since is not None and self.since > self.as_of:
            raise ValueError("The start of the period must be on or before the 'as of' date")
        return self

    @classmethod
    def today(cls) -> DashboardPeriod:
        return cls(as_of=utc_now().date())

    def describe(self) -> str:
        """The period in words, for a page, a file name's reader or a CLI line."""
        if self.since is None:
            return f"as of {self.as_of.isoformat()}"
        return f"from {self.since.isoformat()} to {self.as_of.isoformat()}"

    def file_stem(self, figure: str) -> str:
        """An export's file name without its extension: the figure and its dates."""
        dated = f"{figure}-as-of-{self.as_of.isoformat()}"
        return dated if self.since is None else f"{dated}-since-{self.since.isoformat()}"

    def metadata(self) -> dict[str, str]:
        """Key-values a Parquet export carries, so the file says what it counts."""
        return {
            "fullpicture.as_of": self.as_of.isoformat(),
            "fullpicture.since": "" if self.since is None else self.since.isoformat(),
        }


class PeriodRefused(ValueError):
    """A period a user typed that is not one; ``problems`` are (field, message) to show."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


def period_from_text(as_of: str | None, since: str | None) -> DashboardPeriod:
    """The period typed on the page, in the API's query or on the command line (an empty
    ``as_of`` is today, an empty ``since`` the beginning); refuses what is not one."""
    raw: dict[str, Any] = {"as_of": (as_of or "").strip()[:40] or utc_now().date()}
    if since and since.strip():
        raw["since"] = since.strip()[:40]
    try:
        return DashboardPeriod.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "since"
            cause = (error.get("ctx") or {}).get("error")
            problems.append((field, str(cause) if cause is not None else error["msg"]))
        raise PeriodRefused(problems) from exc
