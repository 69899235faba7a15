""" "Child seen elsewhere": a child with an open case appears in another agency's feed, and the
lead practitioner is told within the import, through the CLI and through the API (both
backends); the e-mail reaches a real local SMTP sink with a link and no child details."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fullpicture.access.models import AuditEntry, Role, UserAccount
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.cli.main import app
from fullpicture.workflow import notifications, seen_elsewhere, service
from fullpicture.workflow.models import CaseKind, Notification
from fullpicture.workflow.schemas import CaseOpen, LeadIn
from tests.access.principals import (
    authorise_client,
    link_record,
    make_agency,
    make_person,
    make_user,
    subject_of,
)
from tests.conftest import TestDatabase
from tests.imports.feeds import event, write_csv

GP = "gp-seen"
HOSPITAL = "hospital-seen"


def _hospital_feed(tmp_path: Path) -> Path:
    feed = tmp_path / "hospital"
    feed.mkdir(exist_ok=True)
    write_csv(
        feed / "events.csv",
        [
            event(
                "ED-1",
                people="H1:subject",
                agency=HOSPITAL,
                concern_code="PHY-INJ",
                summary="Attended ED with a spiral fracture of the left arm.",
                event_date="2026-11-30",
                date_recorded="2026-11-30",
            )
        ],
    )
    return feed


def _agencies(db_session: Session) -> tuple[Agency, Agency]:
    return (
        make_agency(db_session, GP, AgencyKind.GP),
        make_agency(db_session, HOSPITAL, AgencyKind.HOSPITAL),
    )


def _child_known_to_gp_and_hospital_with_a_gp_led_case(db_session: Session, username: str) -> None:
    """The picture before the hospital's new feed: linkage has put the GP's and the
    hospital's records of the child together, and the GP leads an early help case."""
    gp, hospital = _agencies(db_session)
    child = make_person(db_session)
    link_record(db_session, person=child, agency=gp, record_ref="G1")
    link_record(db_session, person=child, agency=hospital, record_ref="H1")
    lead = make_user(db_session, role=Role.DESIGNATED_LEAD, agency=gp, username=username)
    lead.email = "named.gp@example.test"
    service.open_case(
        db_session=db_session,
        subject=subject_of(lead),
        person_public_id=child.public_id,
        case_in=CaseOpen(
            kind=CaseKind.EARLY_HELP,
            level_of_need=3,
            level_reason="neglect",
            lead=LeadIn(username=username),
            lead_reason="the GP knows them",
        ),
    )


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    return result.exit_code, result.output


def test_seen_elsewhere_through_the_cli_import(
    runtime_database: TestDatabase, tmp_path: Path
) -> None:
    with Session(runtime_database.engine) as session:
        _child_known_to_gp_and_hospital_with_a_gp_led_case(session, "named.gp")
        session.commit()
    code, output = _run("import", str(_hospital_feed(tmp_path)))
    assert code == 0, output
    with Session(runtime_database.engine) as session:
        sent = session.scalars(select(Notification)).all()
        assert [(n.kind, n.title) for n in sent] == [
            ("seen_elsewhere", f"Seen elsewhere: Agency {HOSPITAL}")
        ]
        assert "Physical injury" in sent[0].body and "30 November 2026" in sent[0].body
        assert "spiral fracture" not in sent[0].body  # the entry's text stays on the page
        audited = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "notification.seen_elsewhere")
        ).all()
        assert [a.actor for a in audited] == [seen_elsewhere.ACTOR]
    # The same feed again: nothing new, nobody told twice.
    assert _run("import", str(_hospital_feed(tmp_path)))[0] == 0
    code, output = _run("inbox", "--as", "named.gp", "--json")
    assert code == 0 and output.count('"seen_elsewhere"') == 1


def test_seen_elsewhere_through_the_api_and_only_to_the_lead(
    app_client: TestClient, db_session: Session, tmp_path: Path
) -> None:
    _child_known_to_gp_and_hospital_with_a_gp_led_case(db_session, "named.gp.api")
    gp, _ = _agencies(db_session)
    authorise_client(app_client, db_session, role=Role.ADMINISTRATOR)
    other_gp_user = make_user(db_session, role=Role.PRACTITIONER, agency=gp)
    hospital_feed = _hospital_feed(tmp_path)
    files = {
        table: (f"{table}.csv", (hospital_feed / f"{table}.csv").read_bytes(), "text/csv")
        for table in ("events",)
    }
    response = app_client.post("/api/v1/imports", files=files, params={"for_agencies": HOSPITAL})
    assert response.status_code == 201, response.text
    sent = db_session.scalars(select(Notification)).all()
    assert len(sent) == 1
    lead_id = sent[0].recipient_user_id
    assert lead_id != other_gp_user.id
    # The lead reads it in their inbox; another user sees an empty inbox.
    lead = db_session.get(UserAccount, lead_id)
    assert lead is not None
    lead_subject = subject_of(lead)
    assert [n.kind for n in notifications.inbox(db_session, subject=lead_subject)] == [
        "seen_elsewhere"
    ]
    authorise_client(app_client, db_session, role=Role.PRACTITIONER, agency=gp)
    assert app_client.get("/api/v1/inbox").json() == []
    assert app_client.post(f"/api/v1/inbox/{sent[0].public_id}/read").status_code == 404
    authorise_client(app_client, db_session, role=Role.AUDITOR)
    assert app_client.get("/api/v1/inbox").status_code == 403


def test_a_child_with_no_case_or_alert_notifies_nobody(db_session: Session) -> None:
    assert seen_elsewhere.notify_seen_elsewhere(db_session, batch_public_id="no-such") == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Collecting(Sink):
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(envelope.content)  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Iterator[tuple[_Collecting, int]]:
    handler = _Collecting()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_the_email_reaches_a_local_smtp_sink_with_a_link_and_no_child_details(
    db_session: Session, smtp_sink: tuple[_Collecting, int]
) -> None:
    handler, port = smtp_sink
    user = make_user(db_session, role=Role.DESIGNATED_LEAD)
    user.email = "dsl@example.test"
    notifications.notify(
        db_session,
        recipient_user_id=user.id,
        kind="seen_elsewhere",
        person_id=None,
        title="Seen elsewhere: St Elsewhere ED",
        body="Amelia Smith attended ED (fracture).",
        link="/children/abc",
        dedupe_key="test:1",
    )
    settings = notifications.NotificationSettings(
        smtp_host="127.0.0.1", smtp_port=port, public_base_url="https://fp.example.test"
    )
    assert notifications.send_pending_emails(db_session, settings=settings) == 1
    assert notifications.send_pending_emails(db_session, settings=settings) == 0  # sent once
    assert len(handler.messages) == 1
    mail = message_from_bytes(handler.messages[0])
    text = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert mail["To"] == "dsl@example.test"
    assert "https://fp.example.test/inbox" in text
    for detail in ("Amelia", "Smith", "ED", "fracture", "Elsewhere", "/children/"):
        assert detail not in text and detail not in str(mail["Subject"])
    assert dt.datetime.now(dt.UTC) >= db_session.scalars(select(Notification)).one().emailed_at  # type: ignore[operator]
