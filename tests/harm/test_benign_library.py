"""Ordinary childhoods stay quiet: the benign library replayed through ``fullpicture replay``.

Issue 18: at most 2 % of ordinary histories may alert, on the dev part (read while tuning) and
on the test part (never tuned on) alike; a failure names each history that alerted and why.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fullpicture.cli.main import app
from fullpicture.harm.false_alarms import (
    BENIGN_LIBRARY,
    PARTS,
    TEST_SHARE,
    false_alarm_rate,
    library_files,
    part_for,
)

MAX_FALSE_ALARM_RATE = 0.02
TODAY = dt.date(2026, 12, 6)  # the library's histories end by 2026-11-30


def test_the_library_is_split_by_the_seeded_draw_and_big_enough() -> None:
    files = {part: library_files(part) for part in PARTS}
    total = sum(len(f) for f in files.values())
    assert total >= 200
    for part, paths in files.items():
        assert all(part_for(p.name) == part for p in paths), part
    assert len(files["test"]) >= total / 3
    assert 0.33 <= TEST_SHARE < 0.5
    ages = set()
    agencies = set()
    for path in files["dev"] + files["test"]:
        raw = json.loads(path.read_text(encoding="utf-8"))
        born = dt.date.fromisoformat(raw["child"]["date_of_birth"])
        last = max(dt.date.fromisoformat(e["date"]) for e in raw["events"])
        ages.add(max(0, (last - born).days // 365))
        agencies |= {e["agency"] for e in raw["events"]}
        assert raw["outcome"] is None
    assert set(range(0, 18)) <= ages
    assert {"school", "gp", "hospital", "police", "health_visitor", "social_care"} <= agencies


@pytest.mark.parametrize("part", PARTS)
def test_at_most_two_percent_of_ordinary_histories_alert(part: str) -> None:
    rate = false_alarm_rate(part, library_files(part), today=TODAY)
    report = "\n".join(
        f"{a.case}: {a.kind} on {a.day}: {a.reason}\n    " + "\n    ".join(a.entries)
        for a in rate.alarms
    )
    assert rate.rate <= MAX_FALSE_ALARM_RATE, (
        f"{len(rate.alarms)} of {rate.histories} {part} histories alerted:\n{report}"
    )


def test_the_replay_command_reads_a_library_history_and_says_what_it_relied_on(
    tmp_path: Path,
) -> None:
    # benign-052: a witnessed trampoline fracture and three fracture-clinic follow-ups used to
    # read as a "minor injury cluster".
    case = BENIGN_LIBRARY / part_for("benign-052.json") / "benign-052.json"
    out = tmp_path / "result.json"
    result = CliRunner().invoke(app, ["replay", str(case), "--out", str(out)])
    assert result.exit_code == 0, result.output
    replayed = json.loads(out.read_text(encoding="utf-8"))
    assert replayed["combined"]["alerts"] == []
    rules = [r["rule"] for r in replayed["readings"]]
    assert {"accidental_injury", "uncoded_routine"} <= set(rules)
