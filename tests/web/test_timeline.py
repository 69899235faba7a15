"""The timeline's layout: a long lane is drawn a month at a time, counting every entry."""

from __future__ import annotations

import datetime as dt
import re

from fullpicture.chronology.models import DatePrecision
from fullpicture.chronology.repository import ChronologyEntry
from fullpicture.web.timeline import MARKERS_PER_LANE, build_timeline


def _entry(n: int, agency: str, day: dt.date, severity: int | None) -> ChronologyEntry:
    return ChronologyEntry(
        event_id=n,
        agency_code=agency,
        agency_name=agency.upper(),
        agency_kind="gp",
        event_ref=f"e{n}",
        version=1,
        event_date=day,
        date_precision=DatePrecision.DAY,
        date_label=day.isoformat(),
        date_recorded=None,
        concern_code="WNB" if n % 3 else "NEG-BAS",
        code_kind="concern",
        category="test",
        severity=severity,
        severity_source="practitioner" if severity else "none",
        information_type="fact",
        summary="Entry",
        impact_on_child=None,
        action_taken=None,
        about_person_id=1,
        about="child",
        participant_role="subject",
    )


def test_a_long_lane_draws_a_marker_a_month_and_a_short_one_every_entry() -> None:
    start = dt.date(2020, 1, 1)
    busy = [
        _entry(n, "gp", start + dt.timedelta(days=n * 3), severity=n % 5 + 1 if n % 2 else None)
        for n in range(MARKERS_PER_LANE + 50)
    ]
    quiet = [_entry(1000 + n, "school", start + dt.timedelta(days=n * 40), 2) for n in range(12)]
    timeline = build_timeline(entries=busy + quiet, score_by_day=[], alerts=[])
    assert timeline is not None
    gp, school = timeline.lanes
    assert len(school.markers) == 12
    months = {e.event_date.replace(day=1) for e in busy}
    assert len(gp.markers) == len(months) < len(busy)
    counted = sum(int(re.search(r": (\d+) entr", m.title).group(1)) for m in gp.markers)  # type: ignore[union-attr]
    assert counted == len(busy)
    # Each month's marker is as large as its most severe entry.
    first_month = [e for e in busy if e.event_date.replace(day=1) == min(months)]
    highest = max(e.severity for e in first_month if e.severity is not None)
    assert gp.markers[0].radius == 3 + highest * 1.2
    assert "one marker a month" in timeline.description


def test_a_months_marker_counts_its_codes_most_first_and_sits_at_its_first_entry() -> None:
    """Pinned to what the timeline drew when it grouped with ``Counter``: codes with as many
    entries each in the order first met, the marker at the month's earliest entry whatever
    the order entries come in, a kind of entry a marker of its own, and no severity 'not set'."""
    start = dt.date(2020, 1, 1)
    busy = [
        _entry(n, "gp", start + dt.timedelta(days=n * 3), severity=2)
        for n in range(MARKERS_PER_LANE + 1)
    ]
    june = [
        (dt.date(2019, 6, 20), "WNB", None, "concern"),
        (dt.date(2019, 6, 5), "NEG-BAS", 2, "concern"),
        (dt.date(2019, 6, 12), "WNB", 4, "concern"),
        (dt.date(2019, 6, 8), "NEG-BAS", None, "concern"),
        (dt.date(2019, 6, 9), "STR-ATT", None, "strength"),
    ]
    extra = [
        _entry(5000 + n, "gp", day, severity).model_copy(
            update={"concern_code": code, "code_kind": kind}
        )
        for n, (day, code, severity, kind) in enumerate(june)
    ]
    timeline = build_timeline(entries=extra + busy, score_by_day=[], alerts=[])
    assert timeline is not None
    [gp] = timeline.lanes
    concern, strength = gp.markers[:2]
    assert concern.title == "June 2019: 4 entries (WNB 2, NEG-BAS 2), highest severity 4"
    assert concern.kind == "concern" and concern.radius == 3 + 4 * 1.2
    assert concern.x == timeline.plot_left  # 5 June, the first day drawn
    assert strength.title == "June 2019: 1 entry (STR-ATT 1), highest severity not set"
    assert strength.kind == "strength" and strength.x > concern.x
