"""The model file and the rules it drives, one rule at a time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fullpicture.harm.engine import THRESHOLD_KIND, ScoringEvent, assess_child
from fullpicture.harm.harm_model import HARM_MODEL_FILE, default_harm_model, load_harm_model

DAY0 = dt.date(2024, 1, 1)
BIRTH = dt.date(2016, 1, 1)  # eight years old: no age modifiers


def _events(*rows: tuple[int, str, str]) -> list[ScoringEvent]:
    return [
        ScoringEvent(ref=i, agency=agency, day=DAY0 + dt.timedelta(days=offset), code=code)
        for i, (offset, agency, code) in enumerate(rows)
    ]


def _assess(events: list[ScoringEvent], as_of_offset: int = 2000, birth: dt.date = BIRTH):
    return assess_child(events, date_of_birth=birth, as_of=DAY0 + dt.timedelta(days=as_of_offset))


def test_the_model_file_loads_and_names_only_taxonomy_codes() -> None:
    model = default_harm_model()
    assert model.version
    assert {"toxic_trio", "on_plan", "infant", "unseen_adult", "disclosure", "repeated"} <= {
        m.name for m in model.modifiers
    }


def _write(tmp_path: Path, change: dict[str, object]) -> Path:
    raw = yaml.safe_load(HARM_MODEL_FILE.read_text(encoding="utf-8"))
    raw.update(change)
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_a_bad_model_file_is_rejected_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="severities 1 to 5"):
        load_harm_model(_write(tmp_path, {"points_by_severity": {1: 1, 2: 2}}))
    with pytest.raises(ValueError, match="NOPE-X"):
        load_harm_model(_write(tmp_path, {"household_adult_codes": ["NOPE-X"]}))
    with pytest.raises(ValueError, match="half_life_days"):
        load_harm_model(_write(tmp_path, {"decay": {"half_life_days": 2, "horizon_days": 9}}))


def test_points_decay_by_half_each_half_life() -> None:
    model = default_harm_model()
    events = _events((0, "gp", "NEG-BAS"))
    fresh = _assess(events, 0).explanation.score
    later = _assess(events, model.decay.half_life_days).explanation.score
    assert fresh == model.points_by_severity[3]
    assert later == pytest.approx(fresh / 2)
    assert _assess(events, model.decay.horizon_days + 1).explanation.score == 0


def test_the_same_incident_from_two_agencies_counts_once_but_both_agencies_are_credited() -> None:
    one = _assess(_events((0, "gp", "PHY-INJ")), 0).explanation
    two = _assess(_events((0, "gp", "PHY-INJ"), (0, "police", "PHY-INJ")), 0).explanation
    assert len(two.contributions) == 1
    assert two.concern_points == one.concern_points
    assert two.agencies == ("gp", "police")
    credit = default_harm_model().triangulation.credit_per_extra_agency
    assert two.score == pytest.approx(one.score * (1 + credit))


def test_modifiers_raise_severity_and_say_why() -> None:
    trio = _assess(
        _events((0, "police", "DOM-ABU"), (10, "gp", "PAR-MH"), (20, "hv", "PAR-SUB")), 20
    ).explanation
    last = trio.contributions[-1]
    assert "toxic_trio" in last.modifiers and last.severity == last.base_severity + 1
    assert "toxic_trio" not in trio.contributions[0].modifiers  # not yet all three
    plan = _assess(
        _events((0, "csc", "PLN-CP"), (5, "gp", "WNB"), (50, "csc", "PLN-END"), (60, "gp", "WNB")),
        60,
    ).explanation
    assert [c.modifiers for c in plan.contributions] == [("on_plan",), ("repeated",)]
    baby = _assess(_events((10, "gp", "NEG-BAS")), 10, birth=DAY0).explanation
    assert baby.contributions[0].modifiers == ("infant",)
    told = _assess(_events((0, "school", "CHD-VOI"), (3, "school", "EMO-ABU")), 3).explanation
    assert "disclosure" in told.contributions[-1].modifiers


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["STR-ENG", "STR-ATT", "STR-HLT", "STR-ADU"]), max_size=8))
def test_strengths_are_shown_but_never_lower_a_score_or_stop_an_alert(strengths: list[str]) -> None:
    concerns = [
        (0, "gp", "PHY-INJ"),
        (30, "police", "DOM-ABU"),
        (40, "school", "PHY-INJ"),
        (50, "hospital", "PHY-INJ"),
    ]
    without = _assess(_events(*concerns), 60)
    with_strengths = _assess(
        _events(*concerns, *((i, "school", code) for i, code in enumerate(strengths))), 60
    )
    assert with_strengths.explanation.score == without.explanation.score
    assert [(a.kind, a.day) for a in with_strengths.alerts] == [
        (a.kind, a.day) for a in without.alerts
    ]
    assert len(with_strengths.explanation.strengths) == len(set(enumerate(strengths)))


def test_a_threshold_alert_is_raised_once_per_episode() -> None:
    burst = [
        (0, "gp", "PHY-INJ"),
        (1, "police", "DOM-ABU"),
        (2, "school", "NEG-BAS"),
        (3, "gp", "EMO-ABU"),
        (4, "police", "DOM-ABU"),
    ]
    # A second burst while the score is still high is the same episode; after three years
    # of quiet (the score has reset) a new burst is a new episode.
    again = [(o + 100, a, c) for o, a, c in burst]
    later = [(o + 1500, a, c) for o, a, c in burst]
    alerts = _assess(_events(*burst, *again, *later)).alerts
    threshold = [a.day for a in alerts if a.kind == THRESHOLD_KIND]
    assert len(threshold) == 2
    assert threshold[1] >= DAY0 + dt.timedelta(days=1500)


def test_pattern_rules_fire_once_with_their_evidence() -> None:
    wnb = _assess(_events(*((i * 30, "gp", "WNB") for i in range(5))))
    fired = [a for a in wnb.alerts if a.kind == "repeated_was_not_brought"]
    assert len(fired) == 1
    assert fired[0].evidence == (0, 1, 2)
    assert "3 times" in fired[0].reason
    missing = _assess(_events((0, "police", "MIS-EPI"), (20, "school", "EXP-CCE"))).alerts
    assert [a.kind for a in missing] == ["missing_with_exploitation"]
    cycles = _assess(
        _events(
            (0, "csc", "STR-ENG"),
            (30, "hv", "NEG-BAS"),
            (100, "csc", "STR-ENG"),
            (130, "hv", "NEG-BAS"),
        )
    ).alerts
    relapse = [a for a in cycles if a.kind == "improvement_then_relapse"]
    assert len(relapse) == 1 and relapse[0].evidence == (0, 1, 2, 3)
