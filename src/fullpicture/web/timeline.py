"""The child's timeline as server-rendered SVG: one lane per agency, the cumulative-harm score
over it, alert markers. No script, no colour-only meaning: agencies are named lanes, severity
is the marker's size and a number in its tooltip, alerts are labelled triangles, and the score
is a line with its scale; the page gives the same facts as a table beside it."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from fullpicture.chronology.repository import EntryFacts

LANE_HEIGHT = 34
LABEL_WIDTH = 150
PLOT_WIDTH = 760
SCORE_HEIGHT = 110
TOP = 28
AXIS = 34
#: A lane with more entries than this draws one marker per month and kind of entry (its
#: tooltip counting them): 2,000 markers each with its own tooltip were a third of the page's
#: bytes and no more readable than a month's count at 760 pixels for years of record.
MARKERS_PER_LANE = 150
#: strftime's %B for each month, looked up once: ``calendar.month_name`` calls strftime on
#: every lookup, and a long record's timeline names hundreds of months.
MONTH_NAMES = tuple(calendar.month_name)


# Not frozen: a frozen dataclass sets each field through object.__setattr__, twice the time to
# build, and a long record's timeline builds hundreds of markers per page.
@dataclass(slots=True)
class Marker:
    x: float
    y: float
    radius: float
    title: str
    kind: str  # concern, strength, process


@dataclass(frozen=True)
class AlertMark:
    x: float
    label: str
    title: str


@dataclass(frozen=True)
class Lane:
    label: str
    y: float
    markers: list[Marker]

    @property
    def markers_svg(self) -> Markup:
        """The markers as SVG elements, one a line, as ``timeline.svg.html`` draws them: in
        one pass here, since a long record's hundreds of markers drawn one by one in the
        template were a fifth of the page's rendering."""
        parts = []
        for m in self.markers:
            title = escape(m.title)
            if m.kind == "strength":
                parts.append(
                    f'        <rect class="fp-tl-strength" x="{m.x - m.radius}" '
                    f'y="{m.y - m.radius}" width="{m.radius * 2}" height="{m.radius * 2}">'
                    f"<title>Strength. {title}</title></rect>\n"
                )
            elif m.kind == "process":
                parts.append(
                    f'        <circle class="fp-tl-process" cx="{m.x}" cy="{m.y}" r="4">'
                    f"<title>Process. {title}</title></circle>\n"
                )
            else:
                parts.append(
                    f'        <circle class="fp-tl-concern" cx="{m.x}" cy="{m.y}" '
                    f'r="{m.radius}"><title>Concern. {title}</title></circle>\n'
                )
        return Markup("".join(parts))


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Timeline:
    """Everything the SVG template draws, already in pixel space."""

    width: int
    height: int
    plot_left: int
    plot_right: int
    lanes: list[Lane]
    ticks: list[Tick]
    score_path: str
    score_top: float
    score_bottom: float
    score_max: float
    score_label_y: float
    alerts: list[AlertMark]
    first: dt.date
    last: dt.date
    description: str


