"""Clustering pairs into people: decisions always honoured, and the order of arrival irrelevant."""

from __future__ import annotations

import random

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from fullpicture.linkage.clustering import PairDecisions, cluster_records, ordered
from fullpicture.linkage.preparation import sound_code

RECORDS = [f"r{i:02d}" for i in range(12)]

pair_strategy = (
    st.tuples(st.sampled_from(RECORDS), st.sampled_from(RECORDS))
    .filter(lambda p: p[0] != p[1])
    .map(lambda p: ordered(*p))
)


def _pairs(edges: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(a, b, w, 1 / (1 + 2**-w)) for a, b, w in edges],
        schema={
            "unique_id_l": pl.String,
            "unique_id_r": pl.String,
            "match_weight": pl.Float64,
            "match_probability": pl.Float64,
        },
        orient="row",
    )


def _groups(assignments: pl.DataFrame) -> dict[str, str]:
    return dict(assignments.select("unique_id", "cluster_key").iter_rows())


@settings(max_examples=60, deadline=None)
@given(
    edges=st.lists(
        st.tuples(pair_strategy, st.floats(min_value=-5, max_value=30, allow_nan=False)),
        max_size=30,
        unique_by=lambda e: e[0],
    ),
    confirmed=st.lists(pair_strategy, max_size=3),
    rejected=st.lists(pair_strategy, max_size=3),
    seed=st.integers(0, 1000),
)
def test_decisions_hold_and_order_does_not_matter(
    edges: list[tuple[tuple[str, str], float]],
    confirmed: list[tuple[str, str]],
    rejected: list[tuple[str, str]],
    seed: int,
) -> None:
    rejected = [p for p in rejected if p not in confirmed]
    flat = [(a, b, w) for (a, b), w in edges]
    decisions = PairDecisions.of(confirmed, rejected)
    ids = pl.Series(RECORDS)
    result = cluster_records(ids, _pairs(flat), threshold_match_weight=8.0, decisions=decisions)
    groups = _groups(result.assignments)

    for a, b in rejected:
        assert groups[a] != groups[b]
    for a, b in confirmed:
        if (a, b) not in result.refused:
            assert groups[a] == groups[b]
    for a, b, w in flat:
        if w >= 8.0 and (a, b) not in decisions.rejected and (a, b) not in result.refused:
            assert groups[a] == groups[b]

    shuffled = flat[:]
    random.Random(seed).shuffle(shuffled)
    again = cluster_records(
        pl.Series(list(reversed(RECORDS))),
        _pairs(shuffled),
        threshold_match_weight=8.0,
        decisions=decisions,
    )
    assert _groups(again.assignments) == groups


def test_a_rejection_stops_a_chain_of_links() -> None:
    pairs = _pairs([("a", "b", 20.0), ("b", "c", 15.0)])
    result = cluster_records(
        pl.Series(["a", "b", "c"]),
        pairs,
        threshold_match_weight=8.0,
        decisions=PairDecisions.of(rejected=[("a", "c")]),
    )
    groups = _groups(result.assignments)
    assert groups["a"] == groups["b"] != groups["c"]
    assert result.refused == [("b", "c")]
    confidence = dict(result.assignments.select("unique_id", "cluster_confidence").iter_rows())
    assert confidence["c"] < 0.01  # alone, though it scored highly against b


def test_sound_codes_match_spellings_that_sound_alike() -> None:
    assert sound_code("katherine") == sound_code("catherine")
    assert sound_code("smith") == sound_code("smyth")
    assert sound_code("philips") == sound_code("filips")
    assert sound_code("smith") != sound_code("jones")
