"""The dashboard as of a date and over a period: the same checked period for the page, the API
and the CLI, figures that count only what was recorded by then, and exports that carry it."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fullpicture.access.models import Role
from fullpicture.cli.main import app
from fullpicture.core.database import utc_now
from fullpicture.partnership import dashboard
from fullpicture.partnership.schemas import DashboardPeriod, PeriodRefused, period_from_text
from tests.access.principals import authorise_client, make_user
from tests.conftest import TestDatabase
from tests.partnership.test_dashboard import _dataset


@pytest.mark.parametrize(
    ("as_of", "since", "field", "message"),
    [
        ("4 December", None, "as_of", "Enter the date as year-month-day"),
        ("1700000000", None, "as_of", "Enter the date as year-month-day"),
        ("2999-01-01", None, "as_of", "The date must be today or in the past"),
        ("1999-12-31", None, "as_of", "The date must be in 2000 or later"),
        ("2026-11-01", "2026-11-02", "since", "The start of the period must be on or before"),
        ("2026-11-01", "last spring", "since", "Enter the date as year-month-day"),
    ],
)
def test_a_period_that_is_not_one_is_refused(
    as_of: str, since: str | None, field: str, message: str
) -> None:
    with pytest.raises(PeriodRefused) as refused:
        period_from_text(as_of, since)
    assert [f for f, _ in refused.value.problems] == [field]
    assert refused.value.problems[0][1].startswith(message)


def test_an_empty_period_is_everything_to_today() -> None:
    assert period_from_text("", " ") == DashboardPeriod(as_of=utc_now().date())
    dated = period_from_text(" 2026-11-30 ", "2026-04-01")
    assert (dated.as_of, dated.since) == (dt.date(2026, 11, 30), dt.date(2026, 4, 1))
    assert dated.file_stem("drift") == "drift-as-of-2026-11-30-since-2026-04-01"


def test_figures_count_only_what_was_recorded_in_the_period(db_session: Session) -> None:
    _dataset(db_session)
    school = "school-sh-dash"

    def latency(
        today: dt.date, since: dt.date | None = None
    ) -> dict[str, tuple[int, int, int, float | None]]:
        frame = dashboard.figure(db_session, "sharing_latency", today=today, since=since)
        return {
            r["to_agency"]: (
                r["significant_entries"],
                r["received"],
                r["never_shared"],
                r["median_days"],
            )
            for r in frame.to_dicts()
            if r["from_agency"] == school
        }

    # 3 March: the first significant entry (recorded 2 March) was sent to the GP on 4 March.
    assert latency(dt.date(2026, 3, 3)) == {
        "gp-sh-dash": (1, 0, 1, None),
        "police-sh-dash": (1, 0, 1, None),
    }
    assert latency(dt.date(2026, 3, 4))["gp-sh-dash"] == (1, 1, 0, 2.0)
    # From 5 March only the entry recorded on 10 March counts, and it was never sent.
    assert latency(dt.date(2026, 12, 4), dt.date(2026, 3, 5))["gp-sh-dash"] == (1, 0, 1, None)
    # 31 October: before the escalation (2 Nov), the alerts (1 Nov) and the referrals (5 Nov).
    before = dashboard.all_figures(db_session, today=dt.date(2026, 10, 31))
    assert before["escalations"].height == 0
    assert before["alert_outcomes"].height == 0
    assert before["referral_quality"].height == 0
    assert {(r["finding"], r["cases"]) for r in before["drift"].to_dicts()} == {
        ("case_without_lead", 1),
        ("overdue:icpc", 1),  # the strategy discussion was on 1 October
    }
    # 2 October: the case was open, its conference not yet due.
    early = dashboard.figure(db_session, "drift", today=dt.date(2026, 10, 2))
    assert early["finding"].to_list() == ["case_without_lead"]
    # 30 September: the case was not yet open.
    assert dashboard.figure(db_session, "drift", today=dt.date(2026, 9, 30)).height == 0
    after = dashboard.all_figures(
        db_session, today=dt.date(2026, 12, 4), since=dt.date(2026, 11, 3)
    )
    assert after["escalations"].height == 0  # opened 2 Nov, before the period
    assert after["referral_quality"]["referrals"].to_list() == [2, 2]


def test_the_api_exports_carry_their_period(app_client: TestClient, db_session: Session) -> None:
    _dataset(db_session)
    authorise_client(app_client, db_session, role=Role.PARTNERSHIP_ANALYST)
    csv_response = app_client.get("/api/v1/dashboard/escalations.csv?as_of=2026-10-31")
    assert csv_response.status_code == 200
    assert csv_response.text.strip() == "stage,status,escalations,self_escalated"
    assert (
        'filename="escalations-as-of-2026-10-31.csv"' in csv_response.headers["content-disposition"]
    )
    parquet = app_client.get(
        "/api/v1/dashboard/escalations.parquet",
        params={"as_of": "2026-12-04", "since": "2026-11-01"},
    )
    assert parquet.status_code == 200
    assert (
        "escalations-as-of-2026-12-04-since-2026-11-01.parquet"
        in parquet.headers["content-disposition"]
    )
    metadata = pl.read_parquet_metadata(io.BytesIO(parquet.content))
    assert metadata["fullpicture.as_of"] == "2026-12-04"
    assert metadata["fullpicture.since"] == "2026-11-01"
    assert pl.read_parquet(io.BytesIO(parquet.content))["escalations"].to_list() == [1]
    body = app_client.get("/api/v1/dashboard?as_of=2026-10-31")
    assert body.status_code == 200 and body.json()["alert_outcomes"] == []
    assert body.headers["x-figures-period"] == "as of 2026-10-31"
    for query, message in (
        ("as_of=2999-01-01", "The date must be today or in the past"),
        ("as_of=2026-11-01&since=2026-12-01", "The start of the period must be on or before"),
        ("as_of=yesterday", "Enter the date as year-month-day"),
    ):
        refused = app_client.get(f"/api/v1/dashboard/drift.csv?{query}")
        assert refused.status_code == 422
        assert message in refused.text


def test_the_cli_exports_carry_their_period(runtime_database: TestDatabase, tmp_path: Path) -> None:
    with Session(runtime_database.engine) as session:
        make_user(session, role=Role.PARTNERSHIP_ANALYST, username="analyst")
        session.commit()
    out = tmp_path / "drift.parquet"
    result = CliRunner().invoke(
        app,
        [
            *("dashboard", "--figure", "drift", "--format", "parquet", "--out", str(out)),
            *("--as-of", "2026-11-30", "--since", "2026-04-01", "--as", "analyst"),
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert "from 2026-04-01 to 2026-11-30" in result.output
    assert pl.read_parquet_metadata(out)["fullpicture.as_of"] == "2026-11-30"
    refused = CliRunner().invoke(
        app, ["dashboard", "--as-of", "2026-13-01", "--as", "analyst"], terminal_width=200
    )
    assert refused.exit_code == 2
    assert "--as-of: Enter the date as year-month-day" in refused.output
