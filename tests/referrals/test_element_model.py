"""The learned element adjustment (issue 17 item 5): it only weighs present against partial where
the rules found evidence, keeps the rules' spans and asks about the missing part, says where it
changed the rules' status and what moved it, applies only to the rule files it was trained with,
and refuses a malformed model file."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from fullpicture.referrals.checker import analyse_referral_text, check_from_analysis
from fullpicture.referrals.element_model import (
    GROUP_WORDS,
    MODEL_FILE,
    default_element_model,
    feature_group,
    parse_element_model,
)
from fullpicture.referrals.rulebook import default_rulebook

DAY = dt.date(2026, 11, 24)
ROLE_ONLY = "I am the class teacher at Selsdon Primary. Leo, aged 7, came in with a bruise."


def _model(r1_favours: str, *, version: str | None = None) -> Any:
    """A one-element model whose R1 always scores ``r1_favours`` highest."""
    book = default_rulebook()
    classes = ["absent", "partial", "present"]
    return parse_element_model(
        {
            "version": "test",
            "referral_standard_version": version or book.standard.version,
            "elements": {
                "R1": {
                    "classes": classes,
                    "features": ["has:role"],
                    "coefficients": [[0.0], [0.0], [0.0]],
                    "intercepts": [5.0 if c == r1_favours else 0.0 for c in classes],
                }
            },
        }
    )


def _check(model: Any, text: str = ROLE_ONLY) -> Any:
    book = default_rulebook()
    analysis = analyse_referral_text(text, referral_date=DAY, rulebook=book)
    return check_from_analysis(analysis, referral_date=DAY, rulebook=book, element_model=model)


def test_the_rules_alone_read_a_role_without_a_phone_as_partial() -> None:
    finding = _check(None).elements["R1"]
    assert finding.status == "partial"
    assert "phone" in (finding.question or "")


def test_the_model_may_call_evidence_a_full_account_and_keeps_the_rules_spans() -> None:
    check = _check(_model("present"))
    finding = check.elements["R1"]
    assert finding.status == "present"
    assert finding.question is None
    assert finding.spans and all(ROLE_ONLY[s.start : s.end] == s.text for s in finding.spans)
    assert check.score.rule_versions["element_model"].startswith("test+")


def test_the_model_never_erases_evidence_nor_invents_it() -> None:
    # It favours "absent", but evidence was found: it may only choose present or partial.
    assert _check(_model("absent")).elements["R1"].status in {"present", "partial"}
    # It favours "present", but nothing of R1 is in the text: the rules' absent stands.
    bare = "Leo, aged 7, came in with a bruise on 23/11/2026."
    finding = _check(_model("present"), bare).elements["R1"]
    assert finding.status == "absent"
    assert finding.spans == []


def test_a_partial_from_the_model_names_the_missing_part() -> None:
    text = "I am the class teacher, 020 8657 1111. Leo, aged 7, came in with a bruise."
    assert _check(None, text).elements["R1"].status == "present"
    finding = _check(_model("partial"), text).elements["R1"]
    assert finding.status == "partial"
    assert finding.question  # a question is asked, and the evidence still shown
    assert finding.spans


def _weighted(weights: dict[str, dict[str, float]], partial_intercept: float = 0.0) -> Any:
    """A one-element model: R1's weight for each status of each named feature."""
    book = default_rulebook()
    classes = ["absent", "partial", "present"]
    names = sorted(weights)
    return parse_element_model(
        {
            "version": "weights-test",
            "referral_standard_version": book.standard.version,
            "elements": {
                "R1": {
                    "classes": classes,
                    "features": names,
                    "coefficients": [[weights[n].get(c, 0.0) for n in names] for c in classes],
                    "intercepts": [0.0, partial_intercept, 0.0],
                }
            },
        }
    )


def test_a_status_the_model_changed_carries_the_rules_status_and_what_moved_it() -> None:
    check = _check(_weighted({"has:role": {"present": 3.0}}, partial_intercept=1.0))
    finding = check.elements["R1"]
    assert finding.status == "present"
    assert finding.adjusted is not None
    assert finding.adjusted.rule_status == "partial"
    assert finding.adjusted.model_version.startswith("weights-test+")
    assert [(r.group, r.words) for r in finding.adjusted.moved_by] == [
        ("role", "the referrer's role")
    ]
    assert finding.adjusted.explanation == (
        f"The rules read this as partial; the learned adjustment (version {finding.adjusted.model_version}) "
        "reads it as present, mainly because of the referrer's role."
    )
    # Read as present the element asks nothing, but the rules' question is kept beside it.
    assert finding.question is None
    assert finding.adjusted.rule_question == _check(None).elements["R1"].question
    assert "phone" in (finding.adjusted.rule_question or "")
    # The other elements kept the rules' status, so they have nothing to explain.
    assert all(f.adjusted is None for e, f in check.elements.items() if e != "R1")


