"""``fullpicture synth`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from fullpicture.cli.main import app


def test_synth_writes_a_population(tmp_path: Path) -> None:
    out = tmp_path / "population"
    result = CliRunner().invoke(
        app,
        ["synth", "--children", "30", "--seed", "4", "--out", str(out), "--as-of", "2025-06-30"],
    )
    assert result.exit_code == 0, result.output
    assert "source records" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["as_of"] == "2025-06-30" and manifest["children"] == 30
    assert (out / "truth" / "identity.csv").exists()


def test_synth_rejects_a_bad_format_or_date(tmp_path: Path) -> None:
    runner = CliRunner()
    bad_format = runner.invoke(
        app,
        [
            "synth",
            "--children",
            "5",
            "--seed",
            "1",
            "--out",
            str(tmp_path / "a"),
            "--format",
            "xml",
        ],
    )
    assert bad_format.exit_code == 2
    assert "csv or parquet" in bad_format.output
    bad_date = runner.invoke(
        app,
        [
            "synth",
            "--children",
            "5",
            "--seed",
            "1",
            "--out",
            str(tmp_path / "b"),
            "--as-of",
            "31/10/2026",
        ],
    )
    assert bad_date.exit_code == 2
    assert "YYYY-MM-DD" in bad_date.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
