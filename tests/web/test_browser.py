"""End to end in Chromium: the API documentation renders from local assets with no script errors;
a designated lead signs in and sees who has looked at a child; a user refused a page sees a
page saying why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.core import migrations
from fullpicture.core.database import make_engine, session_factory, unit_of_work
from fullpicture.core.runtime import request_session
from fullpicture.web.app import create_app
from tests.access.principals import (
    make_agency,
    make_person,
    make_user,
    strong_password,
    subject_of,
)
from tests.web.browser import browser_page, chromium_path, live_server


@pytest.fixture
def served_with_database(tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """The app on a live server, and a session factory for the database behind it."""
    chromium_path()
    engine = make_engine(f"sqlite:///{tmp_path / 'browser-access.sqlite3'}")
    migrations.upgrade(engine)
    factory = session_factory(engine)
    app = create_app()

    def _session() -> Iterator[Session]:
        with factory.begin() as session:
            yield session

    app.dependency_overrides[request_session] = _session
    with live_server(app) as url:
        yield url, factory
    engine.dispose()


@pytest.fixture
def served_app(served_with_database: tuple[str, sessionmaker[Session]]) -> str:
    """The app on a live server (for tests that need no database of their own)."""
    url, _factory = served_with_database
    return url


def test_api_docs_render_in_chromium(browser: Any, served_app: str, tmp_path: Path) -> None:
    with browser_page(browser) as page:
        page.goto(f"{served_app}/api/docs")
        page.wait_for_selector("text=/healthz", timeout=15_000)
        assert "fullpicture" in page.inner_text("body")
        page.screenshot(path=str(tmp_path / "api-docs.png"), full_page=True)
        assert page.js_errors == []


def test_a_designated_lead_sees_who_has_looked_at_a_child(
    browser: Any,
    served_with_database: tuple[str, sessionmaker[Session]],
) -> None:
    url, factory = served_with_database
    password = strong_password()
    with unit_of_work(factory) as session:
        school = make_agency(session, "school-browser")
        child = make_person(session, held_by=[school])
        teacher = make_user(session, agency=school, username="teacher.browser")
        make_user(
            session,
            role=Role.DESIGNATED_LEAD,
            agency=school,
            username="dsl.browser",
            password=password,
        )
        access_service.open_person(
            db_session=session,
            subject=subject_of(teacher),
            person_public_id=child.public_id,
            purpose="chronology",
        )
        child_id = child.public_id
    failed: list[str] = []
    with browser_page(browser) as page:
        page.on(
            "response",
            lambda response: (
                failed.append(f"{response.status} {response.url}")
                if response.status >= 400
                else None
            ),
        )
        page.goto(f"{url}/sign-in?next=/account")
        page.fill("#username", "dsl.browser")
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/account")
        # From the account page, by the child's id, to the page.
        page.fill("#person-id", child_id)
        page.click("text=Show who has looked")
        page.wait_for_url(f"{url}/people/{child_id}/access-log")
        table = page.inner_text("#access-log")
        assert "user:teacher.browser" in table and "person.read" in table
        assert "chronology" in table
        assert page.title() == "Who has looked – fullpicture"
        icon = page.get_attribute("link[rel=icon]", "href")
        assert icon == "/static/favicon.svg"
        assert page.request.get(f"{url}{icon}").status == 200
        page.screenshot(path="/tmp/who-looked.png", full_page=True)
        assert page.js_errors == []  # CSP violations are console errors too
    assert failed == []


def test_a_signed_in_user_refused_a_page_sees_a_page_saying_why(
    browser: Any,
    served_with_database: tuple[str, sessionmaker[Session]],
) -> None:
    url, factory = served_with_database
    password = strong_password()
    with unit_of_work(factory) as session:
        school = make_agency(session, "school-refused")
        child = make_person(session, held_by=[school])
        make_user(session, agency=school, username="teacher.refused", password=password)
        child_id = child.public_id
    with browser_page(browser) as page:
        page.goto(f"{url}/sign-in?next=/account")
        page.fill("#username", "teacher.refused")
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/account")
        # A practitioner does not hold access_log:read: a page says so, not raw JSON.
        response = page.goto(f"{url}/people/{child_id}/access-log")
        assert response is not None and response.status == 403
        assert page.title() == "You do not have access to this page – fullpicture"
        assert "access_log:read" in page.inner_text("#refusal")
        assert "designated safeguarding lead" in page.inner_text("#what-to-do")
        page.screenshot(path="/tmp/forbidden-page.png", full_page=True)
        page.click("text=Back to your account")
        page.wait_for_url(f"{url}/account")
        # Chromium logs the page's own 403 to the console; anything else (a CSP violation, a
        # script error) would be a fault of the page.
        assert [e for e in page.js_errors if "status of 403 (Forbidden)" not in e] == []
        assert len(page.js_errors) == 1
