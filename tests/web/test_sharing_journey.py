"""Recording a sharing decision in Chromium, with axe-core checking each page: the golden rules
beside the form, a refusal in the error summary, then the decision recorded."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from fullpicture.sharing.models import SharedEntry, SharingDecision
from tests.web.browser import AXE, browser_page
from tests.web.served import Served
from tests.web.test_journeys import _checked, _sign_in


def test_record_a_sharing_decision_in_the_browser(browser: Any, served: Served) -> None:
    problems: list[str] = []
    with browser_page(browser) as page:
        page.context.add_init_script(path=str(AXE))
        _sign_in(page, served, "school")
        page.goto(f"{served.url}/children/{served.child_id}/sharing/new")
        page.wait_for_selector("#golden-rules")
        _checked(page, problems)
        assert "Record the reasons for your information-sharing decision" in page.inner_text(
            "#golden-rules"
        )
        page.select_option("#to_agency_code", index=1)
        page.fill("#recipient_role", "named GP")
        page.fill("#purpose", "The GP is seeing Amelia this week about her weight.")
        page.check("#entry-1")
        page.check("#family-yes")
        page.click("#record-decision")
        page.wait_for_selector(".govuk-error-summary")  # no lawful basis: said so, nothing lost
        _checked(page, problems)
        assert "lawful basis" in page.inner_text(".govuk-error-summary")
        assert page.input_value("#recipient_role") == "named GP"
        page.select_option("#regime", "uk_gdpr")
        page.select_option("#basis", "public_task")
        page.click("#record-decision")
        page.wait_for_url(re.compile(r".*/children/.*\?shared=1$"))
        _checked(page, problems)
        assert [e for e in page.js_errors if "status of 422" not in e] == []
    assert problems == []
    with served.factory() as session:
        decision = session.scalars(select(SharingDecision)).one()
        assert decision.recorded_by == f"user:{served.users['school']}"
        assert len(session.scalars(select(SharedEntry)).all()) == 1
