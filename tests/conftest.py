"""Test databases: every database test runs against SQLite and against PostgreSQL.

One migrated database per backend per run (PostgreSQL: a schema of its own, dropped at the
end, so parallel runs never collide), and one rolled-back transaction per test.
Set FULLPICTURE_TEST_POSTGRES_URL to point elsewhere; without a server the PostgreSQL tests
skip with a message on a laptop, and fail in CI (CI=true or FULLPICTURE_REQUIRE_POSTGRES=1).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from fullpicture.core import migrations
from fullpicture.core.database import make_engine
from fullpicture.wiring import connect_capabilities

# Tests call the services directly as well as through the app and the CLI: connect the
# capabilities once for the run, as those entry points do when they start.
connect_capabilities()

POSTGRES_URL = os.environ.get(
    "FULLPICTURE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")


def _postgres_required() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"} or bool(
        os.environ.get("FULLPICTURE_REQUIRE_POSTGRES")
    )


_postgres_problem: str | None = None
_postgres_checked = False


def postgres_unavailable_reason() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can (checked once per run)."""
    global _postgres_checked, _postgres_problem
    if not _postgres_checked:
        _postgres_checked = True
        engine = make_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to connect means the same thing here
            _postgres_problem = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        finally:
            engine.dispose()
    return _postgres_problem


def require_backend(backend: str) -> None:
    if backend != "postgresql":
        return
    problem = postgres_unavailable_reason()
    if problem is None:
        return
    message = (
        f"PostgreSQL tests need a server at {POSTGRES_URL} ({problem}). "
        "Start one or set FULLPICTURE_TEST_POSTGRES_URL."
    )
    if _postgres_required():
        pytest.fail(message + " PostgreSQL is required in CI.", pytrace=False)
    pytest.skip(message)


@dataclass
class TestDatabase:
    backend: str
    url: str
    engine: Engine
    schema: str | None = None

    __test__ = False


def create_test_database(backend: str, workdir: Path) -> TestDatabase:
    """An empty database of the given backend, migrated to every head."""
    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'fp-{uuid.uuid4().hex[:8]}.sqlite3'}"
        engine = make_engine(url)
        migrations.upgrade(engine)
        return TestDatabase(backend, url, engine)
    schema = f"fp_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    migrations.upgrade(engine)
    return TestDatabase(backend, POSTGRES_URL, engine, schema)


def drop_test_database(database: TestDatabase) -> None:
    database.engine.dispose()
    if database.schema:
        admin = make_engine(POSTGRES_URL)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{database.schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestDatabase]:
    """One migrated database per backend for the whole run."""
    backend: str = request.param
    require_backend(backend)
    db = create_test_database(backend, tmp_path_factory.mktemp(backend))
    yield db
    drop_test_database(db)


@pytest.fixture
def backend(database: TestDatabase, request: pytest.FixtureRequest) -> str:
    if request.node.get_closest_marker("postgres_only") and database.backend != "postgresql":
        pytest.skip("PostgreSQL-only behaviour")
    return database.backend


@contextmanager
def rolled_back_session(database: TestDatabase) -> Iterator[Session]:
    """A session inside a transaction that is rolled back at the end.

    Code under test may commit: with ``create_savepoint`` its commits release savepoints,
    and the outer transaction still rolls everything back.
    """
    connection = database.engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def db_session(database: TestDatabase, backend: str) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    with rolled_back_session(database) as session:
        yield session


@pytest.fixture
def fresh_database(
    request: pytest.FixtureRequest, database: TestDatabase, backend: str, tmp_path: Path
) -> Iterator[TestDatabase]:
    """A new empty migrated database of the same backend, for tests that must really commit
    (crash safety, concurrency, all-or-nothing across connections)."""
    db = create_test_database(database.backend, tmp_path)
    yield db
    drop_test_database(db)


@pytest.fixture
def app_client(db_session: Session) -> Iterator[TestClient]:
    """The web app and API, bound to the test's rolled-back session."""
    with client_bound_to(db_session) as client:
        yield client


@contextmanager
def client_bound_to(db_session: Session) -> Iterator[TestClient]:
    """The web app and API, every request in the given session."""
    from fullpicture.core.runtime import request_session
    from fullpicture.web.app import create_app

    app = create_app()

    def _session() -> Iterator[Session]:
        yield db_session
        db_session.flush()

    app.dependency_overrides[request_session] = _session
    with TestClient(app) as client:
        yield client
