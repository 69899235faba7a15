"""Case replay: the evaluation cases unchanged, bad input as errors or recorded warnings."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fullpicture.cli.main import app
from fullpicture.harm.replay import CASE_AGENCY_KINDS, ReplayError, load_case, replay_case

CASES = sorted(Path("/work/shared/eval/cases").glob("*.json"))
TODAY = dt.date(2026, 11, 25)


def _case(events: list[dict[str, str]], dob: str = "2020-01-01") -> dict[str, object]:
    return {"child": {"date_of_birth": dob, "sex": "F"}, "events": events}


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_every_evaluation_case_replays_unchanged(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    result = replay_case(load_case(raw), today=TODAY)
    assert set(result.by_agency) == {e["agency"] for e in raw["events"]}
    assert set(result.agency_kinds) <= set(result.by_agency)
    for view in (result.combined, *result.by_agency.values()):
        for alert in view.alerts:
            assert alert.reason and alert.evidence
            assert all(0 <= i < len(raw["events"]) for i in alert.evidence)
        dates = [a.date for a in view.alerts]
        assert dates == sorted(dates)
        assert view.first_alert_date == (dates[0] if dates else None)
    blank = [i for i, e in enumerate(raw["events"]) if not e["concern_code"]]
    assert sorted(b.event for b in result.blank_codes) == blank
    assert all(b.method for b in result.blank_codes)


def test_the_outcome_is_never_read() -> None:
    raw = json.loads(CASES[0].read_text(encoding="utf-8"))
    changed = {**raw, "outcome": {"date": "1900-01-01", "what": "nothing"}, "case": "x"}
    assert replay_case(load_case(raw), today=TODAY) == replay_case(load_case(changed), today=TODAY)


def test_combined_view_sees_what_no_single_agency_sees() -> None:
    case = _case(
        [
            {
                "date": "2024-01-10",
                "agency": "school",
                "concern_code": "NEG-BAS",
                "summary": "hungry",
            },
            {"date": "2024-02-10", "agency": "gp", "concern_code": "NEG-HLT", "summary": "decay"},
            {
                "date": "2024-03-10",
                "agency": "police",
                "concern_code": "DOM-ABU",
                "summary": "call",
            },
            {
                "date": "2024-03-20",
                "agency": "health_visitor",
                "concern_code": "PAR-MH",
                "summary": "x",
            },
        ]
    )
    result = replay_case(load_case(case), today=TODAY)
    assert result.combined.first_alert_date is not None
    assert all(v.first_alert_date is None for v in result.by_agency.values())
    first = result.combined.alerts[0]
    assert first.kind == "score_threshold"
    assert len({case["events"][i]["agency"] for i in first.evidence}) >= 2  # type: ignore[index]


def test_bad_input_is_warned_about_and_not_scored() -> None:
    case = _case(
        [
            {
                "date": "2019-06-01",
                "agency": "gp",
                "concern_code": "PRE-UNB",
                "summary": "late booking",
            },
            {
                "date": "2019-06-02",
                "agency": "gp",
                "concern_code": "PHY-INJ",
                "summary": "before birth",
            },
            {"date": "2020-03-01", "agency": "gp", "concern_code": "XYZ-ABC", "summary": "unknown"},
            {"date": "2030-01-01", "agency": "gp", "concern_code": "PHY-INJ", "summary": "future"},
            {"date": "2020-03-02", "agency": "nsPCC", "concern_code": "PHY-INJ", "summary": "x"},
        ]
    )
    result = replay_case(load_case(case), today=TODAY)
    problems = {w.event: w.problem for w in result.warnings}
    assert 0 not in problems  # a pregnancy code may come before birth
    assert "before the child's birth" in problems[1]
    assert "unknown concern code" in problems[2]
    assert "future" in problems[3]
    assert any(w.event is None and "nsPCC" in w.problem for w in result.warnings)
    # The pregnancy concern is scored; the one injury scored is to a baby under six months.
    kinds = {a.kind: a.evidence for a in result.combined.alerts}
    assert kinds["unborn_baby_concern"] == [0]
    assert kinds["injury_non_mobile_baby"] == [4]
    assert {i for evidence in kinds.values() for i in evidence} == {0, 4}


def test_empty_or_malformed_cases_are_clear_errors() -> None:
    with pytest.raises(ReplayError, match="no events"):
        replay_case(load_case(_case([])), today=TODAY)
    with pytest.raises(ReplayError, match="date_of_birth"):
        load_case({"child": {"sex": "F"}, "events": []})
    with pytest.raises(ReplayError, match="date"):
        load_case(_case([{"date": "31/01/2020", "agency": "gp", "concern_code": ""}]))


def test_blank_codes_without_a_classifier_are_process_events_and_say_so() -> None:
    case = _case(
        [
            {
                "date": "2020-05-01",
                "agency": "social_care",
                "concern_code": "",
                "summary": "Strategy meeting held",
            }
        ]
    )
    result = replay_case(load_case(case), today=TODAY, classifier=None)
    assert result.blank_codes[0].treated_as == "process"
    assert "no concern classifier" in result.blank_codes[0].method


def test_blank_codes_are_inferred_by_the_referral_classifier_when_it_finds_one() -> None:
    def classify(text: str) -> list[tuple[str, list[str]]]:
        return [("PHY-INJ", ["bruise"])] if "bruise" in text else []

    case = _case(
        [
            {
                "date": "2020-05-01",
                "agency": "gp",
                "concern_code": "",
                "summary": "A bruise on his arm",
            }
        ]
    )
    result = replay_case(load_case(case), today=TODAY, classifier=(classify, "test classifier"))
    inference = result.blank_codes[0]
    assert (inference.treated_as, inference.spans, inference.method) == (
        "PHY-INJ",
        ["bruise"],
        "test classifier",
    )
    assert result.combined.alerts  # the inferred injury to a baby is scored


def test_every_case_agency_name_maps_to_an_agency_kind() -> None:
    assert set(CASE_AGENCY_KINDS) == {
        "school",
        "health_visitor",
        "gp",
        "hospital",
        "police",
        "housing",
        "social_care",
        "probation",
        "other",
    }


def test_replay_command_writes_the_result(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    result = CliRunner().invoke(app, ["replay", str(CASES[0]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text(encoding="utf-8"))
    assert set(written) >= {"combined", "by_agency"}
    assert set(written["combined"]) == {"first_alert_date", "alerts"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_case([])), encoding="utf-8")
    failed = CliRunner().invoke(app, ["replay", str(bad), "--out", str(out)])
    assert failed.exit_code == 2
    assert "no events" in failed.output
