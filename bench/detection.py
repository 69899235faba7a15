"""Evaluation of the cumulative-harm engine: synthetic populations and the real review cases.

    .venv/bin/python bench/detection.py --population DIR          # an existing synth output
    .venv/bin/python bench/detection.py --children 20000 --seed 12 # generate one first

Synthetic (``fullpicture synth``; planted trajectories and decoys in truth/):
- recall: planted (non-decoy) trajectories with a combined-view alert between onset and the
  planted outcome (or the population's as-of day when the outcome was never recognised);
- alerts per 1,000 children per year (all kinds, combined view, the whole population);
- median lead time from the first alert in the window to the planted outcome (trajectories
  with a dated outcome that was recognised);
- the share of planted trajectories where the combined view alerts before every single
  agency's own view (an agency that never alerts counts as never), and by how many days;
- decoys alerted in their window (false alarms about innocent patterns).
Records are joined to people by the generator's truth identities (perfect linkage), so the
figures measure the engine, not linkage.

Real cases (../shared/eval/cases): for each, the combined view's first alert and each
agency's, against the outcome. The model is never tuned on them.

Ordinary childhoods (tests/harm/benign, issue 18): the share of benign histories that alert at
all (combined view, any kind), on the dev part (read while tuning) and the test part (never
tuned on) separately, with each history that alerts and why. Target <= 2 % on each.

Targets (issue 5): recall >= 0.95 with <= 30 alerts per 1,000 children per year, median
lead time >= 6 months, combined earlier than every single agency in >= 80% of planted cases.
Prints a table; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from fullpicture.harm.batch import BatchAlert, score_population_duckdb
from fullpicture.harm.false_alarms import PARTS, false_alarm_rate, library_files
from fullpicture.harm.harm_model import HarmModel, default_harm_model, load_harm_model
from fullpicture.harm.replay import load_case, replay_case

CASES = Path("/work/shared/eval/cases")
DAYS_PER_YEAR = 365.25


def _parse_day(column: str) -> pl.Expr:
    """YYYY-MM-DD, or YYYY-MM / YYYY stored as the period's last day (docs/import-format.md)."""
    text = pl.col(column)
    full = text.str.to_date("%Y-%m-%d", strict=False)
    month = (text + "-01").str.to_date("%Y-%m-%d", strict=False).dt.month_end()
    year = (text + "-12-31").str.to_date("%Y-%m-%d", strict=False)
    return (
        pl.when(text.str.len_chars() == 10)
        .then(full)
        .when(text.str.len_chars() == 7)
        .then(month)
        .otherwise(year)
    )


