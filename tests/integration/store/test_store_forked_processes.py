"""The store used from forked processes, as gunicorn's workers use it (each child forked from a parent that has
used the store, as under --preload): feedback sent by several processes at once is stored once; workers starting
together share one pseudonym key; a forked child opens its own SQLite connection; a spool file left by a process
that died is replayed by another. The in-process behaviour: tests/store/."""

from __future__ import annotations

import multiprocessing
import os

from cds_service.store import load_hash_key
from cds_service.store.spool import AuditSpool
from tests.store.test_audit_spool import FlakyStore, entry
from tests.store.test_store_feedback import SERVICE, _call_with_cards, _count, accepted
from tests.store.test_store_sqlite_fast_path import ENTRIES, _store_after_one_call

# -- feedback (tests/store/test_store_feedback.py) -------------------------------------------------


def _send_feedback(store, items, barrier, queue) -> None:
    try:
        barrier.wait(timeout=20)
        total = 0
        for _ in range(3):
            total += store.record_feedback(SERVICE, items)
        queue.put(total)
    except Exception as exc:
        queue.put(f"ERROR {type(exc).__name__}: {exc}")


def test_concurrent_duplicates_are_stored_once(store):
    """4 processes send the same 10 items 3 times each, at the same moment."""
    _call_with_cards(store, *[f"card-{i}" for i in range(10)])
    items = [accepted(card=f"card-{i}") for i in range(10)]
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_send_feedback, args=(store, items, barrier, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 10
    assert _count(store) == 10
    assert all(f.audit_id is not None for f in store.list_feedback())


# -- the pseudonym key (tests/store/test_store_audit.py) ---------------------------------------------


def _load_key_in_child(var_dir, barrier, queue) -> None:
    barrier.wait(timeout=10)
    queue.put(load_hash_key("", var_dir).hex())


def test_workers_starting_together_share_one_key(tmp_path):
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(6), ctx.Queue()
    procs = [ctx.Process(target=_load_key_in_child, args=(tmp_path, barrier, queue)) for _ in range(6)]
    for p in procs:
        p.start()
    keys = {queue.get(timeout=20) for _ in procs}
    for p in procs:
        p.join(timeout=20)
    assert len(keys) == 1
    assert bytes.fromhex(keys.pop()) == load_hash_key("", tmp_path)
    assert os.listdir(tmp_path) == ["patient-hash.key"]


# -- the SQLite fast path (tests/store/test_store_sqlite_fast_path.py) --------------------------------


def test_a_forked_child_opens_its_own_connection_and_leaves_the_parents_alone(tmp_path):
    store, parent_conn = _store_after_one_call(tmp_path, ENTRIES[1])

    def child(queue):
        inherited = list(store._fast_path.idle)
        store.record_call(ENTRIES[1])
        queue.put((inherited, len(store._fast_path.idle), id(store._fast_path.idle[0]) != id(parent_conn)))

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=child, args=(queue,))
    proc.start()
    inherited, idle, fresh = queue.get(timeout=30)
    proc.join(30)
    assert proc.exitcode == 0
    assert inherited == [] and idle == 1 and fresh  # the child's list started empty
    assert store.record_call(ENTRIES[1]) == 3  # the parent's connection still works
    assert store._fast_path.idle == [parent_conn]
    store.dispose()


# -- the audit spool (tests/store/test_audit_spool.py) -------------------------------------------------


def test_a_file_left_by_a_process_that_died_is_replayed_by_another_and_removed(tmp_path):
    directory = tmp_path / "spool"
    pid = os.fork()
    if pid == 0:  # the process that dies with rows spooled
        try:
            AuditSpool(directory, interval=3600).append(entry(7), FlakyStore())
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    survivor = AuditSpool(directory, interval=3600)
    assert survivor.depth() == 1
    store = FlakyStore()
    store.up = True
    assert survivor.replay(store) is True
    assert [h for _, h in store.rows] == ["hook-7"] and list(directory.iterdir()) == []
