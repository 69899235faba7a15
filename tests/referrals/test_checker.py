"""The referral checker: per-element floors on the labelled set, negation and hypotheticals,
child-speech attribution, vague language, the output shape, bad input, editable rule files."""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fullpicture.referrals import rulebook as rulebook_module
from fullpicture.referrals.checker import check_referral_text, working_days_between
from fullpicture.referrals.rulebook import RulebookError, default_rulebook, load_rulebook
from fullpicture.referrals.text_input import (
    ReferralTextError,
    TextProblem,
    decode_referral_bytes,
    validate_referral_text,
)

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 11, 23)  # a Monday

# Floors per element F1 ("present" vs not), a little under what each part of the labelled set
# reached when the rules were fixed (docs/referral-checker.md records the figures).
FLOORS: dict[str, dict[str, float]] = {
    "tuning": {
        "R1": 0.95, "R2": 0.95, "R3": 0.88, "R4": 0.92, "R5": 0.83, "R6": 0.85, "R7": 0.95,
        "R8": 0.9, "R9": 0.85, "R10": 0.95, "R11": 0.82, "R12": 0.81, "R13": 0.85, "R14": 0.95,
        "R15": 0.95, "R16": 0.92, "R17": 0.95, "R18": 0.95, "R19": 0.95, "R20": 0.93,
    },
    # heldout R3 was 0.95: H13 and H18 name the mother / the father and his partner without saying
    # who lives where; the project's own guide calls that partial, the independent corpus's
    # settled labels call it present (REF-034, REF-046, REF-061 …), and the corpus is preferred.
    "heldout": {
        "R1": 0.95, "R2": 0.95, "R3": 0.85, "R4": 0.82, "R5": 0.8, "R6": 0.95, "R7": 0.95,
        "R8": 0.8, "R9": 0.89, "R10": 0.95, "R11": 0.9, "R12": 0.6, "R13": 0.8, "R14": 0.87,
        "R15": 0.95, "R16": 0.92, "R17": 0.95, "R18": 0.95, "R19": 0.95, "R20": 0.95,
    },
}  # fmt: skip


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_referrals", ROOT / "bench" / "referrals.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_referrals"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def evaluations() -> dict[str, dict[str, Any]]:
    bench = _bench()
    return {part: bench.evaluate(bench.load_labelled(part)) for part in FLOORS}


def test_the_labelled_set_is_big_and_varied_enough() -> None:
    bench = _bench()
    items = bench.load_labelled("tuning") + bench.load_labelled("heldout")
    assert len(items) >= 60
    assert len(bench.load_labelled("heldout")) >= 20
    raw = [
        item
        for part in ("tuning", "heldout")
        for item in __import__("yaml").safe_load(
            (ROOT / "bench" / "data" / "referrals" / f"{part}.yaml").read_text()
        )["items"]
    ]
    assert {"school", "health_visiting", "gp", "hospital", "police", "housing"} <= {
        i["source"] for i in raw
    }
    assert {"good", "mediocre", "poor"} == {i["quality"] for i in raw}
    assert {True, False} == {i["voice"] for i in raw}
    assert len({i["style"] for i in raw}) >= 6


@pytest.mark.parametrize("part", list(FLOORS))
def test_per_element_floors_hold(part: str, evaluations: dict[str, dict[str, Any]]) -> None:
    result = evaluations[part]
    below = {
        element: (row["f1"], FLOORS[part][element])
        for element, row in result["per_element"].items()
        if row["f1"] < FLOORS[part][element]
    }
    assert below == {}, f"{part}: elements below their floor (F1, floor): {below}"
    assert result["macro_f1"] >= 0.90


@pytest.mark.parametrize("part", list(FLOORS))
def test_vague_phrases_are_found_on_the_labelled_set(
    part: str, evaluations: dict[str, dict[str, Any]]
) -> None:
    assert evaluations[part]["vague_precision"] >= 0.9
    assert evaluations[part]["vague_recall"] >= 0.9


# -- the output shape --------------------------------------------------------------------------

GOOD = (
    "I am Sarah Okafor, DSL at Oakfield Primary School, tel 020 8765 4321. "
    "Child: Mia Thompson, DOB 14/06/2018. Mia lives with her mother Kelly and her mother's "
    'partner, Dean Hill. Today at 09:10 I saw a bruise on her cheek. Mia said, "Dean pushed me." '
    "I am worried that this will happen again. I request a strategy discussion."
)


