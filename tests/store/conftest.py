"""Fixtures for the store tests: every store test runs on SQLite (tmp_path) and PostgreSQL, and every
test of a `store` / `empty_store` runs on SQLite twice more: once with the SQLite fast path (the
default, id `sqlite`) and once through the plain SQLAlchemy path (`sqlite-plain`), so that both paths
must pass the same tests (tests/store/test_store_sqlite_fast_path.py compares their rows directly).

PostgreSQL comes from TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
Each test gets its own schema (search_path set through the URL's `options`), dropped after.
When PostgreSQL is unreachable the PostgreSQL variants are skipped locally, and FAIL when
the CI environment variable is set.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cds_service.store import Store, normalize_database_url

PG_URL = normalize_database_url(
    os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
)
HASH_KEY = b"store-tests-key-0123456789abcdef"

_pg_problem: list[str | None] = []


def _pg_unreachable_reason() -> str | None:
    if not _pg_problem:
        try:
            engine = create_engine(PG_URL, connect_args={"connect_timeout": 2})
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
            finally:
                engine.dispose()
            _pg_problem.append(None)
        except Exception as exc:
            _pg_problem.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    return _pg_problem[0]


def require_postgres() -> None:
    reason = _pg_unreachable_reason()
    if reason is None:
        return
    where = make_url(PG_URL).render_as_string(hide_password=True)
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL at {where} is unreachable under CI (set TEST_POSTGRES_URL): {reason}")
    pytest.skip(f"PostgreSQL at {where} is unreachable (set TEST_POSTGRES_URL): {reason}")


def with_search_path(url: str, schema: str) -> str:
    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@pytest.fixture
def pg_url():
    """A URL whose search_path is a fresh schema, dropped after the test."""
    require_postgres()
    schema = f"anakinra_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, connect_args={"connect_timeout": 2})
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield with_search_path(PG_URL, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A database URL: SQLite in tmp_path or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture(params=["sqlite", "sqlite-plain", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_variant(request) -> str:
    """What `empty_store` / `store` run on: SQLite with its fast path (the default), SQLite through
    the plain SQLAlchemy path, PostgreSQL."""
    return request.param


@pytest.fixture
def store_url(store_variant, tmp_path, request) -> str:
    """The database URL of `empty_store` / `store`."""
    if store_variant.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def empty_store(store_variant, store_url):
    plain = store_variant == "sqlite-plain"
    store = Store(store_url, hash_key=HASH_KEY, sqlite_fast_path=False if plain else None)
    assert store.uses_sqlite_fast_path is (store_variant == "sqlite")
    yield store
    store.dispose()


@pytest.fixture
def store(empty_store):
    empty_store.migrate()
    return empty_store
