"""A sharing decision is the holder's (golden rules 6-7; research-notes §2.1): an agency with no
record of the child records none, and a share names only the deciding agency's own entries.
The rule is the service's, so the API and the CLI refuse as the web form does, nothing saved."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fullpicture.access.models import Role
from fullpicture.cli.main import app
from fullpicture.sharing import service
from fullpicture.sharing.models import SharingDecision, SharingOutcome
from fullpicture.sharing.schemas import EntryRef
from tests.access.principals import (
    authorise_client,
    link_record,
    make_agency,
    make_user,
    subject_of,
)
from tests.conftest import TestDatabase
from tests.sharing.scenario import a_share, build, front_door_without_a_record


def _saved(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(SharingDecision)) or 0


def _not_your_agencys(code: str, ref: str) -> str:
    return (
        f"Entry {code}:{ref} is not your agency's: a sharing decision shares only entries your "
        "agency recorded; ask that agency to record its own decision."
    )


def test_the_front_door_without_a_record_is_refused_with_the_one_reason(
    db_session: Session,
) -> None:
    world = build(db_session, "-holder")
    csc = front_door_without_a_record(db_session, world, "-holder")
    mash = subject_of(make_user(db_session, role=Role.FRONT_DOOR, agency=csc))
    other = world.school_events[0]
    not_shared = a_share(
        world.gp, outcome=SharingOutcome.NOT_SHARED, reason_not_shared="not needed"
    )
    for decision_in in (
        a_share(world.gp, other.event_ref).model_copy(
            update={"entries": [EntryRef(agency_code=world.school.code, event_ref=other.event_ref)]}
        ),
        not_shared,
        a_share(world.gp, basis=None),  # other problems too: the one that matters is named
    ):
        with pytest.raises(service.NoRecordHeld) as refused:
            service.record_decision(
                db_session=db_session,
                subject=mash,
                person_public_id=world.child.public_id,
                decision_in=decision_in,
            )
        assert refused.value.problems == [service.NO_RECORD_HELD]
    assert _saved(db_session) == 0

    # Holding a record of the child, the front door decides on its own entries, not others'.
    link_record(db_session, person=world.child, agency=csc, record_ref="C1")
    with pytest.raises(service.SharingDecisionRefused) as refused:
        service.record_decision(
            db_session=db_session,
            subject=mash,
            person_public_id=world.child.public_id,
            decision_in=a_share(world.gp).model_copy(
                update={
                    "entries": [EntryRef(agency_code=world.school.code, event_ref=other.event_ref)]
                }
            ),
        )
    assert refused.value.problems == [_not_your_agencys(world.school.code, other.event_ref)]
    decision = service.record_decision(
        db_session=db_session,
        subject=mash,
        person_public_id=world.child.public_id,
        decision_in=not_shared,
    )
    assert decision.from_agency_id == csc.id and _saved(db_session) == 1


def test_an_agency_that_was_sent_entries_but_holds_no_record_is_refused(
    db_session: Session,
) -> None:
    """A share makes the child one the receiving agency may open; it does not make the
    agency a holder of a record of the child, nor the entries it received its own."""
    world = build(db_session, "-holder")
    council = make_agency(db_session, "council-sh-holder")
    received = world.school_events[0]
    service.record_decision(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
        decision_in=a_share(council, received.event_ref),
    )
    officer = subject_of(make_user(db_session, role=Role.PRACTITIONER, agency=council))
    onward = a_share(world.gp).model_copy(
        update={"entries": [EntryRef(agency_code=world.school.code, event_ref=received.event_ref)]}
    )
    with pytest.raises(service.NoRecordHeld):
        service.record_decision(
            db_session=db_session,
            subject=officer,
            person_public_id=world.child.public_id,
            decision_in=onward,
        )
    assert _saved(db_session) == 1


def test_the_api_refuses_an_agency_without_a_record_422_naming_why(
    app_client: TestClient, db_session: Session
) -> None:
    world = build(db_session, "-holder-api")
    csc = front_door_without_a_record(db_session, world, "-holder-api")
    authorise_client(app_client, db_session, role=Role.FRONT_DOOR, agency=csc)
    response = app_client.post(
        f"/api/v1/children/{world.child.public_id}/sharing-decisions",
        json={
            "outcome": "shared",
            "to_agency_code": world.gp.code,
            "recipient_role": "named GP",
            "purpose": "the front door's pooled view",
            "entries": [
                {"agency_code": world.school.code, "event_ref": world.school_events[0].event_ref}
            ],
            "regime": "uk_gdpr",
            "basis": "public_task",
            "family_informed": True,
        },
    )
    assert response.status_code == 422, response.text
    body = response.json()["detail"]
    assert body["problems"] == [service.NO_RECORD_HELD]
    assert body["detail"].startswith("The sharing decision was not recorded: Your agency holds")
    assert _saved(db_session) == 0


@pytest.fixture
def front_door_ids(runtime_database: TestDatabase) -> Iterator[dict[str, str]]:
    with Session(runtime_database.engine) as session:
        world = build(session, "-holder-cli")
        csc = front_door_without_a_record(session, world, "-holder-cli")
        make_user(session, role=Role.FRONT_DOOR, agency=csc, username="mash")
        ids = {
            "child": world.child.public_id,
            "gp": world.gp.code,
            "entry": f"{world.school.code}:{world.school_events[0].event_ref}",
        }
        session.commit()
    yield ids


def test_the_cli_refuses_an_agency_without_a_record_exit_4_saying_why(
    runtime_database: TestDatabase, front_door_ids: dict[str, str]
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "sharing",
            "record",
            front_door_ids["child"],
            "--to",
            front_door_ids["gp"],
            "--recipient-role",
            "named GP",
            "--purpose",
            "the front door's pooled view",
            "--entry",
            front_door_ids["entry"],
            "--regime",
            "uk_gdpr",
            "--basis",
            "public_task",
            "--family-told",
            "--as",
            "mash",
        ],
    )
    assert result.exit_code == 4, result.output
    said = " ".join(result.output.split())  # the message is wrapped to the terminal
    assert f"The sharing decision was not recorded: - {service.NO_RECORD_HELD}" in said
    assert "Recorded sharing decision" not in result.output
    with Session(runtime_database.engine) as session:
        assert _saved(session) == 0
