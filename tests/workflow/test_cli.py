"""``fullpicture case``, run as an operator would, on a real database of each backend."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fullpicture.access.models import Role
from fullpicture.cli.main import app
from fullpicture.workflow.models import CaseStep
from tests.access.principals import make_agency, make_user
from tests.conftest import TestDatabase
from tests.workflow.world import build


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    return result.exit_code, result.output


@pytest.fixture
def child(runtime_database: TestDatabase) -> Iterator[str]:
    with Session(runtime_database.engine) as session:
        world = build(session, "-cli")
        world.social_worker.username = "sw"
        make_user(
            session, role=Role.SOCIAL_WORKER, agency=make_agency(session), username="stranger"
        )
        make_user(session, role=Role.AUDITOR, username="auditor")
        public_id = world.child.public_id
        session.commit()
    yield public_id


def test_open_step_show_and_refusals(runtime_database: TestDatabase, child: str) -> None:
    code, output = _run(
        "case",
        "open",
        child,
        "--kind",
        "child_protection",
        "--level",
        "4",
        "--level-reason",
        "s47",
        "--lead-user",
        "sw",
        "--lead-reason",
        "allocated",
        "--on",
        "2026-01-02",
        "--as",
        "sw",
        "--json",
    )
    assert code == 0, output
    case_id = json.loads(output)["id"]
    code, output = _run(
        "case", "step", case_id, "--kind", "strategy_discussion", "--on", "2026-01-05", "--as", "sw"
    )
    assert code == 0, output
    assert "overdue" in output
    code, output = _run("case", "show", child, "--as", "sw")
    assert code == 0 and "Lead practitioner: Test User" in output
    assert (
        _run("case", "step", case_id, "--kind", "nap", "--on", "2026-01-05", "--as", "sw")[0] == 4
    )
    assert (
        _run("case", "step", case_id, "--kind", "icpc", "--on", "2026-01-06", "--as", "stranger")[0]
        == 2
    )
    assert (
        _run("case", "step", case_id, "--kind", "icpc", "--on", "2026-01-06", "--as", "auditor")[0]
        == 3
    )
    assert _run("case", "show", child, "--as", "stranger")[0] == 2
    assert _run("case", "show", child)[0] == 2
    assert _run("case", "flags", "--as", "auditor")[0] == 3
    code, output = _run("case", "flags", "--as", "sw")
    assert code == 0
    code, output = _run("case", "drift", "--as", "sw")
    assert code == 0 and "overdue_step" in output
    assert _run("case", "drift", "--as", "auditor")[0] == 3
    assert _run("case", "drift")[0] == 2
    with Session(runtime_database.engine) as session:
        assert session.scalar(select(func.count()).select_from(CaseStep)) == 1


def test_escalation_commands(runtime_database: TestDatabase, child: str) -> None:
    with Session(runtime_database.engine) as session:
        make_user(
            session,
            role=Role.DESIGNATED_LEAD,
            agency=make_agency(session, "school-wf-cli"),
            username="dsl",
        )
        session.commit()
    code, output = _run(
        "escalation",
        "raise",
        child,
        "--with",
        "csc-wf-cli",
        "--raised-with",
        "duty SW",
        "--disagreement",
        "below threshold",
        "--as",
        "dsl",
        "--json",
    )
    assert code == 0, output
    esc = json.loads(output)["id"]
    assert _run("escalation", "respond", esc, "--response", "no", "--as", "dsl")[0] == 3
    assert _run("escalation", "respond", esc, "--response", "no", "--as", "stranger")[0] == 2
    assert _run("escalation", "respond", esc, "--response", "no", "--as", "auditor")[0] == 3
    code, output = _run("escalation", "respond", esc, "--response", "reviewing", "--as", "sw")
    assert code == 0, output
    code, output = _run("escalation", "tick")
    assert code == 0 and "0 escalation(s)" in output
    code, output = _run("escalation", "list", child, "--open", "--as", "dsl", "--json")
    assert code == 0 and "reviewing" in output
    assert _run("escalation", "list", child, "--as", "stranger")[0] == 2


def test_supervision_commands(runtime_database: TestDatabase, child: str) -> None:
    from fullpicture.agencies.models import Agency

    with Session(runtime_database.engine) as session:
        csc = session.scalars(select(Agency).where(Agency.code == "csc-wf-cli")).one()
        make_user(session, role=Role.TEAM_MANAGER, agency=csc, username="tm")
        session.commit()
    code, output = _run(
        "case",
        "open",
        child,
        "--kind",
        "child_in_need",
        "--level",
        "4",
        "--level-reason",
        "s17",
        "--lead-user",
        "sw",
        "--lead-reason",
        "allocated",
        "--on",
        "2026-01-02",
        "--as",
        "sw",
    )
    assert code == 0, output
    code, output = _run("supervision", "show", "sw", "--as", "tm", "--json")
    assert code == 0 and "What is life like for this child?" in output
    code, output = _run(
        "supervision",
        "record",
        "sw",
        "--reflections",
        "r",
        "--decisions",
        "visit",
        "--action",
        "visit alone|sw|2026-12-11",
        "--as",
        "tm",
    )
    assert code == 2  # reflections too short: said, and nothing saved
    code, output = _run(
        "supervision",
        "record",
        "sw",
        "--reflections",
        "reflected",
        "--decisions",
        "visit",
        "--action",
        "visit alone|sw|2026-12-11",
        "--as",
        "tm",
    )
    assert code == 0, output
    assert _run("supervision", "show", "sw", "--as", "sw")[0] == 3  # a social worker: no scope
    assert _run("supervision", "show", "sw", "--as", "stranger")[0] == 3
