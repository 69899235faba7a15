"""The server's connection pool keeps as many PostgreSQL connections as the request gate lets
requests into the database (``core.runtime.get_engine``), so a busy process reuses them
instead of opening and closing one whenever more requests than SQLAlchemy's default five
are inside (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from fullpicture.core import runtime, settings
from tests.conftest import POSTGRES_URL, require_backend


def _server_engine(monkeypatch: pytest.MonkeyPatch, **environment: str) -> Iterator[Engine]:
    monkeypatch.setenv("FULLPICTURE_DATABASE_URL", POSTGRES_URL)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings.get_settings.cache_clear()
    runtime.get_engine.cache_clear()
    try:
        engine = runtime.get_engine()
        yield engine
        engine.dispose()
    finally:
        # The next test (and the app) must not see this engine or these settings.
        runtime.get_engine.cache_clear()
        settings.get_settings.cache_clear()


@pytest.fixture
def server_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    require_backend("postgresql")
    yield from _server_engine(monkeypatch)


def test_a_full_gate_of_requests_twice_opens_its_connections_once(server_engine: Engine) -> None:
    at_once = runtime.database_requests_at_once("postgresql")
    opened: list[int] = []

    @event.listens_for(server_engine, "connect")
    def count(_dbapi_connection: Any, _record: Any) -> None:
        opened.append(1)

    for _ in range(2):
        # As many requests inside the gate at once as it lets in, each with its connection.
        held = [server_engine.connect() for _ in range(at_once)]
        for connection in held:
            connection.execute(text("SELECT 1"))
        for connection in held:
            connection.close()
    assert len(opened) == at_once


def test_the_pool_follows_the_gate_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    require_backend("postgresql")
    for engine in _server_engine(monkeypatch, FULLPICTURE_CONCURRENT_DATABASE_REQUESTS="12"):
        assert runtime.database_requests_at_once("postgresql") == 12
        assert engine.pool.size() == 12  # type: ignore[attr-defined]
