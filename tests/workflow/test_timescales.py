"""Due and overdue from dated steps: each statutory timescale, met, late, due, overdue, lifted."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fullpicture.workflow.rules import load_levels_of_need, load_timescales
from fullpicture.workflow.timescales import DatedStep, StepStatus, due_date, steps_due

D = dt.date


def _steps(*pairs: tuple[str, dt.date]) -> list[DatedStep]:
    return [DatedStep(id=n, kind=kind, occurred_on=day) for n, (kind, day) in enumerate(pairs, 1)]


def _by_code(clocks: list, code: str) -> list:  # type: ignore[type-arg]
    return [c for c in clocks if c.timescale == code]


def test_the_rule_files_meet_their_schemas() -> None:
    rules = load_timescales()
    assert {t.code for t in rules.timescales} >= {
        "referral_decision",
        "assessment",
        "icpc",
        "first_core_group",
        "core_group",
        "first_review_conference",
        "review_conference",
    }
    assert all(t.source for t in rules.timescales)
    assert sorted(load_levels_of_need().levels) == [1, 2, 3, 4]


def test_a_partnership_file_replaces_the_default(tmp_path: Path) -> None:
    text = Path("src/fullpicture/workflow/timescales.yaml").read_text(encoding="utf-8")
    custom = tmp_path / "ours.yaml"
    custom.write_text(text.replace("within: {working_days: 45}", "within: {working_days: 35}"))
    rules = load_timescales(custom)
    assessment = next(t for t in rules.timescales if t.code == "assessment")
    assert assessment.within.working_days == 35


def test_referral_decision_met_late_and_the_assessment_overdue() -> None:
    steps = _steps(("referral", D(2026, 12, 24)), ("referral_decision", D(2026, 12, 30)))
    clocks = steps_due(steps, today=D(2027, 3, 3))
    decision = _by_code(clocks, "referral_decision")[0]
    assert decision.due_on == D(2026, 12, 29) and decision.status is StepStatus.MET_LATE
    assessment = _by_code(clocks, "assessment")[0]
    assert assessment.status is StepStatus.OVERDUE
    # 3 working days in December, 20 in January (New Year's Day off), 20 in February, 2 in March.
    assert assessment.due_on == D(2027, 3, 2)
    assert assessment.due_on == due_date(D(2026, 12, 24), load_timescales().timescales[1].within)


def test_child_protection_clocks_in_order() -> None:
    steps = _steps(
        ("strategy_discussion", D(2026, 3, 2)),
        ("icpc", D(2026, 3, 20)),  # due Mon 23 March: met
        ("core_group", D(2026, 4, 7)),  # due 10 working days after 20 March (Easter): 7 April
        ("core_group", D(2026, 5, 26)),  # next due 6 weeks after 7 April: Tue 19 May -> late
    )
    clocks = steps_due(steps, today=D(2026, 6, 1))
    assert _by_code(clocks, "icpc")[0].due_on == D(2026, 3, 23)
    assert _by_code(clocks, "icpc")[0].status is StepStatus.MET
    first = _by_code(clocks, "first_core_group")[0]
    assert (first.due_on, first.status) == (D(2026, 4, 7), StepStatus.MET)
    repeats = _by_code(clocks, "core_group")
    assert [(c.due_on, c.status) for c in repeats] == [
        (D(2026, 5, 19), StepStatus.MET_LATE),
        (D(2026, 7, 7), StepStatus.DUE),
    ]
    review = _by_code(clocks, "first_review_conference")[0]
    # 3 months after 20 March is Sat 20 June: due on Friday 19 June.
    assert (review.due_on, review.status) == (D(2026, 6, 19), StepStatus.DUE)
    later = steps_due(steps, today=D(2026, 6, 22))
    assert _by_code(later, "first_review_conference")[0].status is StepStatus.OVERDUE


def test_the_plan_ending_lifts_what_was_not_yet_due_and_closing_lifts_the_rest() -> None:
    steps = _steps(("icpc", D(2026, 3, 20)), ("plan_ended", D(2026, 3, 27)))
    clocks = steps_due(steps, today=D(2026, 9, 1))
    assert {c.status for c in clocks} == {StepStatus.LIFTED}
    open_steps = _steps(("icpc", D(2026, 3, 20)))
    closed = steps_due(open_steps, today=D(2026, 9, 1), closed_on=D(2026, 3, 25))
    assert {c.status for c in closed} == {StepStatus.LIFTED}
    missed = steps_due(open_steps, today=D(2026, 9, 1), closed_on=D(2026, 8, 1))
    assert _by_code(missed, "first_core_group")[0].status is StepStatus.OVERDUE


@pytest.mark.parametrize(
    ("today", "status"),
    [(D(2026, 3, 9), StepStatus.DUE), (D(2026, 3, 10), StepStatus.OVERDUE)],
)
def test_due_until_the_end_of_the_due_day(today: dt.date, status: StepStatus) -> None:
    clocks = steps_due(_steps(("referral", D(2026, 3, 6))), today=today)
    assert _by_code(clocks, "referral_decision")[0].status is status
