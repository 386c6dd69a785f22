"""200 concurrent record_call()s from 4 processes x 50: exactly 200 rows, no error.

The Store is created and used in the parent before the fork, as under gunicorn --preload:
children must not reuse the parent's pooled connections.
"""

from __future__ import annotations

import multiprocessing
import traceback
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from cds_service.store import AuditEntry
from cds_service.store.models import AuditCallRow, AuditCardRow

PROCESSES, CALLS_EACH = 4, 50
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _write_calls(store, worker: int, barrier, queue) -> None:
    ids, errors = [], []
    try:
        barrier.wait(timeout=30)
        for i in range(CALLS_EACH):
            try:
                ids.append(
                    store.record_call(
                        AuditEntry(
                            service_id="anakinra-crd-order-sign",
                            hook_instance=f"w{worker}-{i}",
                            called_at=T0 + timedelta(milliseconds=i),
                            http_status=200,
                            latency_ms=i,
                            determinations=[{"order": f"MedicationRequest/{worker}-{i}", "determination": "covered"}],
                            card_uuids=[f"card-{worker}-{i}"],
                        )
                    )
                )
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
    except Exception:
        errors.append(traceback.format_exc())
    queue.put((worker, ids, errors))


def test_200_concurrent_writers_from_4_processes_give_200_rows(store):
    store.record_call(
        AuditEntry(
            service_id="warm-up",
            hook_instance="parent",
            called_at=T0 - timedelta(days=1),
            http_status=200,
            latency_ms=1,
        )
    )  # the parent's pool has a connection
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_write_calls, args=(store, w, barrier, queue)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0

    errors = [e for _, _, errs in results for e in errs]
    assert errors == []
    ids = [i for _, worker_ids, _ in results for i in worker_ids]
    assert len(ids) == PROCESSES * CALLS_EACH and len(set(ids)) == len(ids)

    calls = store.list_calls(T0)
    assert len(calls) == PROCESSES * CALLS_EACH
    assert {c.hook_instance for c in calls} == {f"w{w}-{i}" for w in range(PROCESSES) for i in range(CALLS_EACH)}
    assert all(c.card_uuids == [f"card-{c.hook_instance[1:]}"] for c in calls)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AuditCallRow)).scalar_one() == 201
        assert conn.execute(select(func.count()).select_from(AuditCardRow)).scalar_one() == 200
    # the parent's own connections survived the children
    assert (
        store.record_call(
            AuditEntry(service_id="after", hook_instance="parent-2", called_at=T0, http_status=200, latency_ms=1)
        )
        > 0
    )
