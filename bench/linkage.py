"""Linkage accuracy and speed on generated populations, beside two baselines in the same run.

For each size (source records), generates a population with ``fullpicture synth`` (cached under
var/bench/), links every record with fullpicture's model (train on the records, predict,
cluster), and scores the people found against ``truth/identity.csv``: pairwise precision,
recall and F1, and B-cubed cluster precision and recall. Beside it, on the same records:

  (a) deterministic matching: same NHS number, else same given name + family name + date of
      birth (what most systems do today);
  (b) plain splink as its tutorial sets it up: exact-match blocking on one field at a time
      (NHS number, date of birth, postcode), the library's default comparisons, no nickname
      or day/month handling, clustered at match probability 0.95.

Prints a table, the ratios, and as its last line one JSON object with every figure.

    .venv/bin/python bench/linkage.py [--records 100000 1000000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from fullpicture.linkage.batch import run_batch
from fullpicture.linkage.clustering import cluster_records
from fullpicture.linkage.files import read_feed_records
from fullpicture.linkage.rules import default_rules

RECORDS_PER_CHILD = 4.45  # measured on the generator's default settings (manifest counts)
console = Console(stderr=True)


def population(records: int, seed: int) -> Path:
    """A generated population of about ``records`` source records (cached)."""
    children = max(100, math.ceil(records / RECORDS_PER_CHILD))
    out = Path("var/bench") / f"linkage-{children}-{seed}"
    manifest = out / "manifest.json"
    if not manifest.exists():
        console.print(f"generating {children} children (seed {seed}) into {out}")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "fullpicture.cli.main",
                "synth",
                "--children",
                str(children),
                "--seed",
                str(seed),
                "--out",
                str(out),
                "--format",
                "parquet",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return out


def scores(truth: pl.DataFrame, predicted: pl.DataFrame) -> dict[str, float]:
    """Pairwise and B-cubed precision/recall of ``predicted`` (unique_id, cluster) vs truth."""
    joined = truth.join(predicted, on="unique_id", how="inner")

    def pairs(counts: pl.Series) -> int:
        return int((counts * (counts - 1) // 2).sum())

    both = joined.group_by("person_id", "cluster").len()
    true_pairs = pairs(joined.group_by("person_id").len()["len"])
    found_pairs = pairs(joined.group_by("cluster").len()["len"])
    hits = pairs(both["len"])
    precision = hits / found_pairs if found_pairs else 1.0
    recall = hits / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    sized = (
        joined.join(both, on=["person_id", "cluster"])
        .join(joined.group_by("cluster").len().rename({"len": "cluster_size"}), on="cluster")
        .join(joined.group_by("person_id").len().rename({"len": "truth_size"}), on="person_id")
    )
    return {
        "pairwise_precision": round(precision, 5),
        "pairwise_recall": round(recall, 5),
        "pairwise_f1": round(f1, 5),
        "bcubed_precision": round(float((sized["len"] / sized["cluster_size"]).mean() or 0), 5),
        "bcubed_recall": round(float((sized["len"] / sized["truth_size"]).mean() or 0), 5),
    }


def fullpicture_linkage(records: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
    started = time.perf_counter()
    result = run_batch(records, rules=default_rules())
    seconds = time.perf_counter() - started
    clusters = result.clustering.assignments.select(
        "unique_id", pl.col("cluster_key").alias("cluster")
    )
    return clusters, {
        "seconds": round(seconds, 2),
        "pairs_scored": result.pairs.height,
        **{f"seconds_{k}": round(v, 2) for k, v in result.timings.items()},
    }


def _components(ids: pl.Series, edges: pl.DataFrame) -> pl.DataFrame:
    weighted = edges.with_columns(match_weight=pl.lit(1.0), match_probability=pl.lit(1.0)).select(
        "unique_id_l", "unique_id_r", "match_weight", "match_probability"
    )
    clustered = cluster_records(ids, weighted, threshold_match_weight=0.5)
    return clustered.assignments.select("unique_id", pl.col("cluster_key").alias("cluster"))


def deterministic(records: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Same NHS number; else same given name, family name and date of birth."""
    started = time.perf_counter()
    keyed = records.select(
        "unique_id",
        nhs=pl.col("nhs_number").str.replace_all(r"\s", "").replace("", None),
        name_dob=pl.when(
            pl.col("given_name").is_not_null()
            & pl.col("family_name").is_not_null()
            & pl.col("date_of_birth").is_not_null()
        ).then(
            pl.format(
                "{}|{}|{}",
                pl.col("given_name").str.to_lowercase().str.strip_chars(),
                pl.col("family_name").str.to_lowercase().str.strip_chars(),
                pl.col("date_of_birth"),
            )
        ),
    )
    edges = []
    for key in ("nhs", "name_dob"):
        # Each record joins the first record holding its key: a star, enough for components.
        first = (
            keyed.filter(pl.col(key).is_not_null())
            .group_by(key)
            .agg(pl.col("unique_id").min().alias("anchor"))
        )
        edges.append(
            keyed.join(first, on=key)
            .filter(pl.col("unique_id") != pl.col("anchor"))
            .select(pl.col("anchor").alias("unique_id_l"), pl.col("unique_id").alias("unique_id_r"))
        )
    clusters = _components(records["unique_id"], pl.concat(edges))
    return clusters, {"seconds": round(time.perf_counter() - started, 2)}


