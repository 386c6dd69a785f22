"""A local, durable spool for the audit rows the database could not take, replayed once and in order when
it is back.

A payer must be able to show every decision it gave, also those given while its database was down (the answer
is never held back for the audit row). Such a row is appended to a file in the service's var directory instead:

- one file per process (`audit-<pid>-<random>.jsonl`), JSON lines `{"id": <spool id>, "entry": {...}}`, each
  line written and fsync'd before the call is answered; the process holds an exclusive `flock` on its file for
  as long as it lives, so no other process replays a file that is still being written;
- bounded (`max_bytes` over all files, default 64 MiB): past that a row is logged as lost, as before the spool;
- replayed by a background thread of the process that wrote it, every `interval` seconds while anything is
  pending, in the order written, through `Store.record_spooled_call`, which records the spool id in the same
  transaction as the row (exactly once, even when a replay stops halfway); a file left by a process that died
  (its lock released) is replayed by the next process that spools or replays, then removed.

Only the owning process appends to its file; replays and appends of one process take one lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
import os
import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import IO

import orjson

from .engine import StoreUnavailable
from .public_types import AuditEntry

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
_PREFIX, _SUFFIX = "audit-", ".jsonl"


def entry_to_json(entry: AuditEntry) -> dict:
    data = dataclasses.asdict(entry)
    data["called_at"] = entry.called_at.isoformat()
    return data


def entry_from_json(data: dict) -> AuditEntry:
    fields = {f.name for f in dataclasses.fields(AuditEntry)}
    values = {k: v for k, v in data.items() if k in fields}
    values["called_at"] = datetime.fromisoformat(values["called_at"])
    return AuditEntry(**values)


class AuditSpool:
    def __init__(
        self, directory: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES, interval: float = 2.0
    ) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.interval = interval
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._pid: int | None = None
        self._thread: threading.Thread | None = None
        self._checked_orphans_pid: int | None = None

    # -- writing -------------------------------------------------------------------------------
    def append(self, entry: AuditEntry, store) -> bool:
        """Write one row to this process's spool file (fsync'd) and make sure a replay will run. False when
        the spool is full or cannot be written (the caller logs the row as lost)."""
        line = orjson.dumps({"id": uuid.uuid4().hex, "entry": entry_to_json(entry)}) + b"\n"
        with self._lock:
            try:
                if self._size() + len(line) > self.max_bytes:
                    log.error("audit spool full (%d bytes): row not spooled", self.max_bytes)
                    return False
                fh = self._own_file()
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            except OSError as exc:
                log.error("audit spool not writable: %s", type(exc).__name__)
                return False
        self._ensure_replayer(store)
        return True

    def _own_file(self) -> IO[bytes]:
        pid = os.getpid()
        if self._file is None or self._pid != pid:  # first use, or a forked child: a file of its own
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{_PREFIX}{pid}-{uuid.uuid4().hex[:8]}{_SUFFIX}"
            fh = open(path, "ab+")  # noqa: SIM115 - held open for the process
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            self._file, self._pid = fh, pid
        return self._file

    def _files(self) -> list[Path]:
        try:
            return sorted(
                p for p in self.directory.iterdir() if p.name.startswith(_PREFIX) and p.name.endswith(_SUFFIX)
            )
        except FileNotFoundError:
            return []

    def _size(self) -> int:
        total = 0
        for p in self._files():
            with contextlib.suppress(FileNotFoundError):
                total += p.stat().st_size
        return total

    def depth(self) -> int:
        """How many rows wait in the spool (all processes' files)."""
        count = 0
        for p in self._files():
            try:
                with open(p, "rb") as fh:
                    count += sum(1 for line in fh if line.strip())
            except FileNotFoundError:
                pass
        return count

    # -- replaying -----------------------------------------------------------------------------
    def notice_orphans(self, store) -> None:
        """Once per process: if files are waiting (left by a process that died), start a replay."""
        pid = os.getpid()
        if self._checked_orphans_pid == pid:
            return
        self._checked_orphans_pid = pid
        if self._files():
            self._ensure_replayer(store)

    def _ensure_replayer(self, store) -> None:
        with self._lock:
            if self._thread is not None and self._thread_pid == os.getpid() and self._thread.is_alive():
                return
            self._thread_pid = os.getpid()
            self._thread = threading.Thread(target=self._run, args=(store,), name="audit-spool-replay", daemon=True)
            self._thread.start()

    _thread_pid: int | None = None

    def _run(self, store) -> None:
        """Replay every `interval` seconds until nothing this process may replay is left. The thread ends
        under the lock, after a last look at its own file, so that a row appended meanwhile is not stranded."""
        stop = threading.Event()
        while not stop.wait(self.interval):
            try:
                finished = self.replay(store)
            except Exception as exc:
                log.warning("audit spool replay deferred: %s", type(exc).__name__)
                continue
            with self._lock:
                own_empty = self._file is None or self._pid != os.getpid() or os.fstat(self._file.fileno()).st_size == 0
                if finished and own_empty:
                    self._thread = None
                    return

    def replay(self, store) -> bool:
        """Replay every file this process may replay (its own, and those whose writer has died), in the
        order written. True when nothing is left to replay here. Raises nothing for a database that is down
        again: the rest waits for the next round."""
        done = True
        for path in self._files():
            own = self._file is not None and self._pid == os.getpid() and Path(self._file.name) == path
            with self._lock:
                own_file = self._file if own else None
                if own_file is not None:
                    finished = self._replay_file(own_file, store)
                    if finished:
                        own_file.truncate(0)
                        own_file.flush()
                        os.fsync(own_file.fileno())
                else:
                    try:
                        fh = open(path, "rb+")  # noqa: SIM115
                    except FileNotFoundError:
                        continue
                    try:
                        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except OSError:  # its writer is alive: it replays it
                        fh.close()
                        continue
                    try:
                        finished = self._replay_file(fh, store)
                        if finished:
                            path.unlink(missing_ok=True)
                    finally:
                        fh.close()
            done = done and finished
        return done

    @staticmethod
    def _replay_file(fh: IO[bytes], store) -> bool:
        fh.seek(0)
        stored = skipped = 0
        for raw in fh:
            if not raw.strip():
                continue
            try:
                item = orjson.loads(raw)
                entry = entry_from_json(item["entry"])
                spool_id = item["id"]
            except (ValueError, KeyError, TypeError):
                log.error("audit spool: an unreadable line was skipped")
                continue
            try:
                if store.record_spooled_call(entry, spool_id):
                    stored += 1
                else:
                    skipped += 1
            except StoreUnavailable:
                fh.seek(0, os.SEEK_END)
                if stored:
                    log.info("audit spool: %d row(s) replayed before the database went away again", stored)
                return False
        fh.seek(0, os.SEEK_END)
        if stored or skipped:
            log.info("audit spool: %d row(s) replayed (%d already stored)", stored, skipped)
        return True