def test_the_check_returns_exactly_the_documented_shape() -> None:
    result = check_referral_text(GOOD, referral_date=DAY).public()
    assert set(result) == {"elements", "vague_phrases", "score"}
    assert list(result["elements"]) == [f"R{n}" for n in range(1, 21)]
    for finding in result["elements"].values():
        assert set(finding) == {"status", "spans", "question", "adjusted"}
        assert finding["status"] in {"present", "partial", "absent"}
        if finding["adjusted"] is not None:  # the learned adjustment, not the rules, chose it
            assert finding["adjusted"]["rule_status"] != finding["status"]
            assert finding["spans"]
        assert (finding["question"] is None) == (finding["status"] == "present")
        for span in finding["spans"]:
            assert GOOD[span["start"] : span["end"]] == span["text"]
    assert 0 <= result["score"]["value"] <= 100


def test_an_absent_element_asks_its_question_and_a_present_one_shows_its_words() -> None:
    result = check_referral_text(GOOD, referral_date=DAY)
    assert result.elements["R1"].status == "present"
    assert {s.text for s in result.elements["R1"].spans} >= {"020 8765 4321"}
    assert result.elements["R17"].status == "absent"
    assert "disagree" in (result.elements["R17"].question or "").lower() or "differently" in (
        result.elements["R17"].question or ""
    )


def test_a_severe_concern_without_the_childs_whereabouts_is_an_urgent_prompt() -> None:
    text = (
        "On 22 November the baby, 8 weeks old and not yet rolling, had a bruise on his cheek. "
        "Mum said he fell. I request a strategy discussion."
    )
    result = check_referral_text(text, referral_date=DAY)
    assert result.elements["R4"].status == "absent"
    assert (result.elements["R4"].question or "").startswith("Urgent")


# -- negation, hypotheticals, the child's voice ------------------------------------------------


def test_denied_adult_factors_address_r10_but_are_not_concerns() -> None:
    from fullpicture.referrals.classifier import classify_concern_mentions, classify_concerns

    text = (
        "We know of no domestic abuse, mental health difficulty, substance misuse or learning "
        "disability in the household."
    )
    result = check_referral_text(text, referral_date=DAY)
    assert result.elements["R10"].status == "present"
    assert not {s.code for s in classify_concerns(text)} & {"DOM-ABU", "PAR-SUB", "PAR-MH"}
    assert {m.polarity.value for m in classify_concern_mentions(text) if m.code == "DOM-ABU"} == {
        "negated"
    }


def test_no_concerns_about_is_a_denial_and_global_reassurance() -> None:
    from fullpicture.referrals.classifier import classify_concerns

    text = "There are no concerns about drinking at home. Mum seemed fine at the meeting today."
    assert "PAR-SUB" not in {s.code for s in classify_concerns(text)}
    kinds = {v.kind for v in check_referral_text(text, referral_date=DAY).vague_phrases}
    assert {"global_reassurance", "hedged"} <= kinds


def test_a_hypothetical_is_not_a_concern_and_does_not_address_r10() -> None:
    from fullpicture.referrals.classifier import classify_concern_mentions, classify_concerns

    text = "If mum drinks, Leo would be left without anyone to look after him at night."
    assert "PAR-SUB" not in {s.code for s in classify_concerns(text)}
    assert {m.polarity.value for m in classify_concern_mentions(text) if m.code == "PAR-SUB"} == {
        "hypothetical"
    }
    assert check_referral_text(text, referral_date=DAY).elements["R10"].status == "absent"


def test_but_ends_the_scope_of_a_negation() -> None:
    from fullpicture.referrals.classifier import classify_concerns

    text = "No injuries were reported by school staff but I saw a bruise on his arm this morning."
    assert "PHY-INJ" in {s.code for s in classify_concerns(text)}


