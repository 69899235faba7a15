"""Due and overdue, computed from a case's dated steps and the timescales file; never stored.

For each timescale, every step of its ``from`` kind starts a clock; the first later step of
its ``met_by`` kind stops it (for a repeating timescale such as core groups every 6 weeks, the
next one); a ``stopped_by`` step (the plan ended) or the case closing on or before the due day
lifts the duty (after it, the step stays overdue: it was missed). A deadline in working days counts England and Wales working days; one in weeks or months
is a calendar deadline, brought back to the last working day on or before it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from fullpicture.workflow.rules import Timescale, Timescales, Within, timescales
from fullpicture.workflow.working_days import (
    add_months,
    add_working_days,
    last_working_day_on_or_before,
)


class StepStatus(enum.StrEnum):
    MET = "met"
    MET_LATE = "met_late"
    DUE = "due"
    OVERDUE = "overdue"
    LIFTED = "lifted"


@dataclass(frozen=True)
class DatedStep:
    """A recorded step as the computation needs it."""

    id: int
    kind: str
    occurred_on: dt.date


@dataclass(frozen=True)
class StepDue:
    """One clock: which step started it, when it was due, and what became of it."""

    timescale: str
    label: str
    within: str
    started_by: int
    started_on: dt.date
    due_on: dt.date
    met_by: int | None
    met_on: dt.date | None
    status: StepStatus
    source: str


def due_date(start: dt.date, within: Within) -> dt.date:
    if within.working_days is not None:
        return add_working_days(start, within.working_days)
    if within.weeks is not None:
        return last_working_day_on_or_before(start + dt.timedelta(weeks=within.weeks))
    assert within.months is not None
    return last_working_day_on_or_before(add_months(start, within.months))


def _order(step: DatedStep) -> tuple[dt.date, int]:
    return (step.occurred_on, step.id)


def steps_due(
    steps: Sequence[DatedStep],
    *,
    today: dt.date,
    closed_on: dt.date | None = None,
    rules: Timescales | None = None,
) -> list[StepDue]:
    """Every clock the steps start, in order of due date."""
    rules = rules or timescales()
    ordered = sorted(steps, key=_order)
    clocks: list[StepDue] = []
    for timescale in rules.timescales:
        for start in (s for s in ordered if s.kind == timescale.from_step):
            clocks.append(_clock(timescale, start, ordered, today=today, closed_on=closed_on))
    clocks.sort(key=lambda c: (c.due_on, c.timescale, c.started_by))
    return clocks


def _clock(
    timescale: Timescale,
    start: DatedStep,
    ordered: Sequence[DatedStep],
    *,
    today: dt.date,
    closed_on: dt.date | None,
) -> StepDue:
    due = due_date(start.occurred_on, timescale.within)
    later = [s for s in ordered if _order(s) > _order(start)]
    met = next((s for s in later if s.kind == timescale.met_by), None)
    stop = next((s for s in later if s.kind in timescale.stopped_by), None)
    stop_on = stop.occurred_on if stop is not None else None
    if closed_on is not None and (stop_on is None or closed_on < stop_on):
        stop_on = closed_on
    if met is not None and (stop_on is None or met.occurred_on <= stop_on):
        status = StepStatus.MET if met.occurred_on <= due else StepStatus.MET_LATE
    elif stop_on is not None and stop_on <= due:
        status, met = StepStatus.LIFTED, None
    else:
        status, met = (StepStatus.OVERDUE if today > due else StepStatus.DUE), None
    return StepDue(
        timescale=timescale.code,
        label=timescale.label,
        within=timescale.within.describe(),
        started_by=start.id,
        started_on=start.occurred_on,
        due_on=due,
        met_by=met.id if met is not None else None,
        met_on=met.occurred_on if met is not None else None,
        status=status,
        source=timescale.source,
    )
