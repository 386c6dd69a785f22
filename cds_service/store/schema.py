"""The database schema: which revision a database is at, creating an empty one at the newest
revision, migrating, and the health check built on them.

The schema is defined by the Alembic migrations in `migrations/versions/` (the models in `models.py`
must match them). Alembic itself is imported only when a migration must run (`migration_runner`):
a database already at `SCHEMA_HEAD`, or an empty one, is read and created with plain SQL.
"""

from __future__ import annotations

from types import ModuleType

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table, inspect, text
from sqlalchemy.engine import Connection

from .engine import WRITE_OPTION, Database, StoreUnavailable, failure_reason, guarded
from .models import Base

# The newest migration's revision (migrations/versions). A test checks it against alembic's own
# head, so a new migration cannot ship without it. Knowing it lets the service start, and /health
# answer, without importing alembic when the database is already at head.
SCHEMA_HEAD = "0003"
VERSION_TABLE = "alembic_version"
_MIGRATION_LOCK_KEY = 0x616E616B  # pg advisory lock id ("anak")


def take_migration_lock(conn: Connection, db: Database) -> None:
    """Serialise schema changes across processes: on PostgreSQL a transaction-scoped advisory lock;
    on SQLite the write lock that `conn`'s write transaction took at BEGIN IMMEDIATE already does."""
    if db.backend == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})


def schema_revisions(db: Database) -> list[str]:
    """The rows of alembic_version ([] when the table is missing), read without alembic."""
    with db.connect(probe=True) as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return []
        return [row[0] for row in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))]  # noqa: S608  (a constant)


def create_at_head(db: Database) -> bool:
    """On an empty database, the head schema from the models plus alembic_version stamped at
    SCHEMA_HEAD, in one transaction under the migration lock (as a migration, so workers starting
    together are serialised). This is Alembic's own recipe for a new database (create_all, then
    stamp head), minus importing and running alembic. Returns False, changing nothing, when any of
    the store's tables or alembic_version already exists."""
    with db.connect(probe=True) as pooled:
        conn = pooled.execution_options(**{WRITE_OPTION: True})  # SQLite: BEGIN IMMEDIATE
        with conn.begin():
            take_migration_lock(conn, db)
            existing = set(inspect(conn).get_table_names())
            if existing & (set(Base.metadata.tables) | {VERSION_TABLE}):
                return False
            Base.metadata.create_all(conn)
            # The version table as alembic defines it (alembic.runtime.migration), stamped.
            version = Table(
                VERSION_TABLE,
                MetaData(),
                Column("version_num", String(32), nullable=False),
                PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
            )
            version.create(conn)
            conn.execute(version.insert().values(version_num=SCHEMA_HEAD))
    return True


def alembic_runner() -> ModuleType:
    """`migration_runner`, which imports alembic (and mako), imported on first use. Deferred on
    purpose: a service whose database is at head never needs alembic, and importing it at start costs
    start time and memory in every worker (benchmarks/README.md). Not a cycle: nothing here imports
    this module back at import time."""
    from . import migration_runner  # noqa: PLC0415  (deferred import: see the docstring)

    return migration_runner


def health(db: Database) -> dict:
    """`{"status": "ok"}`, or `{"status": "degraded", "reason": "..."}` when the database
    cannot be reached (short connect timeout) or its schema is not at head. Never raises."""
    try:
        revisions = guarded(schema_revisions)(db)
    except StoreUnavailable as exc:
        return {"status": "degraded", "reason": exc.reason}
    except Exception as exc:
        return {"status": "degraded", "reason": failure_reason(exc)}
    if revisions != [SCHEMA_HEAD]:
        return {
            "status": "degraded",
            "reason": f"database schema at {', '.join(revisions) or 'nothing'}, expected {SCHEMA_HEAD} "
            "(run `anakinra-cds db upgrade`)",
        }
    return {"status": "ok"}
