"""Which comparison level a pair of records lands in, and which pairs the blocking scores."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from fullpicture.linkage import engine
from fullpicture.linkage.preparation import RECORD_SCHEMA, prepare
from fullpicture.linkage.rules import default_rules
from tests.linkage.population import build_population


def _record(unique_id: str, postcode: str, address: str, **fields: Any) -> dict[str, Any]:
    return {
        "unique_id": unique_id,
        "source": unique_id.split(":")[0],
        "record_id": unique_id.split(":")[1],
        "given_name": fields.get("given_name", "Evangelia"),
        "family_name": fields.get("family_name", "Marsh"),
        "other_names": [],
        "previous_family_names": [],
        "date_of_birth": fields.get("date_of_birth", dt.date(1982, 1, 25)),
        "sex": None,
        "postcode": postcode,
        "address": address,
        "previous_postcodes": [],
        "previous_addresses": [],
        "nhs_number": None,
        "upn": None,
    }


def _prepared(*records: dict[str, Any]) -> pl.DataFrame:
    return prepare(pl.DataFrame(list(records), schema=RECORD_SCHEMA))


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    records = build_population(people=200, seed=3).records.with_columns(
        nhs_number=pl.lit(None, dtype=pl.String)
    )
    return engine.train_model(prepare(records), rules=default_rules())


def _residence_level(model: dict[str, Any], left: pl.DataFrame, right: pl.DataFrame) -> str:
    scored = engine.score_pair(left, right, model=model)
    labels = {value: label for value, label, _w in engine.level_weights(model)["residence"]}
    return labels[scored["gamma_residence"]]


def test_a_postcode_one_character_off_is_not_nothing_agreeing(model: dict[str, Any]) -> None:
    """FEBRL's corrupted duplicates: a four-digit postcode with two digits swapped, the
    address retyped. It was "nothing agrees" (about -8); it is its own level now."""
    left = _prepared(_record("a:1", "2006", "4 naas rrad wync liffe gwandalan act"))
    right = _prepared(_record("b:1", "2060", "3335 naas road wyncliffe gwandalan act"))
    assert _residence_level(model, left, right) == "postcode one character mistyped or two swapped"
    far = _prepared(_record("b:2", "7018", "3335 naas road wyncliffe gwandalan act"))
    assert _residence_level(model, left, far) == "All other comparisons"


def test_a_uk_postcode_one_character_off_in_the_same_sector_stays_a_sector_match(
    model: dict[str, Any],
) -> None:
    left = _prepared(_record("a:1", "LS1 4AB", "12 Park Lane"))
    right = _prepared(_record("b:1", "LS1 4AD", "98 Wood Street"))
    assert _residence_level(model, left, right) == "same postcode sector"


def test_budgeted_blocking_scores_pairs_whose_names_sound_alike_and_nothing_else_agrees() -> None:
    """A duplicate with both names mistyped, no birth date and a postcode slip shares no field
    exactly with its original; on a small file the names' sounds alone put it in a pair."""
    rules = default_rules()
    prepared = _prepared(
        _record("a:1", "6066", "12 boldrewood street box hila", family_name="Whitd"),
        _record(
            "b:1", "6056", "12 boldrewood street box hill", family_name="White", date_of_birth=None
        ),
        *[
            _record(f"c:{i}", f"{1000 + i}", f"{i} other road", given_name=f"Other{i}")
            for i in range(5)
        ],
    )
    model = engine.train_model(
        _prepared(*[_record(f"t:{i}", "2000", "1 a street") for i in range(3)]),
        rules=rules,
        when_untrained="neutral",
    )
    without = engine.predict_pairs(prepared, model=model, minimum_match_weight=-1000)
    assert ("a:1", "b:1") not in set(without.select("unique_id_l", "unique_id_r").iter_rows())
    extra = engine.affordable_blocking(prepared, rules.budgeted_blocking)
    assert ["given_name_phonetic", "family_name_phonetic"] in extra
    scored = engine.predict_pairs(
        prepared, model=model, minimum_match_weight=-1000, extra_blocking=extra
    )
    assert ("a:1", "b:1") in set(scored.select("unique_id_l", "unique_id_r").iter_rows())


def test_a_record_with_one_name_matches_the_other_holding_it_in_the_other_field(
    model: dict[str, Any],
) -> None:
    """ "Dreckow Toby" and "Toby" with no family name: a missing family name made the swap
    test unknown (NULL), so the pair fell to "nothing agrees" on the given name."""
    left = _prepared(
        _record("a:1", "2515", "7 garrard street", given_name="Dreckow", family_name="Toby")
    )
    right = _prepared(
        _record("b:1", "2515", "29 garrard street", given_name="Toby", family_name=None)
    )
    scored = engine.score_pair(left, right, model=model)
    labels = {value: label for value, label, _w in engine.level_weights(model)["given_name"]}
    assert labels[scored["gamma_given_name"]] == "swapped, the other name spelled differently"


def _family_level(model: dict[str, Any], left: pl.DataFrame, right: pl.DataFrame) -> str:
    scored = engine.score_pair(left, right, model=model)
    labels = {value: label for value, label, _w in engine.level_weights(model)["family_name"]}
    return labels[scored["gamma_family_name"]]


