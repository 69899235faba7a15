"""The link threshold a file gets: chosen from the model's own probabilities, explained, and
overridable."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from fullpicture.cli.main import app
from fullpicture.linkage import engine
from fullpicture.linkage.clustering import cluster_records, pairs_joining_people
from fullpicture.linkage.comparisons import linkage_settings
from fullpicture.linkage.rules import ThresholdChoiceRules, default_rules
from fullpicture.linkage.threshold import choose_threshold
from tests.linkage.population import build_population
from tests.linkage.test_files import write_persons

runner = CliRunner()
RULES = ThresholdChoiceRules(
    expected_false_links_budget=1.0, lowest_match_weight=3.0, generation_gap_years=12
)


@functools.cache
def _level(comparison: str, label: str) -> int:
    """The comparison-vector value (gamma) of a level, by its label (cached: building splink's
    settings takes most of a second, and a file of pairs asks for each level once per pair)."""
    settings = linkage_settings().create_settings_dict("duckdb")
    levels = engine.level_weights(settings)[comparison]
    return next(value for value, level_label, _w in levels if level_label == label)


# The pattern a parent and the child named after them show: both names the same, one address.
SAME_NAME_SAME_HOME = {
    "given_name": "same given name (rarer names weigh more)",
    "family_name": "same family name (rarer names weigh more)",
    "residence": "same current address and postcode",
}


def _pairs(
    rows: list[tuple[str, str, float]], levels: dict[int, dict[str, str]] | None = None
) -> pl.DataFrame:
    """Scored pairs; each one's comparison levels are the same name at the same home unless
    ``levels`` (by row) says otherwise."""
    chosen = [{**SAME_NAME_SAME_HOME, **(levels or {}).get(i, {})} for i in range(len(rows))]
    return pl.DataFrame(
        {
            "unique_id_l": [a for a, _b, _w in rows],
            "unique_id_r": [b for _a, b, _w in rows],
            "match_weight": [w for _a, _b, w in rows],
            "match_probability": [1 / (1 + 2**-w) for _a, _b, w in rows],
            **{
                f"gamma_{comparison}": pl.Series(
                    [_level(comparison, row[comparison]) for row in chosen], dtype=pl.Int8
                )
                for comparison in SAME_NAME_SAME_HOME
            },
        }
    )


def _born(years: dict[str, int | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "unique_id": list(years),
            "date_of_birth": [None if y is None else f"{y}-05-01" for y in years.values()],
        },
        schema={"unique_id": pl.String, "date_of_birth": pl.String},
    )


def _wrong(weight: float) -> float:
    return 1 - 1 / (1 + 2**-weight)


def test_the_line_comes_down_while_the_expected_wrong_links_stay_within_the_budget() -> None:
    # Below 8: pairs at 7, 6, 5, 4 would add 0.008, 0.015, 0.030, 0.059 expected wrong links
    # (one minus each one's probability): 0.112 in all, within a budget of 0.06 only to 5.
    weights = [20.0, 7.0, 6.0, 5.0, 4.0]
    pairs = _pairs([(f"a:{i}", f"b:{i}", w) for i, w in enumerate(weights, start=1)])
    born = _born({f"{s}:{i}": 1990 for s in "ab" for i in range(1, 6)})
    tight = RULES.model_copy(update={"expected_false_links_budget": 0.06})
    chosen = choose_threshold(pairs, born, start=8.0, rules=tight)
    assert chosen.match_weight == 5.0
    assert chosen.links == 4
    assert chosen.expected_false_links == pytest.approx(
        sum(_wrong(w) for w in (20.0, 7.0, 6.0, 5.0))
    )
    assert chosen.expected_missed_links == pytest.approx(1 - _wrong(4.0))
    assert "lowered from 8" in chosen.reason
    # With room for all four, the line stops at the floor; with none, it stays at 8.
    assert choose_threshold(pairs, born, start=8.0, rules=RULES).match_weight == 3.0
    none = RULES.model_copy(update={"expected_false_links_budget": 0.001})
    kept = choose_threshold(pairs, born, start=8.0, rules=none)
    assert kept.match_weight == 8.0
    assert kept.reason.startswith("kept at 8")


def test_many_uncertain_pairs_keep_the_line_up() -> None:
    # A large file: 300 pairs just below 8 would add 300 x 0.0055 = 1.6 expected wrong links.
    pairs = _pairs([(f"a:{i}", f"b:{i}", 7.5) for i in range(300)])
    born = _born({f"{s}:{i}": 2001 for s in "ab" for i in range(300)})
    chosen = choose_threshold(pairs, born, start=8.0, rules=RULES)
    assert chosen.match_weight == 8.0
    assert chosen.links == 0


def test_the_budget_counts_only_pairs_that_join_two_people() -> None:
    """A wrong link merges two people, so the budget counts the pairs a lower line would join:
    not a pair inside a person stronger links already made, nor one the one-record-per-agency
    rule refuses. Ellie's GP and school records match at 20; her police record matches each at
    7 (one join, not two). Twins: the GP holds both, with their own NHS numbers; the school
    record of one matches her GP record at 20 and her twin's at 6.5, which would put the GP's two
    records in one person: refused, no link. A lone pair at 4 would add 0.059."""
    pairs = _pairs(
        [
            ("gp:1", "school:2", 20.0),
            ("gp:1", "police:3", 7.0),
            ("police:3", "school:2", 7.0),
            ("gp:4", "school:6", 20.0),
            ("gp:5", "school:6", 6.5),
            ("hv:7", "police:8", 4.0),
        ]
    )
    ids = ["gp:1", "school:2", "police:3", "gp:4", "gp:5", "school:6", "hv:7", "police:8"]
    born = _born(dict.fromkeys(ids, 2015))
    identifiers = pl.DataFrame(
        {
            "unique_id": ids,
            "nhs_number": [None, None, None, "4857773456", "4857773457", None, None, None],
            "upn": [None] * len(ids),
        },
        schema={"unique_id": pl.String, "nhs_number": pl.String, "upn": pl.String},
    )
    joins = functools.partial(
        pairs_joining_people,
        pl.Series(ids),
        pairs,
        start=8.0,
        one_record_per_agency=True,
        same_agency_chain_min_match_weight=0.0,
        identifiers=identifiers,
    )
    budget = RULES.model_copy(update={"expected_false_links_budget": 0.01})
    # Every pair counted: the two pairs at 7 alone add 2 x 0.0078 = 0.0156, over 0.01.
    assert choose_threshold(pairs, born, start=8.0, rules=budget).match_weight == 8.0
    # Joins counted: 0.0078 at 7 (one join), nothing at 6.5 (refused); the pair at 4 is over.
    chosen = choose_threshold(pairs, born, start=8.0, rules=budget, joins_people=joins)
    assert chosen.match_weight == 6.5
    assert chosen.expected_false_links == pytest.approx(
        2 * _wrong(20.0) + 2 * _wrong(7.0) + _wrong(6.5)
    )
    assert "3 pairs (1 joining two people), 0.01 expected wrong" in chosen.reason
    people = cluster_records(
        pl.Series(ids),
        pairs,
        threshold_match_weight=chosen.match_weight,
        one_record_per_agency=True,
        same_agency_chain_min_match_weight=0.0,
        identifiers=identifiers,
    ).assignments
    person = dict(people.select("unique_id", "cluster_key").iter_rows())
    assert person["police:3"] == person["gp:1"] == person["school:2"]
    assert person["gp:5"] != person["gp:4"] == person["school:6"]
    assert person["hv:7"] != person["police:8"]


def test_two_people_already_formed_at_the_fixed_line_are_not_joined_below_it() -> None:
    """Twins: Amara's health visiting and school records match at 20, Zara's police and social
    care records at 20; Amara's school record and Zara's police record match at 7 (same family
    name, birth date and address). Each is a person of two records whose records were compared
    and never reached 8: held back, linked only from 8, and not counted in the budget. A lone
    nursery record matching Amara's health visiting record at 6.5 joins her."""
    pairs = _pairs(
        [
            ("hv:1", "school:2", 20.0),
            ("csc:4", "police:3", 20.0),
            ("police:3", "school:2", 7.0),
            ("hv:1", "nursery:5", 6.5),
        ]
    )
    ids = ["hv:1", "school:2", "police:3", "csc:4", "nursery:5"]
    joins = functools.partial(
        pairs_joining_people, pl.Series(ids), pairs, start=8.0, one_record_per_agency=True
    )
    chosen = choose_threshold(
        pairs, _born(dict.fromkeys(ids, 2016)), start=8.0, rules=RULES, joins_people=joins
    )
    assert chosen.match_weight == 3.0
    assert chosen.held_back == frozenset({("police:3", "school:2")})
    assert "1 pair(s) above the line between two people already of two or more records" in (
        chosen.reason
    )
    assert "the 1 pairs between (1 joining two people)" in chosen.reason
    people = cluster_records(
        pl.Series(ids),
        pairs,
        threshold_match_weight=chosen.match_weight,
        held_back=chosen.held_back,
        one_record_per_agency=True,
    ).assignments
    person = dict(people.select("unique_id", "cluster_key").iter_rows())
    assert person["hv:1"] == person["school:2"] == person["nursery:5"]
    assert person["police:3"] == person["csc:4"] != person["hv:1"]


