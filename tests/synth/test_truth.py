"""The truth files agree with the feeds, and the population is internally consistent."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from fullpicture.agencies.models import AgencyKind
from fullpicture.chronology.taxonomy import default_taxonomy
from fullpicture.synth.identifiers import is_valid_nhs_number, is_valid_upn
from fullpicture.synth.schemas import default_settings
from fullpicture.synth.service import generate
from tests.synth.conftest import SMALL


def _feeds(root: Path, table: str) -> pl.DataFrame:
    frames = [
        pl.read_csv(path, infer_schema_length=0)
        for path in sorted((root / "feeds").glob(f"*/{table}.csv"))
    ]
    return pl.concat([f for f in frames if f.height], how="diagonal")


def _truth(root: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(root / "truth" / f"{name}.csv", infer_schema_length=0)


def test_agencies_roster_covers_every_kind(small_population: Path) -> None:
    agencies = pl.read_csv(small_population / "agencies.csv")
    kinds = agencies["kind"].value_counts()
    counts = dict(zip(kinds["kind"].to_list(), kinds["count"].to_list(), strict=True))
    assert set(counts) == {k.value for k in AgencyKind}
    assert counts["school"] >= 3 and counts["gp"] >= 2 and counts["nursery"] >= 2
    assert counts["police"] == counts["health_visiting"] == 1
    for code in agencies["code"]:
        assert (small_population / "feeds" / code / "records.csv").exists()


def test_every_feed_record_is_in_identity_and_back(small_population: Path) -> None:
    records = _feeds(small_population, "records").select("agency", "record_id")
    identity = _truth(small_population, "identity")
    assert records.height == identity.height
    assert records.join(identity, on=["agency", "record_id"], how="anti").height == 0
    assert identity.join(records, on=["agency", "record_id"], how="anti").height == 0
    persons = _truth(small_population, "persons")
    assert identity.join(persons, on="person_id", how="anti").height == 0


def test_events_name_records_of_their_own_agency(small_population: Path) -> None:
    events = _feeds(small_population, "events")
    people = (
        events.select("agency", "event_id", pl.col("people").str.split("|").alias("person"))
        .explode("person")
        .with_columns(
            pl.col("person").str.split(":").list.get(0).alias("record_id"),
            pl.col("person").str.split(":").list.get(1).alias("role"),
        )
    )
    records = _feeds(small_population, "records").select("agency", "record_id")
    assert people.join(records, on=["agency", "record_id"], how="anti").height == 0
    assert set(people["role"]) <= {
        "subject",
        "victim",
        "alleged_perpetrator",
        "witness",
        "household_member",
    }
    relationships = _feeds(small_population, "relationships")
    for column in ("record_id", "related_record_id"):
        refs = relationships.select("agency", pl.col(column).alias("record_id"))
        assert refs.join(records, on=["agency", "record_id"], how="anti").height == 0
    taxonomy = default_taxonomy()
    assert all(code in taxonomy for code in events["concern_code"].unique())
    assert events.filter(pl.col("summary").str.contains("{name}", literal=True)).height == 0


def test_every_trajectory_event_exists_in_the_feeds(small_population: Path) -> None:
    planted = _truth(small_population, "trajectory_events")
    events = _feeds(small_population, "events").select("agency", "event_id")
    assert planted.height > 0
    assert planted.join(events, on=["agency", "event_id"], how="anti").height == 0
    trajectories = _truth(small_population, "trajectories")
    assert set(planted["trajectory_id"]) == set(trajectories["trajectory_id"])


def test_no_event_in_the_future_or_before_a_childs_birth(small_population: Path) -> None:
    manifest = json.loads((small_population / "manifest.json").read_text())
    as_of = manifest["as_of"]
    # A month-precision date (YYYY-MM) stands for the month's last day.
    events = _feeds(small_population, "events").with_columns(
        pl.when(pl.col("event_date").str.len_chars() == 7)
        .then(
            (pl.col("event_date") + "-01")
            .str.to_date("%Y-%m-%d", strict=False)
            .dt.month_end()
            .dt.strftime("%Y-%m-%d")
        )
        .otherwise(pl.col("event_date"))
        .alias("event_date")
    )
    assert events.filter(pl.col("event_date") > as_of).height == 0
    assert events.filter(pl.col("date_recorded") > as_of).height == 0
    assert events.filter(pl.col("date_recorded") < pl.col("event_date")).height == 0
    identity = _truth(small_population, "identity")
    persons = _truth(small_population, "persons")
    participants = (
        events.select(
            "agency",
            "event_id",
            "event_date",
            "concern_code",
            pl.col("people").str.split("|").alias("person"),
        )
        .explode("person")
        .with_columns(pl.col("person").str.split(":").list.get(0).alias("record_id"))
        .join(identity, on=["agency", "record_id"])
        .join(
            persons.select("person_id", "kind", "date_of_birth", "expected_date_of_delivery"),
            on="person_id",
        )
    )
    prebirth = default_settings().prebirth_codes
    before_birth = participants.filter(
        pl.col("date_of_birth").is_null() | (pl.col("event_date") < pl.col("date_of_birth"))
    )
    assert before_birth.filter(~pl.col("concern_code").is_in(prebirth)).height == 0
    assert set(before_birth["kind"]) <= {"unborn", "child"}


def test_people_and_households_are_consistent(small_population: Path) -> None:
    persons = _truth(small_population, "persons")
    households = _truth(small_population, "households")
    kinds = persons["kind"].value_counts()
    counts = dict(zip(kinds["kind"].to_list(), kinds["count"].to_list(), strict=True))
    assert counts["child"] == SMALL
    assert counts.get("adult", 0) > SMALL / 2
    assert households.join(persons, on="person_id", how="anti").height == 0
    open_now = households.filter(pl.col("date_to").is_null())
    children = persons.filter(pl.col("kind") == "child")
    per_child = (
        open_now.join(children.select("person_id"), on="person_id").group_by("person_id").len()
    )
    assert per_child.height == SMALL and set(per_child["len"]) == {1}
    assert open_now.group_by("person_id").len()["len"].max() == 1
    unborn = persons.filter(pl.col("kind") == "unborn")
    assert unborn.filter(pl.col("date_of_birth").is_not_null()).height == 0
    assert unborn.filter(pl.col("expected_date_of_delivery").is_null()).height == 0
    as_of = dt.date.fromisoformat(
        json.loads((small_population / "manifest.json").read_text())["as_of"]
    )
    ages = children.select(pl.col("date_of_birth").str.to_date()).to_series()
    assert ages.max() <= as_of  # type: ignore[operator]
    assert ages.min() > as_of.replace(year=as_of.year - 18)  # type: ignore[operator]
    roles = set(households["role"])
    assert {"parent", "child"} <= roles
    # Membership changes happen: people join and leave households within the window.
    assert households.filter(pl.col("date_to").is_not_null()).height > 0


def test_household_changes_births_and_moves(larger_population: Path) -> None:
    households = _truth(larger_population, "households")
    assert households.filter(pl.col("role") == "partner").height > 0
    assert households.filter(pl.col("role") == "householder").height > 0
    addresses = _truth(larger_population, "addresses")
    moved = addresses.group_by("household_id").len().filter(pl.col("len") > 1)
    assert moved.height > 0
    assert addresses["postcode"].str.contains(r"^[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}$").all()
    persons = _truth(larger_population, "persons")
    assert persons.filter(pl.col("is_twin") == "true").height > 0
    assert persons.filter(pl.col("family_name").str.contains("-")).height > 0
    assert persons.filter(pl.col("family_name_changed_on").is_not_null()).height > 0


def test_identifiers_in_feeds_are_valid(larger_population: Path) -> None:
    records = _feeds(larger_population, "records")
    nhs = records["nhs_number"].drop_nulls()
    upns = records["upn"].drop_nulls()
    assert nhs.len() > 1000 and upns.len() > 1000
    assert all(is_valid_nhs_number(value) for value in nhs)
    assert all(is_valid_upn(value) for value in upns)
    persons = _truth(larger_population, "persons")
    assert persons["nhs_number"].drop_nulls().is_unique().all()
    assert persons["upn"].drop_nulls().is_unique().all()


def test_manifest_counts_match_the_files(small_population: Path) -> None:
    manifest = json.loads((small_population / "manifest.json").read_text())
    assert manifest["seed"] == 11 and manifest["children"] == SMALL
    assert manifest["as_of"] == "2026-10-31"
    records = _feeds(small_population, "records")
    assert manifest["counts"]["source_records"] == records.height
    for code, counts in manifest["agencies"].items():
        assert (
            counts["records"]
            == pl.read_csv(
                small_population / "feeds" / code / "records.csv", infer_schema_length=0
            ).height
        )


@pytest.mark.parametrize("children", [1, 2, 7])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_tiny_populations_are_whole(tmp_path: Path, children: int, fmt: str) -> None:
    manifest = generate(children=children, seed=children, out=tmp_path, fmt=fmt)  # type: ignore[arg-type]
    persons = _truth(tmp_path, "persons")
    assert persons.filter(pl.col("kind") == "child").height == children
    counts = manifest["counts"]
    assert isinstance(counts, dict)
    assert _truth(tmp_path, "identity").height == counts["source_records"] > 0


def test_a_school_or_gp_left_behind_keeps_only_what_it_knew(larger_population: Path) -> None:
    former = _truth(larger_population, "former_registrations")
    assert former.height > 0
    agencies = pl.read_csv(larger_population / "agencies.csv").rename({"code": "agency"})
    kinds = set(former.join(agencies, on="agency")["kind"])
    assert kinds <= {"school", "nursery", "gp"} and "gp" in kinds
    records = _feeds(larger_population, "records").join(former, on=["agency", "record_id"])
    addresses = records.select(
        "held_until",
        pl.col("addresses")
        .str.json_decode(pl.List(pl.Struct({"date_from": pl.String, "date_to": pl.String})))
        .alias("a"),
    ).explode("a")
    starts = addresses.select("held_until", pl.col("a").struct.field("date_from")).drop_nulls()
    assert (starts["date_from"] <= starts["held_until"]).all()
    events = (
        _feeds(larger_population, "events")
        .select("agency", "event_date", pl.col("people").str.split("|").alias("person"))
        .explode("person")
        .with_columns(pl.col("person").str.split(":").list.get(0).alias("record_id"))
    )
    after = events.join(former, on=["agency", "record_id"]).filter(
        pl.col("event_date").str.slice(0, 10) > pl.col("held_until")
    )
    assert after.height == 0
    # The same person is on the new school's or practice's roll too.
    identity = _truth(larger_population, "identity")
    people = former.join(identity, on=["agency", "record_id"]).join(
        agencies.select("agency", "kind"), on="agency"
    )
    elsewhere = people.join(
        identity.join(agencies.select("agency", "kind"), on="agency"),
        on=["person_id", "kind"],
        suffix="_now",
    ).filter(pl.col("agency_now") != pl.col("agency"))
    assert elsewhere.height > 0
