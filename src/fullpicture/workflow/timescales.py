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

import polars as pl

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


#: Columns ``clock_statuses`` reads: each case's dated steps, and whether it closed.
STEP_COLUMNS = {"case_id": pl.Int64, "id": pl.Int64, "kind": pl.String, "occurred_on": pl.Date}
CASE_COLUMNS = {"case_id": pl.Int64, "closed_on": pl.Date}


def clock_statuses(
    steps: pl.DataFrame,
    cases: pl.DataFrame,
    *,
    today: dt.date,
    rules: Timescales | None = None,
) -> pl.DataFrame:
    """``steps_due`` for many cases at once, as columns: (case_id, timescale, started_by,
    due_on, status) for every clock, the same statuses ``steps_due`` gives case by case.

    A clock's ``met`` and ``stopped`` steps are the first of their kind after it started in
    (day, id) order; only their day matters, which is the least day among the later ones.
    """
    rules = rules or timescales()
    steps = steps.select([pl.col(c).cast(t) for c, t in STEP_COLUMNS.items()])
    cases = cases.select([pl.col(c).cast(t) for c, t in CASE_COLUMNS.items()])
    frames: list[pl.DataFrame] = []
    for timescale in rules.timescales:
        starts = steps.filter(pl.col("kind") == timescale.from_step).select(
            "case_id", pl.col("id").alias("started_by"), pl.col("occurred_on").alias("started_on")
        )
        # Working-day arithmetic stays in Python, once per distinct start day.
        days = starts["started_on"].unique().to_list()
        due = pl.DataFrame(
            {"started_on": days, "due_on": [due_date(day, timescale.within) for day in days]},
            schema={"started_on": pl.Date, "due_on": pl.Date},
        )

        def first_later(
            kinds: list[str], alias: str, starts: pl.DataFrame = starts
        ) -> pl.DataFrame:
            later = starts.join(steps.filter(pl.col("kind").is_in(kinds)), on="case_id").filter(
                (pl.col("occurred_on") > pl.col("started_on"))
                | (
                    (pl.col("occurred_on") == pl.col("started_on"))
                    & (pl.col("id") > pl.col("started_by"))
                )
            )
            return later.group_by("started_by").agg(pl.col("occurred_on").min().alias(alias))

        clocks = (
            starts.join(due, on="started_on", how="left")
            .join(first_later([timescale.met_by], "met_on"), on="started_by", how="left")
            .join(first_later(list(timescale.stopped_by), "stop_on"), on="started_by", how="left")
            .join(cases, on="case_id", how="left")
            .with_columns(
                pl.when(
                    pl.col("closed_on").is_not_null()
                    & (pl.col("stop_on").is_null() | (pl.col("closed_on") < pl.col("stop_on")))
                )
                .then(pl.col("closed_on"))
                .otherwise(pl.col("stop_on"))
                .alias("stop_on")
            )
        )
        met = pl.col("met_on").is_not_null() & (
            pl.col("stop_on").is_null() | (pl.col("met_on") <= pl.col("stop_on"))
        )
        status = (
            pl.when(met & (pl.col("met_on") <= pl.col("due_on")))
            .then(pl.lit(StepStatus.MET.value))
            .when(met)
            .then(pl.lit(StepStatus.MET_LATE.value))
            .when(pl.col("stop_on").is_not_null() & (pl.col("stop_on") <= pl.col("due_on")))
            .then(pl.lit(StepStatus.LIFTED.value))
            .when(pl.lit(today) > pl.col("due_on"))
            .then(pl.lit(StepStatus.OVERDUE.value))
            .otherwise(pl.lit(StepStatus.DUE.value))
        )
        frames.append(
            clocks.select(
                "case_id",
                pl.lit(timescale.code).alias("timescale"),
                "started_by",
                "due_on",
                status.alias("status"),
            )
        )
    schema = {
        "case_id": pl.Int64,
        "timescale": pl.String,
        "started_by": pl.Int64,
        "due_on": pl.Date,
        "status": pl.String,
    }
    return pl.concat([f.cast(schema) for f in frames]) if frames else pl.DataFrame(schema=schema)  # type: ignore[arg-type]
