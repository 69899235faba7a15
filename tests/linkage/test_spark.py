"""One model, two engines: the same file and seed give the same people on DuckDB and Spark.

Marked ``spark`` and run when FULLPICTURE_TEST_SPARK=1 (as CI does; it needs Java 17 and
starts a local JVM): ``pytest -m spark`` runs only these, ``-m "not spark"`` skips them.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from fullpicture.linkage.engine import Engine
from fullpicture.linkage.files import link_person_file
from fullpicture.linkage.rules import default_rules
from tests.linkage.population import build_population, pairwise_scores
from tests.linkage.test_files import write_persons

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(
        os.environ.get("FULLPICTURE_TEST_SPARK") != "1",
        reason="Spark test: set FULLPICTURE_TEST_SPARK=1 (needs Java 17; starts a JVM)",
    ),
]


def _assignment(path: Path) -> dict[str, str]:
    frame = pl.read_csv(path, infer_schema=False)
    return {
        f"{s}:{r}": p for s, r, p in frame.select("source", "record_id", "person_id").iter_rows()
    }


def test_duckdb_and_spark_give_the_same_people(tmp_path: Path) -> None:
    population = build_population(people=60, seed=17)
    persons = write_persons(tmp_path / "persons.csv", population.records)
    rules = default_rules()
    on_duckdb = link_person_file(persons, tmp_path / "duckdb.csv", rules=rules)
    on_spark = link_person_file(persons, tmp_path / "spark.csv", rules=rules, engine=Engine.SPARK)

    # Training runs on DuckDB for either engine with the seeded sampler: one model (apart
    # from splink's random name for the linker that trained it).
    def trained(model: dict[str, object]) -> dict[str, object]:
        return {k: v for k, v in model.items() if k != "linker_uid"}

    assert trained(on_spark.result.model) == trained(on_duckdb.result.model)
    # Every blocked pair is scored on both, at the same level of every comparison and the
    # same weight (Spark's Jaro-Winkler is splink's Scala UDF, DuckDB's its own function).
    keys = ["unique_id_l", "unique_id_r"]
    duck_pairs = on_duckdb.result.pairs.sort(keys)
    spark_pairs = on_spark.result.pairs.sort(keys)
    assert duck_pairs.select(keys).equals(spark_pairs.select(keys))
    levels = [c for c in duck_pairs.columns if c.startswith("gamma_")]
    assert duck_pairs.select(levels).equals(spark_pairs.select(levels))
    weights = (duck_pairs["match_weight"] - spark_pairs["match_weight"]).abs()
    assert float(weights.max() or 0.0) < 1e-6
    assert on_spark.result.threshold.match_weight == pytest.approx(
        on_duckdb.result.threshold.match_weight, abs=1e-6
    )
    # The same people, under the same person ids.
    on_duckdb_people = _assignment(tmp_path / "duckdb.csv")
    assert _assignment(tmp_path / "spark.csv") == on_duckdb_people
    assert set(on_duckdb_people) == set(population.truth)
    _p, _r, f1 = pairwise_scores(population.truth, on_duckdb_people)
    assert f1 >= 0.95
