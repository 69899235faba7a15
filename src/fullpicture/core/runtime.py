"""The process-wide engine and session factory, built once from settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import lru_cache

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from fullpicture.core.database import make_engine, session_factory
from fullpicture.core.settings import get_settings


def database_requests_at_once(dialect: str) -> int:
    """How many requests a server process lets into the database at once (the request gate,
    ``access.auth.database_turn``): the setting, or 1 on SQLite (one writer) and 8 on
    PostgreSQL."""
    configured = get_settings().concurrent_database_requests
    if configured:
        return configured
    return 1 if dialect == "sqlite" else 8


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    url = get_settings().resolved_database_url()
    dialect = make_url(url).get_backend_name()
    if dialect == "sqlite":
        return make_engine(url)
    # Pool as many connections as the gate lets requests in, so a busy process keeps them.
    # With SQLAlchemy's default of 5 under a gate of 8, every moment more than 5 requests were
    # in the database opened an overflow connection, closed again when it came back to a full
    # pool: at 50 API users 20-odd PostgreSQL backends started and ended a minute, each
    # forking, signing in and planning every statement afresh (issue 14).
    return make_engine(url, pool_size=database_requests_at_once(dialect))


@lru_cache(maxsize=1)
def get_session_factory() -> sessionmaker[Session]:
    return session_factory(get_engine())


async def request_session() -> AsyncIterator[Session]:
    """FastAPI dependency: one session per request; the request boundary commits, services never do."""
    # Async, so that opening and closing a session the request has already committed (the
    # access dependency commits every authenticated request) take no worker-thread hand-off:
    # two of a request's six, each a wake-up of a thread and of the event loop (issue 14).
    session = get_session_factory()()
    try:
        yield session
    except BaseException:
        await _off_the_loop_if_in_transaction(session, session.rollback)
        raise
    else:
        await _off_the_loop_if_in_transaction(session, session.commit)
    finally:
        await _off_the_loop_if_in_transaction(session, session.close)


async def _off_the_loop_if_in_transaction(session: Session, step: Callable[[], None]) -> None:
    """Run ``step`` in a worker thread when the session holds a transaction (it may wait on
    the database); without one it touches no connection, and runs here."""
    if session.in_transaction():
        await run_in_threadpool(step)
    else:
        step()
