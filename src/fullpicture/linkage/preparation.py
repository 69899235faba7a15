"""Turn person records into the standardised columns the linkage model compares.

Everything here is vectorised over a polars frame; per-name work (variant lookup, sound-alike
codes) is done once per distinct name, never once per record. The same prepared columns feed
DuckDB and Spark, so both engines compare exactly the same values.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import polars as pl

VARIANTS_FILE = Path(__file__).with_name("given_name_variants.csv")

# The shape every caller (plain file, database, incremental) hands to ``prepare``.
RECORD_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "unique_id": pl.String,
    "source": pl.String,
    "record_id": pl.String,
    "given_name": pl.String,
    "family_name": pl.String,
    "other_names": pl.List(pl.String),
    "previous_family_names": pl.List(pl.String),
    "date_of_birth": pl.Date,
    "sex": pl.String,
    "postcode": pl.String,
    "address": pl.String,
    "previous_postcodes": pl.List(pl.String),
    "previous_addresses": pl.List(pl.String),
    "nhs_number": pl.String,
    "upn": pl.String,
}

# Columns of the prepared frame, in order. ``*_all`` columns are ``|``-delimited token lists
# so that "is this value among the other record's values" is a portable ``instr`` test.
PREPARED_COLUMNS = [
    "unique_id",
    "source",
    "given_name",
    "given_name_canonical",
    "given_name_canonicals",
    "given_name_phonetic",
    "given_names_all",
    "family_name",
    "family_name_phonetic",
    "family_names_all",
    "date_of_birth",
    "date_of_birth_transposed",
    "sex",
    "postcode",
    "postcode_sector",
    "postcode_district",
    "postcodes_all",
    "address",
    "addresses_all",
    "nhs_number",
    "upn",
]

_ADDRESS_ABBREVIATIONS = {
    "rd": "road",
    "st": "street",
    "ave": "avenue",
    "av": "avenue",
    "ln": "lane",
    "cl": "close",
    "ct": "court",
    "cres": "crescent",
    "dr": "drive",
    "gdns": "gardens",
    "gr": "grove",
    "pl": "place",
    "sq": "square",
    "tce": "terrace",
    "hse": "house",
    "flt": "flat",
}


def empty_records() -> pl.DataFrame:
    return pl.DataFrame(schema=RECORD_SCHEMA)


@lru_cache(maxsize=1)
def given_name_canonicals() -> dict[str, tuple[str, ...]]:
    """Each known short form or variant -> the full names it can stand for (sorted).

    Not transitive: "em" stands for Emily or Emma, "millie" for Emily or Amelia, but Emma and
    Millie are not variants of each other. A full name stands for itself.
    """
    canonicals: dict[str, set[str]] = {}
    with VARIANTS_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            name, canonical = _letters(row["name"]), _letters(row["canonical"])
            canonicals.setdefault(name, set()).add(canonical)
            canonicals.setdefault(canonical, set()).add(canonical)
    return {name: tuple(sorted(values)) for name, values in canonicals.items()}


def _letters(value: str) -> str:
    stripped = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return "".join(ch for ch in stripped.lower() if ch.isalpha())


_SOUND_GROUPS = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}
_LEADING_SPELLINGS = (("ph", "f"), ("kn", "n"), ("wr", "r"), ("ps", "s"), ("gn", "n"), ("wh", "w"))


def sound_code(name: str) -> str:
    """A Soundex-style code in which the first letter is coded by sound too (Katherine ~ Catherine)."""
    if not name:
        return ""
    for spelling, sound in _LEADING_SPELLINGS:
        if name.startswith(spelling):
            name = sound + name[len(spelling) :]
            break
    name = name.replace("ph", "f")
    first = _SOUND_GROUPS.get(name[0], "0")
    digits = [first]
    previous = first
    for ch in name[1:]:
        code = _SOUND_GROUPS.get(ch, "")
        if code and code != previous:
            digits.append(code)
        if ch not in "hw":
            previous = code
    return ("".join(digits) + "000")[:5]


def _map_distinct(column: pl.Series, mapper: dict[str, str | None]) -> pl.Series:
    return column.replace_strict(mapper, default=None, return_dtype=pl.String)


def _distinct_values(*columns: pl.Series) -> list[str]:
    values: set[str] = set()
    for column in columns:
        values.update(v for v in column.drop_nulls().unique().to_list() if v)
    return sorted(values)


def _clean_name(expr: pl.Expr) -> pl.Expr:
    """Lower case ASCII letters, spaces and hyphens only."""
    return (
        expr.str.normalize("NFKD")
        .str.replace_all(r"[^\x00-\x7F]", "")
        .str.to_lowercase()
        .str.replace_all(r"[^a-z\- ]", "")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" -")
    )


def _clean_address(expr: pl.Expr) -> pl.Expr:
    cleaned = (
        expr.str.to_lowercase()
        .str.replace_all(r"[^a-z0-9 ]", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )
    for short, full in _ADDRESS_ABBREVIATIONS.items():
        cleaned = cleaned.str.replace_all(rf"\b{short}\b", full)
    return pl.when(cleaned == "").then(None).otherwise(cleaned)


@lru_cache(maxsize=200_000)
def standard_address(value: str | None) -> str | None:
    """One address line, standardised exactly as ``prepare`` does it (for single values)."""
    if not value:
        return None
    cleaned: str | None = pl.select(_clean_address(pl.lit(value, dtype=pl.String))).item()
    return cleaned


# Shorter postcodes than a UK one are real elsewhere (four-digit Australian ones, in the public
# FEBRL files); a sector and district are only derived from a UK-length postcode.
_MIN_POSTCODE_CHARACTERS = 3
_MIN_UK_POSTCODE_CHARACTERS = 5


def _clean_postcode(expr: pl.Expr) -> pl.Expr:
    cleaned = expr.str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")
    return (
        pl.when(cleaned.str.len_chars() >= _MIN_POSTCODE_CHARACTERS).then(cleaned).otherwise(None)
    )


def _clean_identifier(expr: pl.Expr) -> pl.Expr:
    cleaned = expr.str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")
    return pl.when(cleaned == "").then(None).otherwise(cleaned)


def _token_list(expr: pl.Expr) -> pl.Expr:
    """A list column of tokens -> ``|a|b|`` (always a string, ``|`` when empty)."""
    return (
        pl.lit("|")
        + expr.list.eval(pl.element().filter(pl.element() != "")).list.join("|")
        + pl.when(expr.list.len() > 0).then(pl.lit("|")).otherwise(pl.lit(""))
    )


def prepare(records: pl.DataFrame) -> pl.DataFrame:
    """Standardise person records (``RECORD_SCHEMA``) into the columns the model compares."""
    frame = records.select(list(RECORD_SCHEMA)).cast(RECORD_SCHEMA)  # type: ignore[arg-type]
    given_tokens = _clean_name(pl.col("given_name")).str.replace_all("-", "").str.split(" ")
    family_tokens = _clean_name(pl.col("family_name")).str.split(" ")
    frame = frame.with_columns(
        given_first=given_tokens.list.first(),
        given_rest=given_tokens.list.slice(1),
        others=pl.col("other_names").list.eval(
            _clean_name(pl.element()).str.replace_all("[- ]", "")
        ),
        family_full=family_tokens.list.join("").str.replace_all("-", ""),
        family_parts=_clean_name(pl.col("family_name")).str.replace_all("-", " ").str.split(" "),
        previous_family=pl.col("previous_family_names").list.eval(
            _clean_name(pl.element()).str.replace_all("[- ]", "")
        ),
        postcode_clean=_clean_postcode(pl.col("postcode")),
        previous_postcodes_clean=pl.col("previous_postcodes").list.eval(
            _clean_postcode(pl.element())
        ),
        address_clean=_clean_address(pl.col("address")),
        previous_addresses_clean=pl.col("previous_addresses").list.eval(
            _clean_address(pl.element())
        ),
    ).with_columns(
        given_first=pl.when(pl.col("given_first") == "").then(None).otherwise("given_first"),
        family_full=pl.when(pl.col("family_full") == "").then(None).otherwise("family_full"),
    )

    variants = given_name_canonicals()
    given_distinct = _distinct_values(frame["given_first"])
    # The primary full name (the first of those it can stand for) is what blocking uses; the
    # level "known variant" asks whether either's primary is among the other's full names.
    canonical = _map_distinct(
        frame["given_first"], {n: variants.get(n, (n,))[0] for n in given_distinct}
    )
    canonicals = _map_distinct(
        frame["given_first"],
        {n: "|" + "|".join(variants.get(n, (n,))) + "|" for n in given_distinct},
    )
    given_sound = _map_distinct(
        frame["given_first"], {name: sound_code(name) for name in given_distinct}
    )
    family_distinct = _distinct_values(frame["family_full"])
    family_sound = _map_distinct(
        frame["family_full"], {name: sound_code(name) for name in family_distinct}
    )
    frame = frame.with_columns(
        given_name_canonical=canonical,
        given_name_canonicals=canonicals.fill_null("|"),
        given_name_phonetic=given_sound,
        family_name_phonetic=family_sound,
    )

    dob = pl.col("date_of_birth")
    day, month = dob.dt.day(), dob.dt.month()
    postcode = pl.col("postcode_clean")
    uk_shaped = postcode.str.len_chars() >= _MIN_UK_POSTCODE_CHARACTERS
    outward = pl.when(uk_shaped).then(postcode.str.slice(0, postcode.str.len_chars() - 3))
    prepared = frame.select(
        pl.col("unique_id"),
        pl.col("source"),
        pl.col("given_first").alias("given_name"),
        pl.col("given_name_canonical"),
        pl.col("given_name_canonicals"),
        pl.col("given_name_phonetic"),
        _token_list(
            pl.concat_list(
                pl.col("given_rest").fill_null([]), pl.col("others").fill_null([])
            ).list.unique(maintain_order=True)
        ).alias("given_names_all"),
        pl.col("family_full").alias("family_name"),
        pl.col("family_name_phonetic"),
        _token_list(
            pl.concat_list(
                pl.col("family_full").fill_null(""),
                pl.col("family_parts").fill_null([]),
                pl.col("previous_family").fill_null([]),
            ).list.unique(maintain_order=True)
        ).alias("family_names_all"),
        dob.dt.strftime("%Y-%m-%d").alias("date_of_birth"),
        pl.when((day <= 12) & (day != month))
        .then(
            pl.format(
                "{}-{}-{}", dob.dt.strftime("%Y"), dob.dt.strftime("%d"), dob.dt.strftime("%m")
            )
        )
        .otherwise(None)
        .alias("date_of_birth_transposed"),
        pl.when(pl.col("sex").str.to_uppercase().is_in(["F", "M"]))
        .then(pl.col("sex").str.to_uppercase())
        .otherwise(None)
        .alias("sex"),
        postcode.alias("postcode"),
        pl.format("{}{}", outward, postcode.str.slice(-3, 1)).alias("postcode_sector"),
        outward.alias("postcode_district"),
        _token_list(
            pl.concat_list(postcode.fill_null(""), pl.col("previous_postcodes_clean").fill_null([]))
            .list.drop_nulls()
            .list.unique(maintain_order=True)
        ).alias("postcodes_all"),
        pl.col("address_clean").alias("address"),
        _token_list(
            pl.concat_list(
                pl.col("address_clean").fill_null(""),
                pl.col("previous_addresses_clean").fill_null([]),
            )
            .list.drop_nulls()
            .list.unique(maintain_order=True)
        ).alias("addresses_all"),
        _clean_identifier(pl.col("nhs_number")).alias("nhs_number"),
        _clean_identifier(pl.col("upn")).alias("upn"),
    )
    return prepared.select(PREPARED_COLUMNS)


#: The compared values ``prepare_one`` gives (a subset of ``PREPARED_COLUMNS``).
PREPARED_ONE_COLUMNS = (
    "given_name",
    "given_name_canonical",
    "given_name_canonicals",
    "given_name_phonetic",
    "family_name",
    "family_name_phonetic",
    "date_of_birth",
    "date_of_birth_transposed",
    "postcode",
    "nhs_number",
    "upn",
)


def _clean_name_value(value: str) -> str:
    """``_clean_name`` for one value."""
    ascii_only = re.sub(r"[^\x00-\x7F]", "", unicodedata.normalize("NFKD", value))
    letters = re.sub(r"[^a-z\- ]", "", ascii_only.lower())
    return re.sub(r"\s+", " ", letters).strip(" -")


def _cleaned_code(value: str | None) -> str:
    """What ``_clean_postcode`` and ``_clean_identifier`` keep of a value."""
    return re.sub(r"[^A-Z0-9]", "", value.upper()) if value is not None else ""


def prepare_one(
    *,
    given_name: str | None = None,
    family_name: str | None = None,
    date_of_birth: dt.date | None = None,
    postcode: str | None = None,
    nhs_number: str | None = None,
    upn: str | None = None,
) -> dict[str, str | None]:
    """The compared values ``prepare`` gives one record with these fields (and no other
    names, addresses or previous postcodes), computed in plain Python.

    Find a child prepares what was typed as linkage prepares a record, once per search: a
    one-row polars frame took 7 ms of CPU for it (18 ms at load 8 on two cores), most of a
    search's own Python (issue 14). ``tests/linkage/test_prepare_one.py`` holds this equal to
    ``prepare`` column by column."""
    given = None
    if given_name is not None:
        given = _clean_name_value(given_name).replace("-", "").split(" ")[0] or None
    family = None
    if family_name is not None:
        family = "".join(_clean_name_value(family_name).split(" ")).replace("-", "") or None
    variants = given_name_canonicals()
    full_forms = variants.get(given, (given,)) if given is not None else ()
    born = transposed = None
    if date_of_birth is not None:
        year = f"{date_of_birth.year:04d}"
        day, month = f"{date_of_birth.day:02d}", f"{date_of_birth.month:02d}"
        born = f"{year}-{month}-{day}"
        if date_of_birth.day <= 12 and date_of_birth.day != date_of_birth.month:
            transposed = f"{year}-{day}-{month}"
    cleaned_postcode = _cleaned_code(postcode)
    return {
        "given_name": given,
        "given_name_canonical": full_forms[0] if full_forms else None,
        "given_name_canonicals": "|" + "|".join(full_forms) + "|" if full_forms else "|",
        "given_name_phonetic": sound_code(given) if given is not None else None,
        "family_name": family,
        "family_name_phonetic": sound_code(family) if family is not None else None,
        "date_of_birth": born,
        "date_of_birth_transposed": transposed,
        "postcode": (
            cleaned_postcode if len(cleaned_postcode) >= _MIN_POSTCODE_CHARACTERS else None
        ),
        "nhs_number": _cleaned_code(nhs_number) or None,
        "upn": _cleaned_code(upn) or None,
    }
