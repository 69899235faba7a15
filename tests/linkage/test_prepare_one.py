"""``prepare_one`` (one record's compared values in plain Python, for find a child) gives what
``prepare`` (the polars frame linkage prepares records with) gives, column by column."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fullpicture.linkage.preparation import (
    PREPARED_ONE_COLUMNS,
    RECORD_SCHEMA,
    given_name_canonicals,
    prepare,
    prepare_one,
)

#: Letters, accents, ligatures, digits, punctuation and spacing a name, postcode or number
#: may be typed with; and the known short forms and variants, so those lookups are met.
typed = st.one_of(
    st.none(),
    st.text(
        alphabet=st.sampled_from(
            "abcdefghijklmnopqrstuvwxyzAEKMOZ éèÉüßøÆŁłñçõﬁﬀ’'-_.,0123456789\t  /!"
        ),
        max_size=16,
    ),
    st.sampled_from(sorted(given_name_canonicals())),
)
dates = st.one_of(st.none(), st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)))


def _by_frame(fields: dict[str, object]) -> dict[str, object]:
    record = {column: None for column in RECORD_SCHEMA} | {
        "unique_id": "one",
        "source": "test",
        "record_id": "one",
        "other_names": [],
        "previous_family_names": [],
        "previous_postcodes": [],
        "previous_addresses": [],
        **fields,
    }
    row = prepare(pl.DataFrame([record], schema=RECORD_SCHEMA)).row(0, named=True)
    return {column: row[column] for column in PREPARED_ONE_COLUMNS}


@settings(max_examples=300, deadline=None)
@given(
    given_name=typed,
    family_name=typed,
    date_of_birth=dates,
    postcode=typed,
    nhs_number=typed,
    upn=typed,
)
def test_one_record_is_prepared_as_the_frame_prepares_it(
    given_name: str | None,
    family_name: str | None,
    date_of_birth: dt.date | None,
    postcode: str | None,
    nhs_number: str | None,
    upn: str | None,
) -> None:
    fields = {
        "given_name": given_name,
        "family_name": family_name,
        "date_of_birth": date_of_birth,
        "postcode": postcode,
        "nhs_number": nhs_number,
        "upn": upn,
    }
    assert prepare_one(**fields) == _by_frame(fields)  # type: ignore[arg-type]


def test_names_searched_for_are_prepared_as_linkage_prepares_them() -> None:
    for given_name, family_name in [
        ("Millie", "Okafor"),
        ("Amelya", "Okafur"),
        ("Mary-Jane", "Van der Berg"),
        ("  ", "O'Neill-Smith"),
        ("Zoë", "Łukasz"),
        ("Kate", None),
    ]:
        fields = {"given_name": given_name, "family_name": family_name}
        assert prepare_one(**fields) == _by_frame(fields)  # type: ignore[arg-type]
    born = {"date_of_birth": dt.date(2015, 3, 4), "postcode": "cr0 1aa", "upn": "a123 456"}
    assert prepare_one(**born) == _by_frame(born)  # type: ignore[arg-type]
    assert prepare_one(**born)["date_of_birth_transposed"] == "2015-04-03"


@pytest.mark.parametrize(
    ("short", "full"),
    [
        ("tilly", "matilda"),
        ("tillie", "matilda"),
        ("millie", "amelia"),
        ("alfie", "alfred"),
        ("freddie", "frederick"),
        ("ollie", "oliver"),
        ("evie", "evelyn"),
        ("maisie", "margaret"),
    ],
)
def test_common_english_diminutives_stand_for_their_full_names(short: str, full: str) -> None:
    """The issue 14 audit: "Tilly" did not find a Matilda (Tilly and Maisie were missing)."""
    assert full in given_name_canonicals()[short]
    prepared = prepare_one(given_name=short.capitalize())
    assert f"|{full}|" in str(prepared["given_name_canonicals"])
