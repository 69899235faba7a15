"""Screenshots of every page of the web app at 1280 and 390 px wide, into docs/screenshots/.

Builds a small demo (the synthetic population imported, linked and scored, as `fullpicture
demo` does) in a temporary folder, adds a user of each role that uses the pages, serves the
app on 127.0.0.1 and drives Debian's chromium through every page with Playwright.

    make screenshots            # or: .venv/bin/python scripts/screenshots.py [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WIDTHS = (1280, 390)
CHECKOUT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "from fullpicture.cli.main import app; app()", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"fullpicture {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _build_demo(workdir: Path, password: str) -> dict[str, str]:
    """The demo population, and a user per role (username -> role)."""
    os.environ["FULLPICTURE_DATA_DIR"] = str(workdir)
    os.environ["FULLPICTURE_DATABASE_URL"] = f"sqlite:///{workdir / 'screens.sqlite3'}"
    _cli("demo", "--children", "120", "--seed", "7", "--no-serve")
    agencies = _cli("agency", "list")

    def agency(kind_hint: str) -> str:
        found = re.search(rf"\b([a-z0-9-]*{kind_hint}[a-z0-9-]*)\b", agencies)
        if not found:
            raise SystemExit(f"the demo has no agency like {kind_hint!r}:\n{agencies}")
        return found.group(1)

    users = {
        "screens.dsl": ("designated_lead", agency("primary-school")),
        "screens.gp": ("practitioner", agency("gp-")),
        # A front-door worker placed at a GP practice in the demo, so the review queue has
        # pairs they may see (the demo's front door holds no records of its own).
        "screens.frontdoor": ("front_door", agency("gp-")),
        # The children's social care front door, where the demo's alerts are routed: its home
        # shows what is overdue.
        "screens.mash": ("front_door", agency("csc-")),
        "screens.auditor": ("auditor", ""),
        # Supervision lists the practitioners of the manager's own agency (the front door's).
        "screens.manager": ("team_manager", agency("csc-")),
        "screens.analyst": ("partnership_analyst", ""),
    }
    for username, (role, agency_code) in users.items():
        args = ["user", "create", username, "--name", f"Screens {role}", "--role", role]
        if agency_code:
            args += ["--agency", agency_code]
        _cli(*args, "--password-stdin", stdin=password + "\n")
    return {u: r for u, (r, _a) in users.items()}


def _serve(port: int) -> Callable[[], None]:
    import uvicorn

    from fullpicture.web.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("the app did not start")
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return stop


def _shoot(page: Any, out: Path, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(out / f"{name}-{width}.png"), full_page=True)
        print(f"  {name}-{width}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CHECKOUT / "docs" / "screenshots")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("screenshots need Debian's chromium (scripts/install-system-packages)")
    args.out.mkdir(parents=True, exist_ok=True)
    password = "Screens-" + secrets.token_urlsafe(12)
    with tempfile.TemporaryDirectory(prefix="fp-screens-") as tmp:
        _build_demo(Path(tmp), password)
        os.environ.setdefault("FULLPICTURE_SESSION_SECRET", secrets.token_urlsafe(32))
        port = _free_port()
        stop = _serve(port)
        base = f"http://127.0.0.1:{port}"
        try:
            _walk(base, password, args.out, chromium)
        finally:
            stop()


def _sign_in(page: Any, base: str, username: str, password: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/sign-in")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/home")


def _first_href(page: Any, selector: str, attribute: str = "href") -> str | None:
    found = page.locator(selector)
    return found.first.get_attribute(attribute) if found.count() else None


def _open_first(page: Any, base: str, out: Path, selector: str, name: str) -> None:
    """Follow the first link ``selector`` finds on the page, if there is one, and shoot it."""
    href = _first_href(page, selector)
    if href:
        page.goto(f"{base}{href}")
        _shoot(page, out, name)


def _walk(base: str, password: str, out: Path, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{base}/sign-in")
        _shoot(page, out, "sign-in")
        page.fill("#username", "nobody")
        page.fill("#password", "wrong")
        page.click("button[type=submit]")
        _shoot(page, out, "sign-in-error")

        _sign_in(page, base, "screens.gp", password)
        _shoot(page, out, "home")
        page.goto(f"{base}/children")
        _shoot(page, out, "find-a-child")
        page.goto(f"{base}/alerts?show=all")
        _shoot(page, out, "alerts")
        # A child with alerts has entries from several agencies: the fullest page to show.
        child = _first_href(page, "#alerts-list tbody a[href^='/children/']") or _first_href(
            page, "#home-children a"
        )
        alert = _first_href(page, "#alerts-list tbody a[href^='/alerts/']")
        if alert:
            page.goto(f"{base}{alert}")
            _shoot(page, out, "alert")
        if child:
            page.goto(f"{base}{child}")
            _shoot(page, out, "child")
            name = page.inner_text("#child-name")
            # The name as a hurried practitioner might type it: one letter dropped.
            given, _, family = name.partition(" ")
            page.goto(f"{base}/children?name={given[:-1]} {family}")
            _shoot(page, out, "find-a-child-results")
            page.goto(f"{base}{child}")
            agency = _first_href(page, "#view option:nth-child(2)", attribute="value")
            if agency:
                page.goto(f"{base}{child}?view={agency}#chronology")
                _shoot(page, out, "child-agency-view")
        if child:
            person = child.rsplit("/", 1)[-1]
            page.goto(f"{base}/referrals/new?child={person}")
            # A dated account with nothing seen: the learned adjustment reads R5 as present, so
            # the page shows its sentence and the rules' question beside the vague phrases.
            page.fill(
                "#concern_narrative",
                "I am the class teacher. On 23/11/2026 Leo told me his dad hit him. Mum said he "
                "fell. Mum seemed a bit off and the child was quite upset.",
            )
            page.click("#check-button")
            page.wait_for_selector("#check-score")
            _shoot(page, out, "referral")
            page.click("#submit-button")
            page.wait_for_selector("text=Referral submitted")
            _shoot(page, out, "referral-submitted")
            page.goto(f"{base}/children/{person}/entries/new")
            page.fill("#summary", "Came in hungry and said there was no food at home.")
            page.click("#suggest-button")
            _shoot(page, out, "record-an-entry")
            if page.locator("#concern_code").count():
                page.select_option("#concern_code", "NEG-BAS")
                page.fill("#event_date", "2026-11")
                page.click("#save-entry")
                page.wait_for_selector("#versions")
                page.click("text=Correct this entry")
                page.fill("#summary", "Came in hungry and said there was no breakfast at home.")
                page.fill("#reason", "She said breakfast, not food at all.")
                _shoot(page, out, "correct-an-entry")
                page.click("#save-entry")
                page.wait_for_selector("#versions")
                _shoot(page, out, "entry-history")
            page.goto(f"{base}/children/{person}/sharing/new")
            _shoot(page, out, "sharing-decision")
            page.goto(f"{base}/children/{person}/escalations/new")
            _shoot(page, out, "escalation-form")
            page.select_option("#with_agency_code", index=1)
            page.fill("#disagreement", "We think the threshold for a strategy discussion is met.")
            page.fill("#raised_with", "Duty team manager, children's social care")
            page.click("#raise-escalation")
            page.wait_for_selector("#escalation-heading")
            _shoot(page, out, "escalation")
        page.goto(f"{base}/referrals")
        _shoot(page, out, "referrals")
        page.goto(f"{base}/account")
        _shoot(page, out, "account")
        page.goto(f"{base}/api/docs")
        page.wait_for_selector("text=/healthz")
        _shoot(page, out, "api-docs")

        _sign_in(page, base, "screens.frontdoor", password)
        page.goto(f"{base}/linkage/review")
        _shoot(page, out, "link-review-queue")
        _open_first(page, base, out, "#review-queue a", "link-review-pair")

        _sign_in(page, base, "screens.dsl", password)
        _shoot(page, out, "home-school-lead")
        child = _first_href(page, "#home-children a")
        if child:
            page.goto(f"{base}{child}")
            person = child.rsplit("/", 1)[-1]
            page.goto(f"{base}/people/{person}/access-log")
            _shoot(page, out, "who-has-looked")

        _sign_in(page, base, "screens.mash", password)
        _shoot(page, out, "home-front-door")
        # The front door reads the pooled picture: the child of its oldest open alert, with
        # every agency's entries in the chronology and a lane each on the timeline (the GP's
        # "child" shot above shows only what the practice holds).
        page.goto(f"{base}/alerts")
        pooled = _first_href(page, "#alerts-list tbody a[href^='/children/']")
        _open_first(page, base, out, "#alerts-list tbody a[href^='/children/']", "child-front-door")
        if pooled:
            # Its agency holds no record of the child: the sharing form, opened anyway, says
            # so and shows no form (the child's page does not offer it).
            page.goto(f"{base}{pooled}/sharing/new")
            _shoot(page, out, "sharing-no-record")

        _sign_in(page, base, "screens.manager", password)
        page.goto(f"{base}/supervision")
        _shoot(page, out, "supervision-list")
        _open_first(page, base, out, "#practitioners a", "supervision")

        _sign_in(page, base, "screens.analyst", password)
        page.goto(f"{base}/dashboard")
        _shoot(page, out, "partnership-dashboard")

        _sign_in(page, base, "screens.auditor", password)
        page.goto(f"{base}/children")
        _shoot(page, out, "refused")
        browser.close()


if __name__ == "__main__":
    main()
