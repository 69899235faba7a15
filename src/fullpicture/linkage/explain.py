"""Why two records are (or are not) one person: the match-weight waterfall, as data."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from fullpicture.access.subject import AuthSubject
from fullpicture.agencies import service as agency_service
from fullpicture.core.database import utc_now
from fullpicture.linkage import engine as linkage_engine
from fullpicture.linkage import repository as repo
from fullpicture.linkage import review as linkage_review
from fullpicture.linkage.batch import run_batch
from fullpicture.linkage.files import read_person_file, read_relationship_file
from fullpicture.linkage.preparation import prepare
from fullpicture.linkage.relatives import relative_names, relatives_step, second_pass_words
from fullpicture.linkage.rules import LinkageRules
from fullpicture.linkage.schemas import MatchExplanation, RecordRef, WaterfallStep
from fullpicture.linkage.service import LinkageStateError

# The prepared values shown beside each comparison's level.
_SHOWN_VALUES = {
    "given_name": "given_name",
    "family_name": "family_name",
    "date_of_birth": "date_of_birth",
    "sex": "sex",
    "residence": "address",
    "nhs_number": "nhs_number",
    "upn": "upn",
}


def _shown(record: dict[str, Any], comparison: str) -> str | None:
    if comparison == "residence":
        parts = [record.get("address"), record.get("postcode")]
        text = ", ".join(p for p in parts if p)
        return text or None
    value = record.get(_SHOWN_VALUES.get(comparison, comparison))
    return None if value is None else str(value)


def prior_match_weight(model: dict[str, Any]) -> float:
    p = float(model["probability_two_random_records_match"])
    return math.log2(p / (1.0 - p))


def explain_prepared(
    left: pl.DataFrame,
    right: pl.DataFrame,
    *,
    model: dict[str, Any],
    rules: LinkageRules,
    model_version: int | None,
    left_label: str,
    right_label: str,
    line: float | None = None,
) -> MatchExplanation:
    """Score two prepared records and lay out what each field contributed; ``line`` is the
    match weight the pair's run linked from, when it was not the rules' fixed line."""
    scored = linkage_engine.score_pair(left, right, model=model)
    # score_pair orders the pair; keep the caller's left/right for the values shown.
    left_row, right_row = left.row(0, named=True), right.row(0, named=True)
    levels = linkage_engine.level_weights(model)
    descriptions = {
        c["output_column_name"]: c.get("comparison_description", "") for c in model["comparisons"]
    }
    steps = []
    for name, options in levels.items():
        gamma = scored[f"gamma_{name}"]
        label = next((lbl for value, lbl, _w in options if value == gamma), "unknown")
        steps.append(
            WaterfallStep(
                comparison=name,
                description=descriptions.get(name, ""),
                level=label,
                value_left=_shown(left_row, name),
                value_right=_shown(right_row, name),
                match_weight=round(float(scored[f"mw_{name}"] or 0.0), 4),
            )
        )
    weight = float(scored["match_weight"])
    return MatchExplanation(
        left=left_label,
        right=right_label,
        prior_match_weight=round(prior_match_weight(model), 4),
        steps=steps,
        match_weight=round(weight, 4),
        match_probability=round(float(scored["match_probability"]), 6),
        model_version=model_version,
        decision=_decision(weight, rules, line=line),
    )


def _decision(weight: float, rules: LinkageRules, *, line: float | None = None) -> str:
    # A file linked at a line chosen from its own model (or given with --threshold) links
    # below the fixed line: the explanation must say what that run did, not what 8 would do.
    if weight >= (rules.link_threshold_match_weight if line is None else line):
        return "link"
    if weight >= rules.review_band.lower_match_weight:
        return "review"
    return "separate"


def add_second_pass(
    explanation: MatchExplanation,
    pair: Mapping[str, Any] | None,
    names: Mapping[str, str],
    *,
    rules: LinkageRules,
    line: float | None = None,
) -> MatchExplanation:
    """``explanation`` (the pair on its own fields) with what the batch's second pass added:
    the relatives' comparison as one more step (``relatives.relatives_step``), the weight,
    probability and decision it leads to, and in words where the first pass left the pair.
    ``pair`` is the batch's scored pair (None: the batch never scored it), ``line`` the match
    weight the batch linked from; unchanged when the relatives' comparison did not weigh it."""
    step = None if pair is None else relatives_step(pair, names, left=explanation.left)
    if step is None:
        return explanation
    first_pass = explanation.match_weight
    weight = first_pass + step.match_weight
    return explanation.model_copy(
        update={
            "steps": [*explanation.steps, step],
            "match_weight": round(weight, 4),
            "match_probability": round(1.0 / (1.0 + 2.0**-weight), 6),
            "decision": _decision(weight, rules, line=line),
            "first_pass_match_weight": first_pass,
            "second_pass": second_pass_words(
                first_pass=first_pass,
                relatives=step.match_weight,
                below=rules.link_threshold_match_weight,
                line=line,
            ),
        }
    )


