"""Alembic migrations shipped with the package; run them through ftigate.store.db."""
