"""Rules that read what an entry says (harm_model.yaml ``entry_reading``; issue 18 item 1)."""

from __future__ import annotations

import datetime as dt

import pytest

from fullpicture.chronology.taxonomy import default_taxonomy
from fullpicture.harm.entry_reading import (
    ACCIDENTAL_INJURY,
    FOLLOW_UP,
    LATE_BOOKING,
    NON_MOBILE,
    PERSISTENT_ABSENCE,
    SHORT_ILLNESS,
    STRENGTH,
    UNCODED,
    CaseEntry,
    EntryReading,
    missed_percent,
    read_entries,
)
from fullpicture.harm.harm_model import default_harm_model
from fullpicture.harm.replay import load_case, replay_case

MODEL = default_harm_model()
TAXONOMY = default_taxonomy()
BIRTH = dt.date(2016, 3, 1)
TODAY = dt.date(2026, 11, 25)


def _read(*entries: CaseEntry, birth: dt.date = BIRTH) -> list[EntryReading]:
    return read_entries(entries, date_of_birth=birth, model=MODEL, taxonomy=TAXONOMY, classify=None)


def _entry(
    ref: int, day: str, code: str, summary: str, *, inferred: str = "", agency: str = "school"
) -> CaseEntry:
    return CaseEntry(
        ref=ref,
        day=dt.date.fromisoformat(day),
        agency=agency,
        code=code,
        summary=summary,
        inferred_code=inferred,
        inferred_words=(inferred,) if inferred else (),
    )


def test_every_rule_names_its_source() -> None:
    reading = MODEL.entry_reading
    for rule in (
        reading.uncoded,
        reading.follow_up,
        reading.persistent_absence,
        reading.strengths,
        reading.accidental_injury,
        reading.late_booking,
    ):
        assert "research-notes" in rule.source or "taxonomy" in rule.source


def test_an_uncoded_entry_is_routine_unless_its_words_assert_a_concern() -> None:
    plain, concluded, concern = _read(
        _entry(0, "2025-01-10", "", "Year 3 parents' evening, good progress."),
        _entry(
            1,
            "2025-02-10",
            "",
            "Missing 40 min, misunderstanding. No concerns, NFA.",
            inferred="MIS-EPI",
        ),
        _entry(2, "2025-03-10", "", "Dad was drunk at collection.", inferred="PAR-SUB"),
    )
    assert (plain.code, plain.rule) == (None, UNCODED)
    assert (concluded.code, concluded.rule) == (None, UNCODED)
    assert concluded.words == ("No concerns", "NFA")
    assert concern.code == "PAR-SUB"


def test_a_follow_up_of_the_same_episode_is_not_a_new_incident() -> None:
    first, clinic, later_new = _read(
        _entry(
            0,
            "2025-09-27",
            "PHY-INJ",
            "ED: fall from trampoline, fracture R humerus.",
            agency="hospital",
        ),
        _entry(
            1, "2025-10-04", "PHY-INJ", "Fracture clinic: position maintained.", agency="hospital"
        ),
        _entry(
            2,
            "2025-10-20",
            "PHY-INJ",
            "Fracture clinic: new bruising to the back.",
            agency="hospital",
        ),
    )
    assert first.code == "PHY-INJ"
    assert (clinic.code, clinic.rule) == (None, FOLLOW_UP)
    assert "entry 0" in clinic.note and "Fracture clinic" in clinic.words
    assert later_new.code == "PHY-INJ"  # something new is a new incident


def test_a_follow_up_without_an_earlier_incident_stands() -> None:
    (alone,) = _read(_entry(0, "2025-10-04", "PHY-INJ", "Fracture clinic: position maintained."))
    assert alone.code == "PHY-INJ"


@pytest.mark.parametrize(
    ("summary", "scored"),
    [
        ("Year 4 report: attendance 97.8%.", False),
        ("Attendance 90.5% this year.", False),
        ("Attendance 90% this year.", True),  # 10% of sessions missed is persistent absence
        ("Attendance 89.5% this term.", True),
        ("Absence 12% of sessions this term.", True),
        ("Absence 4% this term.", False),
    ],
)
def test_persistent_absence_is_ten_percent_of_sessions_missed(summary: str, scored: bool) -> None:
    (reading,) = _read(_entry(0, "2025-07-16", "EDU-ATT", summary))
    assert reading.rule == PERSISTENT_ABSENCE
    assert (reading.code == "EDU-ATT") is scored
    assert reading.words and "%" in reading.words[0]


def test_missed_percent_reads_attendance_and_absence() -> None:
    assert missed_percent("Attendance 96%") == (pytest.approx(4.0), "Attendance 96%")
    assert missed_percent("absence of 12 %")[0] == 12.0  # type: ignore[index]
    assert missed_percent("Reading age 96%") is None