def load_population(directory: Path) -> dict[str, object]:
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    as_of = dt.date.fromisoformat(manifest["as_of"])
    frames = [
        pl.read_csv(
            path,
            columns=["agency", "event_id", "event_date", "concern_code", "severity", "people"],
            schema_overrides={"event_date": pl.Utf8, "severity": pl.Int32, "event_id": pl.Utf8},
        )
        for path in sorted((directory / "feeds").glob("*/events.csv"))
    ]
    events = (
        pl.concat(frames).with_row_index("ref").with_columns(_parse_day("event_date").alias("date"))
    )
    identity = pl.read_csv(directory / "truth/identity.csv", infer_schema_length=0)
    persons = pl.read_csv(directory / "truth/persons.csv", infer_schema_length=0)
    children = persons.filter(pl.col("kind").is_in(["child", "unborn"])).select(
        "person_id",
        pl.coalesce(
            pl.col("date_of_birth").str.to_date(strict=False),
            pl.col("expected_date_of_delivery").str.to_date(strict=False),
        ).alias("dob"),
    )
    participants = (
        events.select("ref", "agency", "people")
        .with_columns(pl.col("people").str.split("|"))
        .explode("people")
        .with_columns(pl.col("people").str.split_exact(":", 1).alias("p"))
        .unnest("p")
        .rename({"field_0": "record_id"})
        .join(identity, on=["agency", "record_id"], how="inner")
        .select("ref", "person_id")
    )
    model = default_harm_model()
    own = participants.join(children.select("person_id"), on="person_id", how="inner").rename(
        {"person_id": "child"}
    )
    households = pl.read_csv(
        directory / "truth/households.csv", infer_schema_length=0
    ).with_columns(
        pl.col("date_from").str.to_date(strict=False),
        pl.col("date_to").str.to_date(strict=False),
    )
    child_homes = households.join(children.select("person_id"), on="person_id", how="inner")
    adult_homes = households.join(children.select("person_id"), on="person_id", how="anti")
    adult_events = (
        participants.join(
            events.select("ref", "date", "concern_code").filter(
                pl.col("concern_code").is_in(list(model.household_adult_codes))
            ),
            on="ref",
        )
        .join(adult_homes, on="person_id")
        .join(
            child_homes.rename(
                {"person_id": "child", "date_from": "child_from", "date_to": "child_to"}
            ),
            on="household_id",
        )
        .filter(
            (pl.col("date_from").is_null() | (pl.col("date_from") <= pl.col("date")))
            & (pl.col("date_to").is_null() | (pl.col("date_to") >= pl.col("date")))
            & (pl.col("child_from").is_null() | (pl.col("child_from") <= pl.col("date")))
            & (pl.col("child_to").is_null() | (pl.col("child_to") >= pl.col("date")))
        )
        .select("ref", "child")
    )
    scoring = (
        pl.concat([own, adult_events])
        .unique()
        .join(events.select("ref", "agency", "date", "concern_code", "severity"), on="ref")
    )
    child_index = {p: i for i, p in enumerate(children["person_id"].to_list())}
    return {
        "as_of": as_of,
        "events": events,
        "scoring": scoring.with_columns(
            pl.col("child").replace_strict(child_index, return_dtype=pl.Int64).alias("child_id")
        ),
        "children": children.with_columns(
            pl.col("person_id").replace_strict(child_index, return_dtype=pl.Int64).alias("child_id")
        ),
        "child_index": child_index,
        "trajectories": pl.read_csv(directory / "truth/trajectories.csv", infer_schema_length=0),
    }


def _tables(scoring: pl.DataFrame, children: pl.DataFrame) -> tuple[pa.Table, pa.Table]:
    epoch = dt.date(1970, 1, 1)
    events = scoring.select(
        pl.col("child_id").cast(pl.Int64),
        pl.col("ref").cast(pl.Int64),
        pl.col("agency").cast(pl.Utf8),
        ((pl.col("date") - pl.lit(epoch)).dt.total_days()).cast(pl.Int32).alias("day"),
        pl.col("concern_code").alias("code"),
        pl.col("severity").cast(pl.Int32),
    ).to_arrow()
    births = children.select(
        pl.col("child_id").cast(pl.Int64),
        ((pl.col("dob") - pl.lit(epoch)).dt.total_days()).cast(pl.Int32).alias("birth_day"),
    ).to_arrow()
    return events, births


def _first_in_window(alerts: list[BatchAlert], start: dt.date, end: dt.date) -> dict[int, dt.date]:
    first: dict[int, dt.date] = {}
    for alert in alerts:
        if start <= alert.day <= end and (
            alert.child_id not in first or alert.day < first[alert.child_id]
        ):
            first[alert.child_id] = alert.day
    return first


