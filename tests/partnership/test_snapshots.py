"""Stored dashboard figures: a refresh stores exactly the figures computed live, the page and
the exports show the stored ones with when they were computed until someone computes them
again, an analyst (only) can, and the scheduler refreshes today's and forgets old ones."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager

import polars as pl
import pytest
from fastapi.testclient import TestClient
from polars.testing import assert_frame_equal
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access.models import AuditEntry, Role
from fullpicture.cli import inbox
from fullpicture.core.database import utc_now
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.partnership import dashboard, snapshots
from fullpicture.partnership.models import DashboardFigureSnapshot
from fullpicture.partnership.schemas import DashboardPeriod
from fullpicture.workflow import timed
from tests.access.principals import authorise_client, make_agency, make_user
from tests.conftest import TestDatabase
from tests.partnership.test_dashboard import TODAY, _dataset
from tests.web.pages import BROWSER, csrf_of, sign_in

UTC = dt.UTC
PERIOD = DashboardPeriod(as_of=TODAY)


def _another_alert(db_session: Session) -> None:
    """Something recorded after the figures were stored: one more new alert."""
    alert = db_session.scalars(select(HarmAlert)).first()
    assert alert is not None
    db_session.add(
        HarmAlert(
            person_id=alert.person_id,
            kind="c",
            raised_on=dt.date(2026, 11, 2),
            score=1.0,
            reason="r",
            evidence={"event_ids": []},
            model_version="t",
            status=AlertStatus.NEW,
            routed_to_agency_id=alert.routed_to_agency_id,
            routing_reason="r",
        )
    )
    db_session.flush()


def _new_alerts(frame: pl.DataFrame) -> int:
    return int(frame.filter(pl.col("status") == "new")["alerts"].sum())


def test_a_refresh_stores_the_live_figures_exactly(db_session: Session) -> None:
    _dataset(db_session)
    assert snapshots.stored(db_session, PERIOD) is None
    now = dt.datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    refreshed = snapshots.refresh(db_session, PERIOD, actor="analyst", now=now)
    found = snapshots.stored(db_session, PERIOD)
    assert found is not None
    assert (found.computed_at, found.computed_by) == (now, "analyst")
    live = dashboard.all_figures(db_session, today=TODAY)
    for name in dashboard.FIGURES:
        # Same rows, columns and types: Parquet keeps polars' types.
        assert_frame_equal(found.frames[name], live[name])
        assert_frame_equal(refreshed.frames[name], live[name])
    # Another period is its own: nothing stored for it yet.
    assert snapshots.stored(db_session, DashboardPeriod(as_of=TODAY, since=TODAY)) is None
    audited = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "dashboard.refresh")
    ).all()
    assert [entry.actor for entry in audited] == ["analyst"]
    # A second refresh replaces the figures rather than adding to them.
    snapshots.refresh(db_session, PERIOD, actor="analyst")
    count = db_session.scalar(select(func.count()).select_from(DashboardFigureSnapshot))
    assert count == len(dashboard.FIGURES)


def test_the_stored_figures_stay_until_computed_again(db_session: Session) -> None:
    _dataset(db_session)
    snapshots.refresh(db_session, PERIOD, actor="analyst")
    _another_alert(db_session)
    found = snapshots.stored(db_session, PERIOD)
    assert found is not None and _new_alerts(found.frames["alert_outcomes"]) == 1
    again = snapshots.refresh(db_session, PERIOD, actor="analyst")
    assert _new_alerts(again.frames["alert_outcomes"]) == 2


def test_the_scheduler_refreshes_today_and_forgets_old_figures(db_session: Session) -> None:
    _dataset(db_session)
    old = dt.datetime(2026, 10, 1, tzinfo=UTC)
    snapshots.refresh(db_session, DashboardPeriod(as_of=old.date()), actor="analyst", now=old)
    now = dt.datetime(2026, 12, 4, 6, tzinfo=UTC)
    snapshots.refresh_today(db_session, now=now)
    kept = db_session.execute(
        select(DashboardFigureSnapshot.as_of, DashboardFigureSnapshot.computed_by).distinct()
    ).all()
    assert kept == [(TODAY, snapshots.SCHEDULER)]


def test_the_page_shows_when_the_figures_were_computed_and_an_analyst_refreshes_them(
    app_client: TestClient, db_session: Session
) -> None:
    _dataset(db_session)
    sign_in(app_client, db_session, role=Role.PARTNERSHIP_ANALYST, agency=None)
    path = f"/dashboard?as_of={TODAY.isoformat()}"
    first = app_client.get(path, headers=BROWSER)
    assert first.status_code == 200
    # Never computed for this period before: computed on this view, and stored.
    found = snapshots.stored(db_session, PERIOD)
    assert found is not None
    computed = f"{found.computed_at:%H:%M} UTC on {found.computed_at:%d %b %Y}"
    assert f"These figures were computed at {computed}" in first.text
    assert 'action="/dashboard/refresh"' in first.text
    _another_alert(db_session)
    # The stored figures (one new alert) until someone computes them again.
    assert "1 alerts" in app_client.get(path, headers=BROWSER).text.split('id="alert_outcomes"')[1]
    refused = app_client.post(
        "/dashboard/refresh", data={"as_of": TODAY.isoformat()}, headers=BROWSER
    )
    assert refused.status_code == 403  # no CSRF token: nothing computed
    done = app_client.post(
        "/dashboard/refresh",
        data={"as_of": TODAY.isoformat(), "csrf_token": csrf_of(first.text)},
        headers=BROWSER,
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{path}#computed"
    again = app_client.get(path, headers=BROWSER).text
    assert "2 alerts" in again.split('id="alert_outcomes"')[1]
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "dashboard.refresh")
        )
        == 2
    )
    # A period that is not one goes back to the page, which says what to fix.
    bad = app_client.post(
        "/dashboard/refresh",
        data={"as_of": "yesterday", "csrf_token": csrf_of(first.text)},
        headers=BROWSER,
    )
    assert bad.status_code == 422 and "year-month-day" in bad.text


def test_only_analysts_refresh(app_client: TestClient, db_session: Session) -> None:
    _dataset(db_session)
    sign_in(app_client, db_session, role=Role.SOCIAL_WORKER, agency=make_agency(db_session))
    home = app_client.get("/home", headers=BROWSER)
    refused = app_client.post(
        "/dashboard/refresh",
        data={"as_of": TODAY.isoformat(), "csrf_token": csrf_of(home.text)},
        headers=BROWSER,
    )
    assert refused.status_code == 403
    assert snapshots.stored(db_session, PERIOD) is None


def test_the_exports_serve_the_stored_figures_and_say_when(
    app_client: TestClient, db_session: Session
) -> None:
    _dataset(db_session)
    now = dt.datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    snapshots.refresh(db_session, PERIOD, actor="analyst", now=now)
    _another_alert(db_session)
    authorise_client(app_client, db_session, role=Role.PARTNERSHIP_ANALYST)
    query = f"as_of={TODAY.isoformat()}"
    parquet = app_client.get(f"/api/v1/dashboard/alert_outcomes.parquet?{query}")
    assert parquet.headers["x-figures-computed-at"] == now.isoformat()
    assert (
        pl.read_parquet_metadata(io.BytesIO(parquet.content))["fullpicture.computed_at"]
        == now.isoformat()
    )
    assert _new_alerts(pl.read_parquet(io.BytesIO(parquet.content))) == 1
    body = app_client.get(f"/api/v1/dashboard?{query}")
    assert body.headers["x-figures-computed-at"] == now.isoformat()
    # A period never stored is computed when asked for: it counts the later alert.
    live = app_client.get("/api/v1/dashboard/alert_outcomes.csv?as_of=2026-12-03")
    assert "new,not yet acknowledged,2" in live.text


def test_the_schedule_refreshes_the_figures_beside_the_timed_work() -> None:
    jobs = {job.id: job for job in inbox.build_scheduler(5, 60).get_jobs()}
    assert set(jobs) == {timed.JOB_ID, inbox.DASHBOARD_JOB_ID}
    refresh = jobs[inbox.DASHBOARD_JOB_ID]
    assert refresh.func is snapshots.refresh_job
    assert refresh.max_instances == 1 and refresh.coalesce is True
    assert refresh.trigger.interval == dt.timedelta(minutes=60)
    assert [job.id for job in inbox.build_scheduler(5, 0).get_jobs()] == [timed.JOB_ID]


def test_an_analyst_may_ask_for_a_few_computations_an_hour(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _dataset(db_session)
    monkeypatch.setattr(snapshots, "COMPUTATIONS_PER_HOUR", 2)
    analyst, other = make_user(db_session), make_user(db_session)
    for day in (TODAY, TODAY - dt.timedelta(days=1)):
        snapshots.refresh(
            db_session, DashboardPeriod(as_of=day), actor="analyst", actor_user_id=analyst.id
        )
    third = DashboardPeriod(as_of=TODAY - dt.timedelta(days=2))
    with pytest.raises(snapshots.ComputationRefused) as refused:
        snapshots.refresh(db_session, third, actor="analyst", actor_user_id=analyst.id)
    assert refused.value.reason == "limit" and 0 < refused.value.retry_after <= 3600
    assert snapshots.stored(db_session, third) is None  # nothing computed or stored
    # The figures already stored are still shown; another analyst and the scheduler compute.
    assert snapshots.stored_or_refreshed(
        db_session, PERIOD, actor="analyst", actor_user_id=analyst.id
    )
    snapshots.refresh(db_session, third, actor="other", actor_user_id=other.id)
    snapshots.refresh(db_session, third, actor=snapshots.SCHEDULER)
    # An hour on, the analyst may again.
    snapshots.refresh(
        db_session,
        third,
        actor="analyst",
        actor_user_id=analyst.id,
        now=utc_now() + dt.timedelta(hours=1, minutes=1),
    )


def test_one_computation_runs_at_a_time(database: TestDatabase, db_session: Session) -> None:
    _dataset(db_session)
    analyst = make_user(db_session)
    with _another_computation_running(database):
        with pytest.raises(snapshots.ComputationRefused) as refused:
            snapshots.refresh(db_session, PERIOD, actor="analyst", actor_user_id=analyst.id)
        assert refused.value.reason == "busy"
        assert snapshots.stored(db_session, PERIOD) is None
    # Once it has finished, the analyst's runs.
    snapshots.refresh(db_session, PERIOD, actor="analyst", actor_user_id=analyst.id)
    assert snapshots.stored(db_session, PERIOD) is not None


def test_the_page_says_why_figures_were_not_computed(
    app_client: TestClient,
    database: TestDatabase,
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _dataset(db_session)
    monkeypatch.setattr(snapshots, "COMPUTATIONS_PER_HOUR", 1)
    sign_in(app_client, db_session, role=Role.PARTNERSHIP_ANALYST, agency=None)
    path = f"/dashboard?as_of={TODAY.isoformat()}"
    with _another_computation_running(database):
        busy = app_client.get(path, headers=BROWSER)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "30"
        assert "only one computation runs at a time" in busy.text
        assert 'id="referral_quality"' not in busy.text
        api = app_client.get(f"/api/v1/dashboard?as_of={TODAY.isoformat()}")
        assert api.status_code == 503 and api.headers["retry-after"] == "30"
    first = app_client.get(path, headers=BROWSER)
    assert first.status_code == 200 and 'id="referral_quality"' in first.text
    # The analyst's one computation this hour is spent: asked again, the page keeps the
    # stored figures and says why they were not computed again.
    again = app_client.post(
        "/dashboard/refresh",
        data={"as_of": TODAY.isoformat(), "csrf_token": csrf_of(first.text)},
        headers=BROWSER,
        follow_redirects=False,
    )
    assert again.headers["location"] == f"{path}&refused=limit#refused"
    shown = app_client.get(again.headers["location"], headers=BROWSER)
    assert shown.status_code == 200 and 'id="referral_quality"' in shown.text
    assert "The figures were not computed now." in shown.text and "in the last hour" in shown.text
    # A new period is refused outright, with the same words.
    other = app_client.get("/dashboard?as_of=2026-12-01", headers=BROWSER)
    assert other.status_code == 429 and int(other.headers["retry-after"]) > 0
    assert "in the last hour" in other.text and 'id="referral_quality"' not in other.text
    # Only the fixed texts are shown: a made-up reason shows nothing.
    made_up = app_client.get(f"{path}&refused=%3Cscript%3E", headers=BROWSER)
    assert "The figures were not computed now." not in made_up.text


@contextmanager
def _another_computation_running(database: TestDatabase) -> Iterator[None]:
    """Another process's computation holding the lock (PostgreSQL: from another connection;
    SQLite: the process's lock, as another request's thread would hold it)."""
    if database.backend != "postgresql":
        with snapshots._computing:
            yield
        return
    with database.engine.connect() as other:
        other.execute(select(func.pg_advisory_lock(snapshots._COMPUTING_LOCK)))
        try:
            yield
        finally:
            other.execute(select(func.pg_advisory_unlock(snapshots._COMPUTING_LOCK)))
            other.commit()
