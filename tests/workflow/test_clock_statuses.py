"""The statutory clocks as columns (``clock_statuses``, what the partnership dashboard counts
drift with) agree with ``steps_due`` case by case, for any steps, closing day and today."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from fullpicture.workflow.rules import timescales
from fullpicture.workflow.timescales import DatedStep, clock_statuses, steps_due

KINDS = sorted(timescales().steps)
START = dt.date(2025, 12, 1)

step_days = st.integers(min_value=0, max_value=300)
a_case = st.tuples(
    st.lists(st.tuples(st.sampled_from(KINDS), step_days), max_size=12),
    st.one_of(st.none(), step_days),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(a_case, min_size=1, max_size=6), st.integers(min_value=0, max_value=400))
def test_columns_agree_with_case_by_case(
    cases: list[tuple[list[tuple[str, int]], int | None]], today_offset: int
) -> None:
    today = START + dt.timedelta(days=today_offset)
    step_rows: list[dict[str, object]] = []
    expected: set[tuple[int, str, int, dt.date, str]] = set()
    next_id = 1
    for case_id, (steps, closed) in enumerate(cases, start=1):
        dated = []
        # Ids out of day order too: the clocks order by (day, id), never by id alone.
        for kind, day in reversed(steps):
            dated.append(DatedStep(id=next_id, kind=kind, occurred_on=START + dt.timedelta(day)))
            step_rows.append(
                {
                    "case_id": case_id,
                    "id": next_id,
                    "kind": kind,
                    "occurred_on": START + dt.timedelta(day),
                }
            )
            next_id += 1
        closed_on = None if closed is None else START + dt.timedelta(closed)
        for clock in steps_due(dated, today=today, closed_on=closed_on):
            expected.add(
                (case_id, clock.timescale, clock.started_by, clock.due_on, clock.status.value)
            )
    frame = clock_statuses(
        pl.DataFrame(
            step_rows,
            schema={"case_id": pl.Int64, "id": pl.Int64, "kind": pl.String, "occurred_on": pl.Date},
        ),
        pl.DataFrame(
            {
                "case_id": list(range(1, len(cases) + 1)),
                "closed_on": [None if c is None else START + dt.timedelta(c) for _, c in cases],
            },
            schema={"case_id": pl.Int64, "closed_on": pl.Date},
        ),
        today=today,
    )
    assert set(frame.iter_rows()) == expected
    assert frame.height == len(expected)
