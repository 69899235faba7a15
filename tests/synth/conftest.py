"""Small generated populations shared by the synth tests (each is made once per run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fullpicture.synth.service import generate

SMALL = 200
SEED = 11


@pytest.fixture(scope="session")
def small_population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "population"
    generate(children=SMALL, seed=SEED, out=out)
    return out


@pytest.fixture(scope="session")
def larger_population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Big enough (3,000 children) to measure noise and trajectory proportions."""
    out = tmp_path_factory.mktemp("synth") / "larger"
    generate(children=3000, seed=5, out=out)
    return out