def evaluate_synthetic(directory: Path, model: HarmModel) -> dict[str, object]:
    started = time.perf_counter()
    population = load_population(directory)
    as_of: dt.date = population["as_of"]  # type: ignore[assignment]
    scoring: pl.DataFrame = population["scoring"]  # type: ignore[assignment]
    children: pl.DataFrame = population["children"]  # type: ignore[assignment]
    child_index: dict[str, int] = population["child_index"]  # type: ignore[assignment]
    events, births = _tables(scoring, children)
    result = score_population_duckdb(events, births, as_of=as_of, model=model)
    alerts_by_child: dict[int, list[BatchAlert]] = {}
    for alert in result.alerts:
        alerts_by_child.setdefault(alert.child_id, []).append(alert)

    first_day = scoring["date"].min()
    years = (as_of - first_day).days / DAYS_PER_YEAR  # type: ignore[operator]
    alert_rate = len(result.alerts) / (children.height * years) * 1000

    trajectories = population["trajectories"]  # type: ignore[assignment]
    planted = trajectories.filter(pl.col("is_decoy") == "false")  # type: ignore[attr-defined]
    decoys = trajectories.filter(pl.col("is_decoy") == "true")  # type: ignore[attr-defined]

    # Each agency's own view of each planted child: the same engine on that agency's events.
    planted_ids = {child_index[p] for p in planted["person_id"].to_list() if p in child_index}
    agency_rows = scoring.filter(pl.col("child_id").is_in(list(planted_ids)))
    agency_codes = {a: i for i, a in enumerate(sorted(set(agency_rows["agency"].to_list())))}
    stride = len(agency_codes) + 1
    single = agency_rows.with_columns(
        (
            pl.col("child_id") * stride
            + pl.col("agency").replace_strict(agency_codes, return_dtype=pl.Int64)
        ).alias("child_id")
    )
    single_children = pl.concat(
        [
            children.filter(pl.col("child_id").is_in(list(planted_ids))).with_columns(
                (pl.col("child_id") * stride + index).alias("child_id")
            )
            for index in agency_codes.values()
        ]
    )
    single_events, single_births = _tables(single, single_children)
    single_result = score_population_duckdb(single_events, single_births, as_of=as_of, model=model)
    single_alerts: dict[int, list[BatchAlert]] = {}
    for alert in single_result.alerts:
        single_alerts.setdefault(alert.child_id // stride, []).append(alert)

    detected = 0
    leads: list[int] = []
    earlier = 0
    margins: list[int] = []
    never_alone = 0
    by_kind: dict[str, list[int]] = {}
    for row in planted.iter_rows(named=True):
        child = child_index.get(row["person_id"])
        onset = dt.date.fromisoformat(row["onset_date"])
        outcome = dt.date.fromisoformat(row["outcome_date"]) if row["outcome_date"] else as_of
        end = min(outcome, as_of)
        hits = (
            _first_in_window(alerts_by_child.get(child, []), onset, end)
            if child is not None
            else {}
        )
        found = hits.get(child) if child is not None else None
        by_kind.setdefault(row["kind"], [0, 0, 0])[1] += 1
        if found is None:
            continue
        detected += 1
        by_kind[row["kind"]][0] += 1
        if row["outcome_date"] and row["outcome"] != "unrecognised":
            leads.append((outcome - found).days)
        # The first alert in any one agency's own view of this child:
        earliest_alone = min(
            (a.day for a in single_alerts.get(child, []) if onset <= a.day <= end), default=None
        )
        if earliest_alone is None:
            never_alone += 1
            earlier += 1
            by_kind[row["kind"]][2] += 1
        elif found < earliest_alone:
            earlier += 1
            by_kind[row["kind"]][2] += 1
            margins.append((earliest_alone - found).days)
    decoy_alerted = 0
    for row in decoys.iter_rows(named=True):
        child = child_index.get(row["person_id"])
        onset = dt.date.fromisoformat(row["onset_date"])
        outcome = dt.date.fromisoformat(row["outcome_date"]) if row["outcome_date"] else as_of
        if child is not None and _first_in_window(
            alerts_by_child.get(child, []), onset, min(outcome, as_of)
        ):
            decoy_alerted += 1
    return {
        "population": str(directory),
        "children": children.height,
        "events_scored": scoring.height,
        "years": round(years, 2),
        "planted": planted.height,
        "decoys": decoys.height,
        "recall": round(detected / max(1, planted.height), 4),
        "alerts": len(result.alerts),
        "alerts_per_1000_children_per_year": round(alert_rate, 1),
        "median_lead_days": statistics.median(leads) if leads else None,
        "combined_earlier_than_every_agency": round(earlier / max(1, detected), 4),
        "combined_earlier_share_of_planted": round(earlier / max(1, planted.height), 4),
        "median_days_earlier_than_first_agency": statistics.median(margins) if margins else None,
        "detected_where_no_single_agency_alerts": never_alone,
        "decoys_alerted": decoy_alerted,
        "recall_by_kind": {k: round(v[0] / v[1], 3) for k, v in sorted(by_kind.items())},
        "combined_earlier_by_kind": {k: round(v[2] / v[1], 3) for k, v in sorted(by_kind.items())},
        "seconds": round(time.perf_counter() - started, 1),
    }


def evaluate_cases(model: HarmModel) -> list[dict[str, object]]:
    reports = []
    for path in sorted(CASES.glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        outcome = dt.date.fromisoformat(raw["outcome"]["date"])
        result = replay_case(load_case(raw), model=model)
        combined = result.combined.first_alert_date
        agencies = {name: view.first_alert_date for name, view in result.by_agency.items()}
        earliest_alone = min((d for d in agencies.values() if d), default=None)
        reports.append(
            {
                "case": path.stem,
                "outcome": outcome.isoformat(),
                "combined_first_alert": combined.isoformat() if combined else None,
                "combined_lead_days": (outcome - combined).days if combined else None,
                "by_agency_first_alert": {
                    k: v.isoformat() if v else None for k, v in sorted(agencies.items())
                },
                "combined_days_before_first_single_agency": (
                    (earliest_alone - combined).days if combined and earliest_alone else None
                ),
                "combined_alerts": [f"{a.date} {a.kind}" for a in result.combined.alerts],
            }
        )
    return reports


def evaluate_benign(model: HarmModel) -> dict[str, object]:
    report: dict[str, object] = {}
    for part in PARTS:
        rate = false_alarm_rate(part, library_files(part), model=model)
        report[part] = {
            "histories": rate.histories,
            "alerted": len(rate.alarms),
            "false_alarm_rate": round(rate.rate, 4),
            "alarms": [
                {"case": a.case, "kind": a.kind, "day": a.day.isoformat(), "reason": a.reason,
                 "entries": list(a.entries)}
                for a in rate.alarms
            ],
        }  # fmt: skip
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=Path, help="an existing 'fullpicture synth' output")
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--model", type=Path, help="a harm model file (default: the shipped one)")
    args = parser.parse_args()
    directory = args.population
    if directory is None:
        directory = Path(f"var/bench-detection-{args.children}-{args.seed}")
        if not (directory / "manifest.json").exists():
            subprocess.run(
                [sys.executable, "-m", "fullpicture.cli.main", "synth", "--children",
                 str(args.children), "--seed", str(args.seed), "--out", str(directory)],
                check=True,
            )  # fmt: skip
    model = load_harm_model(args.model) if args.model else default_harm_model()
    synthetic = evaluate_synthetic(directory, model)
    cases = evaluate_cases(model)
    benign = evaluate_benign(model)
    print(f"{'measure':<44}{'value':>14}")
    for key in (
        "children",
        "planted",
        "decoys",
        "recall",
        "alerts_per_1000_children_per_year",
        "median_lead_days",
        "combined_earlier_than_every_agency",
        "median_days_earlier_than_first_agency",
        "decoys_alerted",
    ):
        print(f"{key:<44}{synthetic[key]!s:>14}")
    print("recall by kind:", synthetic["recall_by_kind"])
    print("combined earlier by kind:", synthetic["combined_earlier_by_kind"])
    for case in cases:
        print(
            f"{case['case']:<22} outcome {case['outcome']}  combined {case['combined_first_alert']}"
            f" ({case['combined_lead_days']} days before)  agencies {case['by_agency_first_alert']}"
        )
    for part, found in benign.items():
        assert isinstance(found, dict)
        print(
            f"benign {part:<5} {found['alerted']}/{found['histories']} alerted"
            f" (false-alarm rate {found['false_alarm_rate']:.2%})"
        )
        for alarm in found["alarms"]:
            print(f"    {alarm['case']}: {alarm['kind']} on {alarm['day']}: {alarm['reason']}")
    print(json.dumps({"benchmark": "detection", "model_version": model.version,
                      "synthetic": synthetic, "cases": cases, "benign": benign}))  # fmt: skip


if __name__ == "__main__":
    main()
