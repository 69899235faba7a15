"""A real, committed database behind the runtime engine (for the CLI and for tests that drive
the app as a server does: each request commits or rolls back on its own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fullpicture.core import runtime
from fullpicture.core.settings import get_settings
from tests.conftest import TestDatabase

_CACHED = (get_settings, get_settings, runtime.get_engine, runtime.get_session_factory)


def database_url(database: TestDatabase) -> str:
    if database.schema:
        return f"{database.url}?options=-csearch_path%3D{database.schema}"
    return database.url


@pytest.fixture
def runtime_database(
    fresh_database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestDatabase]:
    monkeypatch.setenv("FULLPICTURE_DATABASE_URL", database_url(fresh_database))
    for cached in _CACHED:
        cached.cache_clear()
    yield fresh_database
    runtime.get_engine().dispose()
    for cached in _CACHED:
        cached.cache_clear()
