"""The rule-file loader refuses what plain YAML would silently mis-read."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fullpicture.core.rule_files import (
    DuplicateKeyError,
    YesNoKeyError,
    load_rules_file,
    load_rules_text,
)

SHIPPED_RULE_FILES = sorted(
    Path(__file__).parents[2].joinpath("src", "fullpicture").rglob("*.yaml")
)


def test_a_key_given_twice_is_refused_with_both_lines() -> None:
    text = "cues:\n  regex: 'first'\n  words: [a]\n  regex: 'second'\n"
    # Plain YAML keeps the second without a word: the reason this loader exists.
    assert yaml.safe_load(text) == {"cues": {"regex": "second", "words": ["a"]}}
    with pytest.raises(DuplicateKeyError) as refused:
        load_rules_text(text)
    message = str(refused.value)
    assert "'regex' is given twice (first on line 2)" in message
    assert "line 4" in message


def test_a_repeated_key_deep_in_a_list_is_refused() -> None:
    text = "elements:\n  - id: R1\n    name: a\n  - id: R2\n    name: b\n    id: R3\n"
    with pytest.raises(DuplicateKeyError, match="'id' is given twice"):
        load_rules_text(text)


def test_equal_keys_in_different_mappings_and_merges_are_allowed() -> None:
    text = (
        "base: &base\n  weight: 1\n  label: x\none:\n  <<: *base\n  weight: 2\ntwo:\n  weight: 3\n"
    )
    assert load_rules_text(text) == {
        "base": {"weight": 1, "label": "x"},
        "one": {"weight": 2, "label": "x"},
        "two": {"weight": 3},
    }


@pytest.mark.parametrize("word", ["on", "off", "yes", "no", "No", "ON"])
def test_an_unquoted_yes_no_word_as_a_key_is_refused(word: str) -> None:
    assert True in yaml.safe_load(f"{word}: 1\n") or False in yaml.safe_load(f"{word}: 1\n")
    with pytest.raises(YesNoKeyError, match=f"the key '{word}' is read by YAML as"):
        load_rules_text(f"codes:\n  {word}: 1\n")


def test_quoted_yes_no_words_and_yes_no_values_are_kept() -> None:
    assert load_rules_text("'no': 1\n\"on\": 2\nenabled: yes\n") == {
        "no": 1,
        "on": 2,
        "enabled": True,
    }


def test_the_file_is_named_when_a_rule_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lawful_bases.yaml"
    path.write_text("bases:\n  a: 1\n  a: 2\n", encoding="utf-8")
    with pytest.raises(DuplicateKeyError, match=r"lawful_bases\.yaml"):
        load_rules_file(path)


@pytest.mark.parametrize("path", SHIPPED_RULE_FILES, ids=lambda path: path.name)
def test_every_shipped_rule_file_reads_strictly(path: Path) -> None:
    assert load_rules_file(path) is not None
