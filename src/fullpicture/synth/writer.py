"""Writing a population: one feed per agency (docs/import-format.md), the truth, the manifest."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import polars as pl

FeedFormat = Literal["csv", "parquet"]

_DATE = "%Y-%m-%d"


def _date_text(column: str) -> pl.Expr:
    return pl.col(column).dt.strftime(_DATE)


def _days_text(column: str, alias: str) -> pl.Expr:
    return (
        pl.when(pl.col(column) < -100_000)
        .then(None)
        .otherwise(pl.col(column))
        .cast(pl.Int32)
        .cast(pl.Date)
        .dt.strftime(_DATE)
        .alias(alias)
    )


def record_table(records: pl.DataFrame, fmt: FeedFormat) -> pl.DataFrame:
    addresses = pl.col("addresses").list.eval(
        pl.struct(
            pl.element().struct.field("line"),
            pl.element().struct.field("postcode"),
            pl.element().struct.field("date_from").dt.strftime(_DATE),
            pl.element().struct.field("date_to").dt.strftime(_DATE),
        )
    )
    table = records.select(
        pl.col("code").alias("agency"),
        "record_id",
        "given_name",
        "family_name",
        "other_names",
        "previous_family_names",
        _days_text("dob_days", "date_of_birth"),
        _days_text("edd_days", "expected_date_of_delivery"),
        "sex",
        "nhs_number",
        "upn",
        "ethnicity",
        "first_language",
        "interpreter_needed",
        addresses.alias("addresses"),
    )
    if fmt == "csv":
        return table.with_columns(
            pl.when(pl.col("other_names") == "")
            .then(None)
            .otherwise(pl.col("other_names"))
            .alias("other_names"),
            pl.when(pl.col("previous_family_names") == "")
            .then(None)
            .otherwise(pl.col("previous_family_names"))
            .alias("previous_family_names"),
            pl.when(pl.col("interpreter_needed").is_null())
            .then(None)
            .otherwise(pl.col("interpreter_needed").cast(pl.String).str.to_lowercase())
            .alias("interpreter_needed"),
            pl.when(pl.col("addresses").is_null() | (pl.col("addresses").list.len() == 0))
            .then(None)
            .otherwise(
                pl.lit("[")
                + pl.col("addresses").list.eval(pl.element().struct.json_encode()).list.join(",")
                + pl.lit("]")
            )
            .alias("addresses"),
        )
    return table.with_columns(
        pl.when(pl.col("other_names") == "")
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(pl.concat_list("other_names"))
        .alias("other_names"),
        pl.when(pl.col("previous_family_names") == "")
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(pl.concat_list("previous_family_names"))
        .alias("previous_family_names"),
    )


def relationship_table(relationships: pl.DataFrame) -> pl.DataFrame:
    return relationships.select(
        pl.col("code").alias("agency"),
        "record_id",
        "related_record_id",
        "relationship",
        "lives_with",
        _days_text("from_days", "date_from"),
        _days_text("to_days", "date_to"),
    )


def event_table(events: pl.DataFrame, fmt: FeedFormat) -> pl.DataFrame:
    table = events.select(
        pl.col("code").alias("agency"),
        "event_id",
        pl.col("event_date_text").alias("event_date"),
        _date_text("date_recorded").alias("date_recorded"),
        pl.col("concern_code"),
        "severity",
        "summary",
        "information_type",
        "impact_on_child",
        "action_taken",
        "practitioner",
        "people",
    )
    if fmt == "csv":
        return table.with_columns(
            pl.col("people")
            .list.eval(
                pl.element().struct.field("record_id") + ":" + pl.element().struct.field("role")
            )
            .list.join("|")
            .alias("people"),
        )
    return table


def write_table(frame: pl.DataFrame, path: Path, fmt: FeedFormat) -> None:
    if fmt == "csv":
        if frame.schema.get("lives_with") == pl.Boolean:
            frame = frame.with_columns(pl.col("lives_with").cast(pl.String).str.to_lowercase())
        frame.write_csv(path, null_value="")
    else:
        frame.write_parquet(path, compression="zstd", statistics=False)


def write_json(path: Path, content: object) -> None:
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_feeds(
    *,
    out: Path,
    fmt: FeedFormat,
    agency_codes: list[str],
    records: pl.DataFrame,
    relationships: pl.DataFrame,
    events: pl.DataFrame,
    advance: Callable[[], None],
) -> dict[str, dict[str, int]]:
    """One directory per agency, even when an agency has nobody (its feed is then empty)."""
    counts: dict[str, dict[str, int]] = {}
    by_agency = {
        "records": record_table(records, fmt).partition_by(
            "agency", as_dict=True, maintain_order=True
        ),
        "relationships": relationship_table(relationships).partition_by(
            "agency", as_dict=True, maintain_order=True
        ),
        "events": event_table(events, fmt).partition_by(
            "agency", as_dict=True, maintain_order=True
        ),
    }
    empty = {
        "records": record_table(records.head(0), fmt),
        "relationships": relationship_table(relationships.head(0)),
        "events": event_table(events.head(0), fmt),
    }
    for code in agency_codes:
        directory = out / "feeds" / code
        directory.mkdir(parents=True, exist_ok=True)
        counts[code] = {}
        for table, parts in by_agency.items():
            frame = parts.get((code,), empty[table])
            write_table(frame, directory / f"{table}.{fmt}", fmt)
            counts[code][table] = frame.height
        advance()
    return counts
