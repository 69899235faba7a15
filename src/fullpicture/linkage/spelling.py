"""How close two spellings of a name are, as linkage's comparisons measure it.

Linkage scores names on DuckDB's ``jaro_winkler_similarity`` (splink's Jaro-Winkler levels,
``comparisons.py``), with the cut-offs in ``linkage_rules.yaml``. Code that compares names
outside the engine (find a child) uses this, so it calls the same pairs "spelling very close"
as linkage does; a test holds it equal to DuckDB's function, to the last bit.
"""

from __future__ import annotations

import math

from fullpicture.linkage.rules import default_rules

#: Winkler's bonus for a shared beginning: this much of what Jaro left, per letter, for up to
#: ``_PREFIX_LETTERS`` letters, given only when Jaro is above ``_BOOST_FROM`` (as DuckDB does).
_PREFIX_WEIGHT = 0.1
_PREFIX_LETTERS = 4
_BOOST_FROM = 0.7
#: 2**27 + 1: splits a double into two halves whose products are exact (Veltkamp).
_SPLITTER = 134217729.0


def jaro_similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    window = max(0, max(len(a), len(b)) // 2 - 1)
    b_matched = [False] * len(b)
    a_common: list[str] = []
    for i, letter in enumerate(a):
        end = min(len(b), i + window + 1)
        j = b.find(letter, max(0, i - window), end)
        while j != -1 and b_matched[j]:
            j = b.find(letter, j + 1, end)
        if j != -1:
            b_matched[j] = True
            a_common.append(letter)
    common = len(a_common)
    if not common:
        return 0.0
    b_common = [letter for letter, matched in zip(b, b_matched, strict=True) if matched]
    transpositions = sum(x != y for x, y in zip(a_common, b_common, strict=True)) // 2
    return (common / len(a) + common / len(b) + (common - transpositions) / common) / 3.0


def _fused_multiply_add(x: float, y: float, z: float) -> float:
    """x * y + z rounded once, as a fused multiply-add does (``math.fma`` from Python 3.13):
    the product split exactly in two (Dekker), then summed exactly by ``math.fsum``."""
    product = x * y
    x_high = _SPLITTER * x - (_SPLITTER * x - x)
    y_high = _SPLITTER * y - (_SPLITTER * y - y)
    x_low, y_low = x - x_high, y - y_high
    error = ((x_high * y_high - product) + x_high * y_low + x_low * y_high) + x_low * y_low
    return math.fsum((product, error, z))


def jaro_winkler_similarity(a: str, b: str) -> float:
    """Jaro-Winkler similarity, 0 (nothing alike) to 1 (the same), as DuckDB computes it."""
    similarity = jaro_similarity(a, b)
    if similarity <= _BOOST_FROM:
        return similarity
    prefix = 0
    for x, y in zip(a[:_PREFIX_LETTERS], b[:_PREFIX_LETTERS], strict=False):
        if x != y:
            break
        prefix += 1
    # DuckDB adds the bonus as one fused multiply-add (rounded once, not twice), so a name
    # near the cut-off falls on the same side here as in linkage.
    return _fused_multiply_add(prefix * _PREFIX_WEIGHT, 1.0 - similarity, similarity)


def spelling_very_close(a: str, b: str) -> bool:
    """Linkage's "spelling very close" level: Jaro-Winkler at or above the rules'
    ``name_jaro_winkler_close`` (0.92 takes one slip in a typical name)."""
    cutoff = default_rules().comparison_cutoffs.name_jaro_winkler_close
    return jaro_winkler_similarity(a, b) >= cutoff
