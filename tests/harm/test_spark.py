"""The batch SQL on Spark gives the DuckDB answer (local PySpark, a tiny population).

Starting a JVM and running ~200 small Spark stages takes minutes (5 on a loaded 2-core box), so
this runs when FULLPICTURE_TEST_SPARK=1 (as CI does for the harm capability).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from fullpicture.harm.batch import epoch_day, score_population_duckdb, score_population_spark
from tests.harm.test_batch_equals_incremental import (
    AGENCIES,
    AS_OF,
    CHILDREN_SCHEMA,
    CODES,
    EVENTS_SCHEMA,
    START,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("FULLPICTURE_TEST_SPARK") != "1",
        reason="Spark test: set FULLPICTURE_TEST_SPARK=1 (needs Java; takes minutes)",
    ),
]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    session = (
        SparkSession.builder.master("local[1]")
        .appName("fullpicture-harm-test")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        # ~200 tiny stages: compiling each to Java costs more than interpreting 300 rows
        # (the test took 196 s against 342 s at the same load with code generation on).
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.adaptive.enabled", "false")
        # The JVM starts once per process: give it splink's similarity functions too, or the
        # linkage Spark tests that run after this one in the same process cannot load them.
        .config("spark.jars", similarity_jar_location())
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_and_duckdb_give_the_same_scores_and_alerts(spark: Any) -> None:
    rng = random.Random(3)
    events: list[dict[str, object]] = []
    children: list[dict[str, object]] = []
    ref = 0
    for child_id in range(20):
        children.append(
            {"child_id": child_id, "birth_day": epoch_day(START) + rng.randint(-2000, 300)}
        )
        for _ in range(rng.randint(1, 25)):
            ref += 1
            events.append(
                {
                    "child_id": child_id,
                    "ref": ref,
                    "agency": rng.choice(AGENCIES),
                    "day": epoch_day(START) + rng.randint(0, 1300),
                    "code": rng.choice(CODES),
                    "severity": rng.choice([None, None, 3, 5]),
                }
            )
    event_table = pa.Table.from_pylist(events, schema=EVENTS_SCHEMA)
    child_table = pa.Table.from_pylist(children, schema=CHILDREN_SCHEMA)
    on_spark = score_population_spark(spark, event_table, child_table, as_of=AS_OF)
    on_duckdb = score_population_duckdb(event_table, child_table, as_of=AS_OF)
    assert on_duckdb.alerts, "the population should raise alerts to compare"
    assert on_spark.alerts == on_duckdb.alerts
    spark_scores, duck_scores = on_spark.score_of(), on_duckdb.score_of()
    assert set(spark_scores) == set(duck_scores)
    for child_id, score in duck_scores.items():
        assert spark_scores[child_id] == pytest.approx(score, rel=1e-9, abs=1e-9)
