"""``fullpicture dashboard`` as an operator runs it: aggregates:read only; CSV is neutralised."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fullpicture.access.models import Role
from fullpicture.cli.main import app
from tests.access.principals import make_user
from tests.conftest import TestDatabase


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    return result.exit_code, result.output


def test_dashboard_command(runtime_database: TestDatabase, tmp_path: Path) -> None:
    with Session(runtime_database.engine) as session:
        make_user(session, role=Role.PARTNERSHIP_ANALYST, username="analyst")
        make_user(session, role=Role.PRACTITIONER, username="worker")
        session.commit()
    code, output = _run("dashboard", "--as", "analyst")
    assert code == 0 and "sharing_latency" in output
    out = tmp_path / "drift.csv"
    code, output = _run(
        "dashboard", "--figure", "drift", "--format", "csv", "--out", str(out), "--as", "analyst"
    )
    assert code == 0 and out.read_text(encoding="utf-8").startswith("finding,kind,cases")
    parquet = tmp_path / "escalations.parquet"
    assert (
        _run(
            "dashboard",
            "--figure",
            "escalations",
            "--format",
            "parquet",
            "--out",
            str(parquet),
            "--as",
            "analyst",
        )[0]
        == 0
    )
    assert parquet.read_bytes()[:4] == b"PAR1"
    assert _run("dashboard", "--as", "worker")[0] == 3
    assert _run("dashboard")[0] == 2
    assert _run("dashboard", "--figure", "nonsense", "--as", "analyst")[0] == 2
