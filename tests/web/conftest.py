"""Browser tests: one Chromium a module, and the journeys' picture built once a module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.browser import AXE, chromium, chromium_path
from tests.web.served import BuiltPicture, Served, build_served_picture, serve_a_copy


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for the module's tests; each test's page is in a context of its own."""
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def built_picture(tmp_path_factory: pytest.TempPathFactory) -> BuiltPicture:
    chromium_path()
    if not AXE.is_file():
        pytest.fail("axe-core is not installed: run npm ci (scripts/bootstrap does)")
    return build_served_picture(tmp_path_factory.mktemp("journeys") / "picture.sqlite3")


@pytest.fixture
def served(built_picture: BuiltPicture, tmp_path: Path) -> Iterator[Served]:
    """The journeys' picture on a live server, in a database copy of the test's own."""
    with serve_a_copy(built_picture, tmp_path) as served:
        yield served
