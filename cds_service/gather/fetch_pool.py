"""Thread pools for the parallel FHIR reads of one hook call, kept between calls.

Starting a `ThreadPoolExecutor` of 8 threads and stopping it again took about 2 ms of CPU per hook
call on the benchmark VM (against 0.4 ms to hand 15 jobs to threads that already run), on a call
that reads the whole chart from the FHIR server. So a call borrows an executor from this process's
free list and hands it back afterwards, with its threads idle.

A borrowed executor serves one hook call at a time: calls running side by side (a threaded server)
each get their own, so a slow FHIR server behind one call never holds up the reads of another, as
with an executor per call. At most `IDLE_EXECUTORS` are kept per size; the rest are shut down. The
free list is per process: a forked child (gunicorn --preload) starts with none, since the parent's
threads do not exist in it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

IDLE_EXECUTORS = 4

_lock = threading.Lock()
_idle: dict[int, list[ThreadPoolExecutor]] = {}


def _forget_after_fork() -> None:
    global _lock, _idle  # noqa: PLW0603  (a forked child starts with fresh pool state)
    _lock = threading.Lock()
    _idle = {}


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


@contextmanager
def borrowed_executor(max_workers: int) -> Iterator[ThreadPoolExecutor]:
    """An executor of `max_workers` threads for the duration of the `with` block. The block must
    wait for every job it submits (e.g. `list(pool.map(...))`) before it ends."""
    size = max(1, int(max_workers))
    with _lock:
        free = _idle.get(size)
        pool = free.pop() if free else None
    if pool is None:
        pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="fhir-read")
    ok = False
    try:
        yield pool
        ok = True
    finally:
        kept = False
        if ok:
            with _lock:
                free = _idle.setdefault(size, [])
                if len(free) < IDLE_EXECUTORS:
                    free.append(pool)
                    kept = True
        if not kept:
            # A block that failed may have left jobs running: don't wait for them here.
            pool.shutdown(wait=ok, cancel_futures=not ok)


def idle_count(max_workers: int) -> int:
    """How many executors of this size wait in the free list (for tests and diagnostics)."""
    with _lock:
        return len(_idle.get(max(1, int(max_workers)), ()))
