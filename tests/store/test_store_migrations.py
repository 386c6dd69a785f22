"""Alembic migrations, URL handling and SQLite settings of the Store. A fresh interpreter starting the service,
and workers migrating at once: tests/integration/store/test_store_start.py."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from cds_service.config import Settings
from cds_service.store import Store, database_url_from_settings, normalize_database_url
from cds_service.store.models import Base
from cds_service.store.schema import SCHEMA_HEAD

TABLES = {"audit_calls", "audit_cards", "feedback", "authorizations"}


def _tables(store: Store) -> set[str]:
    return set(inspect(store.engine).get_table_names())


def test_upgrade_head_on_empty_database_creates_the_schema(empty_store):
    assert _tables(empty_store) & TABLES == set()
    assert empty_store.current_revision() is None
    assert empty_store.health()["status"] == "degraded"

    revision = empty_store.migrate()

    assert revision == empty_store.head_revision()
    assert _tables(empty_store) >= TABLES
    assert empty_store.health() == {"status": "ok"}


def test_migrate_is_idempotent(empty_store):
    first = empty_store.migrate()
    assert empty_store.migrate() == first
    assert _tables(empty_store) >= TABLES


def test_schema_head_constant_is_alembics_head(empty_store):
    """SCHEMA_HEAD lets the service start without alembic: it must name the newest migration."""
    assert empty_store.head_revision() == SCHEMA_HEAD


def test_ensure_schema_creates_a_fresh_database_at_head_without_migrating(empty_store, monkeypatch):
    def no_migration(*_a, **_k):
        raise AssertionError("an empty database is created from the models, not migrated")

    monkeypatch.setattr(Store, "migrate", no_migration)
    assert empty_store.schema_revisions() == []
    assert empty_store.ensure_schema() == SCHEMA_HEAD
    assert _tables(empty_store) >= TABLES
    assert empty_store.schema_revisions() == [SCHEMA_HEAD]
    assert empty_store.health() == {"status": "ok"}
    monkeypatch.undo()
    assert empty_store.current_revision() == empty_store.head_revision()  # alembic agrees
    assert empty_store.migrate() == SCHEMA_HEAD  # and has nothing to do


def _schema(store: Store) -> dict:
    """Everything the database says about the store's tables and alembic_version."""
    insp = inspect(store.engine)
    out: dict = {}
    for table in sorted(TABLES | {"alembic_version"}):
        out[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")), c.get("autoincrement"))
                for c in insp.get_columns(table)
            ],
            "pk": insp.get_pk_constraint(table),
            "fks": sorted(map(repr, insp.get_foreign_keys(table))),
            "indexes": sorted(map(repr, insp.get_indexes(table))),
            "unique": sorted(map(repr, insp.get_unique_constraints(table))),
            "checks": sorted(map(repr, insp.get_check_constraints(table))),
        }
    with store.engine.connect() as conn:
        if store.backend == "sqlite":
            out["ddl"] = [
                tuple(r)
                for r in conn.execute(text("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"))
            ]
        else:
            out["ddl"] = sorted(
                tuple(r)
                for r in conn.execute(
                    text(
                        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
                        "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                        "WHERE n.nspname = current_schema()"
                    )
                )
            )
            out["ddl"] += sorted(
                tuple(r)
                for r in conn.execute(
                    text("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()")
                )
            )
    return out


def test_a_database_created_at_head_equals_one_migrated_to_head(db_url, tmp_path):
    """The start path's shortcut for an empty database (tables from the models, then stamped) must
    give exactly the schema that running every migration gives: on SQLite the same CREATE
    statements byte for byte, on PostgreSQL the same columns, keys, indexes and constraints."""
    migrated = Store(db_url)
    migrated.migrate()
    expected = _schema(migrated)
    migrated.downgrade("base")
    with migrated.engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    migrated.dispose()

    created = Store(db_url)
    assert created.schema_revisions() == []
    assert created.ensure_schema() == SCHEMA_HEAD
    assert _schema(created) == expected
    with created.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    created.dispose()


def test_tables_without_a_stamp_are_left_to_alembic(empty_store):
    """Not empty, not stamped: no shortcut. Alembic runs and refuses to create a table that exists."""
    with empty_store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE feedback (id INTEGER PRIMARY KEY)"))
    with pytest.raises(Exception, match="feedback"):
        empty_store.ensure_schema()
    assert "audit_calls" not in _tables(empty_store)


def test_ensure_schema_at_head_runs_no_migration(store, monkeypatch):
    def no_migration(*_a, **_k):
        raise AssertionError("migrate() must not run on a database at head")

    monkeypatch.setattr(Store, "migrate", no_migration)
    assert store.ensure_schema() == SCHEMA_HEAD


def test_ensure_schema_upgrades_a_database_below_head(store):
    store.downgrade("base")  # alembic_version kept, but empty
    assert store.schema_revisions() == []
    assert store.health()["status"] == "degraded"
    assert store.ensure_schema() == SCHEMA_HEAD
    assert _tables(store) >= TABLES


def test_ensure_schema_passes_an_unknown_revision_to_alembic(store):
    """A database stamped by a newer release (a revision this package does not ship) is not taken
    for 'at head': alembic decides, and says it cannot find the revision."""
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    assert store.health()["status"] == "degraded"
    with pytest.raises(Exception, match="f00dfeed"):
        store.ensure_schema()


def test_models_match_the_migrations(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_downgrade_base_drops_everything(store):
    assert store.downgrade("base") is None
    assert _tables(store) & TABLES == set()
    health = store.health()
    assert health["status"] == "degraded"
    assert "db upgrade" in health["reason"]
    # and back up again
    assert store.migrate() == store.head_revision()


def test_sqlite_runs_in_wal_mode_with_busy_timeout(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'sub' / 'dir' / 'db.sqlite'}")
    store.migrate()
    assert (tmp_path / "sub" / "dir" / "db.sqlite").is_file()  # parent folders created
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.dispose()


def test_default_url_is_sqlite_in_var_dir(tmp_path):
    settings = Settings(database_url="", var_dir=str(tmp_path / "var"))
    url = database_url_from_settings(settings)
    assert url == f"sqlite:///{(tmp_path / 'var' / 'anakinra-cds.sqlite').resolve()}"


@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgres://u:p@db:5432/cds", "postgresql+psycopg://u:p@db:5432/cds"),
        ("postgresql://u@db/cds?sslmode=require", "postgresql+psycopg://u@db/cds?sslmode=require"),
        ("postgresql+psycopg://u@db/cds", "postgresql+psycopg://u@db/cds"),
        ("sqlite:////tmp/x.sqlite", "sqlite:////tmp/x.sqlite"),
    ],
)
def test_database_urls_are_rewritten_to_psycopg(given, expected):
    assert normalize_database_url(given) == expected
    assert Store(given).backend in ("sqlite", "postgresql")


def test_store_url_hides_the_password():
    store = Store("postgres://cds:s3cret@db.example:5432/cds")
    assert "s3cret" not in store.url and "s3cret" not in repr(store)
    assert store.url.startswith("postgresql+psycopg://")


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def test_unsupported_urls_are_refused_clearly(url):
    with pytest.raises(ValueError, match="database"):
        Store(url)


def test_postgres_tables_land_in_the_configured_schema(pg_url):
    """The schema follows the URL's search_path (how a shared database is partitioned)."""
    store = Store(pg_url)
    store.migrate()
    with store.engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar()
    assert schema.startswith("anakinra_test_")
    assert set(inspect(store.engine).get_table_names(schema=schema)) >= TABLES
    store.dispose()
