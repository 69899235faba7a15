"""End to end in Chromium: the API documentation renders from local assets with no script errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from fullpicture.core import migrations
from fullpicture.core.database import make_engine, session_factory
from fullpicture.core.runtime import request_session
from fullpicture.web.app import create_app
from tests.web.browser import browser_page, chromium_path, live_server


@pytest.fixture
def served_app(tmp_path: Path) -> Iterator[str]:
    chromium_path()
    engine = make_engine(f"sqlite:///{tmp_path / 'browser.sqlite3'}")
    migrations.upgrade(engine)
    factory = session_factory(engine)
    app = create_app()

    def _session() -> Iterator[Session]:
        with factory.begin() as session:
            yield session

    app.dependency_overrides[request_session] = _session
    with live_server(app) as url:
        yield url
    engine.dispose()


def test_api_docs_render_in_chromium(served_app: str, tmp_path: Path) -> None:
    with browser_page() as page:
        page.goto(f"{served_app}/api/docs")
        page.wait_for_selector("text=/healthz", timeout=15_000)
        assert "fullpicture" in page.inner_text("body")
        page.screenshot(path=str(tmp_path / "api-docs.png"), full_page=True)
        assert page.js_errors == []
