"""Alembic environment for the anakinra-cds store.

The database never comes from alembic.ini:
- `Store.migrate()` / `Store.downgrade()` pass an open connection (inside a transaction that
  holds the migration lock) in `config.attributes["connection"]`;
- run by hand, the database is opened from the service settings (DATABASE_URL, CDS_VAR_DIR),
  so the same SQLite pragmas and URL rewriting apply.
"""

from __future__ import annotations

from alembic import context

from cds_service.config import from_env
from cds_service.store.engine import WRITE_OPTION, Database, database_url_from_settings
from cds_service.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(**kw) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode for ALTERs
        compare_type=True,
        transactional_ddl=True,  # SQLite DDL runs inside the store's explicit BEGIN
        **kw,
    )


def _database() -> Database:
    """The store's database: the one `Store` passed, else the one the service settings name."""
    return config.attributes.get("database") or Database(database_url_from_settings(from_env()))


def run_migrations_offline() -> None:
    _configure(url=_database().sqlalchemy_url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    with _database().engine.connect() as pooled:
        connection = pooled.execution_options(**{WRITE_OPTION: True})
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