@pytest.mark.parametrize(
    ("text", "status"),
    [
        (
            'Child: Ava Cole, DOB 01/02/2016. Ava told me, "Dad hits me when he is drunk."',
            "present",
        ),
        ('Child: Ava Cole. She was quiet. She said, "I don\'t want to go home."', "present"),
        ('Child: Ava Cole. "I hate it at home," said Ava.', "present"),
        ('Child: Ava Cole. Mum said, "Ava is fine, she is just tired."', "absent"),
        ('Child: Ava Cole. Her mother told me "she tells lies".', "absent"),
        ("Child: Ava Cole. Ava told me that she is scared of her stepdad.", "partial"),
        (
            "Child: Ava Cole, 5 months old. Ava is pre-verbal; I observed her with her mother.",
            "present",
        ),
        # no "Child:" line: a name given with a child's age or date of birth is the child
        ('I teach Leo, aged 7. Leo said, "Dad hit me."', "present"),
        (
            "Mia Thompson, DOB 14/06/2018, lives with Kelly Thompson (DOB 02/03/1994). "
            'Kelly said, "Mia lies."',
            "absent",
        ),
    ],
)
def test_quoted_speech_counts_as_the_childs_voice_only_when_the_child_said_it(
    text: str, status: str
) -> None:
    assert check_referral_text(text, referral_date=DAY).elements["R7"].status == status


def test_words_inside_the_childs_quote_are_not_the_writers_vague_language() -> None:
    text = 'Child: Ava Cole. Ava said, "It was just a bit of a push, it seems fine now."'
    assert check_referral_text(text, referral_date=DAY).vague_phrases == []


def test_vague_phrases_carry_kind_question_and_density() -> None:
    text = (
        "There are some concerns about Kai. He appears tired. Apparently dad has been drinking. "
        "Kai is safe and well. It was a minor incident."
    )
    result = check_referral_text(text, referral_date=DAY)
    found = {(v.text.lower(), v.kind) for v in result.vague_phrases}
    assert {
        ("some concerns", "unquantified"),
        ("appears", "hedged"),
        ("apparently", "unattributed"),
        ("safe and well", "global_reassurance"),
        # The minimiser's shape (a small word + a harm) takes the whole noun phrase.
        ("a minor incident", "minimising"),
    } <= found
    for phrase in result.vague_phrases:
        assert text[phrase.start : phrase.end] == phrase.text
        assert phrase.question.endswith("?")
    expected = round(100 * len(result.vague_phrases) / result.score.word_count, 2)
    assert result.score.vague_density_per_100_words == expected
    assert result.elements["R19"].status == "absent"


_WORDS = st.sampled_from(
    [
        "Mia", "said", "\"I am scared\"", "no", "concerns", "about", "the", "bruise", "on", "12/03/2026",
        "appears", "if", "mum", "drinks", "today", "school", "I", "am", "worried", "that", "she",
        "will", "be", "hurt", "safe", "and", "well", "DOB", "020 8765 4321", "partner,", "Dean",
        "Hill", "lives", "with", "her", ".", "\n", "“child’s", "words”",
    ]
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=120))
def test_every_span_is_the_exact_text_and_the_score_is_bounded(words: list[str]) -> None:
    text = " ".join(words)
    try:
        result = check_referral_text(text, referral_date=DAY)
    except ReferralTextError as exc:  # e.g. only punctuation: refused with a reason, never a crash
        assert exc.problem in set(TextProblem)
        return
    for finding in result.elements.values():
        for span in finding.spans:
            assert text[span.start : span.end] == span.text
    for phrase in result.vague_phrases:
        assert text[phrase.start : phrase.end] == phrase.text
    assert 0.0 <= result.score.value <= 100.0
    assert result.score.present + result.score.partial + result.score.absent == 20


# -- bad input ---------------------------------------------------------------------------------

LIMITS = default_rulebook().standard.limits


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", TextProblem.EMPTY),
        ("   \n\t ", TextProblem.EMPTY),
        ("x" * (LIMITS.max_characters + 1), TextProblem.TOO_LONG),
        ("referral \x00\x01\x02\x03\x04\x05 text", TextProblem.BINARY),
        (
            "Dziecko powiedziało nauczycielce, że ojczym bije ją pasem w domu prawie codziennie "
            "wieczorem, a matka nic nie robi i dziewczynka boi się wracać do domu po szkole.",
            TextProblem.NOT_ENGLISH,
        ),
        ("Ребёнок сказал учителю, что отчим бьёт его дома каждый вечер.", TextProblem.NOT_ENGLISH),
    ],
)
def test_unreadable_text_gets_a_clear_reason(text: str, problem: TextProblem) -> None:
    with pytest.raises(ReferralTextError) as caught:
        validate_referral_text(text, limits=LIMITS)
    assert caught.value.problem is problem
    assert len(caught.value.message) > 20


