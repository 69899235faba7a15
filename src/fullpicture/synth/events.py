"""Chronology entries: background events at base rates, joined with the planted ones, each
naming its people by the recording agency's own record ids."""

from __future__ import annotations

import numpy as np
import polars as pl

from fullpicture.agencies.models import AgencyKind
from fullpicture.synth.draws import NO_DATE, YEAR
from fullpicture.synth.population import Population
from fullpicture.synth.roster import Roster
from fullpicture.synth.schemas import SynthesisSettings
from fullpicture.synth.trajectories import Planted

_EVENT_COLUMNS = {
    "event_key": pl.Int64,
    "trajectory_id": pl.String,
    "agency_idx": pl.Int64,
    "day": pl.Int64,
    "code": pl.String,
    "severity": pl.Int64,
    "summary": pl.String,
    "information_type": pl.String,
    "impact_on_child": pl.String,
    "action_taken": pl.String,
    "subject_idx": pl.Int64,
    "month_precision": pl.Boolean,
}


def _choice(rng: np.random.Generator, options: list[str], size: int) -> pl.Series:
    if not options:
        return pl.Series([None] * size, dtype=pl.String)
    return pl.Series(
        np.asarray(options, dtype=object)[rng.integers(0, len(options), size)].tolist(),
        dtype=pl.String,
    )


