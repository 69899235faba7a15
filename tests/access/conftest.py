"""Access tests hash many passwords; argon2id with the library's production cost takes tens of
milliseconds each, so these tests use a cheaper argon2id (the same code paths, lower cost)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from fullpicture.access import service as access_service
from tests.access.fixtures import runtime_database  # noqa: F401  (a fixture for the tests here)


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        access_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
