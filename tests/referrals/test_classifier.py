"""The public concern classifier: text to taxonomy codes with the spans that triggered each."""

from __future__ import annotations

from fullpicture.chronology.taxonomy import default_taxonomy
from fullpicture.referrals.classifier import classify_concern_mentions, classify_concerns
from fullpicture.referrals.rulebook import default_rulebook


def test_codes_come_with_their_spans_reason_and_confidence() -> None:
    text = (
        "Bruise to the left cheek of an 8 week old baby who is not yet rolling; mum said he fell."
    )
    suggestions = {s.code: s for s in classify_concerns(text)}
    assert {"PHY-NMB", "PHY-INJ"} <= set(suggestions)
    nmb = suggestions["PHY-NMB"]
    assert nmb.default_severity == 5 and nmb.kind == "concern"
    assert {text[s.start : s.end] for s in nmb.spans} >= {"Bruise", "not yet rolling"}
    assert "Bruise" in nmb.reason
    assert 0 < nmb.confidence <= 0.99
    as_dict = nmb.as_dict()
    assert set(as_dict) == {
        "code",
        "kind",
        "category",
        "default_severity",
        "confidence",
        "spans",
        "reason",
    }


def test_most_confident_first_and_more_cues_mean_more_confidence() -> None:
    one = {s.code: s for s in classify_concerns("Dad was drunk.")}["PAR-SUB"]
    two = {s.code: s for s in classify_concerns("Dad was drunk and smelled of alcohol.")}["PAR-SUB"]
    assert two.confidence >= one.confidence
    ranked = classify_concerns(
        "Missing from home overnight; reported missing by mum. Attendance 85%."
    )
    assert [s.confidence for s in ranked] == sorted((s.confidence for s in ranked), reverse=True)


def test_the_childs_quoted_words_raise_a_disclosure_code() -> None:
    text = 'Child: Ava Cole. Ava said, "Mummy\'s boyfriend hit me with a belt."'
    codes = {s.code for s in classify_concerns(text)}
    assert {"CHD-VOI", "PHY-INJ"} <= codes


def test_denials_and_hypotheticals_are_mentions_not_suggestions() -> None:
    text = "No evidence of drug use. If dad drinks again the children would be alone."
    assert "PAR-SUB" not in {s.code for s in classify_concerns(text)}
    polarities = {(m.code, m.polarity.value) for m in classify_concern_mentions(text)}
    assert ("PAR-SUB", "negated") in polarities
    assert ("PAR-SUB", "hypothetical") in polarities


def test_empty_text_has_no_codes() -> None:
    assert classify_concerns("") == []
    assert classify_concerns("   ") == []


def test_every_concern_code_of_the_taxonomy_has_cues() -> None:
    concerns = {c.code for c in default_taxonomy().codes if c.kind.value == "concern"}
    assert concerns <= set(default_rulebook().concerns.codes)


def test_the_childs_words_without_harm_are_only_a_tentative_disclosure() -> None:
    benign = {s.code: s for s in classify_concerns('Child: Ava Cole. Ava said, "I like football."')}
    fearful = {
        s.code: s for s in classify_concerns('Child: Ava Cole. Ava said, "I am scared of him."')
    }
    assert benign["CHD-VOI"].confidence < fearful["CHD-VOI"].confidence
    assert "read them" in benign["CHD-VOI"].reason
    # the writer's description is not the child's voice
    assert "CHD-VOI" not in {s.code for s in classify_concerns("Child: Ava Cole. Ava is scared.")}
