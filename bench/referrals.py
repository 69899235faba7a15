"""Referral checker benchmark: accuracy on the labelled set, and latency per ~1,000-word referral.

Usage:  .venv/bin/python bench/referrals.py [--part tuning|heldout|all] [--runs 200]

Accuracy (docs/referral-checker.md, "How it is measured"): for each element R1–R20, precision
and recall of the checker's "present" against the annotation (present = the element is met; the
checker asks its question otherwise), F1, and 3-way agreement (present/partial/absent); macro F1
is the mean of the twenty F1s (target >= 0.90). Vague phrases: precision/recall by overlap.
Concern codes: micro precision/recall of asserted taxonomy codes.
Latency: a ~1,000-word referral (labelled texts joined), checked with record cross-checks
against an in-memory SQLite chronology of 40 events for the child and household (target p95 <= 20 ms).
Prints a table; the last line is one JSON object.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from fullpicture.referrals.checker import (  # noqa: E402
    analyse_referral_text,
    check_from_analysis,
    vague_phrases,
)
from fullpicture.referrals.classifier import suggestions_from_analysis  # noqa: E402
from fullpicture.referrals.rulebook import ELEMENT_IDS, default_rulebook  # noqa: E402

DATA = ROOT / "bench" / "data" / "referrals"
PARTS = {"tuning": DATA / "tuning.yaml", "heldout": DATA / "heldout.yaml"}


@dataclass
class LabelledReferral:
    id: str
    part: str
    text: str
    referral_date: dt.date
    elements: dict[str, str]
    vague: list[tuple[str, str]]
    codes: set[str]


def load_labelled(part: str) -> list[LabelledReferral]:
    """Items of one part ("tuning" or "heldout"); R19 is derived from the vague annotations."""
    raw = yaml.safe_load(PARTS[part].read_text(encoding="utf-8"))
    bands = default_rulebook().standard.r19_density
    items = []
    for item in raw["items"]:
        elements = dict(item["elements"])
        words = _word_count(item["text"])
        gold_vague = _gold_vague_spans(item["text"], [tuple(v) for v in item["vague"]])
        density = 100.0 * len(gold_vague) / words if words else 0.0
        elements["R19"] = (
            "present"
            if density <= bands.present_at_most
            else "partial"
            if density <= bands.partial_at_most
            else "absent"
        )
        items.append(
            LabelledReferral(
                id=item["id"],
                part=part,
                text=item["text"],
                referral_date=item["referral_date"],
                elements=elements,
                vague=[tuple(v) for v in item["vague"]],
                codes=set(item["codes"]),
            )
        )
    return items


def _word_count(text: str) -> int:
    from fullpicture.referrals.language import default_engine

    doc = default_engine().nlp.make_doc(text)
    return sum(1 for t in doc if t.is_alpha or t.like_num)


def _gold_vague_spans(text: str, vague: list[tuple[str, ...]]) -> list[tuple[int, int, str]]:
    import re

    spans: set[tuple[int, int, str]] = set()
    for phrase, kind in vague:
        for found in re.finditer(rf"(?<!\w){re.escape(phrase)}(?!\w)", text):
            spans.add((found.start(), found.end(), kind))
    return sorted(spans)


def evaluate(items: list[LabelledReferral]) -> dict[str, Any]:
    """Per-element precision/recall/F1 on "present", 3-way agreement, vague and code scores."""
    book = default_rulebook()
    tp = dict.fromkeys(ELEMENT_IDS, 0)
    fp = dict.fromkeys(ELEMENT_IDS, 0)
    fn = dict.fromkeys(ELEMENT_IDS, 0)
    agree = dict.fromkeys(ELEMENT_IDS, 0)
    errors: list[str] = []
    vague_tp_pred = vague_pred = vague_tp_gold = vague_gold = 0
    code_tp = code_pred = code_gold = 0
    for item in items:
        analysis = analyse_referral_text(item.text, referral_date=item.referral_date, rulebook=book)
        check = check_from_analysis(analysis, referral_date=item.referral_date, rulebook=book)
        for element in ELEMENT_IDS:
            gold = item.elements[element]
            got = check.elements[element].status
            agree[element] += gold == got
            if got == "present" and gold == "present":
                tp[element] += 1
            elif got == "present":
                fp[element] += 1
            elif gold == "present":
                fn[element] += 1
            if gold != got:
                errors.append(f"{item.id} {element} gold={gold} got={got}")
        predicted = [(v.start, v.end) for v in vague_phrases(analysis, rulebook=book)]
        gold_spans = _gold_vague_spans(item.text, [tuple(v) for v in item.vague])
        vague_pred += len(predicted)
        vague_gold += len(gold_spans)
        vague_tp_pred += sum(
            1 for s, e in predicted if any(s < ge and gs < e for gs, ge, _ in gold_spans)
        )
        vague_tp_gold += sum(
            1 for gs, ge, _ in gold_spans if any(s < ge and gs < e for s, e in predicted)
        )
        codes = {
            s.code
            for s in suggestions_from_analysis(analysis, rulebook=book)
            if s.kind == "concern"
        }
        code_tp += len(codes & item.codes)
        code_pred += len(codes)
        code_gold += len(item.codes)
    per_element = {}
    for element in ELEMENT_IDS:
        precision = tp[element] / (tp[element] + fp[element]) if tp[element] + fp[element] else 1.0
        recall = tp[element] / (tp[element] + fn[element]) if tp[element] + fn[element] else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_element[element] = {
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f1": round(f1, 3),
            "agreement": round(agree[element] / len(items), 3),
            "gold_present": tp[element] + fn[element],
        }
    return {
        "n": len(items),
        "per_element": per_element,
        "macro_f1": round(statistics.mean(e["f1"] for e in per_element.values()), 3),
        "mean_agreement": round(statistics.mean(e["agreement"] for e in per_element.values()), 3),
        "vague_precision": round(vague_tp_pred / vague_pred, 3) if vague_pred else 1.0,
        "vague_recall": round(vague_tp_gold / vague_gold, 3) if vague_gold else 1.0,
        "code_precision": round(code_tp / code_pred, 3) if code_pred else 1.0,
        "code_recall": round(code_tp / code_gold, 3) if code_gold else 1.0,
        "errors": errors,
    }


def latency(runs: int) -> dict[str, Any]:
    """Check a ~1,000-word referral with cross-checks against an in-memory chronology."""
    from bench.referral_record import build_record_session

    from fullpicture.access.service import system_principal
    from fullpicture.referrals.service import check_text_with_record

    items = load_labelled("tuning")
    text = ""
    for item in items:
        if len(text.split()) >= 1000:
            break
        text += item.text + "\n"
    session, child_public_id = build_record_session()
    # The benchmark reads the whole record as an audited system job, as a stored check does.
    whole_record = system_principal(db_session=session, job="referral benchmark", operator="bench")
    timings: list[float] = []
    cpu_timings: list[float] = []
    for run in range(runs + 5):
        start, cpu_start = time.perf_counter(), time.process_time()
        result = check_text_with_record(
            db_session=session,
            text=text,
            child_public_id=child_public_id,
            referral_date=dt.date(2026, 11, 23),
            viewer=whole_record,
        )
        elapsed = (time.perf_counter() - start) * 1000
        cpu = (time.process_time() - cpu_start) * 1000
        if run >= 5:  # warm-up: compile rules, load taxonomy
            timings.append(elapsed)
            cpu_timings.append(cpu)
    assert result.cross_checks is not None and result.cross_checks.findings
    timings.sort()
    cpu_timings.sort()
    # Wall time includes waiting for a CPU on a shared machine; process time does not.
    return {
        "words": len(text.split()),
        "runs": runs,
        "p50_ms": round(timings[len(timings) // 2], 2),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
        "max_ms": round(timings[-1], 2),
        "cpu_p50_ms": round(cpu_timings[len(cpu_timings) // 2], 2),
        "cpu_p95_ms": round(cpu_timings[int(len(cpu_timings) * 0.95) - 1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["tuning", "heldout", "all"], default="all")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--errors", action="store_true", help="list every disagreement")
    parser.add_argument("--no-latency", action="store_true")
    args = parser.parse_args()
    parts = ["tuning", "heldout"] if args.part == "all" else [args.part]
    results: dict[str, Any] = {}
    for part in parts:
        result = evaluate(load_labelled(part))
        results[part] = result
        print(f"\n== {part} ({result['n']} referrals) ==")
        print(
            f"{'element':8} {'precision':>9} {'recall':>7} {'F1':>6} {'3-way':>6} {'gold present':>12}"
        )
        for element, row in result["per_element"].items():
            print(
                f"{element:8} {row['precision']:9.3f} {row['recall']:7.3f} {row['f1']:6.3f} "
                f"{row['agreement']:6.3f} {row['gold_present']:12d}"
            )
        print(
            f"macro F1 {result['macro_f1']:.3f}  mean 3-way agreement {result['mean_agreement']:.3f}  "
            f"vague P/R {result['vague_precision']:.3f}/{result['vague_recall']:.3f}  "
            f"codes P/R {result['code_precision']:.3f}/{result['code_recall']:.3f}"
        )
        if args.errors:
            for line in result["errors"]:
                print("  ", line)
    summary: dict[str, Any] = {
        "benchmark": "referral_checker",
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, {platform.python_implementation()} {platform.python_version()}",
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    for part, result in results.items():
        summary[part] = {k: v for k, v in result.items() if k not in {"errors", "per_element"}} | {
            "per_element_f1": {e: r["f1"] for e, r in result["per_element"].items()}
        }
    if not args.no_latency:
        timing = latency(args.runs)
        print(
            f"\nlatency, {timing['words']} words with cross-checks: p50 {timing['p50_ms']} ms, "
            f"p95 {timing['p95_ms']} ms, max {timing['max_ms']} ms ({timing['runs']} runs); "
            f"CPU time p50 {timing['cpu_p50_ms']} ms, p95 {timing['cpu_p95_ms']} ms"
        )
        summary["latency"] = timing
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
