"""Linking the database: every current source record into persons, in batch or one at a time.

Source records are never edited. A record's person is held by ``PersonRecordLink``; when a run
moves a record, the old link is ended and a new one starts. Practitioners' review decisions are
honoured by every run (``clustering.PairDecisions``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.subject import SystemPrincipal
from fullpicture.core.database import utc_now
from fullpicture.linkage import engine as linkage_engine
from fullpicture.linkage import repository as repo
from fullpicture.linkage.batch import StageReporter, run_batch
from fullpicture.linkage.clustering import PairDecisions, cluster_records
from fullpicture.linkage.engine import Engine
from fullpicture.linkage.models import (
    LinkageModelVersion,
    LinkageRecord,
    LinkageRun,
    ReviewItem,
    ReviewStatus,
)
from fullpicture.linkage.preparation import prepare
from fullpicture.linkage.rules import LinkageRules
from fullpicture.linkage.schemas import IncrementalOutcome
from fullpicture.people.models import Person, PersonRecordLink


class LinkageStateError(RuntimeError):
    """The database is not ready for what was asked (e.g. no model trained yet)."""


# --- models -----------------------------------------------------------------------------


def save_model(
    *,
    db_session: Session,
    model: dict[str, Any],
    rules: LinkageRules,
    engine: Engine,
    trained_on_records: int,
    model_dir: Path | None,
) -> LinkageModelVersion:
    """Store a newly trained model as the next version (and as a JSON file when a folder is given)."""
    text = json.dumps(model, sort_keys=True)
    version = repo.next_model_version(db_session=db_session)
    path: str | None = None
    if model_dir is not None:
        model_dir.mkdir(parents=True, exist_ok=True)
        target = model_dir / f"linkage-model-v{version}.json"
        target.write_text(json.dumps(model, indent=2), encoding="utf-8")
        path = str(target)
    saved = LinkageModelVersion(
        version=version,
        model=model,
        checksum=hashlib.sha256(text.encode()).hexdigest(),
        rules_version=rules.version,
        engine=engine.value,
        trained_on_records=trained_on_records,
        file_path=path,
    )
    db_session.add(saved)
    db_session.flush()
    return saved


def standing_decisions(*, db_session: Session) -> PairDecisions:
    confirmed, rejected = repo.decided_pairs(db_session=db_session)
    return PairDecisions.of(confirmed, rejected)


# --- batch ------------------------------------------------------------------------------


def link_database(
    *,
    db_session: Session,
    rules: LinkageRules,
    started_by: str,
    engine: Engine = Engine.DUCKDB,
    retrain: bool = False,
    model_dir: Path | None = None,
    report: StageReporter | None = None,
) -> LinkageRun:
    """Link every current source record into persons; reuse the saved model unless retraining."""
    say = report or (lambda _stage: None)
    # A batch run reads every agency's records: as an audited job under whoever started it.
    linker = access_service.system_principal(
        db_session=db_session, job="linkage run", operator=started_by
    )
    say("reading current source records")
    records = repo.current_source_records(db_session=db_session, linker=linker)
    if not records:
        raise LinkageStateError("there are no source records to link; import some feeds first")
    frame = repo.records_frame(db_session=db_session, records=records)
    source_ids = {repo.record_key(r.agency_id, r.record_ref): r.id for r in records}
    saved = None if retrain else repo.latest_model(db_session=db_session)
    decisions = standing_decisions(db_session=db_session)

    result = run_batch(
        frame,
        rules=rules,
        engine=engine,
        model=saved.model if saved else None,
        decisions=decisions,
        report=say,
        # One agency's few records may not train every comparison; linking them with those
        # comparisons neutral (and saying so in the model report) beats linking nothing.
        when_untrained="neutral",
        # Fixed, so an incremental link later meets the line this run used.
        threshold=rules.link_threshold_match_weight,
        threshold_reason="the database's fixed link_threshold_match_weight (linkage_rules.yaml)",
    )
    if saved is None:
        saved = save_model(
            db_session=db_session,
            model=result.model,
            rules=rules,
            engine=engine,
            trained_on_records=frame.height,
            model_dir=model_dir,
        )
    run = _start_run(
        db_session, kind="batch", engine=engine, saved=saved, rules=rules, by=started_by
    )

    say("saving the linkage index and scored pairs")
    repo.replace_index(
        db_session=db_session, prepared=result.prepared, source_record_ids=source_ids
    )
    repo.replace_pairs(
        db_session=db_session, rows=pair_rows(result.pairs, saved.model, run.id), scope=None
    )
    queued = queue_uncertain_pairs(db_session=db_session, pairs=result.pairs, rules=rules, run=run)

    say("writing links to persons")
    counts = apply_clustering(
        db_session=db_session,
        linker=linker,
        run=run,
        assignments=result.clustering.assignments,
        pairs=result.pairs,
        decisions=decisions,
        model=saved.model,
    )
    run.counts = {
        "records": frame.height,
        "pairs_scored": result.pairs.height,
        "review_queued": queued,
        "refused_by_decisions": len(result.clustering.refused),
        "model_version": saved.version,
        **counts,
        **{f"seconds_{k}": round(v, 3) for k, v in result.timings.items()},
    }
    run.finished_at = utc_now()
    db_session.flush()
    return run


def _start_run(
    db_session: Session,
    *,
    kind: str,
    engine: Engine,
    saved: LinkageModelVersion,
    rules: LinkageRules,
    by: str,
) -> LinkageRun:
    run = LinkageRun(
        kind=kind,
        engine=engine.value,
        model_version_id=saved.id,
        rules_version=rules.version,
        started_by=by,
        counts={},
    )
    db_session.add(run)
    db_session.flush()
    return run


def comparison_levels(
    row: dict[str, Any], levels: dict[str, list[tuple[int, str, float]]]
) -> dict[str, Any]:
    """A pair's comparison levels as evidence: per comparison, the level and its weight."""
    evidence: dict[str, Any] = {}
    for name, options in levels.items():
        gamma = row.get(f"gamma_{name}")
        label = next((lbl for value, lbl, _w in options if value == gamma), "unknown")
        evidence[name] = {"level": label, "match_weight": round(row.get(f"mw_{name}") or 0.0, 4)}
    return evidence


