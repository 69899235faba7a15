"""Days the harm engine cannot compute with are refused with a clear answer — 422 on the
API, a message and exit code 2 on the command line — never a 500 or a traceback (issue 12
finding 6: ``?as_of=0001-01-01`` raised OverflowError, and a child with an entry dated
0001-01-01 had a harm page that was a 500)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.access.subject import SystemPrincipal
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.chronology.models import Event, ParticipantRole
from fullpicture.cli.main import app
from fullpicture.core import runtime
from fullpicture.core.settings import get_settings
from fullpicture.harm import service
from fullpicture.imports.follow_up import follow_up_import
from fullpicture.imports.models import BatchStatus, ImportBatch
from fullpicture.people.models import Person, SourceRecord
from tests.access.principals import authorise_client, make_user
from tests.chronology import factories as make
from tests.conftest import TestDatabase


def _scorer(db_session: Session) -> SystemPrincipal:
    """The audited job a test scores as (access.service.system_principal)."""
    return access_service.system_principal(db_session=db_session, job="harm test", operator="test")


def _child(db_session: Session, *, ancient: bool) -> tuple[Agency, Person]:
    school = make.agency(db_session, "school-old", AgencyKind.SCHOOL)
    child = make.person(db_session, (school, "S1"))
    db_session.add(
        SourceRecord(agency_id=school.id, record_ref="S1", content_hash="h",
                     date_of_birth=dt.date(2015, 5, 1), recorded_by="test")
    )  # fmt: skip
    if ancient:  # stored before imports checked dates
        make.event(db_session, school, "s-old", dt.date(1, 1, 1), "PHY-INJ",
                   [("S1", ParticipantRole.SUBJECT)], summary="Dated 0001-01-01")  # fmt: skip
    make.event(db_session, school, "s-new", dt.date(2025, 1, 5), "PHY-INJ",
               [("S1", ParticipantRole.SUBJECT)], summary="Bruise")  # fmt: skip
    db_session.flush()
    return school, child


@pytest.mark.parametrize("as_of", ["0001-01-01", "1899-12-31", "9999-12-31"])
def test_a_day_the_engine_cannot_compute_is_a_422(
    app_client: TestClient, db_session: Session, as_of: str
) -> None:
    school, child = _child(db_session, ancient=False)
    authorise_client(app_client, db_session, agency=school)
    response = app_client.get(f"/api/v1/children/{child.public_id}/harm?as_of={as_of}")
    assert response.status_code == 422, response.text
    assert as_of in response.text
    fine = app_client.get(f"/api/v1/children/{child.public_id}/harm?as_of=2025-06-30")
    assert fine.status_code == 200, fine.text


def test_a_child_with_an_entry_from_year_one_is_a_422_that_says_why(
    app_client: TestClient, db_session: Session
) -> None:
    school, child = _child(db_session, ancient=True)
    authorise_client(app_client, db_session, agency=school)
    response = app_client.get(f"/api/v1/children/{child.public_id}/harm?as_of=2025-06-30")
    assert response.status_code == 422, response.text
    assert "entry dated 0001-01-01" in response.json()["detail"]
    with pytest.raises(service.HarmNotComputable, match="correct or withdraw"):
        service.assess_one_child(
            db_session=db_session,
            scorer=_scorer(db_session),
            person_id=child.id,
            as_of=dt.date(2025, 6, 30),
        )


def test_the_follow_up_rescores_the_others_and_says_which_child_it_could_not(
    db_session: Session,
) -> None:
    _child(db_session, ancient=True)
    batch = ImportBatch(public_id="b-old", source_name="t", file_format="csv",
                        file_sha256="0" * 64, imported_by="t",
                        status=BatchStatus.COMMITTED)  # fmt: skip
    db_session.add(batch)
    db_session.flush()
    for event in db_session.scalars(select(Event)):
        event.import_batch_id = batch.id
    db_session.flush()
    outcome = follow_up_import(
        db_session=db_session, batch_public_id="b-old", started_by="t", as_of=dt.date(2025, 6, 30)
    )
    assert outcome.children_rescored == 0
    assert any("not rescored" in advice and "0001-01-01" in advice for advice in outcome.advice)


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


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    return result.exit_code, " ".join(result.output.split())


def test_harm_child_says_why_instead_of_a_traceback(
    cli_database: TestDatabase, tmp_path: Path
) -> None:
    with Session(cli_database.engine) as session:
        school, child = _child(session, ancient=True)
        make_user(session, role=Role.PRACTITIONER, agency=school, username="teacher.old")
        session.commit()
        child_id = child.id
    code, output = _run("harm", "child", str(child_id), "--as-of", "2025-06-30",
                        "--as", "teacher.old")  # fmt: skip
    assert code == 2, output
    assert "entry dated 0001-01-01" in output and "Traceback" not in output
    code, output = _run("harm", "child", str(child_id), "--as-of", "0001-01-01",
                        "--as", "teacher.old")  # fmt: skip
    assert code == 2 and "is before 1900-01-01" in output, output
    code, output = _run("harm", "score", "--as-of", "0001-01-01")
    assert code == 2 and "is before 1900-01-01" in output, output
