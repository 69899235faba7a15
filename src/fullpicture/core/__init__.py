"""Shared plumbing: settings, database session, ORM base, migrations."""
