"""The demo builds a working database from nothing: population imported, linked, sign-in made."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from fullpicture.access import service as access_service
from fullpicture.access.models import UserAccount
from fullpicture.agencies.models import Agency
from fullpicture.chronology.models import Event
from fullpicture.cli.demo import DEMO_SIGN_INS
from fullpicture.cli.main import app
from fullpicture.core import migrations, runtime
from fullpicture.core.settings import get_settings
from fullpicture.harm.models import HarmAlert
from fullpicture.imports.models import QuarantinedRow
from fullpicture.people.models import Household, HouseholdMembership, Person, PersonRecordLink
from tests.conftest import TestDatabase


@pytest.fixture
def clean_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FULLPICTURE_DATABASE_URL", raising=False)
    monkeypatch.setenv("FULLPICTURE_DATA_DIR", str(tmp_path / "var"))
    _forget()
    yield tmp_path
    runtime.get_engine().dispose()
    _forget()


def _forget() -> None:
    get_settings.cache_clear()
    runtime.get_engine.cache_clear()
    runtime.get_session_factory.cache_clear()


def test_demo_without_serving_builds_a_linked_population(clean_configuration: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--children", "120", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "Demo sign-in" in result.output
    database = clean_configuration / "var" / "demo" / "fullpicture.sqlite3"
    assert database.exists()
    engine = runtime.get_engine()
    assert str(database) in engine.url.render_as_string()
    assert migrations.is_up_to_date(engine)
    with runtime.get_session_factory()() as session:
        assert session.scalar(select(func.count()).select_from(Event)) > 0
        assert session.scalar(select(func.count()).select_from(QuarantinedRow)) == 0
        assert session.scalar(select(func.count()).select_from(Person)) > 0
        assert session.scalar(select(func.count()).select_from(PersonRecordLink)) > 0
        assert session.scalar(select(func.count()).select_from(HarmAlert)) > 0
        # A sign-in for each practitioner the web app is for, at an agency of their kind.
        users = session.scalars(select(UserAccount)).all()
        assert {(u.username, u.role) for u in users} == {
            (s.username, s.role) for s in DEMO_SIGN_INS
        }
        for user in users:
            wanted = next(s for s in DEMO_SIGN_INS if s.username == user.username)
            agency = session.get(Agency, user.agency_id)
            assert agency is not None and agency.kind is wanted.agency_kind


@pytest.fixture
def demo_on_own_database(
    fresh_database: TestDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Path]:
    """FULLPICTURE_DATABASE_URL set (as for a server's database) and a data directory apart
    from the working directory; yields the working directory."""
    url = fresh_database.url
    if fresh_database.schema:
        url = f"{url}?options=-csearch_path%3D{fresh_database.schema}"
    monkeypatch.setenv("FULLPICTURE_DATABASE_URL", url)
    monkeypatch.setenv("FULLPICTURE_DATA_DIR", str(tmp_path / "data"))
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    _forget()
    yield workdir
    runtime.get_engine().dispose()
    _forget()


def _password(output: str) -> str:
    found = re.search(r"Demo sign-in: user demo\.frontdoor password (\S+)", output)
    assert found, output
    return found.group(1)


def test_demo_runs_again_on_the_same_database_with_a_working_sign_in(
    demo_on_own_database: Path, tmp_path: Path
) -> None:
    arguments = ["demo", "--no-serve", "--children", "60", "--seed", "3"]
    first = CliRunner().invoke(app, arguments, terminal_width=200)
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(app, arguments, terminal_width=200)
    assert second.exit_code == 0, second.output
    password = _password(second.output)
    assert password != _password(first.output)
    for sign_in in DEMO_SIGN_INS:
        assert sign_in.username in second.output
    with runtime.get_session_factory()() as session:
        for sign_in in DEMO_SIGN_INS:
            signed_in = access_service.sign_in_with_password(
                db_session=session, username=sign_in.username, password=password
            )
            assert signed_in.succeeded, sign_in.username
        assert session.scalar(select(func.count()).select_from(UserAccount)) == len(DEMO_SIGN_INS)
    # Every file it wrote is under FULLPICTURE_DATA_DIR, none beside where it was run.
    assert list(demo_on_own_database.iterdir()) == []
    assert (tmp_path / "data" / "demo" / "population" / "agencies.csv").exists()


def test_demo_builds_households(clean_configuration: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--children", "60", "--seed", "3"])
    assert result.exit_code == 0, result.output
    with runtime.get_session_factory()() as session:
        assert session.scalar(select(func.count()).select_from(Household)) > 0
        adults = session.scalar(
            select(func.count())
            .select_from(HouseholdMembership)
            .where(HouseholdMembership.role.not_in(["child", "sibling"]))
        )
        assert adults is not None and adults > 0
