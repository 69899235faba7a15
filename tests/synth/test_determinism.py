"""The same seed writes the same bytes; another seed writes something else."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from fullpicture.synth.service import generate
from tests.synth.conftest import SEED, SMALL


def _digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_same_seed_same_bytes(small_population: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(children=SMALL, seed=SEED, out=again)
    assert _digests(again) == _digests(small_population)


def test_different_seed_different_population(small_population: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate(children=SMALL, seed=SEED + 1, out=other)
    first, second = _digests(small_population), _digests(other)
    assert first["truth/persons.csv"] != second["truth/persons.csv"]
    assert first["truth/identity.csv"] != second["truth/identity.csv"]


def test_parquet_is_deterministic_too(tmp_path: Path) -> None:
    generate(children=60, seed=3, out=tmp_path / "a", fmt="parquet")
    generate(children=60, seed=3, out=tmp_path / "b", fmt="parquet")
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert any(p.suffix == ".parquet" for p in (tmp_path / "a" / "feeds").rglob("*"))


def test_refuses_to_overwrite_a_directory_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    from fullpicture.synth.service import SynthesisError

    with pytest.raises(SynthesisError, match="not empty"):
        generate(children=10, seed=1, out=tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
