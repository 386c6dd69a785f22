"""Running the Alembic migrations (`alembic upgrade` / `downgrade`) against a store's database.

Imported only when a migration must run or alembic must be asked (`schema.alembic_runner`): a
database already at head is served without alembic.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .engine import WRITE_OPTION, Database
from .schema import take_migration_lock

PACKAGE_DIR = Path(__file__).resolve().parent
ALEMBIC_INI = PACKAGE_DIR / "alembic.ini"
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"


def alembic_config(db: Database | None = None) -> Config:
    """The alembic configuration of this package (`migrations/env.py` finds `db` in its attributes)."""
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if db is not None:
        cfg.attributes["database"] = db
    return cfg


@functools.cache
def head_revision() -> str | None:
    """The newest migration revision shipped with this package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def run(db: Database, action: str, revision: str) -> None:
    """`alembic <action> <revision>` ("upgrade" / "downgrade") in one transaction under the migration lock."""
    cfg = alembic_config(db)
    with db.connect(probe=True) as pooled:
        conn = pooled.execution_options(**{WRITE_OPTION: True})  # SQLite: BEGIN IMMEDIATE
        with conn.begin():
            take_migration_lock(conn, db)
            cfg.attributes["connection"] = conn
            getattr(command, action)(cfg, revision)


def current_revision(db: Database) -> str | None:
    """The migration revision the database is at (None for an empty database), as alembic reads it."""
    with db.connect(probe=True) as conn:
        return MigrationContext.configure(conn).get_current_revision()
