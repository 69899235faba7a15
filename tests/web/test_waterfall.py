"""The link waterfall chart: the prior, each comparison's move and the total, in pixel space."""

from __future__ import annotations

import pytest

from fullpicture.web.waterfall import PRIOR_LABEL, TOTAL_LABEL, waterfall

STEPS = [
    ("date_of_birth", "same date of birth", 9.2),
    ("given_name", "All other comparisons", -7.8),
    ("upn", "upn missing", 0.0),
    ("family_name", "same family name", 6.1),
]


def test_the_bars_start_at_the_prior_walk_each_step_and_end_at_the_total() -> None:
    chart = waterfall("why", STEPS, total=-1.5, line=8.0)
    assert chart is not None
    labels = [bar.label for bar in chart.bars]
    assert labels == [PRIOR_LABEL, "date of birth", "given name", "upn", "family name", TOTAL_LABEL]
    # The prior is what the steps leave unexplained: -1.5 - (9.2 - 7.8 + 0 + 6.1) = -9.0.
    assert chart.bars[0].value_text == "−9.0"
    assert [bar.kind for bar in chart.bars] == [
        "prior",
        "for",
        "against",
        "neutral",
        "for",
        "total",
    ]
    assert [bar.value_text for bar in chart.bars[1:-1]] == [
        "+9.2 for",
        "−7.8 against",
        "+0.0 neutral",
        "+6.1 for",
    ]
    # Each step's bar begins where the one before it ended (pixel space, rounded).
    prior, dob, given, upn, family, total = chart.bars
    assert prior.x == pytest.approx(prior.x)  # the prior runs from 0 leftwards
    assert prior.x + prior.width == pytest.approx(chart.zero_x, abs=0.2)
    assert dob.x == pytest.approx(prior.x, abs=0.2)
    assert given.x + given.width == pytest.approx(dob.x + dob.width, abs=0.2)
    assert upn.width == 1.5  # nothing added: a hairline, not an empty row
    assert family.x == pytest.approx(given.x, abs=0.2)
    assert total.x + total.width == pytest.approx(chart.zero_x, abs=0.2)  # under zero
    assert chart.line_x is not None and chart.line_x > chart.zero_x
    assert chart.line_text == "link line 8"
    # The words carry what the colours show, level by level, and where the total stands.
    assert "given name −7.8 (different given names)" in chart.description
    assert "upn +0.0 (UPN not recorded on one record or both)" in chart.description
    assert chart.description.endswith("ends at a match weight of −1.5, under the link line 8.")
    assert "different given names" in given.title and "against" in given.title


def test_a_pair_over_the_line_says_so_and_nothing_to_draw_is_none() -> None:
    chart = waterfall("why", STEPS[:1], total=12.0, line=8.0)
    assert chart is not None
    assert chart.description.endswith(
        "ends at a match weight of +12.0, at or over the link line 8."
    )
    assert chart.bars[0].value_text == "+2.8"
    assert waterfall("why", [], total=12.0, line=8.0) is None
    unlined = waterfall("why", STEPS[:1], total=12.0, line=None)
    assert unlined is not None and unlined.line_x is None and "link line" not in unlined.description


def test_every_bar_fits_the_plot() -> None:
    chart = waterfall("why", STEPS, total=30.0, line=8.0)
    assert chart is not None
    for bar in chart.bars:
        assert chart.plot_left <= bar.x and bar.x + bar.width <= chart.width - 100
        assert bar.y + 22 <= chart.plot_bottom