def test_a_short_authorised_illness_absence_is_not_a_concern() -> None:
    short, long_absence, coded_without_words = _read(
        _entry(
            0, "2026-01-15", "EDU-ATT", "Returned after 6 days absence (authorised - hospital)."
        ),
        _entry(1, "2026-03-15", "EDU-ATT", "Off 25 days this term, unwell, authorised."),
        _entry(2, "2026-05-15", "EDU-ATT", "Attendance meeting with mum."),
    )
    assert (short.code, short.rule) == (None, SHORT_ILLNESS)
    assert long_absence.code == "EDU-ATT"
    assert coded_without_words.code == "EDU-ATT"  # a practitioner's code stands without figures


def test_an_uncoded_attendance_entry_needs_words_of_missed_education() -> None:
    report, missing = _read(
        _entry(0, "2026-07-16", "", "Shared attendance with MASH.", inferred="EDU-ATT"),
        _entry(1, "2026-07-20", "", "Persistent absence, letters sent.", inferred="EDU-ATT"),
    )
    assert report.code is None and report.rule == PERSISTENT_ABSENCE
    assert missing.code == "EDU-ATT" and "Persistent absence" in missing.words


def test_a_strength_in_the_entry_lowers_its_severity_and_never_adds() -> None:
    plain, supported = _read(
        _entry(0, "2025-10-06", "PAR-MH", "Mother: low mood, sertraline started.", agency="gp"),
        _entry(1, "2025-10-07", "PAR-MH", "Mother: low mood. Partner supportive.", agency="gp"),
    )
    assert plain.severity is None  # the taxonomy default (3)
    assert (supported.severity, supported.rule) == (2, STRENGTH)
    assert "Partner supportive" in supported.words


def test_an_explained_accident_that_fits_the_age_scores_low() -> None:
    sport, unexplained, too_young = _read(
        _entry(
            0,
            "2025-11-08",
            "PHY-INJ",
            "ED: fracture after rugby tackle, dad witnessed.",
            agency="hospital",
        ),
        _entry(
            1,
            "2025-11-09",
            "PHY-INJ",
            "Bruising, account inconsistent; says fell at rugby.",
            agency="hospital",
        ),
        _entry(
            2,
            "2016-09-01",
            "PHY-INJ",
            "Fractured arm; fell at football, dad witnessed.",
            agency="hospital",
        ),
    )
    assert (sport.severity, sport.rule) == (1, ACCIDENTAL_INJURY)
    assert "rugby" in sport.words and "witnessed" in sport.words
    assert unexplained.severity is None and unexplained.rule is None
    # a six-month-old does not play football: the mechanism does not fit the age
    assert too_young.severity is None


def test_an_injury_to_a_non_mobile_baby_scores_high_whatever_the_explanation() -> None:
    (reading,) = _read(
        _entry(0, "2024-05-01", "PHY-INJ", "Bruise on cheek, not yet rolling; account consistent."),
        birth=dt.date(2023, 9, 1),
    )
    assert (reading.code, reading.rule) == ("PHY-NMB", NON_MOBILE)


def test_a_late_booking_with_a_plain_explanation_is_not_a_concern_on_its_own() -> None:
    explained, concealed = _read(
        _entry(
            0,
            "2026-07-29",
            "PRE-UNB",
            "Late booking at 22 wks - unplanned, not concealed.",
            agency="hospital",
        ),
        _entry(
            1,
            "2026-08-29",
            "PRE-UNB",
            "Late booking at 30 wks, concealed pregnancy.",
            agency="hospital",
        ),
        birth=dt.date(2026, 12, 1),
    )
    assert (explained.code, explained.rule) == (None, LATE_BOOKING)
    assert concealed.code == "PRE-UNB"


def test_replay_alerts_say_which_rule_read_each_entry_and_on_which_words() -> None:
    case = {
        "child": {"date_of_birth": "2016-03-01", "sex": "F"},
        "events": [
            {"date": "2025-11-08", "agency": "hospital", "concern_code": "PHY-INJ",
             "summary": "ED: fracture after rugby tackle, dad witnessed."},
            {"date": "2025-11-17", "agency": "hospital", "concern_code": "",
             "summary": "Fracture clinic: cast changed."},
            {"date": "2026-01-10", "agency": "school", "concern_code": "NEG-BAS",
             "summary": "Hungry again, no breakfast."},
            {"date": "2026-01-20", "agency": "gp", "concern_code": "NEG-HLT",
             "summary": "Untreated tooth decay."},
            {"date": "2026-02-02", "agency": "police", "concern_code": "DOM-ABU",
             "summary": "Domestic incident, mum assaulted."},
        ],
    }  # fmt: skip
    result = replay_case(load_case(case), today=TODAY)
    rules = {r.event: r.rule for r in result.readings}
    assert rules[0] == ACCIDENTAL_INJURY and rules[1] == FOLLOW_UP
    assert result.combined.alerts
    alert = result.combined.alerts[0]
    read = {r.event: r for r in alert.evidence_read}
    assert set(read) == set(alert.evidence)
    assert read[0].severity == 1 and "rugby" in read[0].words