def test_a_generation_apart_is_never_linked_below_the_fixed_line() -> None:
    # Margaret Brown born 1990 and Margaret Brown born 2022 at one address: the model gives
    # them 6, but they are a mother and her daughter. Born 3 years apart: a mistyped year.
    pairs = _pairs([("csc:1", "gp:2", 6.0), ("csc:3", "gp:4", 6.0), ("csc:5", "gp:6", 9.0)])
    born = _born(
        {"csc:1": 1990, "gp:2": 2022, "csc:3": 1990, "gp:4": 1993, "csc:5": 1990, "gp:6": 2022}
    )
    chosen = choose_threshold(pairs, born, start=8.0, rules=RULES)
    assert chosen.match_weight == 3.0
    assert chosen.held_back == frozenset({("csc:1", "gp:2")})
    assert "1 pair(s) above the line with birth dates 12+ years apart held back" in chosen.reason
    people = cluster_records(
        pl.Series(["csc:1", "gp:2", "csc:3", "gp:4", "csc:5", "gp:6"]),
        pairs,
        threshold_match_weight=chosen.match_weight,
        held_back=chosen.held_back,
    ).assignments
    person = dict(people.select("unique_id", "cluster_key").iter_rows())
    assert person["csc:1"] != person["gp:2"]
    assert person["csc:3"] == person["gp:4"]
    # From the fixed line up, the model's weight decides as before.
    assert person["csc:5"] == person["gp:6"]


