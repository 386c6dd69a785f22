"""SQLite: record_call and previous_authorizations run on a sqlite3 connection of their own, kept
open between calls (`store/sqlite_fast_path.py`, on unless `Store(..., sqlite_fast_path=False)`). They
must store and return exactly what the SQLAlchemy Core path does, and fail the same way: each test
here runs both paths on the same inputs and compares them (the other store tests run on both too,
see conftest.py)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert

from cds_service.store import AuditEntry, Store, StoreUnavailable, member_ref, patient_hash
from cds_service.store.audit import AUDIT_CALL_KEYS, AUDIT_CARD_KEYS
from cds_service.store.models import AuditCallRow, AuditCardRow, AuthorizationRow

KEY = b"direct-tests-key-0123456789abcde"
REF = member_ref(KEY, "MBR-1")
T0 = datetime(2026, 3, 1, 14, 30, 0, tzinfo=UTC)
JWT = "eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJwYXQtMSJ9.c2lnbmF0dXJl"

ENTRIES = [
    AuditEntry(
        service_id="anakinra-crd-order-sign",
        hook_instance="d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        called_at=T0,
        http_status=200,
        latency_ms=87.4,
        patient_hash=patient_hash(KEY, "pat-1"),
        policy_id="kineret-mcg-09-J0000-45",
        policy_revision="2025-10",
        determinations=[{"order": "MedicationRequest/mr-1", "determination": "covered", "paNeeded": "no-auth"}],
        clause_outcomes=[
            {
                "order": "MedicationRequest/mr-1",
                "clauses": {f"initiation.{i}": "met" if i % 3 else "not-met" for i in range(80)},
            }
        ],
        coverage_assertion_ids=["ca-1111"],
        card_uuids=[f"card-{i}" for i in range(5)],
    ),
    # Nones, empty lists, no cards, an explain call
    AuditEntry(
        service_id="svc",
        hook_instance=None,
        called_at=T0 + timedelta(microseconds=1),
        http_status=400,
        latency_ms=0.5,
        kind="explain",
    ),
    # a non-UTC offset with microseconds; client values cut to their column width
    AuditEntry(
        service_id="s" * 300,
        hook_instance="h" * 300,
        policy_id="p" * 300,
        policy_revision="r" * 100,
        called_at=datetime(2026, 3, 1, 20, 0, 0, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        http_status=200,
        latency_ms=1234.5,
        card_uuids=["u" * 200, "x"],
    ),
    # redaction, non-ASCII, a dict of outcomes, values orjson refuses (huge int, lone surrogate),
    # values only the general JSON path takes (a tuple)
    AuditEntry(
        service_id="svc",
        hook_instance="hi",
        called_at=T0,
        http_status=200,
        latency_ms=3,
        determinations=[
            {
                "order": "MedicationRequest/é✓",
                "note": "see Patient/pat-1 " + JWT,
                "n": 2**70,
                "f": 0.1,
                "t": (1, 2),
                "nothing": None,
            }
        ],
        clause_outcomes={"initiation.1": "met", "lone": "\ud800", "nested": [[], {}, [1.5, True]]},
        coverage_assertion_ids=["ca-é", "ca-2"],
        card_uuids=["c1"],
    ),
]


def _rows(path, table: str) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()  # noqa: S608  (the test's own table names)
    finally:
        db.close()


def _store(path, fast: bool, **kwargs) -> Store:
    return Store(f"sqlite:///{path}", hash_key=KEY, sqlite_fast_path=fast, **kwargs)


def test_the_fast_path_is_the_default_on_sqlite_only(tmp_path):
    assert Store(f"sqlite:///{tmp_path / 'a.sqlite'}").uses_sqlite_fast_path is True
    assert Store(f"sqlite:///{tmp_path / 'a.sqlite'}", sqlite_fast_path=False).uses_sqlite_fast_path is False
    assert Store("postgresql+psycopg://u@127.0.0.1:1/x").uses_sqlite_fast_path is False
    with pytest.raises(ValueError, match="SQLite"):
        Store("postgresql+psycopg://u@127.0.0.1:1/x", sqlite_fast_path=True)


def test_the_fast_inserts_name_every_column_but_the_id():
    # record_call's parameter dict and the fast path's compiled inserts must not drift from the schema
    for table, keys in ((AuditCallRow.__table__, AUDIT_CALL_KEYS), (AuditCardRow.__table__, AUDIT_CARD_KEYS)):
        assert sorted(keys) == sorted(c.key for c in table.columns if c.key != "id")


def test_record_call_stores_byte_for_byte_what_the_sqlalchemy_path_stores(tmp_path):
    paths = {fast: tmp_path / f"fast-{fast}.sqlite" for fast in (True, False)}
    ids = {}
    for fast, path in paths.items():
        store = _store(path, fast)
        store.migrate()
        ids[fast] = [store.record_call(e) for e in ENTRIES]
        if fast:
            assert store._fast_path.statements is not None  # the fast path really ran
        store.dispose()
    assert ids[True] == ids[False] == [1, 2, 3, 4]
    for table in ("audit_calls", "audit_cards"):
        fast_rows, core_rows = _rows(paths[True], table), _rows(paths[False], table)
        assert fast_rows == core_rows
        assert [[type(v) for v in r] for r in fast_rows] == [[type(v) for v in r] for r in core_rows]
    # and both read back alike
    stores = {fast: _store(path, fast) for fast, path in paths.items()}
    calls = {fast: s.list_calls(T0 - timedelta(days=1)) for fast, s in stores.items()}
    assert calls[True] == calls[False] and len(calls[True]) == len(ENTRIES)
    for s in stores.values():
        s.dispose()


def test_previous_authorizations_returns_what_the_sqlalchemy_path_returns(tmp_path):
    store = _store(tmp_path / "auth.sqlite", True)
    store.migrate()
    other = member_ref(KEY, "MBR-2")
    base = dict(
        member_ref=REF,
        drug="anakinra",
        indication="ra",
        status="approved",
        coverage_assertion_id="ca",
        source="imported",
    )
    rows = [
        dict(
            base,
            pa_id="PA-1",
            period_start=date(2025, 1, 1),
            period_end=date(2025, 12, 31),
            created_at=T0 - timedelta(days=400),
        ),
        # same period end: created_at (microseconds) then id decide the order
        dict(
            base,
            pa_id="PA-2",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 12, 31),
            created_at=T0 + timedelta(microseconds=7),
            status="revoked",
            indication=None,
        ),
        dict(
            base,
            pa_id="PA-3",
            period_start=date(2026, 2, 1),
            period_end=date(2026, 12, 31),
            created_at=T0 + timedelta(microseconds=7),
            coverage_assertion_id=None,
        ),
        dict(
            base,
            pa_id="PA-4",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 6, 30),
            created_at=T0,
            status="denied",
        ),
        dict(
            base,
            pa_id="PA-5",
            member_ref=other,
            period_start=date(2026, 1, 1),
            period_end=date(2026, 6, 30),
            created_at=T0,
        ),
    ]
    with store.engine.begin() as conn:
        conn.execute(insert(AuthorizationRow.__table__), rows)
    store.issue_authorization(REF, "Anakinra", "ra", date(2027, 1, 1), date(2027, 12, 31), "ca-new")

    got = {}
    for fast in (True, False):
        reader = _store(tmp_path / "auth.sqlite", fast)
        got[fast] = [
            reader.previous_authorizations(ref, drug)
            for ref, drug in ((REF, "anakinra"), (REF, "ANAKINRA"), (other, "anakinra"), (REF, "x"))
        ]
        reader.dispose()
    assert got[True] == got[False]
    mine = got[True][0]
    assert [a.pa_id for a in mine][1:] == ["PA-3", "PA-2", "PA-4", "PA-1"]
    assert got[True][3] == []
    for a in mine:
        assert type(a.start) is date and type(a.end) is date
        assert type(a.created_at) is datetime and a.created_at.tzinfo is UTC
    store.dispose()


def test_a_failed_card_insert_rolls_back_the_call_and_returns_the_connection(tmp_path):
    path = tmp_path / "db.sqlite"
    store = _store(path, True)
    store.migrate()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE audit_cards")
    db.close()
    assert store.previous_authorizations(REF, "anakinra") == []  # opens the fast path's connection
    [used] = store._fast_path.idle
    with pytest.raises(StoreUnavailable, match="no such table: audit_cards"):
        store.record_call(ENTRIES[0])
    assert store.engine.pool.checkedout() == 0
    assert store._fast_path.idle == []  # the failed connection is not kept...
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        used.execute("SELECT 1")  # ...but closed
    assert _rows(path, "audit_calls") == []  # the audit row went with the cards
    assert store.record_call(ENTRIES[1]) == 1  # no cards: works on a fresh connection
    store.dispose()


def _store_after_one_call(tmp_path, entry: AuditEntry) -> tuple[Store, sqlite3.Connection]:
    """A migrated fast-path store that has recorded `entry`, and the one connection it now keeps."""
    store = _store(tmp_path / "db.sqlite", True)
    store.migrate()
    store.record_call(entry)
    [conn] = store._fast_path.idle
    return store, conn


def test_one_connection_serves_call_after_call_with_the_pools_settings(tmp_path):
    store, conn = _store_after_one_call(tmp_path, ENTRIES[0])
    for entry in ENTRIES[1:]:
        store.record_call(entry)
        assert store.previous_authorizations(REF, "anakinra") == []
        assert store._fast_path.idle == [conn]  # the same connection, back after each call
    assert store.engine.pool.checkedout() == 0  # detached: the pool does not count it
    # opened through the pool's connect event: the same settings as every pooled connection
    assert conn.isolation_level is None  # autocommit; BEGIN IMMEDIATE is explicit
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA busy_timeout").fetchone() == (5000,)
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert len(_rows(tmp_path / "db.sqlite", "audit_calls")) == len(ENTRIES)
    store.dispose()  # closes the idle connection
    assert store._fast_path.idle == []
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        conn.execute("SELECT 1")
    assert store.record_call(ENTRIES[0]) == len(ENTRIES) + 1  # and the Store stays usable


def test_threads_never_share_a_connection_at_once(tmp_path):
    import threading

    store = _store(tmp_path / "db.sqlite", True)
    store.migrate()
    barrier = threading.Barrier(4)
    in_use: list = []
    errors: list = []
    real = store._fast_path.connection

    def taking():
        conn = real()
        in_use.append(conn)
        return conn

    store._fast_path.connection = taking

    def work():
        try:
            barrier.wait()
            for _ in range(25):
                store.record_call(ENTRIES[1])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(_rows(tmp_path / "db.sqlite", "audit_calls")) == 100
    # every connection handed out is back, each once (no connection was handed to two threads and kept twice)
    assert len(store._fast_path.idle) == len({id(c) for c in store._fast_path.idle}) <= 4
    assert {id(c) for c in in_use} == {id(c) for c in store._fast_path.idle}
    store.dispose()


def _reasons(tmp_path, setup, call) -> dict[bool, str]:
    """The StoreUnavailable reason from each path, on identically broken databases."""
    reasons = {}
    for fast in (True, False):
        where = tmp_path / f"fast-{fast}"
        where.mkdir()
        store = setup(where, fast)
        with pytest.raises(StoreUnavailable) as info:
            call(store)
        assert not store._db.engine_created or store.engine.pool.checkedout() == 0
        reasons[fast] = info.value.reason
        store.dispose()
    return reasons


CALLS = {
    "record_call": lambda s: s.record_call(ENTRIES[0]),
    "previous_authorizations": lambda s: s.previous_authorizations(REF, "anakinra"),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_missing_schema_fails_alike(tmp_path, call):
    reasons = _reasons(tmp_path, lambda where, fast: _store(where / "db.sqlite", fast), CALLS[call])
    assert reasons[True] == reasons[False]
    assert reasons[True].startswith("OperationalError: no such table")


@pytest.mark.parametrize("call", sorted(CALLS))
def test_unopenable_database_fails_alike_and_opens_the_retry_window(tmp_path, call):
    def setup(where, fast):
        (where / "db.sqlite").mkdir()  # a directory: sqlite3 cannot open it
        return _store(where / "db.sqlite", fast)

    reasons = _reasons(tmp_path, setup, CALLS[call])
    assert reasons[True] == reasons[False] == "OperationalError: unable to open database file"

    (tmp_path / "again").mkdir()
    store = setup(tmp_path / "again", True)
    with pytest.raises(StoreUnavailable):
        CALLS[call](store)
    with pytest.raises(StoreUnavailable, match="next try in"):  # fails fast inside the window
        CALLS[call](store)


def test_locked_past_the_busy_timeout_fails_alike_and_recovers(tmp_path):
    holders = []

    def setup(where, fast):
        store = _store(where / "db.sqlite", fast, busy_timeout_ms=100)
        store.migrate()
        holder = sqlite3.connect(where / "db.sqlite", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        holders.append((store, holder))
        return store

    reasons = _reasons(tmp_path, setup, CALLS["record_call"])
    assert reasons[True] == reasons[False] == "OperationalError: database is locked"
    for store, holder in holders:
        assert store.previous_authorizations(REF, "anakinra") == []  # WAL: reads go on
        holder.execute("ROLLBACK")
        holder.close()
        assert store.record_call(ENTRIES[0]) == 1  # not within a retry window
        store.dispose()


def test_bad_entries_are_refused_before_the_database(tmp_path):
    store = _store(tmp_path / "never.sqlite", True)
    with pytest.raises(TypeError):
        store.record_call({"service_id": "svc"})
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        store.record_call(
            AuditEntry(
                service_id="svc",
                hook_instance="h",
                called_at=T0,
                http_status=200,
                latency_ms=1,
                determinations=[{"x": object()}],
            )
        )
    with pytest.raises(ValueError, match="keyed hash"):
        store.previous_authorizations("MBR-1", "anakinra")
    assert not store._db.engine_created
