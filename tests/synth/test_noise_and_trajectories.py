"""Noise shows up at its configured rates, and trajectories and decoys come in the requested
proportions, built up across agencies (or not, for decoys)."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from fullpicture.agencies.models import AgencyKind
from fullpicture.synth.schemas import default_settings


def _records(root: Path) -> pl.DataFrame:
    agencies = pl.read_csv(root / "agencies.csv").rename({"code": "agency", "kind": "agency_kind"})
    frames = [
        pl.read_csv(p, infer_schema_length=0)
        for p in sorted((root / "feeds").glob("*/records.csv"))
    ]
    records = pl.concat([f for f in frames if f.height], how="diagonal")
    noise = pl.read_csv(root / "truth" / "record_noise.csv", infer_schema_length=0)
    identity = pl.read_csv(root / "truth" / "identity.csv", infer_schema_length=0)
    persons = pl.read_csv(root / "truth" / "persons.csv", infer_schema_length=0)
    return (
        records.join(agencies, on="agency")
        .join(noise, on=["agency", "record_id"], how="left")
        .join(identity, on=["agency", "record_id"])
        .join(persons, on="person_id", suffix="_true")
        .with_columns(pl.col("noise").fill_null(""))
    )


def _within(observed: int, total: int, rate: float) -> bool:
    """Observed count within 4 standard deviations (and 3 counts) of the binomial mean."""
    mean = total * rate
    return abs(observed - mean) <= 4 * math.sqrt(max(total * rate * (1 - rate), 1e-9)) + 3


@pytest.mark.parametrize("kind", [AgencyKind.GP, AgencyKind.SCHOOL, AgencyKind.POLICE])
def test_missing_dates_of_birth_at_their_rate(larger_population: Path, kind: AgencyKind) -> None:
    rows = _records(larger_population).filter(
        (pl.col("agency_kind") == kind.value) & (pl.col("kind") != "unborn")
    )
    rate = default_settings().record_noise.for_kind(kind).dob_missing
    observed = rows.filter(pl.col("date_of_birth").is_null()).height
    assert _within(observed, rows.height, rate), (observed, rows.height, rate)


@pytest.mark.parametrize("kind", [AgencyKind.GP, AgencyKind.HOSPITAL, AgencyKind.SCHOOL])
def test_nhs_numbers_held_at_their_rate(larger_population: Path, kind: AgencyKind) -> None:
    rows = _records(larger_population).filter(
        (pl.col("agency_kind") == kind.value) & pl.col("nhs_number_true").is_not_null()
    )
    rate = default_settings().record_noise.for_kind(kind).nhs_number_held
    observed = rows.filter(pl.col("nhs_number").is_not_null()).height
    assert _within(observed, rows.height, rate), (observed, rows.height, rate)


def test_transposed_dates_of_birth_really_are_transposed(larger_population: Path) -> None:
    rows = _records(larger_population)
    flagged = rows.filter(pl.col("noise").str.contains("dob_transposed"))
    assert flagged.height > 0
    true = flagged["date_of_birth_true"].str.split("-")
    held = flagged["date_of_birth"].str.split("-")
    for t, h in zip(true.to_list(), held.to_list(), strict=True):
        assert (h[0], h[1], h[2]) == (t[0], t[2], t[1])
    eligible = rows.filter(
        (pl.col("kind") != "unborn")
        & (pl.col("date_of_birth_true").str.slice(8, 2).cast(pl.Int32) <= 12)
        & (
            pl.col("date_of_birth_true").str.slice(8, 2)
            != pl.col("date_of_birth_true").str.slice(5, 2)
        )
    )
    assert flagged.height <= eligible.height * 0.03


def test_name_noise_is_present_and_visible(larger_population: Path) -> None:
    rows = _records(larger_population).filter(pl.col("kind") != "unborn")
    for noise in (
        "given_name_short_form",
        "given_name_typo",
        "family_name_typo",
        "stale_family_name",
        "old_address",
        "known_as_in_other_names",
    ):
        flagged = rows.filter(pl.col("noise").str.contains(noise))
        assert flagged.height > 0, noise
    changed_given = rows.filter(
        pl.col("noise").str.contains("given_name_typo|given_name_short_form")
    )
    assert (changed_given["given_name"] != changed_given["given_name_true"]).mean() > 0.9  # type: ignore[operator]
    clean = rows.filter(pl.col("noise") == "")
    assert (clean["given_name"] == clean["given_name_true"]).all()
    typos = rows.filter(pl.col("noise").str.contains("given_name_typo")).height
    rate = default_settings().record_noise.default.given_name_typo
    assert 0.3 * rate * rows.height <= typos <= 3 * rate * rows.height


def test_trajectories_and_decoys_in_requested_proportions(larger_population: Path) -> None:
    trajectories = pl.read_csv(larger_population / "truth" / "trajectories.csv")
    planted = pl.read_csv(larger_population / "truth" / "trajectory_events.csv")
    counts = dict(trajectories.group_by("kind").len().iter_rows())
    for template in default_settings().trajectories:
        wanted = round(template.share_of_children * 3000)
        assert counts.get(template.kind, 0) == wanted, template.kind
        is_decoy = trajectories.filter(pl.col("kind") == template.kind)["is_decoy"]
        assert (is_decoy == template.is_decoy).all()
    agencies_per = (
        planted.join(trajectories, on="trajectory_id")
        .group_by("trajectory_id", "is_decoy", "kind")
        .agg(pl.col("agency").n_unique().alias("agencies"))
    )
    harm = agencies_per.filter(~pl.col("is_decoy"))
    assert (harm["agencies"] >= 2).all(), harm.filter(pl.col("agencies") < 2)
    assert (agencies_per.filter(pl.col("is_decoy"))["agencies"] == 1).all()
    assert (trajectories["onset_date"] <= trajectories["outcome_date"]).all()
    assert (trajectories["outcome_date"] <= "2026-10-31").all()
    decoys = trajectories.filter(pl.col("is_decoy"))
    assert set(decoys["outcome"]) == {"resolved"}


def test_domestic_abuse_gives_each_person_their_own_role(larger_population: Path) -> None:
    trajectories = pl.read_csv(larger_population / "truth" / "trajectories.csv")
    planted = pl.read_csv(larger_population / "truth" / "trajectory_events.csv")
    da = planted.join(trajectories.filter(pl.col("kind") == "domestic_abuse"), on="trajectory_id")
    police = pl.read_csv(
        next((larger_population / "feeds").glob("police-*/events.csv")), infer_schema_length=0
    ).join(da.select("agency", "event_id"), on=["agency", "event_id"])
    assert police.height > 0
    for people in police["people"]:
        roles = [p.split(":")[1] for p in people.split("|")]
        assert roles.count("alleged_perpetrator") == 1
        assert "victim" in roles
    assert police.filter(pl.col("people").str.count_matches(":victim") >= 3).height > 0


def test_surname_noise_at_its_rates(larger_population: Path) -> None:
    rows = _records(larger_population).filter(pl.col("kind") != "unborn")
    settings = default_settings().record_noise.default
    changed = rows.filter(pl.col("family_name_changed_on").is_not_null())
    stale = changed.filter(pl.col("family_name") == pl.col("previous_family_names_true")).height
    # Agencies with overrides keep the default here, so one rate covers every record.
    assert changed.height > 20
    assert _within(stale, changed.height, settings.stale_family_name), (stale, changed.height)
    hyphenated = rows.filter(
        pl.col("family_name_true").str.contains("-")
        & ~pl.col("noise").str.contains("family_name_typo|stale_family_name")
    )
    one_part = hyphenated.filter(~pl.col("family_name").str.contains("-")).height
    assert hyphenated.height > 20
    assert _within(one_part, hyphenated.height, settings.hyphenated_part_only)


def test_old_addresses_at_their_rate(larger_population: Path) -> None:
    rows = _records(larger_population).filter(
        (pl.col("agency_kind") == "gp") & pl.col("addresses").is_not_null()
    )
    moved = rows.filter(pl.col("addresses").str.count_matches('"line"') >= 2)
    # A GP holding an old address lists fewer addresses than the person has lived at, and the
    # truth marks the record; the rate applies to everyone who has moved.
    old = moved.filter(pl.col("noise").str.contains("old_address")).height
    rate = default_settings().record_noise.for_kind(AgencyKind.GP).old_address
    assert moved.height > 100
    assert old > 0
    assert old <= 2 * rate * moved.height + 10
