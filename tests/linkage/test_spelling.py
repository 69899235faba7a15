"""Spelling closeness outside the linkage engine (find a child) is linkage's own: Jaro-Winkler
equal to DuckDB's ``jaro_winkler_similarity``, which the engine's comparison levels call, and
its "spelling very close" cut-off read from the linkage rules."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fullpicture.linkage.rules import default_rules
from fullpicture.linkage.spelling import jaro_winkler_similarity, spelling_very_close

names = st.text(alphabet="abdeiklmnorsty", max_size=12)


@pytest.fixture(scope="module")
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def _duckdb_similarity(duck: duckdb.DuckDBPyConnection, a: str, b: str) -> float:
    found = duck.execute("SELECT jaro_winkler_similarity(?, ?)", [a, b]).fetchone()
    assert found is not None
    return float(found[0])


def _slipped(name: str, data: st.DataObject) -> str:
    """``name`` with a few of a hurried typist's slips: letters dropped, added, changed,
    neighbours swapped (random pairs are rarely close, and closeness is what is decided)."""
    letters = list(name)
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(st.integers(0, max(0, len(letters) - 1)))
        slip = data.draw(st.sampled_from(["drop", "add", "change", "swap"]))
        letter = data.draw(st.sampled_from("abdeiklmnorsty"))
        if slip == "drop" and letters:
            del letters[at]
        elif slip == "add":
            letters.insert(at, letter)
        elif slip == "change" and letters:
            letters[at] = letter
        elif slip == "swap" and at + 1 < len(letters):
            letters[at], letters[at + 1] = letters[at + 1], letters[at]
    return "".join(letters)


@settings(max_examples=400)
@given(names, st.data())
def test_the_similarity_is_duckdbs_to_the_last_bit(
    duck: duckdb.DuckDBPyConnection, name: str, data: st.DataObject
) -> None:
    other = _slipped(name, data) if data.draw(st.booleans()) else data.draw(names)
    assert jaro_winkler_similarity(name, other) == _duckdb_similarity(duck, name, other)


def test_names_either_side_of_linkages_cut_off(duck: duckdb.DuckDBPyConnection) -> None:
    cutoff = default_rules().comparison_cutoffs.name_jaro_winkler_close
    very_close = [
        ("madiso", "madison"),  # a letter dropped
        ("okafo", "okafor"),
        ("wrad", "ward"),  # neighbours swapped
        ("leo", "leon"),  # a short name: no slip was allowed below four letters before
        ("katherine", "catherine"),  # the first letter differs
    ]
    not_close = [
        ("mary", "mark"),  # one slip in four letters, allowed before
        ("amy", "ann"),
        ("okafor", "obama"),
    ]
    for typed, recorded in very_close:
        assert spelling_very_close(typed, recorded), (typed, recorded)
        assert _duckdb_similarity(duck, typed, recorded) >= cutoff
    for typed, recorded in not_close:
        assert not spelling_very_close(typed, recorded), (typed, recorded)
        assert _duckdb_similarity(duck, typed, recorded) < cutoff


def test_the_cut_off_is_read_from_the_linkage_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = default_rules()
    assert spelling_very_close("mary", "mark") is False
    looser = rules.model_copy(
        update={
            "comparison_cutoffs": rules.comparison_cutoffs.model_copy(
                update={"name_jaro_winkler_close": 0.85, "name_jaro_winkler_near": 0.8}
            )
        }
    )
    monkeypatch.setattr("fullpicture.linkage.spelling.default_rules", lambda: looser)
    assert spelling_very_close("mary", "mark")  # 0.883
