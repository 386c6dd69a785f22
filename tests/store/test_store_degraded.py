"""Degraded mode: any database trouble surfaces as StoreUnavailable, quickly; health() says why."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime

import pytest

from cds_service.store import AuditEntry, Store, StoreUnavailable, member_ref
from tests.loopback import SilentListener
from tests.no_hang import finishes

UNREACHABLE_PG = "postgresql+psycopg://postgres@127.0.0.1:1/x"
KEY = b"degraded-tests-key-0123456789abc"
REF = member_ref(KEY, "MBR-1")
ENTRY = AuditEntry(
    service_id="svc",
    hook_instance="hi",
    called_at=datetime(2026, 3, 1, tzinfo=UTC),
    http_status=200,
    latency_ms=3,
    card_uuids=["c1"],
)
FEEDBACK = [{"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-03-01T00:00:01Z"}]

HOOK_PATH_CALLS = {
    "record_call": lambda s: s.record_call(ENTRY),
    "record_feedback": lambda s: s.record_feedback("svc", FEEDBACK),
    "current_authorization": lambda s: s.current_authorization(REF, "anakinra", date(2026, 3, 1)),
    "previous_authorizations": lambda s: s.previous_authorizations(REF, "anakinra"),
    "issue_authorization": lambda s: s.issue_authorization(
        REF, "anakinra", "ra", date(2026, 3, 1), date(2027, 2, 28), "ca"
    ),
    "list_calls": lambda s: s.list_calls(datetime(2026, 1, 1, tzinfo=UTC)),
    "migrate": lambda s: s.migrate(),
}


def _unmigrated_sqlite(tmp_path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'empty.sqlite'}", hash_key=KEY)


def _sqlite_under_a_file(tmp_path) -> Store:
    (tmp_path / "a-file").write_text("not a directory")
    return Store(f"sqlite:///{tmp_path / 'a-file' / 'db.sqlite'}", hash_key=KEY)


def _unreachable_pg(_tmp_path) -> Store:
    return Store(UNREACHABLE_PG, hash_key=KEY)


BROKEN = {"unreachable-postgresql": _unreachable_pg, "sqlite-dir-is-a-file": _sqlite_under_a_file}


@pytest.mark.parametrize("broken", sorted(BROKEN))
@pytest.mark.parametrize("call", sorted(HOOK_PATH_CALLS))
def test_every_store_call_raises_store_unavailable(tmp_path, broken, call):
    store = BROKEN[broken](tmp_path)
    with pytest.raises(StoreUnavailable) as info:
        finishes(HOOK_PATH_CALLS[call], store)
    assert info.value.reason
    assert "[SQL" not in info.value.reason and "INSERT" not in info.value.reason


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_health_reports_degraded_with_a_reason(tmp_path, broken):
    store = BROKEN[broken](tmp_path)
    health = finishes(store.health)
    assert health["status"] == "degraded"
    assert isinstance(health["reason"], str) and health["reason"]


def test_unreachable_postgres_reason_names_the_failure_not_the_password():
    store = Store("postgresql+psycopg://cds:hunter2-secret@127.0.0.1:1/x")
    health = store.health()
    assert health["status"] == "degraded"
    assert "hunter2-secret" not in health["reason"]
    assert "OperationalError" in health["reason"] or "refused" in health["reason"].lower()


@pytest.mark.parametrize("call", ["record_call", "record_feedback", "current_authorization", "issue_authorization"])
def test_database_without_schema_is_unavailable(tmp_path, call):
    store = _unmigrated_sqlite(tmp_path)
    with pytest.raises(StoreUnavailable):
        HOOK_PATH_CALLS[call](store)
    health = store.health()
    assert health["status"] == "degraded" and "db upgrade" in health["reason"]


def test_sqlite_locked_past_the_busy_timeout_is_unavailable_not_a_crash(tmp_path):
    path = tmp_path / "db.sqlite"
    store = Store(f"sqlite:///{path}", hash_key=KEY, busy_timeout_ms=200)
    store.migrate()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            finishes(store.record_call, ENTRY)  # gives up after the busy timeout, never waits on
        # reads still work in WAL mode while a writer holds the lock
        assert store.previous_authorizations(REF, "anakinra") == []
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.record_call(ENTRY) > 0  # and it recovers by itself
    store.dispose()


def test_recovers_when_the_database_comes_back(tmp_path):
    (tmp_path / "later").write_text("in the way")
    store = Store(f"sqlite:///{tmp_path / 'later' / 'db.sqlite'}", hash_key=KEY)
    with pytest.raises(StoreUnavailable):
        store.record_call(ENTRY)
    (tmp_path / "later").unlink()
    store.migrate()
    assert store.record_call(ENTRY) > 0
    assert store.health() == {"status": "ok"}
    store.dispose()


def test_a_silent_postgres_server_times_out_and_is_not_tried_again_at_once():
    """A server that accepts TCP but never answers (a hung database): the connect timeout ends the first call, and
    the next hook calls do not connect (so do not wait for the timeout) again."""
    silent = SilentListener()  # kernel completes handshakes; nobody answers
    try:
        store = Store(f"postgresql+psycopg://postgres@127.0.0.1:{silent.port}/x", connect_timeout=1)
        with pytest.raises(StoreUnavailable, match="timeout"):
            finishes(store.record_call, ENTRY)
        assert silent.connections() >= 1
        tried = silent.connections()
        for call in ("record_call", "current_authorization", "record_feedback"):
            with pytest.raises(StoreUnavailable, match="next try in"):
                finishes(HOOK_PATH_CALLS[call], store)
        assert silent.connections() == tried
    finally:
        silent.close()
