"""The harm and chronology commands, run as an operator would, on a real database of each backend."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fullpicture.access.models import AuditEntry, Role
from fullpicture.agencies.models import AgencyKind
from fullpicture.chronology.models import ParticipantRole
from fullpicture.cli.main import app
from fullpicture.core import runtime
from fullpicture.core.settings import get_settings
from fullpicture.harm.models import HarmAlert
from fullpicture.people.models import SourceRecord
from tests.access.principals import make_user
from tests.chronology import factories as make
from tests.conftest import TestDatabase


@pytest.fixture
def cli_database(
    fresh_database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestDatabase]:
    url = fresh_database.url
    if fresh_database.schema:
        url = f"{url}?options=-csearch_path%3D{fresh_database.schema}"
    monkeypatch.setenv("FULLPICTURE_DATABASE_URL", url)
    for cached in (get_settings, runtime.get_engine, runtime.get_session_factory):
        cached.cache_clear()
    yield fresh_database
    runtime.get_engine().dispose()
    for cached in (get_settings, runtime.get_engine, runtime.get_session_factory):
        cached.cache_clear()


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    return result.exit_code, result.output


def test_score_alerts_workflow_and_chronology_export(
    cli_database: TestDatabase, tmp_path: Path
) -> None:
    with Session(cli_database.engine) as session:
        gp = make.agency(session, "gp-cli", AgencyKind.GP)
        police = make.agency(session, "police-cli", AgencyKind.POLICE)
        csc = make.agency(session, "csc-cli", AgencyKind.CHILDRENS_SOCIAL_CARE)
        child = make.person(session, (gp, "G1"), (police, "P1"), (csc, "C1"))
        make_user(session, role=Role.PRACTITIONER, agency=gp, username="gp.doctor")
        make_user(session, role=Role.FRONT_DOOR, agency=csc, username="mash.worker")
        session.add(
            SourceRecord(agency_id=gp.id, record_ref="G1", content_hash="h",
                         date_of_birth=dt.date(2025, 1, 1), recorded_by="test")
        )  # fmt: skip
        make.event(session, gp, "g-1", dt.date(2025, 3, 1), "PHY-INJ",
                   [("G1", ParticipantRole.SUBJECT)], summary="Bruise on a baby's arm")  # fmt: skip
        make.event(session, police, "p-1", dt.date(2025, 3, 1), "PHY-INJ",
                   [("P1", ParticipantRole.VICTIM)], summary="Bruise seen on call-out")  # fmt: skip
        session.commit()
        child_id = child.id

    code, output = _run("harm", "score", "--as-of", "2025-06-30")
    assert code == 0, output
    assert "1 new" in output or "new (stored" in output
    again_code, again = _run("harm", "score", "--as-of", "2025-06-30")
    assert again_code == 0 and ", 0 new" in again
    with Session(cli_database.engine) as session:
        runs = session.scalars(select(AuditEntry).where(AuditEntry.action == "harm.score")).all()
        assert [e.target for e in runs] == ["as_of:2025-06-30", "as_of:2025-06-30"]
        assert runs[0].detail["new_alerts"] > 0 and runs[1].detail["new_alerts"] == 0
        assert all(e.actor.startswith("cli:") for e in runs)

    with Session(cli_database.engine) as session:
        alert = session.query(HarmAlert).filter_by(person_id=child_id).first()
        assert alert is not None
        alert_id = alert.public_id
    as_gp, as_mash = ("--as", "gp.doctor"), ("--as", "mash.worker")
    code, output = _run("harm", "alerts", *as_mash)
    assert code == 0 and alert_id[:8] in output  # the table may wrap a long id
    code, output = _run("harm", "alerts", *as_gp)
    assert code == 0 and alert_id[:8] in output  # the GP holds a record of the child
    code, output = _run("harm", "close", alert_id, "--outcome", "done", *as_mash)
    assert code == 2 and "acknowledge" in output
    code, output = _run("harm", "acknowledge", alert_id, "--decision", "Same-day referral to CSC")
    assert code == 2 and "--as" in output  # nobody decides on an alert anonymously
    code, output = _run("harm", "acknowledge", alert_id, "--decision", "Same-day referral to CSC",
                        *as_mash)  # fmt: skip
    assert code == 0 and "acknowledged" in output
    code, output = _run("harm", "child", str(child_id), "--as-of", "2025-06-30", *as_gp)
    assert code == 0 and "PHY-INJ" in output and "infant" in output
    assert "police-cli" not in output and "1 further entry held by 1 other agency" in output
    code, output = _run("harm", "child", str(child_id), "--as-of", "2025-06-30", *as_mash)
    assert code == 0 and "police-cli" in output and "further" not in output
    code, output = _run("harm", "child", str(child_id), "--as-of", "2025-06-30")
    assert code == 2 and "--as" in output

    csv_file = tmp_path / "chronology.csv"
    code, output = _run(
        "chronology", str(child_id), "--format", "csv", "--out", str(csv_file), *as_mash
    )
    assert code == 0, output
    assert "Bruise seen on call-out" in csv_file.read_text(encoding="utf-8")
    code, output = _run(
        "chronology", str(child_id), "--format", "csv", "--out", str(csv_file), *as_gp
    )
    assert code == 0 and "1 further entry held by 1 other agency" in output
    assert "Bruise seen on call-out" not in csv_file.read_text(encoding="utf-8")
    assert "Bruise on a baby's arm" in csv_file.read_text(encoding="utf-8")
    pdf_file = tmp_path / "chronology.pdf"
    code, _ = _run("chronology", str(child_id), "--format", "pdf", "--out", str(pdf_file), *as_gp)
    assert code == 0 and pdf_file.read_bytes().startswith(b"%PDF")
    code, output = _run("chronology", "no-such-child", "--format", "json", *as_gp)
    assert code == 2 and "no need to know" in output
    code, output = _run("chronology", str(child_id), "--format", "json", "--as", "nobody")
    assert code == 3 and "no active user" in output
    with Session(cli_database.engine) as session:
        reads = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.person_id == child_id, AuditEntry.action == "person.read")
        )
        # two harm explanations, three exports and the acknowledgement; refusals record none
        assert reads == 6


def test_the_chronology_csv_command_neutralises_formulas(
    cli_database: TestDatabase, tmp_path: Path
) -> None:
    # Issue 12 finding 7, on the command line.
    with Session(cli_database.engine) as session:
        gp = make.agency(session, "gp-csv", AgencyKind.GP)
        child = make.person(session, (gp, "G1"))
        make_user(session, role=Role.PRACTITIONER, agency=gp, username="gp.csv")
        make.event(session, gp, "g-1", dt.date(2025, 3, 1), "PHY-INJ",
                   [("G1", ParticipantRole.SUBJECT)], summary="=cmd|' /C calc'!A0")  # fmt: skip
        make.event(session, gp, "g-2", dt.date(2025, 3, 2), "PHY-INJ",
                   [("G1", ParticipantRole.SUBJECT)], summary="@SUM(1+1)")  # fmt: skip
        session.commit()
        child_id = child.id
    csv_file = tmp_path / "chronology.csv"
    code, output = _run(
        "chronology", str(child_id), "--format", "csv", "--out", str(csv_file), "--as", "gp.csv"
    )
    assert code == 0, output
    rows = list(csv.reader(io.StringIO(csv_file.read_text(encoding="utf-8"))))
    assert {row[2] for row in rows[1:]} == {"'=cmd|' /C calc'!A0", "'@SUM(1+1)"}
