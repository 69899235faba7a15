"""A small learned adjustment of the rule checker's present / partial / absent (issue 17 item 5).

The rules find the evidence (which cue groups matched, where); for a few elements a multinomial
logistic regression over those findings (which groups were found, how often, the rule's own
status, the text's length and quotations) decides the status instead of the fixed conditions.
It was trained by ``bench/train_element_model.py`` on the independent corpus's train split and
kept only for the elements where it beat the rules on the dev split; its coefficients are in
``element_model.json`` beside this file (plain numbers, readable in review) and are applied
here with no third-party library.

Explanation is kept: the model only chooses among the statuses the evidence allows — present or
partial only when some evidence of the element was found, and the evidence spans shown are the
rules' — and a partial element still names the missing part (the rule's narrower question).
The model applies only to the rule files it was trained with: when ``referral_standard.yaml``
changes version, the rules decide alone until the model is trained again. Where it changes the
rules' status, the finding says so: ``ElementClassifier.moved_by`` names the rule groups whose
counts moved it most, and ``group_in_words`` names each as a practitioner would.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fullpicture.referrals.rulebook import ElementRule, ElementStatus, Rulebook

MODEL_FILE = Path(__file__).with_name("element_model.json")
STATUSES: tuple[ElementStatus, ...] = ("present", "partial", "absent")


@dataclass(frozen=True)
class TextFacts:
    """Facts about the whole text that every element's features share."""

    word_count: int
    quotations: int
    child_quotations: int
    dated_events: int


def condition_groups(rule: ElementRule) -> tuple[str, ...]:
    """Every group an element's rule reads: its own cue groups and the derived ones it names."""
    names = set(rule.groups)
    for condition in (*rule.present_when, *rule.partial_when):
        for term in condition:
            names.add(term.removeprefix("!").rsplit("*", 1)[0])
    return tuple(sorted(names))


def element_features(
    rule: ElementRule,
    found: Mapping[str, int],
    rule_status: ElementStatus,
    facts: TextFacts,
) -> dict[str, float]:
    """The features of one element: what the rules found for it and a few facts of the text."""
    features: dict[str, float] = {f"rule:{rule_status}": 1.0}
    for name in condition_groups(rule):
        count = found.get(name, 0)
        features[f"has:{name}"] = 1.0 if count else 0.0
        features[f"count:{name}"] = math.log1p(count)
    # No text-level features (length, number of quotations or dates): on 78 texts they become a
    # proxy for the writer's overall quality, and a short note quoting the child would be read
    # as lacking the child's voice. The status must follow from this element's own evidence.
    del facts
    return features


# The rule groups the modelled elements read, in a practitioner's words: a finding that says the
# learned adjustment moved "unattributed_passive" explains nothing to the person reading it.
# tests/referrals/test_element_model.py holds every group of the shipped model to a name here.
GROUP_WORDS: dict[str, str] = {
    "role": "the referrer's role",
    "contact": "a phone number or email to call back",
    "specifics": "a detail of what was seen or heard",
    "timeliness:any_day": "a dated event",
    "timeliness:time": "a time of day",
    "timeliness:recent": "a recent dated event",
    "timeliness:older": "an earlier dated event",
    "vague:any": "vague language",
    "vague:unattributed": "an unattributed report",
    "attribution": "a named source",
    "unattributed_passive": "information with no source",
    "speech:child_quote": "the child's words in quotation marks",
    "speech:child_reported": "what the child said, reported",
}


def group_in_words(rule: ElementRule, name: str) -> str:
    """A rule group as a practitioner would name it: the wording above, else its first cue's
    label (the rule file's own words), else the group's id."""
    if name in GROUP_WORDS:
        return GROUP_WORDS[name]
    cues = rule.groups.get(name)
    return cues[0].label if cues else name


def feature_group(feature: str) -> str | None:
    """The rule group a ``has:`` or ``count:`` feature reads (None for the rules' status)."""
    kind, _, group = feature.partition(":")
    return group if kind in ("has", "count") else None


