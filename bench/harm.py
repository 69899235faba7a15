"""Benchmark: full-population cumulative-harm rescoring, pandas baseline, incremental latency.

    .venv/bin/python bench/harm.py                      # 10M events, ~300k children
    .venv/bin/python bench/harm.py --events 1000000     # a quicker run

Prints a table and, as its last line, one JSON object with every figure.

- batch: ``score_population_duckdb`` over Arrow, as of one date (targets: <= 20 s on 2 cores).
- pandas: a straightforward pandas implementation of the same model (per-child groupby with
  pandas operations). It is far too slow for the whole population, so it runs on a random
  subsample of children and its time is scaled up linearly by the number of events; the
  JSON says so. Its scores are checked against the batch job's for the same children.
- incremental: p95 latency of ``ChildHarmState.add`` as events arrive one at a time for
  children of typical size (target <= 5 ms).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from fullpicture.chronology.taxonomy import CodeKind, default_taxonomy
from fullpicture.harm.batch import EPOCH, epoch_day, score_population_duckdb
from fullpicture.harm.engine import ScoringEvent
from fullpicture.harm.harm_model import HarmModel, default_harm_model
from fullpicture.harm.incremental import ChildHarmState

AS_OF = dt.date(2026, 11, 1)
AGENCIES = ["school", "gp", "health_visiting", "hospital", "police", "housing", "csc", "early_help"]

# The code mix of the synthetic generator's base rates (``fullpicture synth``, seed 3,
# 320k children: 1.17M events), in percent. The benchmark packs ~33 entries per child
# into five years, about nine times denser than that population, so it raises far more
# alerts per child than a real one would: a harder case for the alert joins.
CODE_WEIGHTS = {
    "PRC-RTN": 54.24,
    "STR-ATT": 14.45,
    "EDU-ATT": 4.88,
    "WNB": 4.85,
    "STR-HLT": 2.36,
    "DOM-ABU": 1.92,
    "CYP-MH": 1.8,
    "PAR-MH": 1.62,
    "PRC-REF": 1.57,
    "NEG-BAS": 1.42,
    "STR-ENG": 1.13,
    "PLN-EH": 1.12,
    "PLN-END": 0.83,
    "PRC-ASM": 0.75,
    "MIS-EPI": 0.7,
    "PRC-NFA": 0.68,
    "HOU-INS": 0.64,
    "PHY-INJ": 0.46,
    "STR-ADU": 0.44,
    "PLN-CP": 0.42,
    "PRC-STR": 0.42,
    "PRC-CON": 0.42,
    "DEV-GRO": 0.39,
    "NEG-HLT": 0.38,
    "EMO-ABU": 0.37,
    "ADT-UNK": 0.33,
    "PLN-CIN": 0.24,
    "EXP-CCE": 0.21,
    "ONL-HRM": 0.15,
    "CYP-SUB": 0.14,
    "PAR-SUB": 0.14,
    "NEG-SUP": 0.14,
    "CHD-VOI": 0.14,
    "ENG-DIS": 0.11,
    "PRE-UNB": 0.08,
    "PHY-NMB": 0.05,
}

EVENTS_SCHEMA = pa.schema(
    [
        ("child_id", pa.int64()),
        ("ref", pa.int64()),
        ("agency", pa.string()),
        ("day", pa.int32()),
        ("code", pa.string()),
        ("severity", pa.int32()),
    ]
)


def code_weights(mix: str) -> dict[str, float]:
    """``dense``: the generator's mix as it is. ``padded``: the generator's concerns per child
    (about 0.8 in six years), the rest of each child's ~33 entries routine contacts; a
    realistic alert rate."""
    if mix == "dense":
        return dict(CODE_WEIGHTS)
    taxonomy = default_taxonomy()
    weights = {
        code: weight * (0.1 if taxonomy.get(code).kind is CodeKind.CONCERN else 1.0)  # type: ignore[union-attr]
        for code, weight in CODE_WEIGHTS.items()
    }
    weights["PRC-RTN"] += sum(CODE_WEIGHTS.values()) - sum(weights.values())
    return weights


def synthetic_population(
    events: int, children: int, seed: int, mix: str = "padded"
) -> tuple[pa.Table, pa.Table]:
    """Random events spread over five years before AS_OF (for timing, not for detection)."""
    rng = np.random.default_rng(seed)
    mix_weights = code_weights(mix)
    codes = list(mix_weights)
    weights = np.array([mix_weights[c] for c in codes], dtype=float)
    weights /= weights.sum()
    end = epoch_day(AS_OF)
    child_ids = np.sort(rng.integers(0, children, size=events))
    days = rng.integers(end - 5 * 365, end + 1, size=events).astype(np.int32)
    table = pa.table(
        {
            "child_id": pa.array(child_ids, pa.int64()),
            "ref": pa.array(np.arange(events), pa.int64()),
            "agency": pa.array(np.array(AGENCIES)[rng.integers(0, len(AGENCIES), events)]),
            "day": pa.array(days, pa.int32()),
            "code": pa.array(np.array(codes)[rng.choice(len(codes), size=events, p=weights)]),
            "severity": pa.nulls(events, pa.int32()),
        },
        schema=EVENTS_SCHEMA,
    )
    births = rng.integers(end - 17 * 365, end - 30, size=children).astype(np.int32)
    kids = pa.table(
        {"child_id": pa.array(np.arange(children), pa.int64()), "birth_day": pa.array(births)}
    )
    return table, kids


def pandas_scores(
    events: pd.DataFrame, births: dict[int, int], model: HarmModel
) -> dict[int, float]:
    """The same model, written the straightforward pandas way: one child at a time."""
    taxonomy = default_taxonomy()
    kinds = {c.code: c.kind.value for c in taxonomy.codes}
    defaults = {c.code: c.default_severity for c in taxonomy.codes}
    as_of = epoch_day(AS_OF)
    h = model.decay.half_life_days
    scores: dict[int, float] = {}
    frame = events[events["day"] <= as_of].copy()
    frame["kind"] = frame["code"].map(kinds)
    frame["base"] = np.where(
        frame["kind"] == "concern",
        frame["severity"].fillna(frame["code"].map(defaults)),
        0,
    )
    for child_id, child in frame.groupby("child_id", sort=False):
        child = child.sort_values(["code", "day"])
        gap = child.groupby("code")["day"].diff()
        child["incident"] = (gap.isna() | (gap > model.same_incident.within_days)).cumsum()
        incidents = (
            child.groupby(["code", "incident"])
            .agg(
                day=("day", "min"),
                kind=("kind", "first"),
                base=("base", "max"),
                agencies=("agency", lambda s: sorted(set(s))),
            )
            .reset_index()
            .sort_values("day")
        )
        birth = births.get(int(child_id))
        severities = []
        for row in incidents.itertuples():
            if row.kind != "concern":
                severities.append(0)
                continue
            added = 0
            for modifier in model.modifiers:
                if not modifier.applies_to_code(row.code):
                    continue
                if _pandas_condition(modifier.condition, row, incidents, birth, model):
                    added += modifier.add_severity
            severities.append(min(5, int(row.base) + added))
        incidents["severity"] = severities
        concerns = incidents[incidents["kind"] == "concern"]
        window = concerns[concerns["day"] >= as_of - model.decay.horizon_days]
        if window.empty:
            scores[int(child_id)] = 0.0
            continue
        base_day = incidents["day"].min()
        points = window["severity"].map(model.points_by_severity)
        weighted = (points * np.power(2.0, (window["day"] - base_day) / h)).sum()
        value = weighted * 2.0 ** (-(as_of - base_day) / h)
        recent = concerns[concerns["day"] >= as_of - model.triangulation.window_days]
        agencies = len({a for group in recent["agencies"] for a in group})
        tri = model.triangulation
        multiplier = (
            1.0
            if agencies <= 1
            else min(tri.max_multiplier, 1.0 + tri.credit_per_extra_agency * (agencies - 1))
        )
        scores[int(child_id)] = value * multiplier
    return scores


def _pandas_condition(condition, row, incidents, birth, model) -> bool:  # type: ignore[no-untyped-def]
    kind = condition.type
    day = row.day
    before = incidents[incidents["day"] <= day]
    if kind == "child_age_under":
        return birth is not None and day - birth < condition.days
    if kind == "on_plan":
        starts = before[before["code"].isin(model.plans.start_codes)]["day"]
        ends = before[before["code"].isin(model.plans.end_codes)]["day"]
        return not starts.empty and (ends.empty or starts.max() >= ends.max())
    recent = before[before["day"] >= day - condition.days]
    if kind == "repeated":
        return int((recent["code"] == row.code).sum()) >= condition.min_count
    if kind == "all_codes_within":
        return all((recent["code"] == c).any() for c in condition.codes)
    if kind == "any_code_within":
        return bool(recent["code"].isin(condition.codes).any())
    if kind == "other_concern_within":
        return bool(((recent["kind"] == "concern") & (recent["code"] != row.code)).any())
    raise TypeError(kind)


def incremental_latency(
    events: pa.Table, births: dict[int, int], children: int, seed: int
) -> list[float]:
    """Milliseconds per ``ChildHarmState.add``, each child's events arriving in date order."""
    model = default_harm_model()
    taxonomy = default_taxonomy()
    rng = np.random.default_rng(seed)
    chosen = set(
        rng.choice(
            int(pa.compute.max(events["child_id"]).as_py()) + 1, children, replace=False
        ).tolist()
    )
    frame = events.to_pandas()
    frame = frame[frame["child_id"].isin(chosen)].sort_values(["child_id", "day"])
    timings: list[float] = []
    for child_id, child in frame.groupby("child_id"):
        state = ChildHarmState(
            date_of_birth=EPOCH + dt.timedelta(days=births[int(child_id)]),
            model=model,
            taxonomy=taxonomy,
        )
        for row in child.itertuples():
            event = ScoringEvent(
                ref=int(row.ref),
                agency=row.agency,
                day=EPOCH + dt.timedelta(days=int(row.day)),
                code=row.code,
            )
            started = time.perf_counter()
            state.add(event, as_of=AS_OF)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--children", type=int, default=0, help="default: events / 33")
    parser.add_argument("--pandas-children", type=int, default=2_000)
    parser.add_argument("--incremental-children", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--mix",
        choices=["padded", "dense"],
        default="padded",
        help="padded: realistic concerns per child; dense: every entry drawn from the generator's mix",
    )
    args = parser.parse_args()
    children = args.children or max(1, args.events // 33)

    started = time.perf_counter()
    events, kids = synthetic_population(args.events, children, args.seed, args.mix)
    generate_seconds = time.perf_counter() - started

    started = time.perf_counter()
    result = score_population_duckdb(events, kids, as_of=AS_OF, threads=args.threads)
    batch_seconds = time.perf_counter() - started
    batch_scores = result.score_of()

    births = dict(zip(kids["child_id"].to_pylist(), kids["birth_day"].to_pylist(), strict=True))
    rng = np.random.default_rng(args.seed + 1)
    sample = rng.choice(children, size=min(args.pandas_children, children), replace=False)
    frame = events.to_pandas()
    subsample = frame[frame["child_id"].isin(set(sample.tolist()))]
    started = time.perf_counter()
    reference = pandas_scores(subsample, births, default_harm_model())
    pandas_seconds_sample = time.perf_counter() - started
    pandas_seconds = pandas_seconds_sample * len(frame) / max(1, len(subsample))
    mismatches = sum(
        1
        for child_id, score in reference.items()
        if abs(batch_scores.get(child_id, 0.0) - score) > 1e-6 * max(1.0, score)
    )

    timings = incremental_latency(events, births, args.incremental_children, args.seed)
    p50 = statistics.median(timings)
    p95 = float(np.percentile(timings, 95))

    figures = {
        "benchmark": "harm",
        "events": args.events,
        "children": children,
        "as_of": AS_OF.isoformat(),
        "mix": args.mix,
        "threads": args.threads,
        "batch_seconds": round(batch_seconds, 2),
        "batch_events_per_second": round(args.events / batch_seconds),
        "alerts": len(result.alerts),
        "pandas_seconds_scaled": round(pandas_seconds, 1),
        "pandas_sample_children": len(sample),
        "pandas_sample_events": len(subsample),
        "pandas_sample_seconds": round(pandas_seconds_sample, 2),
        "pandas_scaled": True,
        "pandas_score_mismatches": mismatches,
        "speedup_vs_pandas": round(pandas_seconds / batch_seconds, 1),
        "incremental_updates": len(timings),
        "incremental_p50_ms": round(p50, 3),
        "incremental_p95_ms": round(p95, 3),
        "generate_seconds": round(generate_seconds, 1),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, {platform.python_version()}",
        "targets": {"batch_seconds": 20, "speedup_vs_pandas": 10, "incremental_p95_ms": 5},
    }
    print(f"{'measure':<34}{'value':>16}")
    for key in (
        "events",
        "children",
        "batch_seconds",
        "alerts",
        "pandas_seconds_scaled",
        "pandas_score_mismatches",
        "speedup_vs_pandas",
        "incremental_p50_ms",
        "incremental_p95_ms",
    ):
        print(f"{key:<34}{figures[key]!s:>16}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
