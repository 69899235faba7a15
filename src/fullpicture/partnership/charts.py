"""Print-readable bar charts of the dashboard figures, laid out on the server as SVG.

Each bar carries its label and its value as text beside it, so the chart means the same in
black and white, in print and in forced colours (WCAG 1.4.1: no meaning by colour alone).
The charts summarise the figure's table, which the page shows in full under it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

LABEL_WIDTH = 260
PLOT_WIDTH = 360
VALUE_WIDTH = 150
ROW_HEIGHT = 26
TOP = 8
#: A chart shows at most this many bars (the largest); the table beside it has every row.
MAX_BARS = 20


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    value_text: str
    y: int
    width: float


@dataclass(frozen=True)
class BarChart:
    name: str
    title: str
    description: str
    bars: tuple[Bar, ...]
    width: int = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    plot_left: int = LABEL_WIDTH

    @property
    def height(self) -> int:
        return TOP * 2 + max(len(self.bars), 1) * ROW_HEIGHT


def bar_chart(
    name: str, title: str, items: Sequence[tuple[str, float, str]], unit: str
) -> BarChart:
    """Bars for ``(label, value, value_text)``, largest first, scaled to the largest value."""
    shown = sorted(items, key=lambda item: (-item[1], item[0]))[:MAX_BARS]
    largest = max((value for _, value, _ in shown), default=0.0)
    bars = tuple(
        Bar(
            label=label,
            value=value,
            value_text=value_text,
            y=TOP + index * ROW_HEIGHT,
            width=(PLOT_WIDTH - 8) * value / largest if largest > 0 else 0.0,
        )
        for index, (label, value, value_text) in enumerate(shown)
    )
    if bars:
        described = "; ".join(f"{bar.label}: {bar.value_text}" for bar in bars)
        description = f"{title}, in {unit}. {described}."
        if len(items) > len(shown):
            description += f" The {len(shown)} largest of {len(items)} are shown."
    else:
        description = f"{title}: nothing recorded yet."
    return BarChart(name=name, title=title, description=description, bars=bars)


def _referral_quality(frame: pl.DataFrame) -> BarChart:
    # Over every month and agency: the share of referrals with each element present.
    totals = frame.group_by("element").agg(pl.col("referrals").sum(), pl.col("present").sum())
    items = [
        (
            str(row["element"]),
            row["present"] / row["referrals"],
            f"{row['present'] / row['referrals']:.0%} present ({row['present']} of {row['referrals']})",
        )
        for row in totals.iter_rows(named=True)
        if row["referrals"]
    ]
    return bar_chart(
        "referral_quality", "Referral elements present at submission", items, "share present"
    )


def _sharing_latency(frame: pl.DataFrame) -> BarChart:
    items = [
        (
            f"{row['from_agency']} to {row['to_agency']}",
            float(row["median_days"] or 0),
            f"median {row['median_days']:g} days, {row['never_shared']} never shared"
            if row["median_days"] is not None
            else f"none received, {row['never_shared']} never shared",
        )
        for row in frame.iter_rows(named=True)
    ]
    return bar_chart("sharing_latency", "Median days to share a significant entry", items, "days")


def _counts(
    name: str, title: str, label: Callable[[dict[str, object]], str], count: str
) -> Callable[[pl.DataFrame], BarChart]:
    def chart(frame: pl.DataFrame) -> BarChart:
        items = [
            (label(row), float(row[count]), f"{row[count]} {count.replace('_', ' ')}")
            for row in frame.iter_rows(named=True)
        ]
        return bar_chart(name, title, items, count.replace("_", " "))

    return chart


CHARTS: dict[str, Callable[[pl.DataFrame], BarChart]] = {
    "referral_quality": _referral_quality,
    "sharing_latency": _sharing_latency,
    "drift": _counts(
        "drift",
        "Open cases drifting, by finding",
        lambda row: f"{str(row['finding']).replace('_', ' ')} ({row['kind']})",
        "cases",
    ),
    "escalations": _counts(
        "escalations",
        "Escalations by current stage and status",
        lambda row: f"stage {row['stage']}, {row['status']}",
        "escalations",
    ),
    "alert_outcomes": _counts(
        "alert_outcomes",
        "Alerts by status and outcome",
        lambda row: f"{row['status']}, {row['outcome'] or 'no outcome yet'}",
        "alerts",
    ),
}


def chart_of(name: str, frame: pl.DataFrame) -> BarChart:
    return CHARTS[name](frame)