def base_events(
    *,
    settings: SynthesisSettings,
    rng: np.random.Generator,
    population: Population,
    roster: Roster,
    records: pl.DataFrame,
    first_key: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Background events drawn per record at the configured rate per year of exposure."""
    persons = population.persons.select("person_idx", "kind", "dob_days")
    held = (
        records.select("agency_idx", "person_idx", "held_until")
        .join(
            roster.agencies.select("agency_idx", "kind").rename({"kind": "agency_kind"}),
            on="agency_idx",
        )
        .join(persons, on="person_idx")
    )
    agency_kind = held["agency_kind"].to_numpy()
    held_until = held["held_until"].to_numpy()
    # A record kept after the person moved on gets no entries after that day.
    last_day = np.where(held_until == NO_DATE, population.as_of, held_until)
    person_kind = held["kind"].to_numpy()
    dob = held["dob_days"].to_numpy()
    frames: list[pl.DataFrame] = []
    key = first_key
    for config in settings.base_events:
        if config.who == "child":
            mask = (agency_kind == config.agency.value) & (person_kind == "child")
            start = np.maximum(population.window_start, dob + int(config.age_years.low * YEAR))
            end = np.minimum(last_day, dob + int((config.age_years.high + 1) * YEAR) - 1)
        else:
            mask = (agency_kind == config.agency.value) & (person_kind == "adult")
            start = np.full(dob.size, population.window_start)
            end = last_day
        rows = np.flatnonzero(mask & (end > start))
        if rows.size == 0:
            continue
        years = (end[rows] - start[rows]) / YEAR
        counts = rng.poisson(config.rate_per_year * years)
        which = np.repeat(rows, counts)
        size = which.size
        if size == 0:
            continue
        day = start[which] + np.floor(rng.random(size) * (end[which] - start[which] + 1)).astype(
            np.int64
        )
        month_precision = rng.random(size) < config.month_precision_share
        frames.append(
            pl.DataFrame(
                {
                    "event_key": np.arange(key, key + size),
                    "trajectory_id": pl.Series([None] * size, dtype=pl.String),
                    "agency_idx": held["agency_idx"].to_numpy()[which],
                    "day": day,
                    "code": np.full(size, config.code),
                    "severity": pl.Series([config.severity] * size, dtype=pl.Int64),
                    "summary": _choice(rng, config.summaries, size),
                    "information_type": np.full(size, config.information_type.value),
                    "impact_on_child": _choice(rng, config.impacts, size),
                    "action_taken": _choice(rng, config.actions, size),
                    "subject_idx": held["person_idx"].to_numpy()[which],
                    "month_precision": month_precision,
                },
                schema_overrides=_EVENT_COLUMNS,
            )
        )
        key += size
    events = pl.concat(frames) if frames else pl.DataFrame(schema=_EVENT_COLUMNS)
    participants = events.select(
        "event_key",
        pl.col("subject_idx").alias("person_idx"),
        pl.lit("subject").alias("role"),
        pl.lit(0, dtype=pl.Int64).alias("ordinal"),
    )
    return events, participants


def assemble_events(
    *,
    settings: SynthesisSettings,
    rng: np.random.Generator,
    population: Population,
    roster: Roster,
    records: pl.DataFrame,
    planted: Planted,
    background: tuple[pl.DataFrame, pl.DataFrame],
) -> pl.DataFrame:
    """Every event with its agency's event id, recording date, practitioner and people."""
    planted_events = planted.events.select(list(_EVENT_COLUMNS)).cast(_EVENT_COLUMNS)  # type: ignore[arg-type]
    events = pl.concat([planted_events, background[0]]).rename({"code": "concern_code"})
    participants = pl.concat(
        [
            planted.participants.select(
                "event_key", "person_idx", "role", pl.col("ordinal").cast(pl.Int64)
            ),
            background[1],
        ]
    )
    ids = records.select("agency_idx", "person_idx", "record_id", "given_name")
    people = participants.join(events.select("event_key", "agency_idx"), on="event_key").join(
        ids, on=["agency_idx", "person_idx"], how="left"
    )
    missing = people.filter(pl.col("record_id").is_null())
    if missing.height:
        raise RuntimeError(f"{missing.height} event participants have no record at the agency")
    people_lists = (
        people.sort("event_key", "ordinal")
        .group_by("event_key", maintain_order=True)
        .agg(pl.struct("record_id", "role").alias("people"))
    )
    subject_name = (
        events.select("event_key", "agency_idx", pl.col("subject_idx").alias("person_idx"))
        .join(ids, on=["agency_idx", "person_idx"], how="left")
        .select("event_key", pl.col("given_name").fill_null("the baby").alias("subject_name"))
    )
    agencies = roster.agencies.select("agency_idx", "code", "kind", "record_prefix")
    n = events.height
    delay = settings.recording_delay
    lag = np.minimum(rng.geometric(delay.geometric_p, n) - 1, delay.max_days)
    practitioner_pick = rng.random(n)
    events = (
        events.join(people_lists, on="event_key", how="left")
        .join(subject_name, on="event_key", how="left")
        .join(agencies, on="agency_idx", how="left")
        .with_columns(pl.Series("lag", lag), pl.Series("practitioner_pick", practitioner_pick))
        .sort("agency_idx", "day", "event_key")
    )
    # An entry dated to a month is stored as the month's last day (docs/import-format.md), so it
    # can only be month-dated when that day is not after as_of; it is recorded after it.
    month_end = pl.col("day").cast(pl.Int32).cast(pl.Date).dt.month_end().cast(pl.Int32)
    events = events.with_columns(
        (pl.col("month_precision") & (month_end <= population.as_of)).alias("month_precision")
    ).with_columns(
        pl.when(pl.col("month_precision"))
        .then(month_end)
        .otherwise(pl.col("day"))
        .cast(pl.Int64)
        .alias("stored_day")
    )
    staff = {k.value: settings.roster.practitioners_per_agency.get(k, 5) for k in AgencyKind}
    staff_count = pl.col("kind").replace_strict(staff, return_dtype=pl.Int64)
    events = events.with_columns(
        (
            pl.col("record_prefix")
            + "E"
            + (pl.int_range(pl.len()).over("agency_idx") + 1).cast(pl.String).str.zfill(7)
        ).alias("event_id"),
        pl.col("stored_day").cast(pl.Int32).cast(pl.Date).alias("event_date"),
        pl.when(pl.col("month_precision"))
        .then(pl.col("day").cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m"))
        .otherwise(pl.col("day").cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m-%d"))
        .alias("event_date_text"),
        pl.min_horizontal(
            pl.max_horizontal(pl.col("day") + pl.col("lag"), pl.col("stored_day")),
            pl.lit(population.as_of),
        )
        .cast(pl.Int32)
        .cast(pl.Date)
        .alias("date_recorded"),
        pl.col("summary").str.replace_all("{name}", pl.col("subject_name"), literal=True),
        pl.col("impact_on_child").str.replace_all("{name}", pl.col("subject_name"), literal=True),
        pl.col("action_taken").str.replace_all("{name}", pl.col("subject_name"), literal=True),
        (
            pl.col("record_prefix")
            + "S"
            + ((pl.col("practitioner_pick") * staff_count).floor().cast(pl.Int64) + 1)
            .cast(pl.String)
            .str.zfill(3)
        ).alias("practitioner"),
    )
    return events.drop("lag", "practitioner_pick", "subject_name", "stored_day")