def test_only_what_pushed_towards_the_new_status_is_named() -> None:
    text = "I am the class teacher, 020 8657 1111. Leo, aged 7, came in with a bruise."
    assert _check(None, text).elements["R1"].status == "present"
    # The role pushes to partial (3.0) harder than the phone pushes to present (1.0).
    model = _weighted({"has:role": {"partial": 3.0}, "has:contact": {"present": 1.0}})
    finding = _check(model, text).elements["R1"]
    assert finding.status == "partial"
    assert finding.adjusted is not None and finding.adjusted.rule_status == "present"
    assert [r.group for r in finding.adjusted.moved_by] == ["role"]
    assert "phone" not in finding.adjusted.explanation
    # The rules read it as present and asked nothing; the element's own question is the model's.
    assert finding.adjusted.rule_question is None


def test_a_change_from_the_baseline_alone_says_no_piece_of_evidence_moved_it() -> None:
    finding = _check(_model("present")).elements["R1"]
    assert finding.adjusted is not None and finding.adjusted.moved_by == []
    assert finding.adjusted.explanation.endswith(
        "reads it as present from its baseline for this element, not from any one piece of the "
        "evidence."
    )


def test_where_the_model_agrees_with_the_rules_there_is_no_adjustment() -> None:
    check = _check(_model("partial"))
    assert check.elements["R1"].status == "partial"
    assert all(f.adjusted is None for f in check.elements.values())


# The shipped model on texts of the shape it was trained on: a dated account with nothing seen
# (the rules' R5 is partial; the model reads the dated event as enough) and a full one.
DATED_ONLY = (
    "I am the class teacher at Selsdon Primary. On 23/11/2026 Leo, aged 7, told me his dad hit "
    "him. Mum said he fell."
)
FULL = (
    "I am the class teacher at Selsdon Primary, tel 020 8657 1111. On 23/11/2026 at 09:10 I saw "
    'a bruise 3 cm across on Leo\'s cheek in the classroom. Leo said "Dad hit me". Mum told me '
    "he fell."
)


def test_the_shipped_model_says_where_it_changed_a_status() -> None:
    model = default_element_model()
    assert model is not None
    assert _check(None, DATED_ONLY).elements["R5"].status == "partial"
    finding = _check(model, DATED_ONLY).elements["R5"]
    assert finding.status == "present"
    assert finding.adjusted is not None
    assert finding.adjusted.rule_status == "partial"
    assert finding.adjusted.model_version == model.version
    assert finding.adjusted.moved_by[0].words == "a dated event"
    assert finding.adjusted.explanation.startswith(
        f"The rules read this as partial; the learned adjustment (version {finding.adjusted.model_version}) "
        "reads it as present, mainly because of a dated event"
    )


def test_the_shipped_model_agreeing_with_the_rules_adds_nothing() -> None:
    check = _check(default_element_model(), FULL)
    assert check.elements == _check(None, FULL).elements
    assert all(f.adjusted is None for f in check.elements.values())


def test_every_group_the_shipped_model_reads_has_a_practitioners_name() -> None:
    model = default_element_model()
    assert model is not None
    groups = {
        group
        for classifier in model.elements.values()
        for name in classifier.features
        if (group := feature_group(name)) is not None
    }
    assert groups and groups <= set(GROUP_WORDS)


def test_a_model_trained_on_other_rule_files_is_not_applied() -> None:
    check = _check(_model("present", version="an older standard"))
    assert check.elements["R1"].status == "partial"
    assert "element_model" not in check.score.rule_versions


def test_the_shipped_model_matches_the_shipped_rules_and_is_small() -> None:
    model = default_element_model()
    assert model is not None
    assert model.applies_to(default_rulebook())
    assert set(model.elements) <= {f"R{n}" for n in range(1, 21)}
    assert MODEL_FILE.stat().st_size < 50_000


@pytest.mark.parametrize(
    "broken",
    [
        {"version": "x", "referral_standard_version": "y"},
        {"version": "x", "referral_standard_version": "y", "elements": {"R1": {"classes": ["maybe"],
         "features": [], "coefficients": [[]], "intercepts": [0]}}},
        {"version": "x", "referral_standard_version": "y", "elements": {"R1": {"classes": ["absent", "present"],
         "features": ["a"], "coefficients": [[1.0]], "intercepts": [0, 0]}}},
    ],
)  # fmt: skip
def test_a_malformed_model_is_refused(broken: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        parse_element_model(json.loads(json.dumps(broken)))


def test_a_retrained_model_has_a_version_of_its_own() -> None:
    """Retraining keeps the trainer's version string; the weights' digest tells models apart."""
    raw = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    shipped = parse_element_model(raw)
    assert shipped.version.startswith(f"{raw['version']}+")
    assert parse_element_model(json.loads(json.dumps(raw))).version == shipped.version
    retrained = json.loads(json.dumps(raw))
    element = next(iter(retrained["elements"].values()))
    element["intercepts"][0] += 0.5
    assert parse_element_model(retrained).version != shipped.version
    retrained = json.loads(json.dumps(raw))
    retrained["referral_standard_version"] += "-next"
    assert parse_element_model(retrained).version != shipped.version
