"""``fullpicture sharing``, run as an operator would, on a real database of each backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fullpicture.access.models import AuditEntry, Role
from fullpicture.cli.main import app
from fullpicture.sharing.models import SharingDecision
from tests.access.principals import make_agency, make_user
from tests.conftest import TestDatabase
from tests.sharing.scenario import build


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    return result.exit_code, result.output


@pytest.fixture
def world_ids(runtime_database: TestDatabase) -> Iterator[dict[str, str]]:
    with Session(runtime_database.engine) as session:
        world = build(session, "-cli")
        for user, name in ((world.teacher, "dsl"), (world.gp_doctor, "gp")):
            user.username = name
        make_user(
            session,
            role=Role.PRACTITIONER,
            agency=make_agency(session, "housing-cli"),
            username="stranger",
        )
        make_user(session, role=Role.AUDITOR, username="auditor")
        ids = {
            "child": world.child.public_id,
            "gp": world.gp.code,
            "entry": world.school_events[0].event_ref,
        }
        session.commit()
    yield ids


def _decisions(database: TestDatabase) -> int:
    with Session(database.engine) as session:
        return session.scalar(select(func.count()).select_from(SharingDecision)) or 0


def _record(ids: dict[str, str], *extra: str) -> list[str]:
    return [
        "sharing",
        "record",
        ids["child"],
        "--to",
        ids["gp"],
        "--recipient-role",
        "named GP",
        "--purpose",
        "bruising",
        *extra,
    ]


def test_record_and_list(runtime_database: TestDatabase, world_ids: dict[str, str]) -> None:
    code, output = _run(
        *_record(
            world_ids,
            "--entry",
            world_ids["entry"],
            "--regime",
            "uk_gdpr",
            "--basis",
            "public_task",
            "--family-told",
            "--as",
            "dsl",
        )
    )
    assert code == 0, output
    assert "The seven golden rules" in output and "Record the reasons" in output
    assert "Recorded sharing decision" in output
    code, output = _run("sharing", "list", world_ids["child"], "--as", "gp", "--json")
    assert code == 0, output
    assert world_ids["entry"] in output
    with Session(runtime_database.engine) as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"sharing.decision", "person.read"} <= actions


def test_a_refused_decision_says_why_and_saves_nothing(
    runtime_database: TestDatabase,
    world_ids: dict[str, str],
) -> None:
    code, output = _run(*_record(world_ids, "--not-shared", "--family-told", "--as", "dsl"))
    assert code == 4
    assert "needs its reason" in output
    assert _decisions(runtime_database) == 0


def test_refusals_for_other_agencies_roles_and_missing_user(
    runtime_database: TestDatabase,
    world_ids: dict[str, str],
) -> None:
    share = (
        "--entry",
        world_ids["entry"],
        "--regime",
        "uk_gdpr",
        "--basis",
        "public_task",
        "--family-told",
    )
    code, output = _run(*_record(world_ids, *share, "--as", "stranger"))
    assert code == 2 and "no need to know" in output
    code, output = _run(*_record(world_ids, *share, "--as", "auditor"))
    assert code == 3
    code, output = _run(*_record(world_ids, *share))
    assert code == 2 and "--as" in output
    code, output = _run("sharing", "list", world_ids["child"], "--as", "stranger")
    assert code == 2
    code, output = _run("sharing", "list", world_ids["child"], "--as", "auditor")
    assert code == 3
    assert _decisions(runtime_database) == 0


def test_rules_lists_the_bases_and_says_the_duty_is_not_in_force() -> None:
    code, output = _run("sharing", "rules")
    assert code == 0
    assert "public_task" in output and "ca2004_s16LA" in output and "not in force" in output


def test_latency_command(runtime_database: TestDatabase, world_ids: dict[str, str]) -> None:
    code, output = _run("sharing", "latency", world_ids["child"], "--as", "dsl")
    assert code == 0, output
    assert "NOT SHARED" in output
    assert _run("sharing", "latency", world_ids["child"], "--as", "stranger")[0] == 2
    assert _run("sharing", "latency", world_ids["child"], "--as", "auditor")[0] == 3
    assert _run("sharing", "latency", world_ids["child"])[0] == 2
