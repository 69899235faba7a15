"""The learned element adjustment (issue 17 item 5): it only weighs present against partial where
the rules found evidence, keeps the rules' spans and asks about the missing part, applies only to
the rule files it was trained with, and refuses a malformed model file."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from fullpicture.referrals.checker import analyse_referral_text, check_from_analysis
from fullpicture.referrals.element_model import (
    MODEL_FILE,
    default_element_model,
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
    assert check.score.rule_versions["element_model"] == "test"


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
