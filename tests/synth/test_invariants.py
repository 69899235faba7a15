"""Invariants that hold for any seed, size and as-of date (property test)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from fullpicture.synth.identifiers import is_valid_nhs_number, is_valid_upn
from fullpicture.synth.service import generate


@settings(max_examples=8, deadline=None)
@given(
    children=st.integers(min_value=1, max_value=60),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    as_of=st.dates(min_value=dt.date(2012, 1, 1), max_value=dt.date(2030, 12, 31)),
)
def test_any_population_is_whole_and_consistent(children: int, seed: int, as_of: dt.date) -> None:
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "population"
        generate(children=children, seed=seed, out=out, as_of=as_of)
        persons = pl.read_csv(out / "truth" / "persons.csv", infer_schema_length=0)
        assert persons.filter(pl.col("kind") == "child").height == children
        identity = pl.read_csv(out / "truth" / "identity.csv", infer_schema_length=0)
        records = pl.concat(
            [pl.read_csv(p, infer_schema_length=0) for p in (out / "feeds").glob("*/records.csv")],
            how="diagonal",
        )
        assert sorted(identity["record_id"] + identity["agency"]) == sorted(
            records["record_id"] + records["agency"]
        )
        events = pl.concat(
            [pl.read_csv(p, infer_schema_length=0) for p in (out / "feeds").glob("*/events.csv")],
            how="diagonal",
        )
        if events.height:
            assert (events["event_date"].str.slice(0, 7) <= as_of.isoformat()[:7]).all()
            assert (events["date_recorded"] <= as_of.isoformat()).all()
        assert all(is_valid_nhs_number(n) for n in records["nhs_number"].drop_nulls())
        assert all(is_valid_upn(u) for u in records["upn"].drop_nulls())
        born = persons["date_of_birth"].drop_nulls()
        assert (born <= as_of.isoformat()).all()
