"""Test data and sign-in for the page tests: children with named records at agencies, and a
browser-like client signed in as a user of a role and agency."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fullpicture.access.models import Role, UserAccount
from fullpicture.agencies.models import Agency
from fullpicture.people.models import Person, PersonRecordLink, SourceRecord
from tests.access.principals import make_user, strong_password

#: What a browser sends when it opens a page.
BROWSER = {"accept": "text/html,application/xhtml+xml"}


def named_record(
    db_session: Session,
    *,
    person: Person,
    agency: Agency,
    given_name: str,
    family_name: str,
    date_of_birth: dt.date | None = dt.date(2016, 3, 14),
    nhs_number: str | None = None,
    upn: str | None = None,
    postcode: str | None = None,
) -> SourceRecord:
    """A current record of ``person`` at ``agency``, linked by linkage."""
    record = SourceRecord(
        agency_id=agency.id,
        record_ref=f"rec-{uuid.uuid4().hex[:8]}",
        version=1,
        content_hash=uuid.uuid4().hex,
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        nhs_number=nhs_number,
        upn=upn,
        addresses=[{"line1": "1 High Street", "postcode": postcode}] if postcode else [],
        recorded_by="test",
    )
    db_session.add(record)
    db_session.add(
        PersonRecordLink(
            person_id=person.id,
            agency_id=agency.id,
            record_ref=record.record_ref,
            method="probabilistic",
            cluster_confidence=0.97,
        )
    )
    db_session.flush()
    return record


def named_child(
    db_session: Session,
    *,
    held_by: list[Agency],
    given_name: str,
    family_name: str,
    **fields: object,
) -> tuple[Person, list[SourceRecord]]:
    person = Person()
    db_session.add(person)
    db_session.flush()
    records = [
        named_record(
            db_session,
            person=person,
            agency=agency,
            given_name=given_name,
            family_name=family_name,
            **fields,  # type: ignore[arg-type]
        )
        for agency in held_by
    ]
    return person, records


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form carrying a CSRF token"
    return found.group(1)


def sign_in(
    client: TestClient, db_session: Session, *, role: Role, agency: Agency | None
) -> UserAccount:
    """Sign ``client`` in as a new user of ``role`` at ``agency``, as a browser does."""
    password = strong_password()
    user = make_user(db_session, role=role, agency=agency, password=password)
    form = client.get("/sign-in", headers=BROWSER)
    response = client.post(
        "/sign-in",
        data={"username": user.username, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    client.headers.update(BROWSER)
    return user
