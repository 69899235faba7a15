"""Concern suggestions come out in the same order whatever Python's hash seed is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LABELLED = Path(__file__).resolve().parents[2] / "bench" / "data" / "referrals" / "tuning.yaml"

SCRIPT = """
import hashlib, sys, yaml
from fullpicture.referrals.classifier import classify_concerns
items = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))["items"]
out = [
    [(s.code, [(x.start, x.end) for x in s.spans], s.reason) for s in classify_concerns(i["text"])]
    for i in items
]
print(hashlib.sha256(repr(out).encode()).hexdigest())
"""


def _digest(hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(LABELLED)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip()


def test_suggestions_do_not_depend_on_the_hash_seed() -> None:
    assert _digest("1") == _digest("2") == _digest("3")
