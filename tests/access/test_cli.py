"""The access commands, run as an operator would, against a real database of each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from fullpicture.access import service as access_service
from fullpicture.access.models import AuditEntry, UserAccount
from fullpicture.cli.main import app
from fullpicture.core import runtime
from fullpicture.core.database import session_factory, unit_of_work
from fullpicture.core.settings import get_settings
from tests.access.principals import strong_password
from tests.conftest import TestDatabase


@pytest.fixture
def cli_database(
    fresh_database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestDatabase]:
    url = fresh_database.url
    if fresh_database.schema:
        url = f"{url}?options=-csearch_path%3D{fresh_database.schema}"
    monkeypatch.setenv("FULLPICTURE_DATABASE_URL", url)
    for cached in (
        get_settings,
        get_settings,
        runtime.get_engine,
        runtime.get_session_factory,
    ):
        cached.cache_clear()
    yield fresh_database
    runtime.get_engine().dispose()
    for cached in (
        get_settings,
        get_settings,
        runtime.get_engine,
        runtime.get_session_factory,
    ):
        cached.cache_clear()


def _run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=stdin, terminal_width=200)
    return result.exit_code, result.output


def test_first_admin_token_and_audit_verify(cli_database: TestDatabase) -> None:
    password = strong_password()
    code, out = _run(
        "user",
        "create",
        "admin",
        "--name",
        "Sam Admin",
        "--role",
        "administrator",
        "--password-stdin",
        stdin=password + "\n",
    )
    assert code == 0, out
    code, out = _run(
        "user",
        "create",
        "weak",
        "--name",
        "W",
        "--role",
        "auditor",
        "--password-stdin",
        stdin="password\n",
    )
    assert code == 2 and "at least" in out
    code, out = _run("token", "create", "admin", "--name", "feeds", "--scope", "imports:write")
    assert code == 0, out
    plain = out.strip().splitlines()[-1]
    assert plain.startswith("fpt_")
    with unit_of_work(session_factory(cli_database.engine)) as session:
        user = session.scalars(select(UserAccount).where(UserAccount.username == "admin")).one()
        assert user.password_hash is not None and password not in user.password_hash
        resolved = access_service.resolve_api_token(db_session=session, token=plain)
        assert resolved is not None and resolved[0].scopes == ["imports:write"]
        assert plain not in resolved[0].token_sha256
    code, out = _run("token", "create", "admin", "--name", "x", "--scope", "children:read")
    assert code == 2 and "cannot hold" in out
    code, out = _run("audit", "verify")
    assert code == 0 and "intact" in out, out


def test_audit_verify_names_the_tampered_entry(cli_database: TestDatabase) -> None:
    code, out = _run(
        "user",
        "create",
        "auditor1",
        "--name",
        "A",
        "--role",
        "auditor",
        "--password-stdin",
        stdin=strong_password() + "\n",
    )
    assert code == 0, out
    with cli_database.engine.begin() as connection:
        first = connection.execute(
            select(AuditEntry.id, AuditEntry.position).order_by(AuditEntry.position)
        ).first()
        assert first is not None
        if cli_database.backend == "postgresql":
            connection.execute(
                text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
            )
        else:
            connection.execute(text("DROP TRIGGER audit_entry_no_update"))
        connection.execute(
            text("UPDATE audit_entry SET actor = 'cli:someone-else' WHERE id = :id"),
            {"id": first.id},
        )
    code, out = _run("audit", "verify")
    assert code == 1
    assert f"broken at entry {first.position}" in out


def test_backup_and_restore_commands(cli_database: TestDatabase, tmp_path: Path) -> None:
    _run(
        "user",
        "create",
        "keeper",
        "--name",
        "K",
        "--role",
        "auditor",
        "--password-stdin",
        stdin=strong_password() + "\n",
    )
    target = tmp_path / "fp.backup"
    code, out = _run("backup", str(target))
    assert code == 0, out
    _run(
        "user",
        "create",
        "later",
        "--name",
        "L",
        "--role",
        "auditor",
        "--password-stdin",
        stdin=strong_password() + "\n",
    )
    code, out = _run("restore", str(target))
    assert code == 2 and "--yes" in out
    code, out = _run("restore", str(target), "--yes")
    assert code == 0 and "verified" in out, out
    with unit_of_work(session_factory(cli_database.engine)) as session:
        names = set(session.scalars(select(UserAccount.username)))
    assert names == {"keeper"}


def test_who_looked_applies_the_same_rule_as_the_web(cli_database: TestDatabase) -> None:
    from fullpicture.access.models import Role
    from tests.access.principals import make_agency, make_person, make_user, subject_of

    with unit_of_work(session_factory(cli_database.engine)) as session:
        school = make_agency(session, "school-cli")
        person = make_person(session, held_by=[school])
        reader = make_user(session, agency=school, username="reader1")
        make_user(session, role=Role.DESIGNATED_LEAD, agency=school, username="dsl.cli")
        make_user(session, role=Role.DESIGNATED_LEAD, username="dsl.elsewhere")
        access_service.open_person(
            db_session=session,
            subject=subject_of(reader),
            person_public_id=person.public_id,
            purpose="chronology",
        )
        public_id, reader_name = person.public_id, reader.username
    code, out = _run("audit", "who-looked", public_id, "--as", "dsl.cli")
    assert code == 0, out
    assert reader_name in out and "person.read" in out
    code, out = _run("audit", "who-looked", public_id, "--as", "dsl.elsewhere")
    assert code == 3 and "not involved" in " ".join(out.split())
    code, out = _run("audit", "who-looked", public_id, "--as", "nobody")
    assert code == 3 and "no active user" in out