def test_one_name_shared_across_the_fields_is_counted_once(model: dict[str, Any]) -> None:
    """ "archie george" and "george peachey" share one name, George, in the other field. The
    given name counts it; the family name counted it again, so two people weighed as two
    agreeing names (FEBRL2: false links at +5). The family name now asks whether the names
    left over, read across, agree ("whtie brandon" ~ "brandon white": they do)."""
    george = _prepared(
        _record("a:1", "2166", "10 mcclure street", given_name="Archie", family_name="George")
    )
    peachey = _prepared(
        _record("b:1", "2166", "114 tingha place", given_name="George", family_name="Peachey")
    )
    assert _family_level(model, george, peachey) == "All other comparisons"
    whtie = _prepared(
        _record("a:2", "5159", "11 winser crescent", given_name="Whtie", family_name="Brandon")
    )
    white = _prepared(
        _record("b:2", "5159", "11 winser crescent", given_name="Brandon", family_name="White")
    )
    assert _family_level(model, whtie, white) == "swapped, the other name spelled differently"
    # A record with one name, held in the family field: the given name cannot count it
    # (blank), so the family name does.
    only_family = _prepared(
        _record("a:3", "2160", "6 appel crescent", given_name=None, family_name="White")
    )
    jasmine = _prepared(
        _record("b:3", "2160", "6 appel crescent", given_name="White", family_name="Jasmine")
    )
    assert (
        _family_level(model, only_family, jasmine) == "swapped, the other name spelled differently"
    )


def test_budgeted_blocking_scores_pairs_that_share_only_the_family_name() -> None:
    """FEBRL1: a duplicate with no given name or birth date, a postcode slip and the address
    retyped shares only its family name with the original (weight +8.75, never compared)."""
    rules = default_rules()
    prepared = _prepared(
        _record(
            "a:1",
            "4656",
            "2 wittenoom gcrescent nerrgia ashford",
            given_name=None,
            family_name="Weller",
            date_of_birth=None,
        ),
        _record(
            "b:1",
            "4655",
            "7 wittenoom crescent nerriga ashford",
            given_name=None,
            family_name="Weller",
        ),
        *[
            _record(f"c:{i}", f"{1000 + i}", f"{i} other road", given_name=f"Other{i}")
            for i in range(5)
        ],
    )
    model = engine.train_model(
        _prepared(*[_record(f"t:{i}", "2000", "1 a street") for i in range(3)]),
        rules=rules,
        when_untrained="neutral",
    )
    without = engine.predict_pairs(prepared, model=model, minimum_match_weight=-1000)
    assert ("a:1", "b:1") not in set(without.select("unique_id_l", "unique_id_r").iter_rows())
    extra = engine.affordable_blocking(prepared, rules.budgeted_blocking)
    assert ["family_name"] in extra
    scored = engine.predict_pairs(
        prepared, model=model, minimum_match_weight=-1000, extra_blocking=extra
    )
    assert ("a:1", "b:1") in set(scored.select("unique_id_l", "unique_id_r").iter_rows())


def test_name_and_place_rules_pair_only_birth_dates_that_could_be_one_persons() -> None:
    """A household's same-sounding names (a parent and the child named after them) are not
    paired by the name-and-place rules when their birth dates differ in year and in day and
    month; a missing birth date, or one with the year or the day and month mistyped, is."""
    rules = default_rules()
    born = dt.date(1982, 1, 25)
    prepared = _prepared(
        _record("a:1", "LS1 4AB", "12 park lane", given_name="Sam", date_of_birth=born),
        _record("b:1", "LS1 4AB", "12 park lane", given_name="Sam", date_of_birth=None),
        _record(
            "c:1", "LS1 4AB", "12 park lane", given_name="Sam", date_of_birth=dt.date(1983, 1, 25)
        ),
        _record(
            "d:1", "LS1 4AB", "12 park lane", given_name="Sam", date_of_birth=dt.date(1982, 3, 4)
        ),
        _record(
            "e:1", "LS1 4AB", "12 park lane", given_name="Sam", date_of_birth=dt.date(2010, 6, 2)
        ),
    )
    model = engine.train_model(
        _prepared(*[_record(f"t:{i}", "2000", "1 a street") for i in range(3)]),
        rules=rules,
        when_untrained="neutral",
    )
    scored = engine.predict_pairs(prepared, model=model, minimum_match_weight=-1000)
    paired = {pair for pair in scored.select("unique_id_l", "unique_id_r").iter_rows()}
    assert {("a:1", "b:1"), ("a:1", "c:1"), ("a:1", "d:1")} <= paired
    assert ("a:1", "e:1") not in paired
    assert ("d:1", "e:1") not in paired
    # A small file still scores every pair of a postcode through the budgeted rules.
    extra = engine.affordable_blocking(prepared, rules.budgeted_blocking)
    everything = engine.predict_pairs(
        prepared, model=model, minimum_match_weight=-1000, extra_blocking=extra
    )
    assert ("a:1", "e:1") in set(everything.select("unique_id_l", "unique_id_r").iter_rows())
