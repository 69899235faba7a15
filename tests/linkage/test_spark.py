"""The same model on Spark (local PySpark): same pairs, same people as on DuckDB.

Marked ``spark``: ``pytest -m spark`` runs only this, ``-m "not spark"`` skips it.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from fullpicture.linkage.engine import Engine
from fullpicture.linkage.files import link_person_file
from fullpicture.linkage.rules import default_rules
from tests.linkage.population import build_population, pairwise_scores
from tests.linkage.test_files import write_persons

pytestmark = pytest.mark.spark


def _assignment(path: Path) -> dict[str, str]:
    frame = pl.read_csv(path, infer_schema=False)
    return {
        f"{s}:{r}": p for s, r, p in frame.select("source", "record_id", "person_id").iter_rows()
    }


def test_spark_links_like_duckdb(tmp_path: Path) -> None:
    population = build_population(people=120, seed=17)
    persons = write_persons(tmp_path / "persons.csv", population.records)
    model = tmp_path / "model.json"
    rules = default_rules()
    link_person_file(persons, tmp_path / "duckdb.csv", rules=rules, save_model_path=model)
    link_person_file(
        persons, tmp_path / "spark.csv", rules=rules, engine=Engine.SPARK, model_path=model
    )
    on_duckdb, on_spark = _assignment(tmp_path / "duckdb.csv"), _assignment(tmp_path / "spark.csv")
    assert set(on_spark) == set(population.truth)
    # Spark's Jaro-Winkler (splink's Scala UDF) scores a few near-spellings a little lower than
    # DuckDB's, so a handful of pairs may differ; the people found must not.
    _p, _r, agreement = pairwise_scores(on_duckdb, on_spark)
    assert agreement >= 0.98
    _p, _r, f1 = pairwise_scores(population.truth, on_spark)
    assert f1 >= 0.95
