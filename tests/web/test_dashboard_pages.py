"""The partnership dashboard page: the five figures as tables and labelled SVG charts with
their exports, aggregates only (no child's name), a bad date refused in the error summary, and
refused to every role without ``aggregates:read`` (at any agency)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access.models import AuditEntry, Role
from fullpicture.partnership import dashboard
from fullpicture.people.models import SourceRecord
from tests.access.principals import make_agency
from tests.partnership.test_dashboard import TODAY, _dataset
from tests.web.pages import BROWSER, sign_in


def test_an_analyst_sees_every_figure_as_table_and_chart(
    app_client: TestClient, db_session: Session
) -> None:
    _dataset(db_session)
    sign_in(app_client, db_session, role=Role.PARTNERSHIP_ANALYST, agency=None)
    page = app_client.get(f"/dashboard?as_of={TODAY.isoformat()}", headers=BROWSER)
    assert page.status_code == 200, page.text
    assert f"As of {TODAY.isoformat()}." in page.text
    for name in dashboard.FIGURES:
        assert f'id="{name}"' in page.text
        # The exports are of the figures shown: the same date, not today's.
        assert f'href="/api/v1/dashboard/{name}.csv?as_of={TODAY.isoformat()}"' in page.text
        assert f'href="/api/v1/dashboard/{name}.parquet?as_of={TODAY.isoformat()}"' in page.text
        assert f'id="{name}-chart-title"' in page.text
    # Bars carry their label and value as text (readable in print, not by colour).
    assert "school-sh-dash to gp-sh-dash" in page.text
    assert "median 2 days, 1 never shared" in page.text
    assert "50% present (1 of 2)" in page.text
    assert "stage 2, open" in page.text and "1 escalations" in page.text
    assert "overdue:icpc (child_protection)" in page.text
    names = {
        name
        for given, family in db_session.execute(
            select(SourceRecord.given_name, SourceRecord.family_name)
        )
        for name in (given, family)
        if name
    }
    assert names and not [n for n in names if n in page.text]  # aggregates only
    assert db_session.scalars(select(AuditEntry).where(AuditEntry.action == "dashboard.read")).all()


def test_a_date_that_is_not_one_is_refused_in_the_error_summary(
    app_client: TestClient, db_session: Session
) -> None:
    sign_in(app_client, db_session, role=Role.PARTNERSHIP_ANALYST, agency=None)
    for typed, message in (
        ("4 December", "Enter the date as year-month-day"),
        ("2999-01-01", "The date must be today or in the past"),
    ):
        page = app_client.get("/dashboard", params={"as_of": typed}, headers=BROWSER)
        assert page.status_code == 422
        assert "There is a problem" in page.text and message in page.text
        assert f'value="{typed}"' in page.text  # what was typed is kept
        assert 'id="referral_quality"' not in page.text


def test_the_page_is_refused_without_the_aggregates_scope(
    app_client: TestClient, db_session: Session
) -> None:
    _dataset(db_session)
    other = make_agency(db_session)
    for role, agency in (
        (Role.DESIGNATED_LEAD, other),
        (Role.SOCIAL_WORKER, other),
        (Role.AUDITOR, None),
    ):
        app_client.cookies.clear()
        sign_in(app_client, db_session, role=role, agency=agency)
        assert app_client.get("/dashboard", headers=BROWSER).status_code == 403
        home = app_client.get("/home", headers=BROWSER)
        assert 'href="/dashboard"' not in home.text
