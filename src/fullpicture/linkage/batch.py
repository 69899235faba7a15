"""One full linkage pass over a set of records: prepare, train (or reuse a model), score, cluster."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from fullpicture.linkage import engine as linkage_engine
from fullpicture.linkage.clustering import (
    Clustering,
    PairDecisions,
    cluster_records,
    pairs_joining_people,
)
from fullpicture.linkage.engine import Engine
from fullpicture.linkage.preparation import prepare
from fullpicture.linkage.rules import LinkageRules
from fullpicture.linkage.threshold import LinkThreshold, choose_threshold, given_threshold

StageReporter = Callable[[str], None]


@dataclass
class BatchResult:
    model: dict[str, Any]
    trained: bool
    prepared: pl.DataFrame
    pairs: pl.DataFrame
    clustering: Clustering
    threshold: LinkThreshold
    timings: dict[str, float] = field(default_factory=dict)
    # CPU seconds per stage, every thread of the process (DuckDB's and polars' included): on a
    # shared machine the wall time says how busy the machine was, this what the stage cost.
    cpu_timings: dict[str, float] = field(default_factory=dict)


def run_batch(
    records: pl.DataFrame,
    *,
    rules: LinkageRules,
    engine: Engine = Engine.DUCKDB,
    model: dict[str, Any] | None = None,
    decisions: PairDecisions | None = None,
    report: StageReporter | None = None,
    when_untrained: Literal["refuse", "neutral"] = "refuse",
    threshold: float | Literal["choose"] = "choose",
    threshold_reason: str = "given with --threshold",
) -> BatchResult:
    """Link ``records`` (``preparation.RECORD_SCHEMA``) into clusters of one person each.

    ``threshold="choose"`` links at the threshold chosen from the model and the scored pairs
    (``threshold.choose_threshold``); a number links at that match weight, and
    ``threshold_reason`` says where it came from."""
    say = report or (lambda _stage: None)
    timings: dict[str, float] = {}
    cpu_timings: dict[str, float] = {}
    started = time.perf_counter()
    cpu_started = time.process_time()

    def stage_done(stage: str) -> None:
        timings[stage] = time.perf_counter() - started - sum(timings.values())
        cpu_timings[stage] = time.process_time() - cpu_started - sum(cpu_timings.values())

    say("preparing records")
    prepared = prepare(records)
    stage_done("prepare")

    trained = model is None
    if model is None:
        say("training the model on the records")
        # Trained on DuckDB whichever engine scores: the seeded random sampling of u and the
        # EM passes then give one model, so DuckDB and Spark runs on the same records and seed
        # give the same people (Spark's sampler draws other pairs for the same seed).
        model = linkage_engine.train_model(
            prepared, rules=rules, engine=Engine.DUCKDB, when_untrained=when_untrained
        )
    stage_done("train")

    say("scoring candidate pairs")
    pairs = linkage_engine.predict_pairs(
        prepared,
        model=model,
        minimum_match_weight=rules.minimum_stored_match_weight,
        engine=engine,
        extra_blocking=linkage_engine.affordable_blocking(prepared, rules.budgeted_blocking),
    )
    stage_done("predict")

    say("clustering pairs into people")
    identifiers = prepared.select("unique_id", "nhs_number", "upn")
    # The threshold's budget counts the wrong links a lower line would make: only pairs that
    # join two people, as the clustering below would join them.
    joins_people = functools.partial(
        pairs_joining_people,
        prepared["unique_id"],
        pairs,
        start=rules.link_threshold_match_weight,
        decisions=decisions,
        one_record_per_agency=rules.one_record_per_agency,
        same_agency_chain_min_match_weight=rules.same_agency_chain_min_match_weight,
        identifiers=identifiers,
    )
    link_threshold = (
        choose_threshold(
            pairs,
            prepared,
            start=rules.link_threshold_match_weight,
            rules=rules.threshold_choice,
            joins_people=joins_people,
        )
        if threshold == "choose"
        else given_threshold(pairs, threshold, why=threshold_reason)
    )
    clustering = cluster_records(
        prepared["unique_id"],
        pairs,
        threshold_match_weight=link_threshold.match_weight,
        held_back=link_threshold.held_back,
        decisions=decisions,
        one_record_per_agency=rules.one_record_per_agency,
        same_agency_chain_min_match_weight=rules.same_agency_chain_min_match_weight,
        identifiers=identifiers,
    )
    stage_done("cluster")
    return BatchResult(
        model, trained, prepared, pairs, clustering, link_threshold, timings, cpu_timings
    )
