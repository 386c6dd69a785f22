"""`anakinra-cds demo reset`: clear what a demo run leaves behind, so that the next run of a demo
patient shows the same cards as the first.

A Sign Order in the demo stores a plan approval (and audit rows, and feedback when a card is
acted on) in the demo's SQLite database, `<var_dir>/anakinra-cds.sqlite`; the next order for the
same patient is then "Covered under plan approval ...". Resetting empties every table of that
database (the schema and its revision stay), also while the demo is running.

Only ever the demo's own database: it refuses when the profile is not `demo` (CDS_PROFILE) or
when DATABASE_URL names a database (production, or one a demo should not own). The hook path
keeps no decisions in memory, so nothing else needs clearing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import MetaData, delete

from .config import Settings, from_env
from .store import Store, normalize_database_url

# Tables left as they are: the schema's revision.
KEPT_TABLES = frozenset({"alembic_version"})


class DemoResetRefused(ValueError):
    """The configuration is not the demo's: nothing was touched (the message says why)."""


@dataclass
class ResetReport:
    database: Path
    rows_deleted: dict[str, int] = field(default_factory=dict)  # table -> rows

    def summary(self) -> str:
        if not self.rows_deleted:
            return f"Demo state already clear (no database at {self.database})."
        rows = ", ".join(f"{n} {table}" for table, n in self.rows_deleted.items())
        return f"Demo state cleared in {self.database}: {rows or 'nothing stored'}."


def demo_reset_settings(env: dict[str, str] | None = None) -> Settings:
    """The demo's settings from the environment, or DemoResetRefused when they are not the demo's."""
    env = dict(os.environ if env is None else env)
    profile = env.get("CDS_PROFILE") or "demo"
    if profile != "demo":
        raise DemoResetRefused(f"CDS_PROFILE is {profile!r}: `demo reset` only clears the demo's state")
    if env.get("DATABASE_URL"):
        raise DemoResetRefused(
            "DATABASE_URL is set: `demo reset` only clears the demo's own SQLite database "
            "in the var directory (unset DATABASE_URL to reset the demo)"
        )
    return from_env(env, profile="demo")


def demo_database(settings: Settings) -> Path:
    """`<var_dir>/anakinra-cds.sqlite`, the demo's database."""
    return Path(normalize_database_url("", settings.var_dir).removeprefix("sqlite:///"))


def reset_demo_state(settings: Settings) -> ResetReport:
    if not settings.is_demo or settings.database_url:
        raise DemoResetRefused("not the demo configuration: nothing cleared")
    report = ResetReport(database=demo_database(settings))
    if not report.database.is_file():
        return report
    store = Store.from_settings(settings)
    try:
        tables = MetaData()
        tables.reflect(store.engine)
        with store.engine.begin() as conn:
            for table in reversed(tables.sorted_tables):  # children before parents
                if table.name not in KEPT_TABLES:
                    report.rows_deleted[table.name] = conn.execute(delete(table)).rowcount
    finally:
        store.dispose()
    return report
