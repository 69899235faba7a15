"""The practitioner's journeys in Chromium (Debian's, driven by Playwright), with axe-core
(from npm, injected by the test) checking every page for serious or critical accessibility
violations, and a school user's walk through every page it can reach failing if any page
shows a child the school does not know."""

from __future__ import annotations

import re
from typing import Any

import pytest

from fullpicture.core.database import unit_of_work
from fullpicture.harm.models import AlertStatus, HarmAlert
from tests.web.browser import AXE, browser_page
from tests.web.served import Served

SERIOUS = ("serious", "critical")


def _axe(page: Any) -> list[str]:
    """Serious and critical axe-core violations on the page as it stands."""
    found: list[str] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations
                .filter(v => ["serious", "critical"].includes(v.impact))
                .map(v => `${v.id}: ${v.nodes.map(n => n.target.join(" ")).join(", ")}`);
        }"""
    )
    return found


def _sign_in(page: Any, served: Served, who: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{served.url}/sign-in")
    page.fill("#username", served.users[who])
    page.fill("#password", served.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served.url}/home")


def _checked(page: Any, problems: list[str]) -> None:
    violations = _axe(page)
    if violations:
        problems.append(f"{page.url}: {violations}")


def test_a_designated_lead_walks_the_journeys(browser: Any, served: Served) -> None:
    problems: list[str] = []
    with browser_page(browser) as page:
        page.context.add_init_script(path=str(AXE))
        page.goto(f"{served.url}/sign-in")
        _checked(page, problems)
        _sign_in(page, served, "school")
        _checked(page, problems)
        # What is overdue: the plan the school leads, and the alert routed to it (19 days old).
        overdue = page.inner_text("#home-overdue")
        assert "No recorded contact with the child" in overdue
        assert "for 40 days" in overdue and "Alert not acknowledged" in overdue
        assert "Amelia Okafor" in overdue

        # Find a child by a misspelt name, and open them.
        page.click("text=Find a child")
        page.fill("#name", "Amelya Okafur")
        page.click("button:has-text('Search')")
        page.wait_for_selector("#find-results")
        _checked(page, problems)
        assert "given name sounds alike" in page.inner_text("#find-results")
        page.click(f"#find-results a[href='/children/{served.child_id}']")
        page.wait_for_selector("#child-name")
        _checked(page, problems)
        assert page.inner_text("#child-name") == "Amelia Okafor"

        # The combined chronology, then one agency's view beside it.
        combined = page.inner_text("#combined-chronology")
        assert "Not brought to the school nurse" in combined
        page.select_option("#view", index=1)
        page.click("button:has-text('Show entries')")
        page.wait_for_selector("#side-by-side")
        _checked(page, problems)
        assert "Not brought" in page.inner_text("#agency-chronology")

        # Acknowledge the alert routed to the school.
        page.click(f"a[href='/alerts/{served.alert_id}']")
        page.wait_for_selector("#decision")
        _checked(page, problems)
        page.click("button:has-text('Acknowledge the alert')")
        page.wait_for_selector(".govuk-error-summary")  # nothing typed: said so, not lost
        _checked(page, problems)
        page.fill("#decision", "Spoke to the school nurse; early help offered to mother.")
        page.click("button:has-text('Acknowledge the alert')")
        page.wait_for_selector("text=Decided by")
        _checked(page, problems)

        # Write a referral that the checker improves, then submit it.
        page.goto(f"{served.url}/children/{served.child_id}")
        page.click("text=Write a referral about")
        page.wait_for_selector("#referral-form")
        _checked(page, problems)
        page.fill("#concern_narrative", "Mum seemed a bit off today.")
        page.wait_for_selector("mark.fp-vague")  # the live check, as the practitioner types
        weak = int(page.inner_text("#check-score strong"))
        page.fill(
            "#concern_narrative",
            "On 3 March at 08:50 Amelia arrived with a 3 cm bruise on her left cheek. "
            'She said "Dad hit me with his belt last night".',
        )
        page.fill("#child_voice", 'Amelia said "Dad hit me with his belt last night".')
        page.fill("#request", "Please consider a strategy discussion today.")
        page.click("#check-button")
        page.wait_for_selector("#check-score")
        _checked(page, problems)
        assert int(page.inner_text("#check-score strong")) > weak
        page.click("#submit-button")
        page.wait_for_selector("text=Referral submitted")
        _checked(page, problems)

        page.goto(f"{served.url}/account")
        _checked(page, problems)
        page.goto(f"{served.url}/people/{served.child_id}/access-log")
        _checked(page, problems)
        # Chromium logs the deliberate validation refusal (422) to the console; anything else (a
        # CSP violation, a script error) would be a fault of the pages.
        assert [e for e in page.js_errors if "status of 422" not in e] == []
    assert problems == []
    with unit_of_work(served.factory) as session:
        alert = session.query(HarmAlert).filter_by(public_id=served.alert_id).one()
        assert alert.status is AlertStatus.ACKNOWLEDGED
        assert alert.decided_by == f"user:{served.users['school']}"


def test_record_and_correct_an_entry_keep_a_draft_and_confirm_a_link(
    browser: Any, served: Served
) -> None:
    problems: list[str] = []
    with browser_page(browser) as page:
        page.context.add_init_script(path=str(AXE))
        _sign_in(page, served, "school_teacher")
        page.goto(f"{served.url}/children/{served.child_id}")
        page.click("text=Record an entry")
        page.wait_for_selector("#entry-form")
        _checked(page, problems)
        page.fill("#summary", "Amelia came in hungry and said there was no food at home.")
        page.click("#suggest-button")
        page.wait_for_selector("#suggestions")
        _checked(page, problems)
        page.select_option("#concern_code", "NEG-BAS")
        page.check("#information_type-reported")
        page.click("#save-entry")
        page.wait_for_selector(".govuk-error-summary")  # no date: said so, nothing lost
        _checked(page, problems)
        assert "no food at home" in page.input_value("#summary")
        page.fill("#event_date", "2026-11")
        page.click("#save-entry")
        page.wait_for_selector("#versions")
        _checked(page, problems)
        page.click("text=Correct this entry")
        page.wait_for_selector("#reason")
        page.fill("#summary", "Amelia came in hungry and said there was no breakfast at home.")
        page.fill("#reason", "She said breakfast, not food at all.")
        page.click("#save-entry")
        page.wait_for_selector("text=Why it was corrected")
        _checked(page, problems)
        versions = page.inner_text("#versions")
        assert "no food at home" in versions and "no breakfast at home" in versions

        # The session ends while a referral is being written: the draft comes back.
        page.goto(f"{served.url}/referrals/new?child={served.child_id}")
        page.fill("#concern_narrative", "Amelia told me she is scared of her dad's friend.")
        page.context.clear_cookies()
        page.click("#check-button")
        page.wait_for_url(re.compile(r".*/sign-in\?next=.*"))
        page.fill("#username", served.users["school_teacher"])
        page.fill("#password", served.password)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/referrals/new\?child=.*"))
        assert "scared of her dad's friend" in page.input_value("#concern_narrative")

        # A front-door worker confirms a link with a reason.
        _sign_in(page, served, "front_door")
        page.click("text=Link review")
        page.wait_for_selector("#review-queue")
        _checked(page, problems)
        page.click(f"a[href='/linkage/review/{served.review_item_id}']")
        page.wait_for_selector("#pair")
        _checked(page, problems)
        page.check("#action-confirm")
        page.fill("#reason", "The surgery confirms these are the same child.")
        page.click("button:has-text('Record the decision')")
        page.wait_for_selector("#decisions")
        _checked(page, problems)
        assert "Confirm" in page.inner_text("#decisions")
        assert [e for e in page.js_errors if "status of 422" not in e] == []
    assert problems == []


def _sign_in_again(page: Any, served: Served, who: str) -> None:
    page.wait_for_url(re.compile(r".*/sign-in\?next=.*"))
    page.fill("#username", served.users[who])
    page.fill("#password", served.password)
    page.click("button[type=submit]")


def test_drafts_come_back_after_sign_in_and_are_forgotten_once_saved(
    browser: Any, served: Served
) -> None:
    """What was typed and chosen survives an expired session on each kind of form, and a
    saved form does not come back into the next one."""
    entry_form = f"{served.url}/children/{served.child_id}/entries/new"
    with browser_page(browser) as page:
        _sign_in(page, served, "school_teacher")
        page.goto(entry_form)
        page.fill("#summary", "Amelia said her stepdad shouts at night.")
        page.select_option("#concern_code", "NEG-BAS")
        page.check("#information_type-reported")
        page.context.clear_cookies()
        page.click("#save-entry")
        _sign_in_again(page, served, "school_teacher")
        page.wait_for_url(re.compile(r".*/entries/new$"))
        assert "stepdad shouts" in page.input_value("#summary")
        assert page.input_value("#concern_code") == "NEG-BAS"
        assert page.is_checked("#information_type-reported")
        page.fill("#event_date", "2026-11")
        page.click("#save-entry")
        page.wait_for_selector("#versions")
        page.goto(entry_form)
        assert page.input_value("#summary") == ""
        assert not page.is_checked("#information_type-reported")

        # A referral saved as a draft is not typed into the next new referral for the child.
        page.goto(f"{served.url}/referrals/new?child={served.child_id}")
        page.fill("#concern_narrative", "Amelia has been late every day this week.")
        page.click("#check-button")
        page.wait_for_url(re.compile(r".*/referrals/(?!new)[^/?]+$"))
        page.goto(f"{served.url}/referrals/new?child={served.child_id}")
        assert page.input_value("#concern_narrative") == ""

        # A disagreement raised as the session ended comes back to its own form.
        page.goto(f"{served.url}/children/{served.child_id}/escalations/new")
        page.fill("#disagreement", "We think the threshold for a strategy discussion is met.")
        page.context.clear_cookies()
        page.click("#raise-escalation")
        _sign_in_again(page, served, "school_teacher")
        page.wait_for_url(re.compile(r".*/escalations/new$"))
        assert "threshold for a strategy" in page.input_value("#disagreement")
        assert page.js_errors == []


def test_a_front_door_worker_opens_a_child_through_an_alert_routed_to_it(
    browser: Any, served: Served
) -> None:
    """The front door holds no record of the child; the alert routed to it opens the child
    (its pooled view: the other GP's entry) so it can decide. Every page it reaches from
    there opens (no refusal, no error) and passes axe-core."""
    problems: list[str] = []
    with browser_page(browser) as page:
        page.context.add_init_script(path=str(AXE))
        _sign_in(page, served, "csc_front_door")
        _checked(page, problems)
        assert "Zebedee Quarrington" in page.inner_text("#home-alerts")
        assert "Alert not acknowledged" in page.inner_text("#home-overdue")
        page.click(f"#home-alerts a[href='/children/{served.stranger_id}']")
        page.wait_for_selector("#child-name")
        _checked(page, problems)
        assert page.inner_text("#child-name") == "Zebedee Quarrington"
        assert "Zebedee seen with a bruise" in page.inner_text("#combined-chronology")
        # A sharing decision is about what the agency holds: with no record, none is offered.
        sharing = f"/children/{served.stranger_id}/sharing/new"
        assert page.locator(f"a[href='{sharing}']").count() == 0
        page.click(f"#child-alerts a[href='/alerts/{served.routed_alert_id}']")
        page.wait_for_selector("#decision")
        _checked(page, problems)
        page.fill("#decision", "Checked with the surgery; strategy discussion arranged.")
        page.click("button:has-text('Acknowledge the alert')")
        page.wait_for_selector("text=Decided by")
        _checked(page, problems)

        starts = ["/home", f"/children/{served.stranger_id}", "/alerts?show=all", "/referrals"]
        starts.append(sharing)  # not offered; opened anyway, it says why
        refused: list[str] = []
        for path in _walk(page, served, starts):
            response = page.goto(f"{served.url}{path}")
            if response is None or response.status >= 400:
                refused.append(f"{path}: {response.status if response else 'no answer'}")
            _checked(page, problems)
        assert refused == []
        assert [e for e in page.js_errors if "status of 422" not in e] == []
    assert problems == []
    with unit_of_work(served.factory) as session:
        alert = session.query(HarmAlert).filter_by(public_id=served.routed_alert_id).one()
        assert alert.status is AlertStatus.ACKNOWLEDGED
        assert alert.decided_by == f"user:{served.users['csc_front_door']}"


#: Never followed while walking: signing out, downloads, and the API.
NOT_WALKED = re.compile(r"^/(sign-out|api/|static/|assets/)|\.(csv|pdf)(\?|$)")


def _walk(page: Any, served: Served, starts: list[str], limit: int = 40) -> list[str]:
    seen: set[str] = set()
    queue = list(starts)
    visited: list[str] = []
    while queue and len(visited) < limit:
        path = queue.pop(0)
        if path in seen or NOT_WALKED.search(path):
            continue
        seen.add(path)
        page.goto(f"{served.url}{path}")
        visited.append(path)
        for href in page.eval_on_selector_all(
            "main a[href^='/']", "links => links.map(a => a.getAttribute('href'))"
        ):
            target = href.split("#")[0]
            if target and target not in seen:
                queue.append(target)
    return visited


@pytest.mark.parametrize(
    "who",
    ["school_teacher", "school", "gp", "auditor", "social_worker", "team_manager", "administrator"],
)
def test_every_page_a_user_reaches_shows_only_children_their_agency_knows(
    browser: Any, served: Served, who: str
) -> None:
    """Walks every page reachable from home, a search and the alerts, as this user; fails on
    any page naming the child only another GP knows, and on any serious axe violation."""
    problems: list[str] = []
    leaks: list[str] = []
    # Names are looked for in what the page says (a search box may hold what the user typed);
    # the child's id and records anywhere in the page, links included.
    names = ["Zebedee", "Quarrington"]
    ids = [served.stranger_id, *served.stranger_refs]
    with browser_page(browser) as page:
        page.context.add_init_script(path=str(AXE))
        _sign_in(page, served, who)
        starts = [
            "/home",
            "/children?name=Zebedee+Quarrington",
            "/children?postcode=CR0+1AA",
            "/alerts?show=all",
            f"/children/{served.stranger_id}",
            "/referrals",
            "/account",
        ]
        visited = _walk(page, served, starts)
        for path in visited:
            page.goto(f"{served.url}{path}")
            text, html = page.inner_text("body"), page.content()
            leaks.extend(f"{path} says {word!r}" for word in names if word in text)
            leaks.extend(f"{path} holds {word!r}" for word in ids if word in html)
            _checked(page, problems)
    assert len(visited) >= 5
    assert leaks == []
    assert problems == []


def test_the_api_docs_try_a_write_as_the_signed_in_user(browser: Any, served: Served) -> None:
    """Swagger UI's "Try it out" on a POST, signed in: the request carries the session's CSRF
    token and is answered (it was refused with "The CSRF token is missing or wrong")."""
    answers: list[tuple[str, int, bool]] = []
    with browser_page(browser) as page:
        _sign_in(page, served, "school_teacher")
        page.on(
            "response",
            lambda r: (
                answers.append(
                    (r.request.method, r.status, bool(r.request.headers.get("x-csrf-token")))
                )
                if r.url.endswith("/api/v1/referrals/check")
                else None
            ),
        )
        page.goto(f"{served.url}/api/docs")
        page.wait_for_selector(".opblock-post", timeout=30_000)
        operation = page.locator(".opblock-post").filter(
            has=page.locator('[data-path="/api/v1/referrals/check"]')
        )
        operation.locator(".opblock-summary").click()
        operation.locator("button:has-text('Try it out')").click()
        operation.locator("textarea.body-param__text").fill(
            '{"text": "Mum seemed a bit off today.", "child_id": null}'
        )
        operation.locator("button:has-text('Execute')").click()
        page.wait_for_selector(".live-responses-table .response-col_status", timeout=30_000)
        assert page.js_errors == []
    assert answers == [("POST", 200, True)]
