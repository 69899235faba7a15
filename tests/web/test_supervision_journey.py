"""A supervision session in Chromium, axe-core checking each page: the school's designated
lead opens supervision from the navigation, chooses the class teacher who leads Amelia's
early-help case, reads the prompts, is refused a record without its decisions, then saves it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from fullpicture.access import repository as access_repository
from fullpicture.workflow import service
from fullpicture.workflow.models import CaseKind, SupervisionRecord
from fullpicture.workflow.schemas import CaseOpen, LeadIn
from tests.access.principals import subject_of
from tests.web.browser import AXE, browser_page
from tests.web.served import Served
from tests.web.test_journeys import _checked, _sign_in


def test_a_supervision_session_in_the_browser(browser: Any, served: Served) -> None:
    teacher_name = served.users["school_teacher"]
    with served.factory.begin() as session:
        teacher = access_repository.user_by_username(session, teacher_name)
        assert teacher is not None
        service.open_case(
            db_session=session,
            subject=subject_of(teacher),
            person_public_id=served.child_id,
            case_in=CaseOpen(
                kind=CaseKind.EARLY_HELP,
                opened_on=dt.date.today() - dt.timedelta(days=20),
                level_of_need=2,
                level_reason="attendance and weight",
                lead=LeadIn(username=teacher_name),
                lead_reason="class teacher",
            ),
        )
    problems: list[str] = []
    with browser_page(browser) as page:
        page.context.add_init_script(path=str(AXE))
        _sign_in(page, served, "school")
        page.click(".govuk-service-navigation >> text=Supervision")
        page.wait_for_selector("#practitioners")
        _checked(page, problems)
        page.click(f"#practitioners a[href='/supervision/{teacher_name}']")
        page.wait_for_selector("#supervision-heading")
        _checked(page, problems)
        assert "What is life like for this child?" in page.inner_text("main")
        page.select_option("#child_id", served.child_id)
        page.fill("#reflections", "Amelia is quieter; nobody has asked her about home.")
        page.fill("#action-1-what", "Speak to Amelia alone")
        page.fill("#action-1-due", "soon")
        page.click("#record-supervision")
        page.wait_for_selector(".govuk-error-summary")
        _checked(page, problems)
        summary = page.inner_text(".govuk-error-summary")
        assert "Decisions" in summary and "due date" in summary
        assert "quieter" in page.input_value("#reflections")
        page.fill("#decisions", "Share the weight concern with the GP.")
        page.fill("#action-1-due", "2026-12-11")
        page.click("#record-supervision")
        page.wait_for_selector(".govuk-notification-banner--success")
        _checked(page, problems)
        assert "Speak to Amelia alone" in page.inner_text("#records ~ div")
        assert [e for e in page.js_errors if "status of 422" not in e] == []
    assert problems == []
    with served.factory() as session:
        record = session.scalars(select(SupervisionRecord)).one()
        assert record.decisions == "Share the weight concern with the GP."
