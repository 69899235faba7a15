"""A pooled PostgreSQL connection is pinged before use only after lying idle
(``core.database.ping_when_idle``), and one found gone is replaced before anything runs on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fullpicture.core import database
from fullpicture.core.database import make_engine
from tests.conftest import POSTGRES_URL, require_backend


@pytest.fixture
def engine() -> Iterator[Engine]:
    require_backend("postgresql")
    engine = make_engine(POSTGRES_URL, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each ping the pool sends, counted."""
    sent: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        sent.append(1)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return sent


def backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_back_within_the_idle_time_is_used_without_a_ping(
    engine: Engine, pings: list[int]
) -> None:
    first = backend_pid(engine)
    assert [backend_pid(engine) for _ in range(5)] == [first] * 5
    assert pings == []


def test_a_connection_idle_longer_is_pinged_and_one_gone_is_replaced(
    engine: Engine, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = backend_pid(engine)
    # The database ends that connection while it lies in the pool (a restart, an admin).
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    admin.dispose()
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", 0.0)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
        replaced = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
    assert replaced != first
    assert pings == [1]