def pair_rows(pairs: pl.DataFrame, model: dict[str, Any], run_id: int) -> list[dict[str, Any]]:
    levels = linkage_engine.level_weights(model)
    return [
        {
            "record_key_l": row["unique_id_l"],
            "record_key_r": row["unique_id_r"],
            "match_weight": row["match_weight"],
            "match_probability": row["match_probability"],
            "comparison_levels": comparison_levels(row, levels),
            "linkage_run_id": run_id,
        }
        for row in pairs.iter_rows(named=True)
    ]


def queue_uncertain_pairs(
    *, db_session: Session, pairs: pl.DataFrame, rules: LinkageRules, run: LinkageRun
) -> int:
    """Put pairs in the review band on the queue; decided items keep their decision."""
    band = rules.review_band
    uncertain = pairs.filter(
        (pl.col("match_weight") >= band.lower_match_weight)
        & (pl.col("match_weight") < band.upper_match_weight)
    )
    if uncertain.is_empty():
        return 0
    rows = pair_rows(uncertain, run_model(db_session, run), run.id)
    existing = repo.review_items_for(
        db_session=db_session, pairs=[(r["record_key_l"], r["record_key_r"]) for r in rows]
    )
    added = 0
    for row in rows:
        item = existing.get((row["record_key_l"], row["record_key_r"]))
        if item is None:
            db_session.add(
                ReviewItem(
                    record_key_l=row["record_key_l"],
                    record_key_r=row["record_key_r"],
                    match_weight=row["match_weight"],
                    match_probability=row["match_probability"],
                    comparison_levels=row["comparison_levels"],
                    status=ReviewStatus.OPEN,
                    queued_by_run_id=run.id,
                )
            )
            added += 1
        elif item.status is ReviewStatus.OPEN:
            item.match_weight = row["match_weight"]
            item.match_probability = row["match_probability"]
            item.comparison_levels = row["comparison_levels"]
    db_session.flush()
    return added


def run_model(db_session: Session, run: LinkageRun) -> dict[str, Any]:
    saved = db_session.get(LinkageModelVersion, run.model_version_id)
    if saved is None:  # the foreign key makes this impossible short of a corrupted database
        raise LinkageStateError(f"run {run.run_ref} names a missing model version")
    return saved.model