def test_only_the_same_name_at_the_same_home_is_held_back_as_a_generation_apart() -> None:
    """FEBRL1's corrupted duplicates, born decades apart by a replaced date: a given name blank
    on one record ("durr", "kilby"), the names swapped ("whtie brandon" / "brandon white"), or
    only the postcode shared ("7 longstaff street" / "16 longstaff street", one postcode) do not
    show a parent and the child named after them at one address. They were held back; the
    model's weight decides them now. "jacob dichiera" at one address, born 1961 and 1985, is
    held back as before."""
    pairs = _pairs(
        [
            ("f:284", "f:284d", 7.1),
            ("f:490", "f:490d", 4.3),
            ("f:425", "f:425d", 3.9),
            ("f:123", "f:123d", 6.1),
        ],
        levels={
            1: {"given_name": "given_name missing"},
            2: {
                "given_name": "swapped, the other name spelled differently",
                "family_name": "swapped, the other name spelled differently",
            },
            3: {"residence": "same current postcode"},
        },
    )
    born = _born(
        {
            "f:284": 1961,
            "f:284d": 1985,
            "f:490": 1981,
            "f:490d": 1930,
            "f:425": 1938,
            "f:425d": 1991,
            "f:123": 1997,
            "f:123d": 1930,
        }
    )
    chosen = choose_threshold(pairs, born, start=8.0, rules=RULES)
    assert chosen.match_weight == 3.0
    assert chosen.held_back == frozenset({("f:284", "f:284d")})
    assert chosen.links == 3


def test_link_reports_the_chosen_threshold_and_takes_an_override(tmp_path: Path) -> None:
    persons = write_persons(tmp_path / "p.csv", build_population(people=120, seed=5).records)
    chosen = runner.invoke(app, ["link", str(persons), "--out", str(tmp_path / "c.csv")])
    assert chosen.exit_code == 0, chosen.output
    text = " ".join(chosen.output.split())
    assert "Threshold: Chosen from the model:" in text
    assert "Override with --threshold" in text
    given = runner.invoke(
        app, ["link", str(persons), "--out", str(tmp_path / "g.csv"), "--threshold", "11.5"]
    )
    assert given.exit_code == 0, given.output
    text = " ".join(given.output.split())
    assert "Link at +11.50" in text
    assert "Threshold: Given: given with --threshold;" in text
    # No relationships file: the relatives' comparison did nothing, and the report says so.
    assert "the relatives' comparison was not used." in text
    # A higher line can only split people, never join more.
    assert (
        pl.read_csv(tmp_path / "g.csv")["person_id"].n_unique()
        >= pl.read_csv(tmp_path / "c.csv")["person_id"].n_unique()
    )


def test_the_database_refuses_a_threshold_of_its_own() -> None:
    result = runner.invoke(app, ["link", "--threshold", "5", "--as", "admin"])
    assert result.exit_code == 2
    assert "--threshold is for a file" in " ".join(result.output.split())


def test_the_fixed_line_and_the_floor_are_consistent() -> None:
    rules = default_rules()
    assert (
        rules.minimum_stored_match_weight
        <= rules.threshold_choice.lowest_match_weight
        <= rules.link_threshold_match_weight
    )
    assert math.isclose(rules.link_threshold_match_weight, 8.0)
