"""The journeys' picture on a live server: a child two agencies know, a namesake only another
GP knows, users of every role, an early-help plan, a review item and a routed alert.

Migrating, building the picture and hashing nine passwords cost seconds, so the picture is
built once per test module as a SQLite file, and each test serves a copy of its own: a test
may change what it is served freely and the next one starts from the same picture.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from fullpicture.access.models import Role, UserAccount
from fullpicture.agencies.models import AgencyKind
from fullpicture.core import migrations
from fullpicture.core.database import make_engine, session_factory, unit_of_work
from fullpicture.core.runtime import request_session
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.web.app import create_app
from fullpicture.workflow import service as workflow_service
from fullpicture.workflow.models import CaseKind
from fullpicture.workflow.schemas import CaseOpen, LeadIn, StepIn
from tests.access.principals import make_agency, make_user, strong_password, subject_of
from tests.web.browser import live_server
from tests.web.picture import add_stranger_child, build_picture, queue_namesake_review


@dataclass
class Served:
    url: str
    factory: sessionmaker[Session]
    password: str
    users: dict[str, str]  # role name -> username
    child_id: str
    stranger_id: str
    stranger_refs: list[str]
    alert_id: str
    review_item_id: int
    routed_alert_id: str  # about the stranger child, routed to a front door holding no record


@dataclass(frozen=True)
class BuiltPicture:
    """The picture as built into ``path``, which is copied and never served itself."""

    path: Path
    password: str
    users: dict[str, str]
    child_id: str
    stranger_id: str
    stranger_refs: list[str]
    alert_id: str
    review_item_id: int
    routed_alert_id: str


def build_served_picture(path: Path) -> BuiltPicture:
    engine = make_engine(f"sqlite:///{path}")
    migrations.upgrade(engine)
    factory = session_factory(engine)
    password = strong_password()
    with unit_of_work(factory) as session:
        picture = build_picture(session, "journey")
        stranger = add_stranger_child(session, picture)
        users = {
            "school": make_user(
                session, role=Role.DESIGNATED_LEAD, agency=picture.school, password=password
            ).username,
            "school_teacher": make_user(
                session, role=Role.PRACTITIONER, agency=picture.school, password=password
            ).username,
            "gp": make_user(
                session, role=Role.PRACTITIONER, agency=picture.gp, password=password
            ).username,
            "auditor": make_user(session, role=Role.AUDITOR, password=password).username,
            # The pooled view, at agencies that know Amelia but not Zebedee.
            "social_worker": make_user(
                session, role=Role.SOCIAL_WORKER, agency=picture.gp, password=password
            ).username,
            "team_manager": make_user(
                session, role=Role.TEAM_MANAGER, agency=picture.school, password=password
            ).username,
            "administrator": make_user(
                session, role=Role.ADMINISTRATOR, password=password
            ).username,
            "front_door": make_user(
                session, role=Role.FRONT_DOOR, agency=picture.gp, password=password
            ).username,
        }
        # An early-help plan the school leads, visited last 40 days ago: overdue on its home.
        school_lead = session.query(UserAccount).filter_by(username=users["school"]).one()
        plan = workflow_service.open_case(
            db_session=session,
            subject=subject_of(school_lead),
            person_public_id=picture.child.public_id,
            case_in=CaseOpen(
                kind=CaseKind.EARLY_HELP,
                opened_on=dt.date.today() - dt.timedelta(days=90),
                level_of_need=2,
                level_reason="early help assessment agreed with mother",
                lead=LeadIn(username=school_lead.username),
                lead_reason="the school knows the family best",
            ),
        )
        workflow_service.record_step(
            db_session=session,
            subject=subject_of(school_lead),
            case_public_id=plan.public_id,
            step_in=StepIn(
                kind="contact_with_child", occurred_on=dt.date.today() - dt.timedelta(days=40)
            ),
        )
        review_item_id = queue_namesake_review(session, picture).id
        # The harm router's fallback: an alert about a child only the other GP knows, sent to
        # children's social care, which holds no record of them.
        csc = make_agency(session, "csc-journey", kind=AgencyKind.CHILDRENS_SOCIAL_CARE)
        users["csc_front_door"] = make_user(
            session, role=Role.FRONT_DOOR, agency=csc, password=password
        ).username
        routed = HarmAlert(
            person_id=stranger.id,
            kind="threshold",
            raised_on=dt.date.today() - dt.timedelta(days=6),
            # Shown on the day it was raised: the acknowledgement clock starts then.
            created_at=dt.datetime.combine(
                dt.date.today() - dt.timedelta(days=6), dt.time(9), tzinfo=dt.UTC
            ),
            score=31.0,
            reason="A bruise recorded by the surgery, with earlier concerns",
            evidence={"event_ids": []},
            model_version="test",
            status=AlertStatus.NEW,
            routed_to_agency_id=csc.id,
            routing_reason="no lead practitioner is recorded; sent to the front door",
        )
        session.add(routed)
        session.flush()
        routed_alert_id = routed.public_id
        served_data = (
            picture.child.public_id,
            stranger.public_id,
            [
                r.record_ref
                for r in session.query(type(picture.school_record)).filter_by(
                    agency_id=picture.other_gp.id
                )
            ],
            picture.alert.public_id,
        )
    engine.dispose()
    return BuiltPicture(path, password, users, *served_data, review_item_id, routed_alert_id)


@contextmanager
def serve_a_copy(built: BuiltPicture, workdir: Path) -> Iterator[Served]:
    """The app on a live server, over a copy of the built picture that is the test's own."""
    copy = workdir / "journeys.sqlite3"
    source, target = sqlite3.connect(built.path), sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    engine = make_engine(f"sqlite:///{copy}")
    factory = session_factory(engine)
    app = create_app()
    app.state.review_item_id = built.review_item_id

    def _session() -> Iterator[Session]:
        with factory.begin() as session:
            yield session

    app.dependency_overrides[request_session] = _session
    try:
        with live_server(app) as url:
            yield Served(
                url,
                factory,
                built.password,
                dict(built.users),
                built.child_id,
                built.stranger_id,
                list(built.stranger_refs),
                built.alert_id,
                built.review_item_id,
                built.routed_alert_id,
            )
    finally:
        engine.dispose()
