"""One ingest flow: a feed uploaded through the API raises the same alerts as the same feed
imported with ``fullpicture import`` (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fullpicture.access.models import AuditEntry, Role
from fullpicture.agencies.models import Agency
from fullpicture.cli.main import app
from fullpicture.core import runtime
from fullpicture.core.database import session_factory, unit_of_work
from fullpicture.core.settings import get_settings
from fullpicture.harm.models import HarmAlert
from fullpicture.imports import flows
from fullpicture.people.models import HouseholdMembership, PersonRecordLink
from tests.access.principals import authorise_client
from tests.conftest import TestDatabase
from tests.imports.feeds import declare_every_agency
from tests.imports.held_back import every_other_agency_linked, held_back_feed

TABLES = ("records", "relationships", "events")

# An alert as both databases can name it: person ids differ, the child's records do not.
AlertKey = tuple[str, str, float, frozenset[tuple[str, str]]]


@pytest.fixture
def cli_database(
    fresh_database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestDatabase]:
    url = fresh_database.url
    if fresh_database.schema:
        url = f"{url}?options=-csearch_path%3D{fresh_database.schema}"
    monkeypatch.setenv("FULLPICTURE_DATABASE_URL", url)
    for cached in (get_settings, runtime.get_engine, runtime.get_session_factory):
        cached.cache_clear()
    yield fresh_database
    runtime.get_engine().dispose()
    for cached in (get_settings, runtime.get_engine, runtime.get_session_factory):
        cached.cache_clear()


def _alerts(db_session: Session) -> set[AlertKey]:
    alerts = db_session.scalars(select(HarmAlert)).all()
    keys: set[AlertKey] = set()
    for alert in alerts:
        records = db_session.execute(
            select(Agency.code, PersonRecordLink.record_ref)
            .join(Agency, Agency.id == PersonRecordLink.agency_id)
            .where(
                PersonRecordLink.person_id == alert.person_id, PersonRecordLink.ended_at.is_(None)
            )
        ).all()
        keys.add(
            (
                alert.kind,
                alert.raised_on.isoformat(),
                round(alert.score, 6),
                frozenset((code, ref) for code, ref in records),
            )
        )
    return keys


def test_an_uploaded_feed_raises_the_same_alerts_as_the_cli(
    linked_session: Session,
    linked_client: TestClient,
    cli_database: TestDatabase,
    population: Path,
) -> None:
    held_back = held_back_feed(population)

    # Through the API, in the test's session on the shared linked database.
    assert _alerts(linked_session) == set()
    authorise_client(linked_client, linked_session, role=Role.ADMINISTRATOR)
    declare_every_agency(linked_client)  # the partnership's data team uploads every agency's feed
    files = {
        table: (f"{table}.csv", (held_back / f"{table}.csv").read_bytes(), "text/csv")
        for table in TABLES
    }
    response = linked_client.post("/api/v1/imports", files=files)
    assert response.status_code == 201, response.text
    through_api = _alerts(linked_session)
    assert linked_session.scalar(select(HouseholdMembership.id).limit(1)) is not None

    # Through the CLI, in a database of its own with the same picture beforehand.
    with unit_of_work(session_factory(cli_database.engine)) as session:
        every_other_agency_linked(session, population)
    result = CliRunner().invoke(app, ["import", str(held_back)])
    assert result.exit_code == 0, result.output
    with unit_of_work(session_factory(cli_database.engine)) as session:
        through_cli = _alerts(session)

    assert through_cli, "the held-back feed should raise alerts"
    assert through_api == through_cli


def test_the_steps_are_audited_once_under_the_caller(
    linked_session: Session, population: Path
) -> None:
    ingested = flows.ingest_feed(
        db_session=linked_session,
        paths=[held_back_feed(population)],
        actor="sw.jones",
        actor_user_id=None,
    )
    assert ingested.result is not None and ingested.follow_up is not None
    target = f"import_batch:{ingested.result.batch.public_id}"
    entries = linked_session.scalars(select(AuditEntry).where(AuditEntry.target == target)).all()
    assert sorted(entry.action for entry in entries) == ["import.batch", "import.follow_up"]
    assert {entry.actor for entry in entries} == {"sw.jones"}
    assert ingested.follow_up.households is not None and ingested.follow_up.households > 0


def test_a_step_registered_after_ingest_is_told_the_outcome(
    linked_session: Session, population: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[flows.AfterIngest] = []
    monkeypatch.setattr(flows, "_after_ingest_steps", [])
    flows.register_after_ingest(lambda _session, outcome: told.append(outcome))
    ingested = flows.ingest_feed(
        db_session=linked_session, paths=[held_back_feed(population)], actor="tester"
    )
    assert ingested.follow_up is not None
    assert [outcome.batch_public_id for outcome in told] == [ingested.result.batch.public_id]  # type: ignore[union-attr]
    assert told[0].follow_up.alert_ids == ingested.follow_up.alert_ids