# --- persons ----------------------------------------------------------------------------


def apply_clustering(
    *,
    db_session: Session,
    linker: SystemPrincipal,
    run: LinkageRun,
    assignments: pl.DataFrame,
    pairs: pl.DataFrame,
    decisions: PairDecisions,
    model: dict[str, Any],
) -> dict[str, int]:
    """Point each clustered record at a person: a cluster keeps the person that already holds
    most of its records, so re-running on unchanged data changes nothing."""
    keys = assignments["unique_id"].to_list()
    active = repo.active_links(db_session=db_session, linker=linker, keys=keys)
    members: dict[str, list[str]] = {}
    for key, cluster in assignments.select("unique_id", "cluster_key").iter_rows():
        members.setdefault(cluster, []).append(key)

    overlaps: list[tuple[int, int, str]] = []
    for cluster, records in members.items():
        held = Counter(active[k].person_id for k in records if k in active)
        overlaps.extend((-count, person_id, cluster) for person_id, count in held.items())
    person_of: dict[str, int] = {}
    taken: set[int] = set()
    for _count, person_id, cluster in sorted(overlaps):
        if cluster not in person_of and person_id not in taken:
            person_of[cluster] = person_id
            taken.add(person_id)
    fresh = {cluster: Person() for cluster in sorted(members) if cluster not in person_of}
    db_session.add_all(fresh.values())
    db_session.flush()
    person_of.update({cluster: person.id for cluster, person in fresh.items()})

    evidence = _link_evidence(assignments, pairs, model)
    confirmed_keys = {k for pair in decisions.confirmed for k in pair}
    now = utc_now()
    counts = {
        "people": len(members),
        "new_people": len(fresh),
        "unchanged": 0,
        "linked": 0,
        "moved": 0,
        "restated": 0,
    }
    new_links = []
    for key, cluster, confidence in assignments.select(
        "unique_id", "cluster_key", "cluster_confidence"
    ).iter_rows():
        person_id = person_of[cluster]
        current = active.get(key)
        size = len(members[cluster])
        method = (
            "singleton" if size == 1 else "confirmed" if key in confirmed_keys else "probabilistic"
        )
        # A link is rewritten only when its person or its basis changes.
        if current is not None and current.person_id == person_id and current.method == method:
            counts["unchanged"] += 1
            continue
        if current is not None:
            current.ended_at = now
            counts["moved" if current.person_id != person_id else "restated"] += 1
        else:
            counts["linked"] += 1
        agency_id, record_ref = repo.split_record_key(key)
        new_links.append(
            PersonRecordLink(
                person_id=person_id,
                agency_id=agency_id,
                record_ref=record_ref,
                method=method,
                cluster_confidence=confidence,
                linkage_run_ref=run.run_ref,
                evidence=evidence.get(key, {"cluster_size": size}),
            )
        )
    db_session.add_all(new_links)
    db_session.flush()
    return counts