@dataclass(frozen=True)
class ElementClassifier:
    """One element's logistic regression: a weight per (status, feature) and an intercept."""

    classes: tuple[ElementStatus, ...]
    features: tuple[str, ...]
    coefficients: tuple[tuple[float, ...], ...]
    intercepts: tuple[float, ...]

    def scores(self, features: Mapping[str, float]) -> dict[ElementStatus, float]:
        values = [features.get(name, 0.0) for name in self.features]
        return {
            status: intercept + sum(w * v for w, v in zip(weights, values, strict=True))
            for status, weights, intercept in zip(
                self.classes, self.coefficients, self.intercepts, strict=True
            )
        }

    def decide(
        self, features: Mapping[str, float], allowed: Sequence[ElementStatus]
    ) -> ElementStatus:
        """The highest-scoring status among those the evidence allows."""
        scores = self.scores(features)
        return max(allowed, key=lambda status: scores.get(status, -math.inf))

    def moved_by(
        self,
        features: Mapping[str, float],
        rule_status: ElementStatus,
        decided: ElementStatus,
        most: int = 3,
    ) -> list[str]:
        """The rule groups that moved the status from the rules' ``rule_status`` to ``decided``,
        most first: for each group found, the score its ``has:`` and ``count:`` features add to
        ``decided`` less what they add to the rules' status, where that is positive. The rules'
        status itself (``rule:``) is not a reason: it is what was moved."""
        if rule_status not in self.classes or decided not in self.classes:
            return []
        to = self.coefficients[self.classes.index(decided)]
        away = self.coefficients[self.classes.index(rule_status)]
        pushes: dict[str, float] = {}
        for n, name in enumerate(self.features):
            group = feature_group(name)
            value = features.get(name, 0.0)
            if group is not None and value:
                pushes[group] = pushes.get(group, 0.0) + (to[n] - away[n]) * value
        ranked = sorted(
            ((push, group) for group, push in pushes.items() if push > 0),
            key=lambda item: (-item[0], item[1]),
        )
        return [group for _, group in ranked[:most]]


@dataclass(frozen=True)
class ElementModel:
    version: str
    referral_standard_version: str
    elements: dict[str, ElementClassifier]

    def applies_to(self, rulebook: Rulebook) -> bool:
        return rulebook.standard.version == self.referral_standard_version


def parse_element_model(raw: Mapping[str, object]) -> ElementModel:
    """Build the model from its JSON; raises ``ValueError`` naming what is malformed."""
    try:
        elements: dict[str, ElementClassifier] = {}
        for element_id, spec in dict(raw["elements"]).items():  # type: ignore[call-overload]
            classes = tuple(spec["classes"])
            if not set(classes) <= set(STATUSES):
                raise ValueError(f"{element_id}: unknown status in {classes}")
            features = tuple(spec["features"])
            coefficients = tuple(tuple(float(w) for w in row) for row in spec["coefficients"])
            intercepts = tuple(float(b) for b in spec["intercepts"])
            if len(coefficients) != len(classes) or len(intercepts) != len(classes):
                raise ValueError(f"{element_id}: one row of weights per status is needed")
            if any(len(row) != len(features) for row in coefficients):
                raise ValueError(f"{element_id}: one weight per feature is needed")
            elements[element_id] = ElementClassifier(classes, features, coefficients, intercepts)
        # Retraining on changed rules keeps the trainer's version string, so the weights' own
        # digest is part of the version: a stored check then names the exact model behind it.
        weights = json.dumps(
            {
                "referral_standard_version": raw["referral_standard_version"],
                "elements": raw["elements"],
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        digest = hashlib.sha256(weights.encode("utf-8")).hexdigest()[:8]
        return ElementModel(
            version=f"{raw['version']}+{digest}",
            referral_standard_version=str(raw["referral_standard_version"]),
            elements=elements,
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"element model: missing or malformed field {exc}") from exc


@lru_cache(maxsize=1)
def default_element_model() -> ElementModel | None:
    """The shipped model, or None when there is none (the rules then decide alone)."""
    if not MODEL_FILE.exists():
        return None
    try:
        return parse_element_model(json.loads(MODEL_FILE.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise ValueError(f"{MODEL_FILE.name}: {exc}") from exc


__all__ = [
    "GROUP_WORDS",
    "ElementClassifier",
    "ElementModel",
    "TextFacts",
    "condition_groups",
    "default_element_model",
    "element_features",
    "feature_group",
    "group_in_words",
    "parse_element_model",
]
