"""The process-wide engine and session factory, built once from settings."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from fullpicture.core.database import make_engine, session_factory
from fullpicture.core.settings import get_settings


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine(get_settings().resolved_database_url())


@lru_cache(maxsize=1)
def get_session_factory() -> sessionmaker[Session]:
    return session_factory(get_engine())


def request_session() -> Iterator[Session]:
    """FastAPI dependency: one session per request; the request boundary commits, services never do."""
    session = get_session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
