"""Vectorised checking of plain event rows, so that large feeds import at bulk speed.

``EventRow`` (pydantic) defines what a valid event row is. Checking it one row at a time
costs more than everything else an import does, so a chunk of CSV rows is first checked
column by column with polars against the same rules, written conservatively: a row is
accepted here only in its plain form (ASCII codes, ``YYYY-MM-DD`` / ``YYYY-MM`` / ``YYYY``
dates from 1900, ``id:role`` people in printable ASCII). Every other row — and every row
with any problem — goes through ``EventRow``, which says what is wrong. A property test
(tests/imports/test_fast_events.py) holds this module to the model: whatever it accepts,
the model accepts with the same values and content hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl

from fullpicture.chronology.models import InformationType, ParticipantRole
from fullpicture.imports.parsing import ValidationContext
from fullpicture.imports.plausible_dates import plausible_dates
from fullpicture.imports.readers import SourceRow
from fullpicture.imports.rows import EventRow, NormalisedEvent, event_digest

_DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_MONTH = r"^[0-9]{4}-[0-9]{2}$"
_YEAR = r"^[0-9]{4}$"
_ROLES = [role.value for role in ParticipantRole]
_INFORMATION_TYPES = [kind.value for kind in InformationType]
_PRINTABLE_ASCII = r"^[\x20-\x7e]*$"
# Control characters the model refuses or strips (C0 but tab, line feed and carriage return;
# DEL; C1): a row holding one goes to the model, which says what is wrong.
_UNUSUAL = r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]"
_CONTROL = r"[\x00-\x1f\x7f-\x9f]"


#: The columns of a frame of normalised events, in the order of ``NormalisedEvent``'s fields,
#: after ``row`` (the row's position in its chunk).
EVENT_FRAME_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "row": pl.Int64,
    "agency_id": pl.Int64,
    "event_id": pl.Utf8,
    "event_date": pl.Utf8,
    "precision": pl.Utf8,
    "date_recorded": pl.Utf8,
    "concern_code": pl.Utf8,
    "severity": pl.Int64,
    "summary": pl.Utf8,
    "information_type": pl.Utf8,
    "impact_on_child": pl.Utf8,
    "action_taken": pl.Utf8,
    "practitioner": pl.Utf8,
    "people_records": pl.List(pl.Utf8),
    "people_roles": pl.List(pl.Utf8),
    "change_reason": pl.Utf8,
    "digest": pl.Utf8,
}


def accepted_events(
    chunk: Sequence[SourceRow], *, agencies: dict[str, int], context: ValidationContext
) -> pl.DataFrame:
    """The chunk's rows that pass the vectorised check, normalised, as a frame of
    ``EVENT_FRAME_SCHEMA`` (``row`` is the row's position in the chunk). Any other row is
    for ``EventRow`` to validate."""
    frame = _candidates(chunk)
    if frame is None or frame.height == 0 or not agencies:
        return pl.DataFrame(schema=EVENT_FRAME_SCHEMA)
    # Python's str.strip (which the model uses) also strips \x1c-\x1f; polars does not. The
    # model refuses other control characters (a NUL byte anywhere, any in an id). Rows holding
    # them go to the model; for the rest the two agree.
    text_columns = list(EventRow.columns)
    unusual = pl.concat_str(text_columns, ignore_nulls=True).str.contains(_UNUSUAL)
    frame = frame.with_columns(
        unusual.fill_null(False).alias("_unusual"),
        *(
            pl.col(column).str.strip_chars().replace("", None).alias(column)
            for column in text_columns
        ),
    )
    checked = _check(frame, agencies=agencies, context=context)
    return checked.with_columns(_digests(checked)).drop("spelling").select(list(EVENT_FRAME_SCHEMA))


def _candidates(chunk: Sequence[SourceRow]) -> pl.DataFrame | None:
    """The rows worth a vectorised check, as text columns, with their positions."""
    columns: dict[str, pl.Series] | None = getattr(chunk, "columns", None)
    if columns is not None:
        # A chunk held as text columns (plain CSV, or Parquet of text): read already.
        height = len(chunk)
        return pl.DataFrame(
            [
                pl.int_range(height, eager=True, dtype=pl.Int64).alias("row"),
                *(
                    columns[name]
                    if name in columns
                    else pl.repeat(None, height, dtype=pl.Utf8, eager=True).alias(name)
                    for name in EventRow.columns
                ),
            ]
        )
    positions = [
        index
        for index, row in enumerate(chunk)
        if row.plain_text and row.values is not None and not row.problems
    ]
    if not positions:
        return None
    frame = pl.from_dicts(
        [chunk[index].values for index in positions],  # type: ignore[misc]
        schema={column: pl.Utf8 for column in EventRow.columns},
    )
    return frame.select(pl.Series("row", positions, dtype=pl.Int64), pl.all())


def _digests(frame: pl.DataFrame) -> pl.Series:
    """Each event's content hash: SHA-256 of the spelling made in bulk, or, where the free
    text is not plain ASCII, of the spelling Python makes (``event_digest``)."""
    spellings = frame.get_column("spelling").to_list()
    if None not in spellings:
        # Typed, so that a chunk with no plain row still stacks onto the model's rows (an
        # empty list would make a Null column: "failed to vstack column 'digest'").
        return pl.Series(
            "digest",
            [hashlib.sha256(spelling.encode()).hexdigest() for spelling in spellings],
            dtype=pl.Utf8,
        )
    digests: list[str] = []
    for spelling, values in zip(spellings, _normalised_rows(frame.drop("spelling")), strict=True):
        if spelling is not None:
            digests.append(hashlib.sha256(spelling.encode()).hexdigest())
            continue
        event = _normalised_event(values)
        digests.append(
            event_digest(
                event.event_id,
                event.event_date,
                event.precision,
                event.date_recorded,
                event.concern_code,
                event.severity,
                event.summary,
                event.information_type,
                event.impact_on_child,
                event.action_taken,
                event.practitioner,
                event.people,
            )
        )
    return pl.Series("digest", digests, dtype=pl.Utf8)


def _normalised_rows(frame: pl.DataFrame) -> Iterator[tuple[Any, ...]]:
    # Columns to lists and a zip: far cheaper than a tuple per row from polars.
    return zip(*(series.to_list() for series in frame.iter_columns()), strict=True)


def events_frame(events: Sequence[tuple[int, NormalisedEvent]]) -> pl.DataFrame:
    """Events the model validated, as a frame of ``EVENT_FRAME_SCHEMA`` (position first)."""
    return pl.DataFrame(
        [
            (
                position,
                event.agency_id,
                event.event_id,
                event.event_date,
                event.precision,
                event.date_recorded,
                event.concern_code,
                event.severity,
                event.summary,
                event.information_type,
                event.impact_on_child,
                event.action_taken,
                event.practitioner,
                [record for record, _role in event.people],
                [role for _record, role in event.people],
                event.change_reason,
                event.digest,
            )
            for position, event in events
        ],
        schema=EVENT_FRAME_SCHEMA,
        orient="row",
    )


def normalised_events(frame: pl.DataFrame) -> Iterator[tuple[int, NormalisedEvent]]:
    """The events of a frame of ``EVENT_FRAME_SCHEMA`` as objects, with their positions."""
    for values in _normalised_rows(frame.select(list(EVENT_FRAME_SCHEMA))):
        yield values[0], _normalised_event(values)


def _normalised_event(values: tuple[Any, ...]) -> NormalisedEvent:
    """A row of ``EVENT_FRAME_SCHEMA``'s columns (its digest, if any, last) as an object."""
    (
        _position,
        agency_id,
        event_id,
        event_date,
        precision,
        date_recorded,
        concern_code,
        severity,
        summary,
        information_type,
        impact_on_child,
        action_taken,
        practitioner,
        records,
        roles,
        change_reason,
        *digest,
    ) = values
    return NormalisedEvent(
        agency_id,
        event_id,
        event_date,
        precision,
        date_recorded,
        concern_code,
        severity,
        summary,
        information_type,
        impact_on_child,
        action_taken,
        practitioner,
        tuple(zip(records, roles, strict=True)),
        change_reason,
        digest[0] if digest else "",
    )


def _python_repr(text: pl.Expr) -> pl.Expr:
    """``repr(text)`` for printable ASCII text (None for null): single quotes unless the text
    holds a single quote and no double quote, backslashes doubled, the chosen quote escaped."""
    backslashed = text.str.replace_all("\\", "\\\\", literal=True)
    double_quoted = text.str.contains("'", literal=True) & ~text.str.contains('"', literal=True)
    return (
        pl.when(text.is_null())
        .then(pl.lit("None"))
        .when(double_quoted)
        .then(pl.concat_str(pl.lit('"'), backslashed, pl.lit('"')))
        .otherwise(
            pl.concat_str(
                pl.lit("'"),
                backslashed.str.replace_all("'", "\\'", literal=True),
                pl.lit("'"),
            )
        )
    )


def _check(
    frame: pl.DataFrame, *, agencies: dict[str, int], context: ValidationContext
) -> pl.DataFrame:
    today = context.today
    codes = [code.code for code in context.taxonomy.codes]
    event_date = pl.col("event_date")
    is_day = event_date.str.contains(_DAY)
    is_month = event_date.str.contains(_MONTH)
    is_year = event_date.str.contains(_YEAR)
    day = pl.when(is_day).then(event_date.str.to_date("%Y-%m-%d", strict=False))
    month_start = pl.when(is_month).then((event_date + "-01").str.to_date("%Y-%m-%d", strict=False))
    year_start = pl.when(is_year).then(
        (event_date + "-01-01").str.to_date("%Y-%m-%d", strict=False)
    )
    recorded = pl.col("date_recorded")
    recorded_day = recorded.str.to_date("%Y-%m-%d", strict=False)
    severity = pl.col("severity")
    concern = pl.col("concern_code")
    information = pl.col("information_type")
    practitioner = pl.col("practitioner")

    frame = frame.with_columns(
        agency_id=pl.col("agency").replace_strict(agencies, default=None, return_dtype=pl.Int64),
        period_start=pl.coalesce(day, month_start, year_start),
        stored_day=pl.coalesce(
            day,
            month_start.dt.month_end(),
            pl.when(is_year).then((event_date + "-12-31").str.to_date("%Y-%m-%d", strict=False)),
        ),
        precision=pl.when(is_day)
        .then(pl.lit("day"))
        .when(is_month)
        .then(pl.lit("month"))
        .when(is_year)
        .then(pl.lit("year")),
        recorded_day=pl.when(recorded.str.contains(_DAY)).then(recorded_day),
    )
    people = _people(frame)
    frame = frame.join(people, on="row", how="left")
    ok = (
        ~pl.col("_unusual")
        & pl.col("agency_id").is_not_null()
        & pl.col("event_id").is_not_null()
        & (pl.col("event_id").str.len_chars() <= 64)
        & ~pl.col("event_id").str.contains(_CONTROL)
        & ~pl.col("agency").str.contains(_CONTROL)
        & pl.col("period_start").is_not_null()
        & (pl.col("period_start") >= plausible_dates().fields["event_date"].earliest(today))
        & (pl.col("period_start") <= today)
        & (
            recorded.is_null()
            | (
                pl.col("recorded_day").is_not_null()
                & (pl.col("recorded_day") <= today)
                & (pl.col("recorded_day") >= pl.col("period_start"))
            )
        )
        & concern.str.contains(r"^[A-Za-z][A-Za-z-]*$")
        & concern.str.to_uppercase().is_in(codes)
        & (severity.is_null() | severity.str.contains(r"^[1-5]$"))
        & pl.col("summary").is_not_null()
        & information.str.contains(r"^[A-Za-z]+$")
        & information.str.to_lowercase().is_in(_INFORMATION_TYPES)
        & (
            practitioner.is_null()
            | ((practitioner.str.len_chars() <= 64) & ~practitioner.str.contains(_CONTROL))
        )
        & pl.col("people_ok").fill_null(False)
    )
    # Only accepted rows come back: a rejected row may hold dates Python cannot represent.
    return frame.filter(ok).select(
        "row",
        "agency_id",
        "event_id",
        pl.col("stored_day").dt.to_string("%Y-%m-%d").alias("event_date"),
        "precision",
        pl.col("recorded_day").dt.to_string("%Y-%m-%d").alias("date_recorded"),
        concern.str.to_uppercase(),
        severity.cast(pl.Int64, strict=False),
        "summary",
        information.str.to_lowercase(),
        "impact_on_child",
        "action_taken",
        "practitioner",
        pl.col("people_records").fill_null([]),
        pl.col("people_roles").fill_null([]),
        "change_reason",
        _spelling(),
    )


def _spelling() -> pl.Expr:
    """``repr`` of the tuple ``event_digest`` hashes, for rows whose free text is printable
    ASCII (None for the others, which are spelt by Python itself)."""
    free_text = ["event_id", "summary", "impact_on_child", "action_taken", "practitioner"]
    plain = pl.all_horizontal(
        pl.col(name).is_null() | pl.col(name).str.contains(_PRINTABLE_ASCII) for name in free_text
    )
    fields = [
        _python_repr(pl.col("event_id")),
        _python_repr(pl.col("stored_day").dt.to_string("%Y-%m-%d")),
        _python_repr(pl.col("precision")),
        _python_repr(pl.col("recorded_day").dt.to_string("%Y-%m-%d")),
        _python_repr(pl.col("concern_code").str.to_uppercase()),
        pl.col("severity").cast(pl.Int64, strict=False).cast(pl.Utf8).fill_null("None"),
        _python_repr(pl.col("summary")),
        _python_repr(pl.col("information_type").str.to_lowercase()),
        _python_repr(pl.col("impact_on_child")),
        _python_repr(pl.col("action_taken")),
        _python_repr(pl.col("practitioner")),
        # A tuple of one is spelt with a trailing comma.
        pl.concat_str(
            pl.lit("("),
            pl.col("people_spelling"),
            pl.when(pl.col("people_count") == 1).then(pl.lit(",")).otherwise(pl.lit("")),
            pl.lit(")"),
        ),
    ]
    spelling = pl.concat_str(pl.lit("("), pl.concat_str(fields, separator=", "), pl.lit(")"))
    return pl.when(plain).then(spelling).alias("spelling")


def _people(frame: pl.DataFrame) -> pl.DataFrame:
    """``C1:victim|C2:witness`` checked part by part, as ``parse_people`` reads it."""
    parts = (
        frame.select(
            "row",
            pl.col("people").str.contains(_PRINTABLE_ASCII).alias("printable"),
            pl.col("people").str.split("|").alias("part"),
        )
        .explode("part")
        .with_columns(pl.col("part").str.strip_chars(" "))
        .filter(pl.col("part").is_not_null() & (pl.col("part") != ""))
        .with_columns(
            record=pl.col("part").str.extract(r"^(.*):([^:]*)$", 1).str.strip_chars(" "),
            role=pl.col("part")
            .str.extract(r"^(.*):([^:]*)$", 2)
            .str.strip_chars(" ")
            .str.to_lowercase()
            .str.replace_all("-", "_", literal=True)
            .str.replace_all(" ", "_", literal=True),
        )
        .with_columns(
            part_ok=pl.col("record").is_not_null()
            & (pl.col("record").str.len_chars() >= 1)
            & (pl.col("record").str.len_chars() <= 64)
            & pl.col("role").is_in(_ROLES)
        )
        .sort("row", "record")
    )
    return parts.group_by("row").agg(
        people_ok=pl.col("part_ok").all()
        & pl.col("printable").all()
        & (pl.col("record").n_unique() == pl.len()),
        people_records=pl.col("record"),
        people_roles=pl.col("role"),
        people_spelling=pl.concat_str(
            pl.lit("("),
            _python_repr(pl.col("record")),
            pl.lit(", "),
            _python_repr(pl.col("role")),
            pl.lit(")"),
        ).str.join(", "),
        people_count=pl.len(),
    )
