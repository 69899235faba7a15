"""The partnership dashboard in Chromium, checked by axe-core: an analyst opens it from the
navigation, a date that is not one is refused in the error summary, then each figure shows as
a labelled chart and a table, with when the figures were computed and a button computing them
again, and no child's name anywhere, also when printed."""

from __future__ import annotations

from typing import Any

from fullpicture.access.models import Role
from fullpicture.partnership import dashboard
from tests.access.principals import make_user
from tests.web.browser import AXE, browser_page
from tests.web.served import Served
from tests.web.test_journeys import _checked, _sign_in


def test_an_analyst_reads_the_dashboard_in_the_browser(browser: Any, served: Served) -> None:
    with served.factory.begin() as session:
        served.users["analyst"] = make_user(
            session, role=Role.PARTNERSHIP_ANALYST, password=served.password
        ).username
    problems: list[str] = []
    with browser_page(browser) as page:
        page.context.add_init_script(path=str(AXE))
        _sign_in(page, served, "analyst")
        page.click("text=Partnership dashboard")
        page.wait_for_selector("#alert_outcomes")
        _checked(page, problems)
        page.fill("#as_of", "yesterday")
        page.click("#show-figures")
        page.wait_for_selector(".govuk-error-summary")
        _checked(page, problems)
        assert "year-month-day" in page.inner_text(".govuk-error-summary")
        assert page.input_value("#as_of") == "yesterday"
        page.fill("#as_of", "")
        page.click("#show-figures")
        page.wait_for_selector("#alert_outcomes")
        for name in dashboard.FIGURES:
            assert page.locator(f"svg[aria-labelledby^='{name}-chart-title']").count() == 1
        # The served picture has two new alerts (one routed to a front door holding no record
        # since 07887aa): its bar says so in words.
        assert "2 alerts" in (
            page.text_content("section[aria-labelledby='alert_outcomes'] svg") or ""
        )
        # The page says when the figures were computed, and computes them again on asking.
        assert "These figures were computed at" in page.inner_text("#computed")
        page.click("#refresh-figures")
        page.wait_for_selector("#alert_outcomes")
        _checked(page, problems)
        assert "These figures were computed at" in page.inner_text("#computed")
        page.emulate_media(media="print")
        assert page.locator(".fp-bar-chart").first.is_visible()
        assert "Amelia" not in page.content() and "Okafor" not in page.content()
        _checked(page, problems)
        assert [e for e in page.js_errors if "status of 422" not in e] == []
    assert problems == []
