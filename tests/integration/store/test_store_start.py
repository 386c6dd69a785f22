"""The store as processes start it: the service starts without importing alembic (a fresh interpreter), and
several forked workers migrating an empty database at once do not collide (SQLite and PostgreSQL)."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys

import pytest

from cds_service.store import Store
from cds_service.store.schema import SCHEMA_HEAD
from tests.store.test_store_migrations import TABLES, _tables


@pytest.mark.parametrize("database", ["migrated", "empty"])
def test_service_starts_without_importing_alembic(tmp_path, database):
    """The start path (create_app, then /health) reads the schema revision without alembic, and
    creates an empty database without it (measured: importing and running alembic took 0.12 to
    0.3 s of the start)."""
    db = f"sqlite:///{tmp_path / 'start.sqlite'}"
    if database == "migrated":
        Store(db).migrate()
    code = (
        "import sys\n"
        "from cds_service.app import create_app\n"
        "from cds_service.config import Settings\n"
        "app = create_app(Settings(database_url=sys.argv[1], var_dir=sys.argv[2]))\n"
        "print(app.extensions['cds'].store.health()['status'], 'alembic' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, db, str(tmp_path / "var")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", "False"]


def _call_in_child(store: Store, method: str, queue) -> None:
    try:
        queue.put(getattr(store, method)())
    except Exception as exc:
        queue.put(f"ERROR {type(exc).__name__}: {exc}")


@pytest.mark.parametrize("method", ["migrate", "ensure_schema"])
def test_workers_starting_together_on_an_empty_database_do_not_collide(empty_store, method):
    """Several workers calling migrate() (alembic) or ensure_schema() (created at head) on a fresh
    database at once all succeed, and the schema is made once."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_call_in_child, args=(empty_store, method, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert results == [SCHEMA_HEAD] * 4
    assert empty_store.schema_revisions() == [SCHEMA_HEAD]
    assert _tables(empty_store) >= TABLES
