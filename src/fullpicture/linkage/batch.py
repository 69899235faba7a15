"""One full linkage pass over a set of records: prepare, train (or reuse a model), score, cluster."""

from __future__ import annotations

import dataclasses
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
from fullpicture.linkage.relatives import RelativesEvidence, add_relatives_evidence
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
    # What the relatives' comparison learned and did (``used`` False: it did nothing).
    relatives: RelativesEvidence
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
    relationships: pl.DataFrame | None = None,
) -> BatchResult:
    """Link ``records`` (``preparation.RECORD_SCHEMA``) into clusters of one person each.

    ``threshold="choose"`` links at the threshold chosen from the model and the scored pairs
    (``threshold.choose_threshold``); a number links at that match weight, and
    ``threshold_reason`` says where it came from. ``relationships``
    (``relatives.RELATIONSHIP_SCHEMA``: how two records of one source stand to each other)
    adds the relatives' comparison in a second pass (``relatives.add_relatives_evidence``);
    without them the run links on the records' own fields and says so."""
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

    def link(scored: pl.DataFrame) -> tuple[LinkThreshold, Clustering]:
        # The threshold's budget counts the wrong links a lower line would make: only pairs
        # that join two people, as the clustering below would join them.
        joins_people = functools.partial(
            pairs_joining_people,
            prepared["unique_id"],
            scored,
            start=rules.link_threshold_match_weight,
            decisions=decisions,
            one_record_per_agency=rules.one_record_per_agency,
            same_agency_chain_min_match_weight=rules.same_agency_chain_min_match_weight,
            identifiers=identifiers,
        )
        line = (
            choose_threshold(
                scored,
                prepared,
                start=rules.link_threshold_match_weight,
                rules=rules.threshold_choice,
                joins_people=joins_people,
            )
            if threshold == "choose"
            else given_threshold(scored, threshold, why=threshold_reason)
        )
        return line, cluster_records(
            prepared["unique_id"],
            scored,
            threshold_match_weight=line.match_weight,
            held_back=line.held_back,
            decisions=decisions,
            one_record_per_agency=rules.one_record_per_agency,
            same_agency_chain_min_match_weight=rules.same_agency_chain_min_match_weight,
            identifiers=identifiers,
        )

    link_threshold, clustering = link(pairs)
    if relationships is None:
        relatives = RelativesEvidence(
            False,
            "no relationships between records were given: the relatives' comparison was not used",
        )
    else:
        # A second pass: a pair below the fixed line whose records' relatives the first
        # clustering made one person gains the relatives' comparison, and the pairs are
        # linked again by the same rules (relatives.py).
        say("reading relatives linked by the first clustering")
        pairs, relatives = add_relatives_evidence(
            pairs,
            relationships,
            clustering.assignments,
            below=rules.link_threshold_match_weight,
        )
        if relatives.used and relatives.pairs_read:
            say("clustering pairs into people again, with the relatives' comparison")
            link_threshold, clustering = link(pairs)
        link_threshold = dataclasses.replace(
            link_threshold, reason=f"{link_threshold.reason}; {relatives.reason}"
        )
    stage_done("cluster")
    return BatchResult(
        model, trained, prepared, pairs, clustering, link_threshold, relatives, timings, cpu_timings
    )
