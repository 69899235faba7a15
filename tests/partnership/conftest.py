"""Dashboard tests create users; hash their passwords cheaply (same code paths, lower cost)."""

from tests.access.conftest import cheap_argon2  # noqa: F401  (an autouse fixture)
from tests.access.fixtures import runtime_database  # noqa: F401  (a fixture for the CLI tests)
