"""Alembic migration environment of the store (shipped with the package)."""