def _link_evidence(
    assignments: pl.DataFrame, pairs: pl.DataFrame, model: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Per record, the strongest pair tying it to its person, with its comparison levels."""
    if pairs.is_empty():
        return {}
    keyed = assignments.select("unique_id", "cluster_key")
    both = pl.concat(
        [
            pairs.rename({"unique_id_l": "key", "unique_id_r": "other"}),
            pairs.rename({"unique_id_r": "key", "unique_id_l": "other"}).select(
                [
                    "key",
                    "other",
                    *[c for c in pairs.columns if c not in {"unique_id_l", "unique_id_r"}],
                ]
            ),
        ],
        how="diagonal",
    )
    inside = (
        both.join(keyed.rename({"unique_id": "key", "cluster_key": "c1"}), on="key")
        .join(keyed.rename({"unique_id": "other", "cluster_key": "c2"}), on="other")
        .filter(pl.col("c1") == pl.col("c2"))
        .sort(["match_weight", "other"], descending=[True, False])
        .unique(subset=["key"], keep="first")
    )
    sizes = dict(keyed.group_by("cluster_key").len().iter_rows())
    levels = linkage_engine.level_weights(model)
    evidence: dict[str, dict[str, Any]] = {}
    for row in inside.iter_rows(named=True):
        evidence[row["key"]] = {
            "linked_via": row["other"],
            "match_weight": round(row["match_weight"], 4),
            "match_probability": round(row["match_probability"], 6),
            "comparison_levels": comparison_levels(row, levels),
            "cluster_size": sizes[row["c1"]],
        }
    return evidence


# --- incremental ------------------------------------------------------------------------


def link_record(
    *,
    db_session: Session,
    linker: SystemPrincipal,
    agency_id: int,
    record_ref: str,
    rules: LinkageRules,
    started_by: str,
) -> IncrementalOutcome:
    """Link one new or changed record against the existing people, without a full run.

    The record is scored against its blocking candidates from the linkage index with the saved
    model, then the connected group of records it touches (old and new) is re-clustered by the
    same rule as a batch run, so the result equals what a batch run would give.
    """
    started = time.perf_counter()
    saved = repo.latest_model(db_session=db_session)
    if saved is None:
        raise LinkageStateError("no linkage model yet: run `fullpicture link` once first")
    found = repo.current_source_records(
        db_session=db_session, linker=linker, keys=[(agency_id, record_ref)]
    )
    if not found:
        raise LinkageStateError(f"no source record {agency_id}:{record_ref}")
    record = found[0]
    key = repo.record_key(agency_id, record_ref)
    prepared = prepare(repo.records_frame(db_session=db_session, records=found))
    row = prepared.row(0, named=True)

    condition = repo.candidate_condition(row)
    candidates = (
        repo.index_frame(db_session=db_session, where=condition)
        if condition is not None
        else prepared.clear()
    )
    pairs = linkage_engine.predict_between(
        prepared,
        candidates,
        model=saved.model,
        minimum_match_weight=rules.minimum_stored_match_weight,
        extra_blocking=rules.budgeted_blocking.rules,
    )
    run = _start_run(
        db_session,
        kind="incremental",
        engine=Engine.DUCKDB,
        saved=saved,
        rules=rules,
        by=started_by,
    )
    decisions = standing_decisions(db_session=db_session)

    # The group as it was (the record may have moved away from it) ...
    previous_group = connected_records(
        db_session=db_session, linker=linker, seeds={key}, rules=rules, decisions=decisions
    )
    repo.upsert_index(db_session=db_session, prepared=prepared, source_record_ids={key: record.id})
    repo.replace_pairs(
        db_session=db_session, rows=pair_rows(pairs, saved.model, run.id), scope={key}
    )
    queue_uncertain_pairs(db_session=db_session, pairs=pairs, rules=rules, run=run)
    # ... and as it is now.
    clustering, group, counts = recluster(
        db_session=db_session,
        linker=linker,
        run=run,
        seeds=previous_group | {key},
        saved=saved,
        rules=rules,
        decisions=decisions,
    )
    link = repo.active_links(db_session=db_session, linker=linker, keys=[key])[key]
    person = db_session.get(Person, link.person_id)
    assert person is not None
    cluster_size = clustering.assignments.filter(
        pl.col("cluster_key")
        == clustering.assignments.filter(pl.col("unique_id") == key)["cluster_key"][0]
    ).height
    seconds = time.perf_counter() - started
    run.counts = {
        "candidates_scored": candidates.height,
        "records_reclustered": len(group),
        **counts,
        "seconds": round(seconds, 4),
    }
    run.finished_at = utc_now()
    db_session.flush()
    return IncrementalOutcome(
        record=key,
        person_public_id=person.public_id,
        joined_existing_person=cluster_size > 1,
        candidates_scored=candidates.height,
        records_reclustered=len(group),
        seconds=round(seconds, 4),
    )


def recluster(
    *,
    db_session: Session,
    linker: SystemPrincipal,
    run: LinkageRun,
    seeds: set[str],
    saved: LinkageModelVersion,
    rules: LinkageRules,
    decisions: PairDecisions,
) -> tuple[Any, set[str], dict[str, int]]:
    """Re-cluster the connected group around ``seeds`` from the stored pairs, by the same rule
    as a batch run, and write the links that change."""
    group = connected_records(
        db_session=db_session, linker=linker, seeds=seeds, rules=rules, decisions=decisions
    )
    group_pairs = _stored_pairs_within(db_session=db_session, keys=group, model=saved.model)
    clustering = cluster_records(
        pl.Series(sorted(group), dtype=pl.String),
        group_pairs,
        threshold_match_weight=rules.link_threshold_match_weight,
        decisions=decisions,
        one_record_per_agency=rules.one_record_per_agency,
        same_agency_chain_min_match_weight=rules.same_agency_chain_min_match_weight,
        identifiers=repo.index_frame(
            db_session=db_session, where=LinkageRecord.record_key.in_(sorted(group))
        ).select("unique_id", "nhs_number", "upn"),
    )
    counts = apply_clustering(
        db_session=db_session,
        linker=linker,
        run=run,
        assignments=clustering.assignments,
        pairs=group_pairs,
        decisions=decisions,
        model=saved.model,
    )
    return clustering, group, counts


def relink_after_decision(
    *, db_session: Session, keys: set[str], rules: LinkageRules, decided_by: str
) -> dict[str, int]:
    """Apply a practitioner's decision now, to the people around the pair it concerns."""
    saved = repo.latest_model(db_session=db_session)
    if saved is None:
        return {}
    run = _start_run(
        db_session, kind="decision", engine=Engine.DUCKDB, saved=saved, rules=rules, by=decided_by
    )
    decisions = standing_decisions(db_session=db_session)
    # Re-clustering reads the records around the pair whole: as an audited job.
    linker = access_service.system_principal(
        db_session=db_session, job="linkage decision", operator=decided_by
    )
    _clustering, group, counts = recluster(
        db_session=db_session,
        linker=linker,
        run=run,
        seeds=keys,
        saved=saved,
        rules=rules,
        decisions=decisions,
    )
    run.counts = {"records_reclustered": len(group), **counts}
    run.finished_at = utc_now()
    db_session.flush()
    return counts


def connected_records(
    *,
    db_session: Session,
    linker: SystemPrincipal,
    seeds: set[str],
    rules: LinkageRules,
    decisions: PairDecisions,
) -> set[str]:
    """Every record reachable from ``seeds`` through links at or above the threshold, confirmed
    pairs, or a shared current person."""
    confirmed: dict[str, set[str]] = {}
    for a, b in decisions.confirmed:
        confirmed.setdefault(a, set()).add(b)
        confirmed.setdefault(b, set()).add(a)
    seen = set(seeds)
    frontier = set(seeds)
    while frontier:
        reached: set[str] = set()
        for pair in repo.pairs_touching(
            db_session=db_session, keys=frontier, min_weight=rules.link_threshold_match_weight
        ):
            reached.update((pair.record_key_l, pair.record_key_r))
        for key in frontier:
            reached.update(confirmed.get(key, ()))
        persons = {
            link.person_id
            for link in repo.active_links(
                db_session=db_session, linker=linker, keys=frontier
            ).values()
        }
        reached.update(repo.records_of_persons(db_session=db_session, person_ids=persons))
        frontier = reached - seen
        seen |= frontier
    return seen


def _stored_pairs_within(
    *, db_session: Session, keys: Iterable[str], model: dict[str, Any]
) -> pl.DataFrame:
    wanted = set(keys)
    names = linkage_engine.comparison_names(model)
    levels = linkage_engine.level_weights(model)
    rows = []
    for pair in repo.pairs_touching(db_session=db_session, keys=wanted):
        if pair.record_key_l in wanted and pair.record_key_r in wanted:
            row: dict[str, Any] = {
                "unique_id_l": pair.record_key_l,
                "unique_id_r": pair.record_key_r,
                "match_weight": pair.match_weight,
                "match_probability": pair.match_probability,
            }
            for name in names:
                stored = pair.comparison_levels.get(name, {})
                label = stored.get("level")
                row[f"gamma_{name}"] = next(
                    (value for value, lbl, _w in levels[name] if lbl == label), None
                )
                row[f"mw_{name}"] = stored.get("match_weight")
            rows.append(row)
    if not rows:
        return linkage_engine.empty_pairs(model)
    return pl.DataFrame(rows, schema=linkage_engine.empty_pairs(model).schema)
