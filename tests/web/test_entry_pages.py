"""Record an entry and correct it court-safely: the entry is checked like a feed row, saved as
the signed-in practitioner's; a correction is a new version with who and why, and both
versions stay visible."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.chronology.models import Event, EventParticipant, ParticipantRole
from tests.web.pages import csrf_of, sign_in
from tests.web.picture import Picture, build_picture


@pytest.fixture
def picture(db_session: Session) -> Picture:
    return build_picture(db_session, "entries")


def test_record_an_entry_then_correct_it_and_both_versions_stay(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    user = sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.school)
    child = picture.child.public_id
    form = app_client.get(f"/children/{child}/entries/new")
    assert form.status_code == 200 and picture.school_record.record_ref in form.text
    typed = {
        "csrf_token": csrf_of(form.text),
        "summary": "Amelia came in hungry and said there was no food at home.",
        "event_date": "",
        "information_type": "reported",
        f"role:{picture.school_record.record_ref}": "subject",
        "recorded_by": "someone else",
    }
    suggested = app_client.post(
        f"/children/{child}/entries/new", data=typed | {"action": "suggest"}
    )
    assert suggested.status_code == 200 and 'id="suggestions"' in suggested.text
    assert "NEG-BAS" in suggested.text and "hungry" in suggested.text
    refused = app_client.post(
        f"/children/{child}/entries/new",
        data=typed | {"action": "save", "concern_code": "NEG-BAS"},
    )
    assert refused.status_code == 422 and 'href="#event_date"' in refused.text
    assert "no food at home" in refused.text  # what was typed is kept
    saved = app_client.post(
        f"/children/{child}/entries/new",
        data=typed
        | {"action": "save", "concern_code": "NEG-BAS", "event_date": dt.date.today().isoformat()},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    event_ref = saved.headers["location"].split("/entries/")[1].split("?")[0]
    first = db_session.scalars(select(Event).where(Event.event_ref == event_ref)).one()
    assert first.version == 1 and first.recorded_by == f"user:{user.username}"
    # The child's page links the entry's history.
    page = app_client.get(f"/children/{child}")
    assert f"/children/{child}/entries/{event_ref}" in page.text

    correct = app_client.get(f"/children/{child}/entries/{event_ref}/correct")
    assert "no food at home" in correct.text
    change = {
        "csrf_token": csrf_of(correct.text),
        "action": "save",
        "summary": "Amelia came in hungry and said there was no breakfast at home today.",
        "event_date": dt.date.today().isoformat(),
        "concern_code": "NEG-BAS",
        "information_type": "reported",
        f"role:{picture.school_record.record_ref}": "subject",
    }
    no_reason = app_client.post(f"/children/{child}/entries/{event_ref}/correct", data=change)
    assert no_reason.status_code == 422 and 'href="#reason"' in no_reason.text
    corrected = app_client.post(
        f"/children/{child}/entries/{event_ref}/correct",
        data=change | {"reason": "She said breakfast, not food at all."},
        follow_redirects=False,
    )
    assert corrected.status_code == 303
    versions = db_session.scalars(
        select(Event).where(Event.event_ref == event_ref).order_by(Event.version)
    ).all()
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].summary.endswith("no food at home.")  # never edited in place
    assert versions[1].recorded_by == f"user:{user.username}"
    assert versions[1].change_reason == "She said breakfast, not food at all."
    history = app_client.get(f"/children/{child}/entries/{event_ref}").text
    assert "no food at home" in history and "no breakfast at home today" in history
    assert "She said breakfast, not food at all." in history


def test_another_agency_and_a_role_without_write_are_refused(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    child = picture.child.public_id
    event_ref = picture.school_events[0].event_ref
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.gp)
    # The GP may see the child but not the school's entry's history, nor correct it.
    assert app_client.get(f"/children/{child}/entries/{event_ref}").status_code == 404
    assert app_client.get(f"/children/{child}/entries/{event_ref}/correct").status_code == 404
    app_client.cookies.clear()
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.stranger)
    assert app_client.get(f"/children/{child}/entries/new").status_code == 404
    app_client.cookies.clear()
    sign_in(app_client, db_session, role=Role.AUDITOR, agency=None)
    assert app_client.get(f"/children/{child}/entries/new").status_code == 403


def test_an_entrys_people_are_named_as_the_practitioner_may_see_them(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    """The issue 14 audit: "People" showed the record reference ("CSC100024 (subject)"). The
    child is named as the child's page names them; a record linked to no one keeps its
    reference, since no name may be read for it."""
    event = picture.school_events[0]
    event.participants.append(
        EventParticipant(record_ref="rec-not-linked", role=ParticipantRole.WITNESS)
    )
    db_session.flush()
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.school)
    history = app_client.get(f"/children/{picture.child.public_id}/entries/{event.event_ref}")
    assert history.status_code == 200, history.text
    people = history.text[history.text.index(">People<") :]
    people = people[: people.index("</dd>")]
    assert "Amelia Okafor (subject)" in people
    assert picture.school_record.record_ref not in people
    assert "record rec-not-linked (witness)" in people
