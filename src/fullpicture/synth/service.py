"""``fullpicture synth``: generate a synthetic multi-agency population and write it out.

See docs/synthetic-population.md for the layout and what each truth file means.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from fullpicture import __version__ as package_version
from fullpicture.synth.draws import NO_DATE, YEAR, day_column_as_date
from fullpicture.synth.events import assemble_events, base_events
from fullpicture.synth.identifiers import new_upns
from fullpicture.synth.population import Population, generate_population
from fullpicture.synth.records import feed_relationships, held_pairs, noisy_records
from fullpicture.synth.roster import Roster, build_roster
from fullpicture.synth.schemas import SynthesisSettings, default_settings
from fullpicture.synth.trajectories import plant_trajectories
from fullpicture.synth.writer import FeedFormat, write_feeds, write_json, write_table

STAGES = ("households", "agencies", "trajectories", "records", "events", "truth")
NOISE_KINDS = (
    "given_name_short_form",
    "given_name_spelling",
    "known_as_in_other_names",
    "middle_name_in_given_name",
    "given_name_typo",
    "family_name_typo",
    "stale_family_name",
    "hyphenated_part_only",
    "dob_transposed",
    "dob_day_wrong",
    "dob_missing",
    "nhs_number_wrong",
    "old_address",
    "address_missing",
    "former_registration",
)

Progress = Callable[[str, int, int], None]


class SynthesisError(ValueError):
    """A request the generator cannot meet; the message says what to change."""


def default_as_of(settings: SynthesisSettings | None = None) -> dt.date:
    return dt.date.fromisoformat((settings or default_settings()).default_as_of)


def _assign_upns(
    *, settings: SynthesisSettings, rng: np.random.Generator, population: Population, roster: Roster
) -> pl.DataFrame:
    """Children who have reached nursery or school age get a UPN from their first setting."""
    persons = population.persons
    dob = persons["dob_days"].to_numpy()
    age = (population.as_of - dob) / YEAR
    pupil = (persons["kind"].to_numpy() == "child") & (age >= 2)
    household = persons["household_idx"].to_numpy()[pupil]
    establishment = roster.agencies["establishment"].fill_null(0).to_numpy()
    school_age = age[pupil] >= 4
    setting = np.where(
        school_age, roster.primary_of_household[household], roster.nursery_of_household[household]
    )
    birth_year = persons["date_of_birth"].dt.year().to_numpy()[pupil].astype(np.int64)
    upns = new_upns(
        rng,
        la_number=settings.area.la_number,
        establishment=establishment[setting].astype(np.int64),
        allocation_year=birth_year + np.where(school_age, 4, 2),
    )
    column = np.full(persons.height, None, dtype=object)
    column[pupil] = upns
    return persons.with_columns(pl.Series("upn", column.tolist(), dtype=pl.String))


def generate(
    *,
    children: int,
    seed: int,
    out: Path,
    fmt: FeedFormat = "csv",
    as_of: dt.date | None = None,
    settings: SynthesisSettings | None = None,
    progress: Progress | None = None,
) -> dict[str, object]:
    """Generate a population of ``children`` children aged 0-17 (plus the unborn) and write
    feeds, truth and manifest under ``out``; returns the manifest."""
    settings = settings or default_settings()
    as_of = as_of or default_as_of(settings)
    if children < 1:
        raise SynthesisError("--children must be at least 1")
    if as_of > dt.date.today() + dt.timedelta(days=3650) or as_of.year < 2000:
        raise SynthesisError(f"--as-of {as_of} is out of range (2000 to ten years from now)")
    if out.exists() and any(out.iterdir()):
        if not (out / "manifest.json").exists():
            raise SynthesisError(
                f"{out} is not empty and holds no earlier population; choose an empty directory"
            )
        shutil.rmtree(out)
    report = progress or (lambda stage, done, total: None)
    rng = np.random.default_rng(seed)

    report("households", 0, 1)
    population = generate_population(settings=settings, rng=rng, children=children, as_of=as_of)
    report("households", 1, 1)
    roster = build_roster(settings=settings, rng=rng, population=population)
    persons = _assign_upns(settings=settings, rng=rng, population=population, roster=roster)
    persons = persons.with_columns(
        pl.when(pl.col("kind") == "unborn")
        .then(None)
        .otherwise(pl.col("given_name"))
        .alias("given_name"),
        pl.when(pl.col("kind") == "unborn")
        .then(None)
        .otherwise(pl.col("middle_name"))
        .alias("middle_name"),
    )
    population = dataclasses.replace(population, persons=persons)
    report("agencies", 1, 1)

    planted = plant_trajectories(
        settings=settings, rng=rng, population=population, roster=roster, children=children
    )
    report("trajectories", 1, 1)
    pairs = pl.concat(
        [
            held_pairs(settings=settings, rng=rng, population=population, roster=roster).select(
                "agency_idx", "person_idx"
            ),
            planted.participants.join(
                planted.events.select("event_key", "agency_idx"), on="event_key"
            ).select("agency_idx", "person_idx"),
        ]
    )
    records = noisy_records(
        settings=settings, rng=rng, population=population, roster=roster, pairs=pairs
    )
    report("records", 1, 1)
    background = base_events(
        settings=settings,
        rng=rng,
        population=population,
        roster=roster,
        records=records,
        first_key=planted.events.height,
    )
    events = assemble_events(
        settings=settings,
        rng=rng,
        population=population,
        roster=roster,
        records=records,
        planted=planted,
        background=background,
    )
    relationships = feed_relationships(
        settings=settings, rng=rng, population=population, roster=roster, records=records
    )
    report("events", 1, 1)

    codes = roster.agencies.select("agency_idx", "code")
    records = records.join(codes, on="agency_idx", how="left").sort("agency_idx", "record_id")
    relationships = relationships.join(codes, on="agency_idx", how="left")
    out.mkdir(parents=True, exist_ok=True)
    agency_codes = roster.agencies["code"].to_list()
    roster.agencies.select("code", "name", "kind").write_csv(out / "agencies.csv")
    written = [0]

    def advance() -> None:
        written[0] += 1
        report("feeds", written[0], len(agency_codes))

    feed_counts = write_feeds(
        out=out,
        fmt=fmt,
        agency_codes=agency_codes,
        records=records,
        relationships=relationships,
        events=events,
        advance=advance,
    )
    truth_counts = _write_truth(
        out=out / "truth",
        population=population,
        records=records,
        events=events,
        planted=planted.trajectories,
    )
    report("truth", 1, 1)
    manifest: dict[str, object] = {
        "generator": f"fullpicture {package_version}",
        "settings_version": settings.version,
        "seed": seed,
        "children": children,
        "as_of": as_of.isoformat(),
        "format": fmt,
        "counts": {
            "agencies": len(agency_codes),
            "source_records": records.height,
            "relationships": relationships.height,
            "events": events.height,
            **truth_counts,
        },
        "agencies": feed_counts,
    }
    write_json(out / "manifest.json", manifest)
    return manifest


def _write_truth(
    *,
    out: Path,
    population: Population,
    records: pl.DataFrame,
    events: pl.DataFrame,
    planted: pl.DataFrame,
) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    persons = population.persons
    person_ids = persons.select("person_idx", "person_id")
    tables: dict[str, pl.DataFrame] = {}
    tables["identity"] = records.join(person_ids, on="person_idx").select(
        pl.col("code").alias("agency"), "record_id", "person_id"
    )
    current_household = (
        population.memberships.filter(pl.col("to_days") == NO_DATE)
        .group_by("person_idx")
        .agg(pl.col("household_idx").max())
    )
    tables["persons"] = persons.join(
        current_household, on="person_idx", how="left", suffix="_now"
    ).select(
        "person_id",
        "kind",
        "sex",
        "given_name",
        "middle_name",
        "family_name",
        pl.col("previous_family_name").alias("previous_family_names"),
        day_column_as_date("family_name_changed_on", "family_name_changed_on"),
        "date_of_birth",
        "expected_date_of_delivery",
        "nhs_number",
        "upn",
        "ethnicity",
        "first_language",
        "interpreter_needed",
        pl.when(pl.col("household_idx_now").is_null())
        .then(None)
        .otherwise(
            pl.concat_str(
                pl.lit("H"), (pl.col("household_idx_now") + 1).cast(pl.String).str.zfill(7)
            )
        )
        .alias("household_id"),
        pl.col("family_role"),
        pl.col("twin_of_previous").alias("is_twin"),
    )
    tables["households"] = population.memberships.join(person_ids, on="person_idx").select(
        pl.concat_str(
            pl.lit("H"), (pl.col("household_idx") + 1).cast(pl.String).str.zfill(7)
        ).alias("household_id"),
        "person_id",
        "role",
        "date_from",
        "date_to",
    )
    tables["addresses"] = population.household_addresses.select(
        pl.concat_str(
            pl.lit("H"), (pl.col("household_idx") + 1).cast(pl.String).str.zfill(7)
        ).alias("household_id"),
        "line",
        "postcode",
        day_column_as_date("from_days", "date_from"),
        day_column_as_date("to_days", "date_to"),
    )
    tables["relationships"] = (
        population.relationships.join(person_ids, on="person_idx")
        .join(
            person_ids.rename({"person_idx": "related_idx", "person_id": "related_person_id"}),
            on="related_idx",
        )
        .select(
            "person_id",
            "related_person_id",
            "relationship",
            "lives_with",
            day_column_as_date("from_days", "date_from"),
            day_column_as_date("to_days", "date_to"),
        )
    )
    tables["trajectories"] = (
        planted.join(person_ids, on="person_idx")
        .select(
            "trajectory_id",
            "person_id",
            "kind",
            "is_decoy",
            pl.col("onset_days").cast(pl.Int32).cast(pl.Date).alias("onset_date"),
            pl.col("outcome_days").cast(pl.Int32).cast(pl.Date).alias("outcome_date"),
            "outcome",
            "description",
        )
        .sort("trajectory_id")
    )
    tables["trajectory_events"] = (
        events.filter(pl.col("trajectory_id").is_not_null())
        .select("trajectory_id", pl.col("code").alias("agency"), "event_id")
        .sort("trajectory_id", "agency", "event_id")
    )
    noise_columns = [k for k in NOISE_KINDS if k in records.columns]
    tables["record_noise"] = records.select(
        pl.col("code").alias("agency"),
        "record_id",
        pl.concat_list([pl.when(pl.col(k)).then(pl.lit(k)).otherwise(None) for k in noise_columns])
        .list.drop_nulls()
        .list.join("|")
        .alias("noise"),
    ).filter(pl.col("noise") != "")
    tables["former_registrations"] = records.filter(pl.col("held_until") != NO_DATE).select(
        pl.col("code").alias("agency"),
        "record_id",
        pl.col("held_until").cast(pl.Int32).cast(pl.Date).alias("held_until"),
    )
    counts: dict[str, int] = {}
    for name, frame in tables.items():
        write_table(frame, out / f"{name}.csv", "csv")
        counts[f"truth_{name}"] = frame.height
    return counts
