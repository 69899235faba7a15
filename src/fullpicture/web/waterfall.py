"""The link explanation drawn as a waterfall, laid out on the server as SVG.

A pair of records starts at the prior (how likely two records picked at random are one
person), each comparison moves the match weight up or down, and the total is what linkage
decided on. The table under the chart says the same in words (what each field showed), so the
chart is a picture of it: every bar carries its signed weight and "for" or "against" as text,
which reads the same in print, in forced colours and without colour (WCAG 1.4.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fullpicture.linkage.comparisons import level_in_words

LABEL_WIDTH = 170
PLOT_WIDTH = 380
VALUE_WIDTH = 110
ROW_HEIGHT = 26
TOP = 8
AXIS_HEIGHT = 26
PRIOR_LABEL = "Two records at random"
TOTAL_LABEL = "Match weight"


@dataclass(frozen=True)
class WaterfallBar:
    label: str
    #: What the bar is, in words, for its SVG <title>: the level reached, or the prior.
    title: str
    kind: str  # prior, for, against, neutral, total
    y: int
    x: float
    width: float
    value_text: str
    value_x: float


@dataclass(frozen=True)
class Waterfall:
    name: str
    description: str
    bars: tuple[WaterfallBar, ...]
    zero_x: float
    line_x: float | None
    line_text: str
    width: int = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    plot_left: int = LABEL_WIDTH

    @property
    def plot_bottom(self) -> int:
        return TOP + len(self.bars) * ROW_HEIGHT

    @property
    def height(self) -> int:
        return self.plot_bottom + AXIS_HEIGHT


def _signed(weight: float) -> str:
    return f"{weight:+.1f}".replace("-", "−")


def _leaning(weight: float) -> str:
    return "for" if weight > 0 else ("against" if weight < 0 else "neutral")


def waterfall(
    name: str,
    steps: Sequence[tuple[str, str, float]],
    *,
    total: float,
    line: float | None,
) -> Waterfall | None:
    """The chart for ``steps`` (comparison, level reached, weight added), in the order given,
    ending at ``total``; the prior is what the steps leave unexplained of the total, since a
    stored link keeps its comparisons and total but not the model's prior. ``line`` is the
    match weight linkage links from, drawn as a dashed line. None when there are no steps (a
    record linked alone or by hand has nothing to draw)."""
    if not steps:
        return None
    prior = total - sum(weight for _, _, weight in steps)
    running = [prior]
    for _, _, weight in steps:
        running.append(running[-1] + weight)
    values = [0.0, *running, *([line] if line is not None else [])]
    low, high = min(values), max(values)
    span = (high - low) or 1.0

    def x(value: float) -> float:
        return round(LABEL_WIDTH + 4 + (PLOT_WIDTH - 8) * (value - low) / span, 1)

    def bar(
        index: int, label: str, title: str, kind: str, start: float, end: float, text: str
    ) -> WaterfallBar:
        left, right = sorted((x(start), x(end)))
        # A step that adds nothing still shows as a hairline, so the row is not empty.
        width = max(right - left, 1.5)
        return WaterfallBar(
            label=label,
            title=title,
            kind=kind,
            y=TOP + index * ROW_HEIGHT,
            x=left,
            width=round(width, 1),
            value_text=text,
            value_x=round(left + width + 6, 1),
        )

    bars = [
        bar(
            0,
            PRIOR_LABEL,
            "Where every pair starts: how likely two records picked at random are one person",
            "prior",
            0.0,
            prior,
            _signed(prior),
        )
    ]
    moves = []
    for index, (comparison, level, weight) in enumerate(steps, start=1):
        field, words = comparison.replace("_", " "), level_in_words(comparison, level)
        moves.append(f"{field} {_signed(weight)} ({words})")
        bars.append(
            bar(
                index,
                field,
                f"{field}: {words}, {_signed(weight)} {_leaning(weight)}",
                _leaning(weight),
                running[index - 1],
                running[index],
                f"{_signed(weight)} {_leaning(weight)}",
            )
        )
    bars.append(
        bar(
            len(steps) + 1,
            TOTAL_LABEL,
            f"The pair's match weight, {_signed(total)}",
            "total",
            0.0,
            total,
            _signed(total),
        )
    )
    where = ""
    if line is not None:
        where = f", {'at or over' if total >= line else 'under'} the link line {line:g}"
    description = (
        f"Starts at {_signed(prior)} for two records picked at random; {'; '.join(moves)}; "
        f"ends at a match weight of {_signed(total)}{where}."
    )
    return Waterfall(
        name=name,
        description=description,
        bars=tuple(bars),
        zero_x=x(0.0),
        line_x=None if line is None else x(line),
        line_text="" if line is None else f"link line {line:g}",
    )
