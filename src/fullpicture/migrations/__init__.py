"""Alembic migrations. Each capability adds revisions on its own branch label when it has tables."""
