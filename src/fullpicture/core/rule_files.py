"""Reading the partnership's rule files (YAML) strictly.

The rule files are meant to be edited by a partnership without code changes. Plain
``yaml.safe_load`` keeps the last of two equal keys in a mapping without a word, so a second
``regex:`` pasted into a cue, or a lawful basis written twice with different wording, would
silently replace the first; the edit that was meant is lost and nothing says so. These loaders
refuse a repeated key instead, naming the file, the key and both lines. They also refuse an
unquoted key that YAML reads as a yes/no value (``on``, ``off``, ``yes``, ``no``): a code or
role written ``no:`` would otherwise become ``False`` and never match.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode


class DuplicateKeyError(ConstructorError):
    """A mapping in a rule file names the same key twice."""


class YesNoKeyError(ConstructorError):
    """A mapping key in a rule file is an unquoted word that YAML reads as true or false."""


class _StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Node] = {}
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # ``<<:`` merges are allowed to repeat keys on purpose
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, bool) and isinstance(key_node, ScalarNode) and not key_node.style:
                raise YesNoKeyError(
                    "while reading a mapping",
                    node.start_mark,
                    f"the key {key_node.value!r} is read by YAML as {str(key).lower()}; "
                    f"write it in quotes ('{key_node.value}') if the word is meant",
                    key_node.start_mark,
                )
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader reports it itself below
                continue
            if first is not None:
                raise DuplicateKeyError(
                    "while reading a mapping",
                    node.start_mark,
                    f"the key {key!r} is given twice (first on line {first.start_mark.line + 1}); "
                    "the second would silently replace the first",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def load_rules_text(text: str | IO[str]) -> Any:
    """Parse rule-file YAML, refusing a key repeated within one mapping."""
    return yaml.load(text, Loader=_StrictLoader)


def load_rules_file(path: Path) -> Any:
    """Read and parse one rule file, refusing a key repeated within one mapping."""
    with path.open(encoding="utf-8") as handle:
        return load_rules_text(handle)
