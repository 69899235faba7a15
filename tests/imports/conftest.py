"""One generated partnership, and one database per backend holding it linked but for the
held-back agency's feed, shared by the tests that bring that feed in.

Importing and training the linkage model takes most of a minute a backend; the tests that
start from that picture each get it in a rolled-back transaction instead of rebuilding it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fullpicture.core.database import session_factory, unit_of_work
from fullpicture.synth import service as synth_service
from tests.conftest import (
    TestDatabase,
    client_bound_to,
    create_test_database,
    drop_test_database,
    rolled_back_session,
)
from tests.imports.held_back import every_other_agency_linked


@pytest.fixture(scope="session")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """150 children's records across the partnership's agencies (one feed directory each)."""
    out = tmp_path_factory.mktemp("population")
    synth_service.generate(children=150, seed=5, out=out)
    return out


@pytest.fixture(scope="session")
def linked_database(
    database: TestDatabase, population: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestDatabase]:
    """A database of the run's backend where every agency but the held-back one is imported
    and linked (committed; tests must not commit to it: use ``linked_session``)."""
    db = create_test_database(database.backend, tmp_path_factory.mktemp("linked"))
    with unit_of_work(session_factory(db.engine)) as session:
        every_other_agency_linked(session, population)
    yield db
    drop_test_database(db)


@pytest.fixture
def linked_session(linked_database: TestDatabase, backend: str) -> Iterator[Session]:
    """A session on the linked database, rolled back after the test."""
    with rolled_back_session(linked_database) as session:
        yield session


@pytest.fixture
def linked_client(linked_session: Session) -> Iterator[TestClient]:
    """The web app and API, bound to the test's session on the linked database."""
    with client_bound_to(linked_session) as client:
        yield client
