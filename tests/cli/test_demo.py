"""The demo builds a working database from nothing: population imported, linked, sign-in made."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from fullpicture.access.models import UserAccount
from fullpicture.chronology.models import Event
from fullpicture.cli.main import app
from fullpicture.core import migrations, runtime
from fullpicture.core.settings import get_settings
from fullpicture.harm.models import HarmAlert
from fullpicture.imports.models import QuarantinedRow
from fullpicture.people.models import Person, PersonRecordLink


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
        assert session.scalar(select(func.count()).select_from(UserAccount)) == 1
        assert session.scalar(select(func.count()).select_from(HarmAlert)) > 0
