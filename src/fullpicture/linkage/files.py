"""The plain-file interface: ``PERSONS.csv`` in, ``CLUSTERS.csv`` out, for analysts and evaluation.

Input columns: source,record_id,given_name,family_name,date_of_birth,sex,postcode,address,
nhs_number (any but source and record_id may be blank; dates ISO). Output columns:
source,record_id,person_id,cluster_confidence. The output is written whole or not at all, and
spreadsheet-safe (``core.csv_export``): a cell that would start a formula is written as text.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from fullpicture.core.csv_export import csv_line
from fullpicture.linkage.batch import BatchResult, StageReporter, run_batch
from fullpicture.linkage.clustering import person_key
from fullpicture.linkage.engine import Engine, LinkageInputError
from fullpicture.linkage.model_report import (
    ModelReport,
    build_report,
    fields_missing,
    write_charts,
)
from fullpicture.linkage.preparation import RECORD_SCHEMA, prepare
from fullpicture.linkage.relatives import no_relationships
from fullpicture.linkage.rules import LinkageRules

PERSON_FILE_COLUMNS = [
    "source",
    "record_id",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "postcode",
    "address",
    "nhs_number",
]
CLUSTER_FILE_COLUMNS = ["source", "record_id", "person_id", "cluster_confidence"]
# An optional relationships file (``--relationships``): how two records of one source stand to
# each other (what ``related_record_id`` is to ``record_id``: parent, sibling, partner, …, as
# in a feed's relationships, docs/import-format.md).
RELATIONSHIP_FILE_COLUMNS = ["source", "record_id", "related_record_id", "relationship"]
_MAX_ROWS_NAMED = 20


def _rows(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:_MAX_ROWS_NAMED])
    more = f" and {len(lines) - _MAX_ROWS_NAMED} more" if len(lines) > _MAX_ROWS_NAMED else ""
    return f"line{'s' if len(lines) > 1 else ''} {shown}{more}"


def _read_csv_with(path: Path, columns: Sequence[str], *, empty: str) -> pl.DataFrame:
    """The CSV as text, its header's names trimmed (and a byte-order mark dropped), refused
    with a clear message when it is empty, unreadable or lacks any of ``columns``."""
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except pl.exceptions.NoDataError as exc:
        raise LinkageInputError(f"{path.name}: the file is empty ({empty})") from exc
    except (pl.exceptions.ComputeError, UnicodeDecodeError) as exc:
        raise LinkageInputError(f"{path.name}: not a readable CSV file ({exc})") from exc
    raw = raw.rename({c: c.strip().lstrip("\ufeff") for c in raw.columns})
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise LinkageInputError(
            f"{path.name}: missing column(s) {', '.join(missing)}; expected {','.join(columns)}"
        )
    return raw


def read_person_file(path: Path) -> pl.DataFrame:
    """Read and check a persons CSV; every problem found is reported at once, by line number
    (line 1 is the header)."""
    raw = _read_csv_with(path, PERSON_FILE_COLUMNS, empty="no header, no records")
    if raw.is_empty():
        raise LinkageInputError(f"{path.name}: the file has a header but no records")

    frame = (
        raw.select(PERSON_FILE_COLUMNS)
        .with_columns(pl.col(c).str.strip_chars().replace("", None) for c in PERSON_FILE_COLUMNS)
        .with_row_index("line", offset=2)
    )
    problems: list[str] = []

    blank_keys = frame.filter(pl.col("source").is_null() | pl.col("record_id").is_null())
    if blank_keys.height:
        problems.append(f"source and record_id are required: {_rows(blank_keys['line'].to_list())}")

    duplicated = frame.filter(
        pl.col("source").is_not_null()
        & pl.col("record_id").is_not_null()
        & pl.struct("source", "record_id").is_duplicated()
    )
    if duplicated.height:
        problems.append(f"duplicate (source, record_id): {_rows(duplicated['line'].to_list())}")

    parsed_dates = frame.with_columns(
        dob=pl.col("date_of_birth").str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    )
    bad_dates = parsed_dates.filter(pl.col("date_of_birth").is_not_null() & pl.col("dob").is_null())
    if bad_dates.height:
        examples = ", ".join(f"{v!r}" for v in bad_dates["date_of_birth"].head(3).to_list())
        problems.append(
            "date_of_birth is not a YYYY-MM-DD date "
            f"({examples}): {_rows(bad_dates['line'].to_list())}"
        )
    if problems:
        raise LinkageInputError(f"{path.name}: " + "; ".join(problems) + ". Nothing was written.")

    return parsed_dates.select(
        pl.format("{}:{}", "source", "record_id").alias("unique_id"),
        "source",
        "record_id",
        "given_name",
        "family_name",
        pl.lit([], dtype=pl.List(pl.String)).alias("other_names"),
        pl.lit([], dtype=pl.List(pl.String)).alias("previous_family_names"),
        pl.col("dob").alias("date_of_birth"),
        "sex",
        "postcode",
        "address",
        pl.lit([], dtype=pl.List(pl.String)).alias("previous_postcodes"),
        pl.lit([], dtype=pl.List(pl.String)).alias("previous_addresses"),
        "nhs_number",
        pl.lit(None, dtype=pl.String).alias("upn"),
    ).cast(RECORD_SCHEMA)  # type: ignore[arg-type]


def read_relationship_file(path: Path, records: pl.DataFrame) -> pl.DataFrame:
    """Read and check a relationships CSV against the persons file's ``records``: every
    problem is reported at once, by line number (line 1 is the header)."""
    raw = _read_csv_with(path, RELATIONSHIP_FILE_COLUMNS, empty="no header")
    frame = (
        raw.select(RELATIONSHIP_FILE_COLUMNS)
        .with_columns(
            pl.col(c).str.strip_chars().replace("", None) for c in RELATIONSHIP_FILE_COLUMNS
        )
        .with_row_index("line", offset=2)
        .with_columns(
            pl.format("{}:{}", "source", "record_id").alias("unique_id"),
            pl.format("{}:{}", "source", "related_record_id").alias("related_unique_id"),
        )
    )
    problems: list[str] = []
    blank = frame.filter(pl.any_horizontal(pl.col(RELATIONSHIP_FILE_COLUMNS).is_null()))
    if not blank.is_empty():
        problems.append(f"a blank cell on {_rows(blank['line'].to_list())}")
    known = records.select("unique_id", pl.lit(True).alias("held"))
    unknown = (
        frame.join(known, on="unique_id", how="left")
        .join(
            known.rename({"unique_id": "related_unique_id", "held": "related_held"}),
            on="related_unique_id",
            how="left",
        )
        .filter(pl.col("held").is_null() | pl.col("related_held").is_null())
        .join(blank.select("line"), on="line", how="anti")
        .sort("line")
    )
    if not unknown.is_empty():
        problems.append(
            f"a record the persons file does not hold (source,record_id) on "
            f"{_rows(unknown['line'].to_list())}"
        )
    if problems:
        raise LinkageInputError(f"{path.name}: " + "; ".join(problems))
    return frame.select("unique_id", "related_unique_id", "relationship")


def write_atomically(path: Path, write: Any) -> None:
    """Write to a temporary file beside ``path`` and rename it into place: whole or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_cluster_file(path: Path, clusters: pl.DataFrame) -> None:
    """Write ``CLUSTERS.csv`` spreadsheet-safe: ``source`` and ``record_id`` come from the
    feed, and an analyst opens the file in a spreadsheet, so a record id such as
    ``=HYPERLINK(...)`` is written as text through ``core.csv_export.csv_line``."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(csv_line(CLUSTER_FILE_COLUMNS))
        for row in clusters.select(CLUSTER_FILE_COLUMNS).iter_rows():
            handle.write(csv_line(None if cell is None else str(cell) for cell in row))


@dataclass
class FileLinkage:
    records: int
    people: int
    result: BatchResult
    report: ModelReport
    # What the model cannot do with this file (fields it weighs that the file never holds).
    notes: list[str]
    charts: list[Path]


def link_person_file(
    source: Path,
    out: Path,
    *,
    rules: LinkageRules,
    engine: Engine = Engine.DUCKDB,
    model_path: Path | None = None,
    save_model_path: Path | None = None,
    report: StageReporter | None = None,
    charts_dir: Path | None = None,
    threshold: float | None = None,
    relationships_path: Path | None = None,
) -> FileLinkage:
    """Link a persons CSV, training on the file itself unless a saved model is given, at
    ``threshold`` or else the threshold chosen from the model (``threshold.py``).

    With a saved model, a field the model weighs but the file never fills is named (and the
    file refused when without it no pair could reach the link threshold). With
    ``relationships_path`` the relatives' comparison is read (``relatives.py``); without it
    the report says it was not used."""
    records = read_person_file(source)
    relationships = (
        read_relationship_file(relationships_path, records)
        if relationships_path is not None
        else no_relationships()
    )
    model = json.loads(model_path.read_text(encoding="utf-8")) if model_path else None
    notes = (
        fields_missing(
            prepare(records), model, rules=rules, file_name=source.name, threshold=threshold
        )
        if model is not None
        else []
    )
    result = run_batch(
        records,
        rules=rules,
        engine=engine,
        model=model,
        report=report,
        threshold="choose" if threshold is None else threshold,
        relationships=relationships,
    )
    keys = result.clustering.assignments["cluster_key"].unique()
    person_ids = pl.DataFrame(
        {"cluster_key": keys, "person_id": [person_key(k) for k in keys.to_list()]}
    )
    clusters = (
        records.select("unique_id", "source", "record_id")
        .join(result.clustering.assignments, on="unique_id")
        .join(person_ids, on="cluster_key")
        .sort(["source", "record_id"])
        .select(CLUSTER_FILE_COLUMNS)
    )
    write_atomically(out, lambda tmp: write_cluster_file(tmp, clusters))
    if save_model_path is not None:
        write_atomically(
            save_model_path,
            lambda tmp: tmp.write_text(json.dumps(result.model, indent=2), encoding="utf-8"),
        )
    charts = (
        write_charts(
            model=result.model,
            prepared=result.prepared,
            pairs=result.pairs,
            rules=rules,
            out_dir=charts_dir,
            threshold=result.threshold.match_weight,
        )
        if charts_dir is not None
        else []
    )
    return FileLinkage(
        records.height,
        clusters["person_id"].n_unique(),
        result,
        build_report(result.model, rules=rules, pairs=result.pairs, threshold=result.threshold),
        notes,
        charts,
    )


_ADDRESS = pl.Struct(
    {"line": pl.String, "postcode": pl.String, "date_from": pl.String, "date_to": pl.String}
)


def read_feed_records(root: Path) -> pl.DataFrame:
    """Every records table under ``root`` (feeds in docs/import-format.md, one folder per
    agency, CSV or Parquet) as linkage input, keyed ``agency:record_id``. For evaluation and
    benchmarks on feed files without a database."""
    frames = []
    for path in sorted(root.rglob("records.*")):
        if path.suffix == ".csv":
            raw = pl.read_csv(path, infer_schema=False)
            raw = raw.with_columns(
                pl.col("other_names").fill_null("").str.split("|"),
                pl.col("previous_family_names").fill_null("").str.split("|"),
                pl.col("addresses").fill_null("[]").str.json_decode(pl.List(_ADDRESS)),
            )
        elif path.suffix == ".parquet":
            raw = pl.read_parquet(path)
        else:
            continue
        frames.append(_feed_to_records(raw))
    if not frames:
        raise LinkageInputError(f"{root}: no records.csv or records.parquet found")
    return pl.concat(frames)


def read_feed_relationships(root: Path) -> pl.DataFrame:
    """Every relationships table under ``root`` (feeds as in docs/import-format.md, CSV or
    Parquet) as the relatives' comparison reads them (``relatives.RELATIONSHIP_SCHEMA``), keyed
    ``agency:record_id`` like ``read_feed_records``. None found: an empty frame."""
    frames = []
    for path in sorted(root.rglob("relationships.*")):
        if path.suffix == ".csv":
            raw = pl.read_csv(path, infer_schema=False)
        elif path.suffix == ".parquet":
            raw = pl.read_parquet(path)
        else:
            continue
        frames.append(
            raw.select(
                pl.format("{}:{}", "agency", "record_id").alias("unique_id"),
                pl.format("{}:{}", "agency", "related_record_id").alias("related_unique_id"),
                pl.col("relationship").cast(pl.String),
            )
        )
    return pl.concat(frames) if frames else no_relationships()


def _feed_to_records(raw: pl.DataFrame) -> pl.DataFrame:
    addresses = pl.col("addresses")
    is_open = pl.element().struct.field("date_to").is_null()
    current = addresses.list.eval(pl.element().filter(is_open)).list.first()
    current = pl.coalesce(current, addresses.list.first())
    previous = addresses.list.eval(pl.element().filter(~is_open))
    not_blank = pl.element().filter(pl.element().is_not_null() & (pl.element() != ""))
    return (
        raw.select(
            pl.format("{}:{}", "agency", "record_id").alias("unique_id"),
            pl.col("agency").alias("source"),
            "record_id",
            "given_name",
            "family_name",
            pl.col("other_names").list.eval(not_blank),
            pl.col("previous_family_names").list.eval(not_blank),
            pl.col("date_of_birth").cast(pl.String).str.strptime(pl.Date, "%Y-%m-%d", strict=False),
            "sex",
            current.struct.field("postcode").alias("postcode"),
            current.struct.field("line").alias("address"),
            previous.list.eval(pl.element().struct.field("postcode")).alias("previous_postcodes"),
            previous.list.eval(pl.element().struct.field("line")).alias("previous_addresses"),
            "nhs_number",
            "upn",
        )
        .cast(RECORD_SCHEMA)  # type: ignore[arg-type]
        .with_columns(
            pl.col(c).fill_null(pl.lit([], dtype=pl.List(pl.String)))
            for c in (
                "other_names",
                "previous_family_names",
                "previous_postcodes",
                "previous_addresses",
            )
        )
    )
