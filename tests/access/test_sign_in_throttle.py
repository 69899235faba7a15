"""Sign-in throttled per client address: after N refusals from one address (an IPv6 /64),
whatever the usernames, further attempts get 429 with Retry-After and a clear message, and no
password is checked; the count lives in the database, so every worker process shares it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.models import AuditEntry, SignInFailure
from fullpicture.core.database import session_factory, unit_of_work, utc_now
from fullpicture.core.settings import Settings, get_settings
from tests.access.principals import make_user, strong_password
from tests.conftest import TestDatabase

THRESHOLD = 3


@pytest.fixture
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FULLPICTURE_SIGN_IN_THROTTLE_FAILURES", str(THRESHOLD))
    monkeypatch.setenv("FULLPICTURE_SIGN_IN_THROTTLE_MINUTES", "10")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def client_at(db_session: Session, small_threshold: None) -> Iterator[Callable[[str], TestClient]]:
    """Clients of the app calling from a given address, bound to the test's session."""
    from fullpicture.core.runtime import request_session
    from fullpicture.web.app import create_app

    app = create_app()

    def _session() -> Iterator[Session]:
        yield db_session
        db_session.flush()

    app.dependency_overrides[request_session] = _session
    clients: list[TestClient] = []

    def make(address: str) -> TestClient:
        client = TestClient(app, client=(address, 50000))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _attempt(client: TestClient, username: str, password: str) -> Response:
    form = client.get("/sign-in")
    match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert match
    return client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": match.group(1)},
        follow_redirects=False,
    )


def test_varying_the_username_does_not_escape_the_throttle(
    client_at: Callable[[str], TestClient], db_session: Session
) -> None:
    password = strong_password()
    user = make_user(db_session, password=password)
    attacker = client_at("203.0.113.7")
    for username in ("alice", "bob", "not a username!"):  # unknown, unknown, malformed
        assert _attempt(attacker, username, "guess-guess-guess").status_code == 401
    response = _attempt(attacker, user.username, password)
    assert response.status_code == 429
    retry_after = int(response.headers["retry-after"])
    assert 0 < retry_after <= 600
    assert "Too many failed sign-ins" in response.text
    assert "fp_session" not in attacker.cookies
    db_session.refresh(user)
    assert user.failed_sign_ins == 0 and user.last_sign_in_at is None  # never checked
    throttled = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "sign_in.throttled")
    ).all()
    assert [e.target for e in throttled] == ["client:203.0.113.7"]

    # Another address is not held back by this one's failures.
    assert _attempt(client_at("198.51.100.20"), user.username, password).status_code == 303


def test_an_ipv6_client_is_counted_by_its_slash_64(
    client_at: Callable[[str], TestClient], db_session: Session
) -> None:
    for host in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"):
        assert _attempt(client_at(host), "mallory", "guess-guess-guess").status_code == 401
    assert _attempt(client_at("2001:db8:1:2::99"), "mallory", "x-x-x-x").status_code == 429
    assert _attempt(client_at("2001:db8:1:3::1"), "mallory", "x-x-x-x").status_code == 401


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        (None, "unknown"),
        ("testclient", "testclient"),
    ],
)
def test_client_network(host: str | None, key: str) -> None:
    assert access_service.client_network(host) == key


def test_the_throttle_lifts_when_failures_leave_the_window(db_session: Session) -> None:
    settings = Settings(sign_in_throttle_failures=2, sign_in_throttle_minutes=10)
    start = utc_now()
    for minutes in (0, 4):
        access_service.record_sign_in_failure(
            db_session=db_session,
            client="192.0.2.1",
            now=start + dt.timedelta(minutes=minutes),
            settings=settings,
        )

    def retry_at(minutes: float) -> int | None:
        return access_service.sign_in_retry_after(
            db_session=db_session,
            client="192.0.2.1",
            now=start + dt.timedelta(minutes=minutes),
            settings=settings,
        )

    assert retry_at(5) == 5 * 60  # until the first failure is ten minutes old
    assert retry_at(9.5) == 30
    assert retry_at(10.01) is None
    # A later failure prunes those too old to count.
    access_service.record_sign_in_failure(
        db_session=db_session,
        client="192.0.2.2",
        now=start + dt.timedelta(minutes=30),
        settings=settings,
    )
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(SignInFailure)
            .where(SignInFailure.client == "192.0.2.1")
        )
        == 0
    )


def test_the_count_is_shared_between_connections(fresh_database: TestDatabase) -> None:
    """Two workers are two database connections: failures one records, the other counts."""
    settings = Settings(sign_in_throttle_failures=2, sign_in_throttle_minutes=10)
    factory = session_factory(fresh_database.engine)
    for _ in range(2):
        with unit_of_work(factory) as worker_a:
            access_service.record_sign_in_failure(
                db_session=worker_a, client="192.0.2.9", settings=settings
            )
    with unit_of_work(factory) as worker_b:
        assert (
            access_service.sign_in_retry_after(
                db_session=worker_b, client="192.0.2.9", settings=settings
            )
            is not None
        )
