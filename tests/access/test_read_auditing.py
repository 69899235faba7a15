"""Every route that reads one person's data records the read in the audit log, and refuses a
caller whose agency is not involved — checked for every such route the app has, so a new one
cannot forget."""

from __future__ import annotations

import re

from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access.models import AuditEntry, Role
from fullpicture.web.app import create_app
from tests.access.principals import (
    authorise_client,
    link_record,
    make_agency,
    make_event,
    make_person,
)

PERSON_PARAMETER = re.compile(r"\{(person_id|person_public_id)\}")
#: Any other parameter of a person route names one of that person's objects; the test fills it
#: with the object it made for the person, so a route below a person is checked like the rest.
OTHER_PARAMETER = re.compile(r"\{(\w+)\}")
#: Reads about access to a person rather than the person's record; audited as access_log.read.
NOT_RECORD_READS = {
    "/api/v1/people/{person_id}/access-log",
    "/people/{person_id}/access-log",
}


def person_read_routes() -> list[str]:
    return sorted(
        str(route.path)
        for route in iter_route_contexts(create_app().routes)
        if "GET" in (route.methods or set())
        and PERSON_PARAMETER.search(str(route.path))
        and str(route.path) not in NOT_RECORD_READS
    )


def _reads_of(db_session: Session, person_id: int) -> int:
    return (
        db_session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.person_id == person_id,
                AuditEntry.action.in_(("person.read", "person.export")),
            )
        )
        or 0
    )


def test_there_are_person_read_routes_to_check() -> None:
    assert len(person_read_routes()) >= 2


def test_every_person_read_is_audited_and_need_to_know_enforced(
    app_client: TestClient, db_session: Session
) -> None:
    school = make_agency(db_session)
    person = make_person(db_session)
    event = make_event(db_session, record=link_record(db_session, person=person, agency=school))
    objects_of_person = {"event_ref": event.event_ref}
    unaudited: list[str] = []
    leaked: list[str] = []
    for template in person_read_routes():
        path = PERSON_PARAMETER.sub(person.public_id, template)
        unknown = set(OTHER_PARAMETER.findall(path)) - objects_of_person.keys()
        assert not unknown, f"{template}: give the test an object of the person for {unknown}"
        path = OTHER_PARAMETER.sub(lambda m: objects_of_person[m.group(1)], path)
        authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=school)
        before = _reads_of(db_session, person.id)
        response = app_client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:200])
        if _reads_of(db_session, person.id) <= before:
            unaudited.append(template)
        authorise_client(app_client, db_session, role=Role.DESIGNATED_LEAD)  # another agency
        refused = app_client.get(path)
        if refused.status_code not in (403, 404):
            leaked.append(f"{template} -> {refused.status_code}")
    assert unaudited == [], f"reads not in the audit log: {unaudited}"
    assert leaked == [], f"served to an agency with no need to know: {leaked}"