def _date_ticks(first: dt.date, last: dt.date) -> list[dt.date]:
    years = list(range(first.year, last.year + 2))
    if len(years) <= 8:
        return [dt.date(y, 1, 1) for y in years if first <= dt.date(y, 1, 1) <= last] or [first]
    step = max(1, len(years) // 8)
    return [dt.date(y, 1, 1) for y in years[::step] if first <= dt.date(y, 1, 1) <= last]


def _radius(severity: int | None) -> float:
    return 3 + (severity or 0) * 1.2


def _monthly_markers(
    entries: Sequence[EntryFacts], y: float, x_of: Callable[[dt.date], float]
) -> list[Marker]:
    """One marker for each month and kind of entry: at the month's first entry, as large as
    its highest severity, its tooltip counting the entries by concern code."""
    # One pass over a lane's entries (a long record has thousands): per month and kind, the
    # first date, the count of each code and the highest severity, kept in a list changed in
    # place (a new tuple per entry, and a strftime per marker, were most of the timeline's
    # time: docs/benchmarks.md).
    months: dict[tuple[int, int, str], list[Any]] = {}
    for entry in entries:
        day = entry.event_date
        key = (day.year, day.month, entry.code_kind)
        found = months.get(key)
        if found is None:
            months[key] = [day, {entry.concern_code: 1}, entry.severity]
            continue
        codes = found[1]
        code = entry.concern_code
        codes[code] = codes.get(code, 0) + 1
        severity = entry.severity
        if severity is not None and (found[2] is None or severity > found[2]):
            found[2] = severity
        if day < found[0]:
            found[0] = day
    markers = []
    for (year, month, kind), (first, codes, highest) in sorted(months.items()):
        count = sum(codes.values())
        # Most entries first; a tie in the order first met, as Counter.most_common gives.
        ranked = sorted(codes.items(), key=_most_first) if len(codes) > 1 else codes.items()
        markers.append(
            Marker(
                x=x_of(first),
                y=y,
                radius=_radius(highest),
                title=(
                    f"{MONTH_NAMES[month]} {year}: {count} "
                    f"{'entry' if count == 1 else 'entries'} ("
                    + ", ".join([f"{code} {n}" for code, n in ranked])
                    + f"), highest severity {highest if highest is not None else 'not set'}"
                ),
                kind=kind,
            )
        )
    return markers


def _most_first(item: tuple[str, int]) -> int:
    return -item[1]


def build_timeline(
    *,
    entries: Sequence[EntryFacts],
    score_by_day: Sequence[tuple[dt.date, float]],
    alerts: Sequence[tuple[dt.date, str]],
) -> Timeline | None:
    """Lay out the timeline, or None when there is nothing to draw."""
    days = [e.event_date for e in entries] + [d for d, _ in score_by_day] + [d for d, _ in alerts]
    if not days:
        return None
    first, last = min(days), max(days)
    if first == last:
        first -= dt.timedelta(days=30)
        last += dt.timedelta(days=30)
    span = (last - first).days
    plot_left, plot_right = LABEL_WIDTH, LABEL_WIDTH + PLOT_WIDTH

    first_day = first.toordinal()

    def x_of(day: dt.date) -> float:
        # The same arithmetic as (day - first).days, without a timedelta for each of
        # thousands of entries and score days.
        return round(plot_left + (day.toordinal() - first_day) / span * PLOT_WIDTH, 1)

    by_agency: dict[str, list[EntryFacts]] = {}
    for entry in entries:
        by_agency.setdefault(entry.agency_name, []).append(entry)
    agencies = sorted(by_agency)
    lanes = []
    grouped = False
    for index, agency in enumerate(agencies):
        y = TOP + index * LANE_HEIGHT + LANE_HEIGHT / 2
        own = by_agency[agency]
        if len(own) > MARKERS_PER_LANE:
            grouped = True
            markers = _monthly_markers(own, y, x_of)
        else:
            markers = [
                Marker(
                    x=x_of(e.event_date),
                    y=y,
                    radius=_radius(e.severity),
                    title=(
                        f"{e.date_label}: {e.concern_code} ({e.category}), severity "
                        f"{e.severity if e.severity is not None else 'not set'}, "
                        f"{e.information_type}"
                    ),
                    kind=e.code_kind,
                )
                for e in own
            ]
        lanes.append(Lane(label=agency, y=y, markers=markers))
    score_top = TOP + len(agencies) * LANE_HEIGHT + 20
    score_bottom = score_top + SCORE_HEIGHT
    score_max = max((s for _d, s in score_by_day), default=0.0) or 1.0
    # x_of written out: a long record's score has a point for each of a thousand days.
    path = " ".join(
        [
            f"L{round(plot_left + (day.toordinal() - first_day) / span * PLOT_WIDTH, 1)},"
            f"{round(score_bottom - score / score_max * SCORE_HEIGHT, 1)}"
            for day, score in score_by_day
        ]
    )
    if path:
        path = "M" + path[1:]
    height = int(score_bottom + AXIS)
    alert_marks = [
        AlertMark(x=x_of(day), label=str(n), title=f"Alert {n}, raised {day:%d %b %Y}: {reason}")
        for n, (day, reason) in enumerate(sorted(alerts), start=1)
    ]
    description = (
        f"{len(entries)} entries from {len(agencies)} "
        f"{'agency' if len(agencies) == 1 else 'agencies'} between {first:%d %b %Y} and "
        f"{last:%d %b %Y}; cumulative-harm score peaks at {score_max:.1f}; "
        f"{len(alert_marks)} {'alert' if len(alert_marks) == 1 else 'alerts'} raised."
        + (
            f" Agencies with more than {MARKERS_PER_LANE} entries are drawn as one marker a "
            "month for each kind of entry, its tooltip counting them."
            if grouped
            else ""
        )
    )
    return Timeline(
        width=plot_right + 20,
        height=height,
        plot_left=plot_left,
        plot_right=plot_right,
        lanes=lanes,
        ticks=[Tick(x=x_of(d), label=str(d.year)) for d in _date_ticks(first, last)],
        score_path=path,
        score_top=score_top,
        score_bottom=score_bottom,
        score_max=round(score_max, 1),
        score_label_y=score_top - 6,
        alerts=alert_marks,
        first=first,
        last=last,
        description=description,
    )
