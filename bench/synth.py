"""Wall time of ``fullpicture synth`` for a population of about 1M source records.

Usage: .venv/bin/python bench/synth.py [--children N] [--format csv|parquet]
Prints a table, then as its last line one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from fullpicture.synth.service import generate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=220_000)
    parser.add_argument("--format", default="csv", choices=["csv", "parquet"])
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="fp-synth-bench-"))
    try:
        started = time.perf_counter()
        manifest = generate(children=args.children, seed=1, out=out / "population", fmt=args.format)
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)
    counts = manifest["counts"]
    assert isinstance(counts, dict)
    result = {
        "children": args.children,
        "format": args.format,
        "source_records": counts["source_records"],
        "events": counts["events"],
        "agencies": counts["agencies"],
        "seconds": round(seconds, 1),
        "records_per_second": round(counts["source_records"] / seconds),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
