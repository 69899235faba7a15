"""The process-wide engine and session factory, built once from settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import lru_cache

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from fullpicture.core.database import make_engine, session_factory
from fullpicture.core.settings import get_settings


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine(get_settings().resolved_database_url())


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