def plain_splink(records: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
    """splink as its tutorial shows: default comparisons, blocking on one field at a time."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    started = time.perf_counter()
    frame = records.select(
        "unique_id",
        pl.col("given_name").str.to_lowercase(),
        pl.col("family_name").str.to_lowercase(),
        pl.col("date_of_birth").cast(pl.String),
        "sex",
        pl.col("postcode").str.to_uppercase(),
        pl.col("nhs_number").str.replace_all(r"\s", ""),
    )
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("family_name"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("nhs_number"),
        ],
        # One field at a time, as the quickstart does. Blocking on a name alone is left out:
        # at 100k records a common surname alone makes hundreds of millions of pairs (a first
        # attempt ran past 10 minutes and 15 GB on this machine before it was stopped).
        blocking_rules_to_generate_predictions=[
            block_on("nhs_number"),
            block_on("date_of_birth"),
            block_on("postcode"),
        ],
    )
    linker = Linker(DuckDBAPI().register(frame.to_arrow()), settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "family_name", "date_of_birth")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=42)
    for rule in (block_on("date_of_birth"), block_on("postcode")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.95
    )
    clusters = pl.from_arrow(clustered.as_pyarrow_table())
    assert isinstance(clusters, pl.DataFrame)
    out = clusters.select("unique_id", pl.col("cluster_id").cast(pl.String).alias("cluster"))
    return out, {"seconds": round(time.perf_counter() - started, 2)}


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 1) for x in load],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[100_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-plain-splink", action="store_true")
    args = parser.parse_args()

    figures: dict[str, Any] = {"machine": machine(), "sizes": {}}
    table = Table(
        "records", "method", "precision", "recall", "F1", "B3 precision", "B3 recall", "seconds"
    )
    for target in args.records:
        root = population(target, args.seed)
        records = read_feed_records(root / "feeds")
        truth = (
            pl.read_parquet(root / "truth/identity.parquet")
            if (root / "truth/identity.parquet").exists()
            else pl.read_csv(root / "truth/identity.csv", infer_schema=False)
        )
        truth = truth.select(
            pl.format("{}:{}", "agency", "record_id").alias("unique_id"), "person_id"
        )
        size: dict[str, Any] = {"records": records.height}
        methods = [("fullpicture", fullpicture_linkage), ("deterministic", deterministic)]
        if not args.skip_plain_splink:
            methods.append(("plain_splink", plain_splink))
        for name, method in methods:
            console.print(f"{records.height} records: {name} …")
            clusters, timing = method(records)
            result = {**scores(truth, clusters), **timing}
            size[name] = result
            console.print(f"  {name}: {json.dumps(result)}")
            table.add_row(
                f"{records.height:,}",
                name,
                f"{result['pairwise_precision']:.4f}",
                f"{result['pairwise_recall']:.4f}",
                f"{result['pairwise_f1']:.4f}",
                f"{result['bcubed_precision']:.4f}",
                f"{result['bcubed_recall']:.4f}",
                f"{result['seconds']:.1f}",
            )
        ours, det = size["fullpicture"], size["deterministic"]
        size["ratios"] = {
            "recall_vs_deterministic": round(ours["pairwise_recall"] / det["pairwise_recall"], 4),
            "f1_vs_deterministic": round(ours["pairwise_f1"] / det["pairwise_f1"], 4),
        }
        if "plain_splink" in size:
            plain = size["plain_splink"]
            size["ratios"].update(
                {
                    "f1_vs_plain_splink": round(ours["pairwise_f1"] / plain["pairwise_f1"], 4),
                    "recall_vs_plain_splink": round(
                        ours["pairwise_recall"] / plain["pairwise_recall"], 4
                    ),
                    "time_vs_plain_splink": round(ours["seconds"] / plain["seconds"], 3),
                }
            )
        figures["sizes"][str(records.height)] = size
    out = Console()
    out.print(table)
    for records_count, size in figures["sizes"].items():
        out.print(f"{records_count} records, ratios: {size['ratios']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
