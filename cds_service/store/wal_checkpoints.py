"""SQLite WAL checkpoints from a background thread, off the hook call's path.

SQLite's automatic checkpoint runs inside the COMMIT that takes the write-ahead log past 1000 pages:
that call also copies the log into the database file and fsyncs both. Measured in process
(4,000 sequential hook calls on the benchmark's large chart, audit store and replay cache on
SQLite): one call in about 80 took 5 to 12 ms longer, and those calls were the p99 (11.9 to
12.5 ms, against 6.5 to 9.1 ms with no checkpoints). The CPU per call was the same: the extra time
is spent waiting for the fsyncs.

`WalCheckpointer(path)` runs `PRAGMA wal_checkpoint(PASSIVE)` on a connection of its own, from a
daemon thread, at most every `interval` seconds and only after a write was noted with `wrote()`
(one attribute store on the hook path). A PASSIVE checkpoint never waits for readers or writers,
and the sqlite3 module releases the GIL while it runs, so the worker goes on answering.
The connections that write keep SQLite's automatic checkpoint as a backstop, at `BACKSTOP_PAGES`
(`PRAGMA wal_autocheckpoint`, see `backstop_pragma`): if the thread falls behind or stops, the
log stays bounded and the writer checkpoints as before.

Processes: the thread belongs to the process that started it. The first `wrote()` in a process
starts one (a forked gunicorn worker starts its own; nothing runs in a `--preload` master that
never writes). Threads are stopped at interpreter exit; an interrupted checkpoint is safe (SQLite
checkpoints are crash-safe).
"""

from __future__ import annotations

import atexit
import logging
import os
import sqlite3
import threading
import time
import weakref

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 0.25          # seconds between checkpoints while writes go on
# The writers' own automatic checkpoint, kept as a backstop: 4000 pages of 4 KiB = a 16 MB log.
BACKSTOP_PAGES = 4000
_WARN_EVERY = 60.0               # seconds between two warnings about failing checkpoints
IDLE_EXIT_SECONDS = 30.0         # a thread with nothing to do this long ends

_CHECKPOINTERS: "weakref.WeakSet[WalCheckpointer]" = weakref.WeakSet()


def backstop_pragma() -> str:
    """The PRAGMA a writing connection runs when a WalCheckpointer serves its database."""
    return f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}"


class WalCheckpointer:
    """Background PASSIVE checkpoints of one SQLite database in WAL mode (see the module doc)."""

    def __init__(self, path: str | os.PathLike, interval: float = DEFAULT_INTERVAL,
                 busy_timeout_seconds: float = 5.0) -> None:
        self.path = str(path)
        self.interval = float(interval)
        self._busy_timeout = busy_timeout_seconds
        self._pending = False
        self._pid: int | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._warned_at = -_WARN_EVERY
        # Counters of this process's thread (for tests and diagnostics).
        self.checkpoints = 0
        self.failures = 0
        _CHECKPOINTERS.add(self)

    def wrote(self) -> None:
        """Note that a transaction was committed: a checkpoint follows within `interval`."""
        self._pending = True
        if self._pid != os.getpid():
            self._start()

    @property
    def running(self) -> bool:
        thread = self._thread
        return self._pid == os.getpid() and thread is not None and thread.is_alive()

    def _start(self) -> None:
        with self._lock:
            pid = os.getpid()
            if self._pid == pid:
                return
            stop = threading.Event()
            thread = threading.Thread(
                target=_checkpoint_loop, daemon=True, name=f"wal-checkpoint:{os.path.basename(self.path)}",
                args=(weakref.ref(self), stop, self.path, self.interval, self._busy_timeout))
            self._stop, self._thread = stop, thread
            self.checkpoints = self.failures = 0
            thread.start()
            self._pid = pid

    def stop(self, timeout: float = 2.0) -> None:
        """Stop this process's thread (a later `wrote()` starts a new one)."""
        with self._lock:
            thread, stop = self._thread, self._stop
            mine = self._pid == os.getpid()
            self._pid = None
            self._thread = None
        stop.set()
        if mine and thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


def _checkpoint_loop(ref, stop: threading.Event, path: str, interval: float, busy_timeout: float) -> None:
    """The thread's loop. It holds the checkpointer only by a weak reference, so a checkpointer
    nobody uses any more (a Store garbage-collected) ends its thread; so does one idle for
    IDLE_EXIT_SECONDS (the next `wrote()` starts a new thread)."""
    conn: sqlite3.Connection | None = None
    idle = 0.0
    try:
        while not stop.wait(interval):
            cp = ref()
            if cp is None:
                return
            if not cp._pending:
                idle += interval
                if idle >= IDLE_EXIT_SECONDS:
                    with cp._lock:
                        if not cp._pending and cp._stop is stop:
                            cp._pid = None
                            cp._thread = None
                            return
                continue
            idle = 0.0
            cp._pending = False
            try:
                if conn is None:
                    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                cp.checkpoints += 1
            except sqlite3.Error as exc:
                cp.failures += 1
                cp._pending = True                  # try again next time
                if conn is not None:
                    _close_quietly(conn)
                    conn = None
                now = time.monotonic()
                if now - cp._warned_at >= _WARN_EVERY:
                    cp._warned_at = now
                    log.warning("background WAL checkpoint of %s failed (the writers' automatic "
                                "checkpoint still bounds the log): %s", os.path.basename(path), exc)
            del cp
    finally:
        if conn is not None:
            _close_quietly(conn)


def _close_quietly(conn: sqlite3.Connection) -> None:
    try:
        conn.close()
    except Exception:                               # noqa: BLE001 - closing is best effort
        pass


def _after_fork_in_child() -> None:
    # The parent's threads do not exist here; a lock one of them held would never be released.
    for checkpointer in list(_CHECKPOINTERS):
        checkpointer._lock = threading.Lock()
        checkpointer._stop = threading.Event()
        checkpointer._thread = None


def _stop_all_at_exit() -> None:
    for checkpointer in list(_CHECKPOINTERS):
        checkpointer.stop(timeout=1.0)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_stop_all_at_exit)