def test_binary_and_non_utf8_files_are_refused() -> None:
    with pytest.raises(ReferralTextError) as binary:
        decode_referral_bytes(b"%PDF-1.7\x00\x00\x01binary", limits=LIMITS)
    assert binary.value.problem is TextProblem.BINARY
    with pytest.raises(ReferralTextError) as latin1:
        decode_referral_bytes("Zoë’s mother said".encode("cp1252"), limits=LIMITS)
    assert latin1.value.problem is TextProblem.NOT_UTF8


def test_a_short_english_note_is_checked_not_refused() -> None:
    assert check_referral_text("Bruise on cheek.", referral_date=DAY).score.word_count == 3


# -- rule files --------------------------------------------------------------------------------


def _copy_rules(tmp_path: Path) -> dict[str, Path]:
    names = {
        "standard_file": rulebook_module.STANDARD_FILE,
        "vague_file": rulebook_module.VAGUE_FILE,
        "concern_file": rulebook_module.CONCERN_FILE,
        "language_file": rulebook_module.LANGUAGE_FILE,
    }
    copies = {}
    for key, path in names.items():
        copies[key] = tmp_path / path.name
        shutil.copy(path, copies[key])
    return copies


def test_a_partnership_can_add_a_vague_phrase_without_code_changes(tmp_path: Path) -> None:
    files = _copy_rules(tmp_path)
    text = "Child: Kai. Home life is a bit wobbly according to his teacher."
    assert "wobbly" not in {
        v.text for v in check_referral_text(text, referral_date=DAY).vague_phrases
    }
    edited = (
        files["vague_file"]
        .read_text()
        .replace("phrases: [minor, low level,", "phrases: [wobbly, minor, low level,")
    )
    files["vague_file"].write_text(edited)
    book = load_rulebook(**files)
    found = check_referral_text(text, referral_date=DAY, rulebook=book).vague_phrases
    assert ("wobbly", "minimising") in {(v.text, v.kind) for v in found}


def test_a_malformed_rule_file_fails_loudly_naming_the_file(tmp_path: Path) -> None:
    files = _copy_rules(tmp_path)
    files["standard_file"].write_text(
        files["standard_file"]
        .read_text()
        .replace("present_when: [[role, contact]]", "present_when: [[role, phone]]")
    )
    with pytest.raises(RulebookError, match=r"(?s)referral_standard.yaml.*R1.*phone"):
        load_rulebook(**files)


def test_concern_cues_name_only_taxonomy_codes(tmp_path: Path) -> None:
    files = _copy_rules(tmp_path)
    files["concern_file"].write_text(
        files["concern_file"].read_text().replace("  RAD:\n", "  RAD-XX:\n")
    )
    with pytest.raises(RulebookError, match="RAD-XX"):
        load_rulebook(**files)


# -- timeliness --------------------------------------------------------------------------------


def test_working_days_skip_weekends_and_england_bank_holidays() -> None:
    assert working_days_between(dt.date(2026, 11, 20), dt.date(2026, 11, 23)) == 1  # Fri -> Mon
    assert working_days_between(dt.date(2026, 11, 21), dt.date(2026, 11, 23)) == 1  # Sat -> Mon
    # Christmas Day is a Friday in 2026 and Boxing Day's substitute is Monday 28 December.
    assert working_days_between(dt.date(2026, 12, 24), dt.date(2026, 12, 29)) == 1
    assert working_days_between(dt.date(2026, 11, 23), dt.date(2026, 11, 23)) == 0


@settings(max_examples=60, deadline=None)
@given(st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)), st.integers(0, 40), st.integers(0, 40))
def test_working_days_add_up_over_a_split(start: dt.date, first: int, second: int) -> None:
    middle = start + dt.timedelta(days=first)
    end = middle + dt.timedelta(days=second)
    assert working_days_between(start, end) == working_days_between(
        start, middle
    ) + working_days_between(middle, end)
    assert working_days_between(start, end) <= (end - start).days


def test_r20_compares_the_latest_event_with_the_referral_date() -> None:
    recent = "On Friday 20 November at 15:00 I saw a bruise on his arm."
    old = "On 2 November at 15:00 I saw a bruise on his arm."
    assert check_referral_text(recent, referral_date=DAY).elements["R20"].status == "present"
    assert check_referral_text(old, referral_date=DAY).elements["R20"].status == "partial"
    undated = "I saw a bruise on his arm."
    assert check_referral_text(undated, referral_date=DAY).elements["R20"].status == "absent"


