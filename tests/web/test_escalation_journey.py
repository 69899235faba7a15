"""Escalating a professional disagreement in Chromium, axe-core checking each page: the school
raises it from the child's page (a missing field refused in the error summary), the GP
responds, the school escalates it to stage 2 and then records it resolved."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from fullpicture.workflow.models import Escalation, EscalationStatus
from tests.web.browser import AXE, browser_page
from tests.web.served import Served
from tests.web.test_journeys import _checked, _sign_in


def test_escalate_a_disagreement_in_the_browser(browser: Any, served: Served) -> None:
    problems: list[str] = []
    with browser_page(browser) as page:
        page.context.add_init_script(path=str(AXE))
        _sign_in(page, served, "school")
        page.goto(f"{served.url}/children/{served.child_id}")
        page.click("text=Raise a professional disagreement")
        page.wait_for_selector("#route")
        _checked(page, problems)
        # By code: the list is every agency by name, and the served picture has grown since.
        page.select_option("#with_agency_code", "gp-journey")
        page.fill("#disagreement", "The GP sees no concern in Amelia's weight loss.")
        page.click("#raise-escalation")
        page.wait_for_selector(".govuk-error-summary")
        _checked(page, problems)
        assert "Raised with" in page.inner_text(".govuk-error-summary")
        assert "weight loss" in page.input_value("#disagreement")
        page.fill("#raised_with", "Dr Patel, named GP")
        page.click("#raise-escalation")
        page.wait_for_selector("#escalation-heading")
        _checked(page, problems)
        escalation_url = page.url
        page.goto(f"{served.url}/children/{served.child_id}")
        page.click(f"#child-escalations a[href='{escalation_url.removeprefix(served.url)}']")
        page.wait_for_selector("#escalation-heading")

        _sign_in(page, served, "gp")
        page.goto(escalation_url)
        page.wait_for_selector("#respond-response")
        _checked(page, problems)
        page.fill("#respond-response", "We will see Amelia again this week.")
        page.click("#respond-button")
        page.wait_for_selector("#stages")
        assert "We will see Amelia again this week." in page.inner_text("#stages")

        _sign_in(page, served, "school")
        page.goto(escalation_url)
        page.click("#escalate-button")
        page.wait_for_selector(".govuk-error-summary")  # no reason given: refused
        _checked(page, problems)
        page.fill("#escalate-reason", "She was not seen.")
        page.fill("#escalate-raised_with", "Practice safeguarding lead")
        page.click("#escalate-button")
        page.wait_for_selector("text=Stage 2:")
        page.fill("#resolve-outcome", "Seen with the school nurse; plan agreed.")
        page.click("#resolve-button")
        page.wait_for_selector("#escalation-outcome")
        _checked(page, problems)
        assert [e for e in page.js_errors if "status of 422" not in e] == []
    assert problems == []
    with served.factory() as session:
        escalation = session.scalars(select(Escalation)).one()
        assert escalation.status is EscalationStatus.RESOLVED
        assert [s.stage for s in escalation.stages] == [1, 2]
        assert escalation.stages[0].raised_by == f"user:{served.users['school']}"
        assert escalation.stages[0].responded_by == f"user:{served.users['gp']}"