def explain_records(
    *,
    db_session: Session,
    subject: AuthSubject,
    left: RecordRef,
    right: RecordRef,
    rules: LinkageRules,
) -> MatchExplanation:
    """Explain two agency records in the database with the current model version.

    The waterfall shows both records' names, dates of birth and addresses, so it is given only
    to a reviewer who may read at least one of the two records, and audited as a read of the
    people they are about (``review.open_pair``; ``PairNotVisible`` otherwise).
    """
    linkage_review.open_pair(
        db_session=db_session,
        subject=subject,
        left=left,
        right=right,
        purpose="linkage explanation",
    )
    saved = repo.latest_model(db_session=db_session)
    if saved is None:
        raise LinkageStateError("no linkage model yet: run `fullpicture link` once first")
    keys = []
    for ref in (left, right):
        agency = agency_service.get_by_code(db_session=db_session, code=ref.agency)
        if agency is None:
            raise ValueError(f"no agency registered as {ref.agency!r}")
        keys.append((agency.id, ref.record_id))
    records = repo.pair_records(db_session=db_session, reviewer=subject, now=utc_now(), keys=keys)
    prepared = []
    for ref, key in zip((left, right), keys, strict=True):
        if key not in records:
            raise ValueError(f"no record {ref}")
        prepared.append(prepare(repo.records_frame(db_session=db_session, records=[records[key]])))
    return explain_prepared(
        prepared[0],
        prepared[1],
        model=saved.model,
        rules=rules,
        model_version=saved.version,
        left_label=str(left),
        right_label=str(right),
    )


def explain_file_pair(
    path: Path,
    left: RecordRef,
    right: RecordRef,
    *,
    rules: LinkageRules,
    model_path: Path | None,
    relationships_path: Path | None = None,
    threshold: float | None = None,
) -> MatchExplanation:
    """Explain two rows of a persons CSV, with a saved model or one trained on the file.

    With ``relationships_path`` the file is linked as ``fullpicture link`` links it (at
    ``threshold``, or the line chosen from the model), so that the relatives' comparison of
    the second pass, read from the first clustering of the whole file, shows as one more step
    when it weighed the pair."""
    records = read_person_file(path)
    model = json.loads(model_path.read_text(encoding="utf-8")) if model_path else None
    pair: dict[str, Any] | None = None
    line: float | None = None
    if relationships_path is not None:
        result = run_batch(
            records,
            rules=rules,
            model=model,
            threshold="choose" if threshold is None else threshold,
            relationships=read_relationship_file(relationships_path, records),
        )
        model, prepared, line = result.model, result.prepared, result.threshold.match_weight
        keys = sorted(f"{ref.agency}:{ref.record_id}" for ref in (left, right))
        scored = result.pairs.filter(
            (pl.col("unique_id_l").is_in(keys) & pl.col("unique_id_r").is_in(keys))
            & (pl.col("unique_id_l") != pl.col("unique_id_r"))
        )
        pair = scored.row(0, named=True) if scored.height else None
    else:
        prepared = prepare(records)
    if model is None:
        model = linkage_engine.train_model(prepared, rules=rules)
    rows = []
    for ref in (left, right):
        row = prepared.filter(pl.col("unique_id") == f"{ref.agency}:{ref.record_id}")
        if row.is_empty():
            raise ValueError(
                f"{path.name} has no row with source,record_id = {ref.agency},{ref.record_id}"
            )
        rows.append(row)
    explanation = explain_prepared(
        rows[0],
        rows[1],
        model=model,
        rules=rules,
        model_version=None,
        left_label=str(left),
        right_label=str(right),
        line=line,
    )
    shown = [] if pair is None else [pair]
    return add_second_pass(
        explanation, pair, relative_names(prepared, shown), rules=rules, line=line
    )
