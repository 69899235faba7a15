"""``fullpicture serve --workers``: several processes must be able to read each other's
session cookies, and each builds the app itself from the same factory."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
import uvicorn

from fullpicture.cli import serve
from fullpicture.core import settings as core_settings


class _Supervisor:
    """Stands in for uvicorn's process supervisor: records what it was given, starts nothing."""

    seen: ClassVar[list[tuple[uvicorn.Config, dict[str, str]]]] = []

    def __init__(self, config: uvicorn.Config, sockets: list[Any]) -> None:
        self.config = config
        for open_socket in sockets:
            open_socket.close()
        _Supervisor.seen.append((config, dict(os.environ)))

    def run(self) -> None:
        return None


def test_several_processes_share_one_session_key_and_build_the_app_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FULLPICTURE_SESSION_SECRET", raising=False)
    # Only the settings are re-read; the process's signing key stays as other tests made it.
    core_settings.get_settings.cache_clear()
    monkeypatch.setattr(serve, "Multiprocess", _Supervisor)
    _Supervisor.seen.clear()
    try:
        serve.run_server(host="127.0.0.1", port=0, workers=2)
        (config, environment), *_ = _Supervisor.seen
        assert config.workers == 2
        assert config.factory is True
        assert config.app == "fullpicture.cli.serve:serving_app"
        assert config.http == "h11"  # the header limit still holds in every process
        # Without a configured secret, each process would sign with its own random key and
        # refuse the others' cookies; the one key goes to them through the environment.
        shared = environment.get("FULLPICTURE_SESSION_SECRET", "")
        assert shared and shared == core_settings.session_signing_key()
    finally:
        monkeypatch.delenv("FULLPICTURE_SESSION_SECRET", raising=False)
        core_settings.get_settings.cache_clear()


def test_a_configured_session_key_is_left_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FULLPICTURE_SESSION_SECRET", "configured-by-the-operator-" + "x" * 20)
    # Only the settings are re-read; the process's signing key stays as other tests made it.
    core_settings.get_settings.cache_clear()
    monkeypatch.setattr(serve, "Multiprocess", _Supervisor)
    _Supervisor.seen.clear()
    try:
        serve.run_server(host="127.0.0.1", port=0, workers=3)
        (config, environment), *_ = _Supervisor.seen
        assert config.workers == 3
        assert environment["FULLPICTURE_SESSION_SECRET"] == "configured-by-the-operator-" + "x" * 20
    finally:
        core_settings.get_settings.cache_clear()


@pytest.mark.parametrize(
    ("dialect", "configured", "expected"),
    [
        ("postgresql", "", len(os.sched_getaffinity(0))),
        ("sqlite", "", 1),  # one writer at a time: a second process would only wait for it
        ("postgresql", "3", 3),
        ("sqlite", "2", 2),  # the operator's choice stands
    ],
)
def test_serve_runs_a_process_per_core_on_postgresql_unless_told(
    monkeypatch: pytest.MonkeyPatch, dialect: str, configured: str, expected: int
) -> None:
    if configured:
        monkeypatch.setenv("FULLPICTURE_WEB_WORKERS", configured)
    else:
        monkeypatch.delenv("FULLPICTURE_WEB_WORKERS", raising=False)
    core_settings.get_settings.cache_clear()
    monkeypatch.setattr(
        serve, "get_engine", lambda: SimpleNamespace(dialect=SimpleNamespace(name=dialect))
    )
    try:
        assert serve.default_workers() == expected
    finally:
        core_settings.get_settings.cache_clear()
