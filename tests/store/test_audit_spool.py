"""Nothing lost while the database is down: audit rows the database cannot take go to a local, fsync'd,
bounded spool and are replayed once and in order when it is back (cds_service/store/spool.py). With PostgreSQL cut
off in the middle of 300 calls: tests/integration/store/test_audit_spool_postgres_outage.py."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from cds_service.store import AuditEntry, StoreUnavailable
from cds_service.store.spool import AuditSpool

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        service_id="anakinra-order-sign",
        hook_instance=f"hook-{i}",
        called_at=T0 + timedelta(seconds=i),
        http_status=200,
        latency_ms=3.0,
        kind="hook",
        patient_hash=None,
        policy_id="09-J0000-45",
        policy_revision="2026-01-01",
        determinations=[{"order": "MedicationRequest/x", "determination": "conditional"}],
        clause_outcomes=[],
        coverage_assertion_ids=[f"AKR-{i}"],
        card_uuids=[f"card-{i}"],
    )


class FlakyStore:
    """Stands in for Store.record_spooled_call: down until `up` is set; remembers what it stored, by spool id."""

    def __init__(self, fail_after: int | None = None):
        self.up = False
        self.rows: list[tuple[str, str]] = []
        self.ids: set[str] = set()
        self.fail_after = fail_after

    def record_spooled_call(self, e: AuditEntry, spool_id: str) -> bool:
        if not self.up or (self.fail_after is not None and len(self.rows) >= self.fail_after):
            raise StoreUnavailable("OperationalError: connection refused")
        if spool_id in self.ids:
            return False
        self.ids.add(spool_id)
        self.rows.append((spool_id, e.hook_instance))
        return True


def test_rows_are_replayed_once_in_order_and_the_spool_empties(tmp_path):
    spool = AuditSpool(tmp_path / "spool", interval=3600)  # no background replay: driven by hand
    store = FlakyStore(fail_after=3)
    for i in range(5):
        assert spool.append(entry(i), store)
    assert spool.depth() == 5
    assert spool.replay(store) is False  # still down: nothing lost
    store.up = True
    assert spool.replay(store) is False  # three stored, then down again
    assert [h for _, h in store.rows] == ["hook-0", "hook-1", "hook-2"] and spool.depth() == 5
    store.fail_after = None
    assert spool.replay(store) is True  # the rest, the first three skipped
    assert [h for _, h in store.rows] == [f"hook-{i}" for i in range(5)]
    assert spool.depth() == 0
    assert spool.append(entry(5), store) and spool.replay(store) and store.rows[-1][1] == "hook-5"


def test_the_background_replayer_stores_rows_when_the_database_returns(tmp_path):
    spool = AuditSpool(tmp_path / "spool", interval=0.05)
    store = FlakyStore()
    for i in range(3):
        spool.append(entry(i), store)
    time.sleep(0.3)
    assert store.rows == [] and spool.depth() == 3
    store.up = True
    deadline = time.monotonic() + 5
    while spool.depth() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [h for _, h in store.rows] == ["hook-0", "hook-1", "hook-2"] and spool.depth() == 0


def test_a_live_writers_file_is_left_to_its_writer(tmp_path):
    writer = AuditSpool(tmp_path / "spool", interval=3600)
    writer.append(entry(1), FlakyStore())
    other = AuditSpool(tmp_path / "spool", interval=3600)  # another process would fail its flock too
    store = FlakyStore()
    store.up = True
    other._file = None
    import fcntl

    path = next((tmp_path / "spool").iterdir())
    with open(path, "rb") as fh, pytest.raises(OSError):  # the writer holds it
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_the_spool_is_bounded(tmp_path):
    spool = AuditSpool(tmp_path / "spool", max_bytes=1500, interval=3600)
    store = FlakyStore()
    accepted = [spool.append(entry(i), store) for i in range(10)]
    assert accepted[0] and not all(accepted)
    assert sum((tmp_path / "spool").iterdir().__next__().read_bytes().count(b"\n") for _ in [0]) <= 10
    assert sum(p.stat().st_size for p in (tmp_path / "spool").iterdir()) <= 1500
