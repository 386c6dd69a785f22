"""The store fixtures of tests/store/conftest.py (SQLite, SQLite through the plain path, PostgreSQL) for the
store tests that start processes."""

from tests.store.conftest import empty_store, pg_url, store, store_url, store_variant  # noqa: F401  (fixtures)