@pytest.mark.parametrize(
    ("sentence", "phrase", "family"),
    [
        ("Dad seems a caring dad.", "a caring dad", "reassurance"),
        ("There is nothing to worry about there.", "nothing to worry about", "reassurance"),
        ("Mum has left him alone on occasion.", "on occasion", "unquantified"),
        ("He has been tearful lately.", "lately", "unquantified"),
        ("There were a couple of things at pick-up.", "a couple of things", "unquantified"),
        ("Word is that the uncle is back.", "Word is", "unattributed"),
        ("The uncle is known to the police.", "known to the police", "label"),
        ("They are a troubled family.", "troubled", "label"),
        ("She has been involved in risky behaviour.", "risky behaviour", "label"),
        ("The fight was just kids being kids.", "kids being kids", "minimiser"),
        ("It was only a small scratch.", "only a", "minimiser"),
    ],
)
def test_vague_families_catch_the_phrasings_issue_17_names(
    sentence: str, phrase: str, family: str
) -> None:
    text = f"Referral for Kai Brown, Year 4. {sentence} Please advise."
    found = {(v.text, v.family) for v in check_referral_text(text, referral_date=DAY).vague_phrases}
    assert any(phrase in text_ and fam == family for text_, fam in found), found


def test_the_day_a_referral_is_written_does_not_make_it_timely() -> None:
    dated_form = (
        "Date: 23/11/2026\nReferral for Kai Brown. On 2 November 2026 Kai came to school with a "
        "bruise on his cheek."
    )
    check = check_referral_text(dated_form, referral_date=DAY)
    assert check.elements["R20"].status == "partial"
    assert "more than a working day" in (check.elements["R20"].question or "")
    writing_today = "I am writing today about Kai Brown. On 2 November 2026 he had a bruise."
    assert check_referral_text(writing_today, referral_date=DAY).elements["R20"].status == "partial"
    seen_today = "Referral for Kai Brown. Today at 09:10 his teacher saw a bruise on his cheek."
    assert check_referral_text(seen_today, referral_date=DAY).elements["R20"].status == "present"


def test_a_parents_view_is_partial_and_awareness_of_the_referral_is_present() -> None:
    base = "Referral for Kai Brown, Year 4. He had a bruise on his arm on 22 November 2026. "
    view = check_referral_text(base + "Mum denied that anyone hit him.", referral_date=DAY)
    assert view.elements["R15"].status == "partial"
    teacher = check_referral_text(base + "His teacher said he was quiet.", referral_date=DAY)
    assert teacher.elements["R15"].status == "absent"
    # Not told with no reason is partial (the corpus's settlement notes, decision 2: the guide's
    # "or the reason for not informing" would be pointless otherwise); with the reason, present.
    not_told = check_referral_text(
        base + "I have not discussed this referral with his mother yet.", referral_date=DAY
    )
    assert not_told.elements["R15"].status == "partial"
    with_reason = check_referral_text(
        base + "I have not discussed this referral with his mother yet as her partner may be "
        "present.",
        referral_date=DAY,
    )
    assert with_reason.elements["R15"].status == "present"


def test_an_approximate_age_identifies_the_child_in_part_and_a_stated_role_names_the_referrer() -> (
    None
):
    text = (
        "Young person: Nia (surname not known), approx 14. I am the duty clinician this week. "
        "Nia told a volunteer last night that she has been hurting herself."
    )
    check = check_referral_text(text, referral_date=DAY)
    assert check.elements["R2"].status == "partial"
    assert check.elements["R1"].status == "partial"
    assert "phone" in (check.elements["R1"].question or "")


_BREAK_PIECES = st.sampled_from(
    ["Mum", " ", "said", ".", "!", "?", "\n", "\t", "\u00a0", "...", "e.g.", "3.5", "?!", "a"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_BREAK_PIECES, max_size=30).map("".join), st.integers(0, 60), st.integers(0, 60))
def test_sentence_breaks_are_found_as_the_break_regex_searches_for_them(
    text: str, low: int, high: int
) -> None:
    """The breaks found once per text answer as a search of the range between two pieces of
    evidence did (a mark at the end of the range counts: ``$`` matches there)."""
    from fullpicture.referrals.checker import _SENTENCE_BREAK, SentenceBreaks

    low, high = min(low, len(text)), min(high, len(text))
    searched = low < high and _SENTENCE_BREAK.search(text, low, high) is not None
    assert SentenceBreaks(text).between(low, high) == searched
