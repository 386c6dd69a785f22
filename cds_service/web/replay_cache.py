"""JWT `jti` replay cache (CDS Hooks best practice: "jti is not in the short-term replay cache").

`seen_before(jti, iss, exp)` atomically records the pair (iss, jti) and answers whether it was
already recorded (and not yet expired). A record is kept until `exp + grace_seconds` (the grace is
the verifier's clock leeway, so a token accepted thanks to the leeway is still remembered).

Implementations:
- `SqliteReplayCache`: one SQLite file shared by every gunicorn worker on the host (WAL, a
  primary key on (iss, jti), an UPSERT that only replaces an *expired* row; atomic across
  processes). The default, at `<var_dir>/replay.sqlite`.
- `RedisReplayCache`: `SET key 1 NX EX ttl` (several hosts). `redis` is imported only when used.
- `MemoryReplayCache`: one process only (tests).

`make_replay_cache(settings)` picks one from `settings.replay_cache_url`:
`""` -> SQLite in var_dir; `redis://…` / `rediss://…` / `unix://…` -> Redis; `memory:` -> in memory;
`sqlite:///path` or a plain file path -> SQLite at that path.

Every implementation fails closed: when the store cannot answer, the error propagates and the
verifier rejects the token.
"""

from __future__ import annotations

import hashlib
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cds_service.config import Settings, var_path

Clock = Callable[[], float]


class ReplayCache(Protocol):
    def seen_before(self, jti: str, iss: str, exp: int) -> bool:
        """Record (iss, jti) until exp (+ grace); True when it was already recorded."""
        ...


class MemoryReplayCache:
    """In-process replay cache (tests, single-process tools). Thread-safe."""

    def __init__(self, grace_seconds: int = 0, clock: Clock = time.time) -> None:
        self._grace = int(grace_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], float] = {}
        self._writes = 0

    def seen_before(self, jti: str, iss: str, exp: int) -> bool:
        now = self._clock()
        key = (iss, jti)
        with self._lock:
            keep_until = self._entries.get(key)
            if keep_until is not None and keep_until >= now:
                return True
            self._entries[key] = exp + self._grace
            self._writes += 1
            if self._writes % 256 == 0:
                self._entries = {k: v for k, v in self._entries.items() if v >= now}
            return False

    def __len__(self) -> int:
        return len(self._entries)


class SqliteReplayCache:
    """Replay cache in a SQLite file, safe under concurrent processes and threads.

    Each (process, thread) uses its own connection (opened lazily, re-opened after a fork).
    Atomicity comes from SQLite itself: one UPSERT statement in autocommit mode either inserts
    the row, replaces an expired row, or changes nothing (a live row exists -> a replay).
    """

    PURGE_EVERY = 500  # writes per process between purges of expired rows

    def __init__(
        self,
        path: str | os.PathLike,
        grace_seconds: int = 0,
        clock: Clock = time.time,
        busy_timeout_seconds: float = 5.0,
    ) -> None:
        self.path = str(path)
        self._grace = int(grace_seconds)
        self._clock = clock
        self._busy_timeout = busy_timeout_seconds
        self._local = threading.local()
        self._writes = 0
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = self._connection()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS jwt_replay ("
            " iss TEXT NOT NULL, jti TEXT NOT NULL, keep_until INTEGER NOT NULL,"
            " PRIMARY KEY (iss, jti)) WITHOUT ROWID"
        )
        conn.execute("CREATE INDEX IF NOT EXISTS jwt_replay_keep_until ON jwt_replay (keep_until)")

    def _connection(self) -> sqlite3.Connection:
        pid = os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != pid:
            # isolation_level=None: autocommit, each statement is its own transaction.
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=True)
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout * 1000)}")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            self._local.pid = pid
        return conn

    def seen_before(self, jti: str, iss: str, exp: int) -> bool:
        now = int(self._clock())
        keep_until = int(exp) + self._grace
        conn = self._connection()
        cur = conn.execute(
            "INSERT INTO jwt_replay (iss, jti, keep_until) VALUES (?, ?, ?) "
            "ON CONFLICT (iss, jti) DO UPDATE SET keep_until = excluded.keep_until "
            "WHERE jwt_replay.keep_until < ?",
            (iss, jti, keep_until, now),
        )
        recorded = cur.rowcount == 1
        self._writes += 1
        if self._writes % self.PURGE_EVERY == 0:
            self.purge_expired()
        return not recorded

    def purge_expired(self) -> int:
        cur = self._connection().execute("DELETE FROM jwt_replay WHERE keep_until < ?", (int(self._clock()),))
        return cur.rowcount

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            conn.close()
        self._local = threading.local()


class RedisReplayCache:
    """Replay cache in Redis: `SET <key> 1 NX EX <ttl>`; works across hosts."""

    KEY_PREFIX = "anakinra-cds:jti:"

    def __init__(self, client, grace_seconds: int = 0, clock: Clock = time.time) -> None:
        self._client = client
        self._grace = int(grace_seconds)
        self._clock = clock

    @classmethod
    def from_url(
        cls, url: str, grace_seconds: int = 0, clock: Clock = time.time, timeout_seconds: float = 1.0
    ) -> RedisReplayCache:
        try:
            import redis  # noqa: PLC0415  (optional dependency: pip install 'anakinra-cds[redis]')
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError(
                "CDS_REPLAY_CACHE_URL is a Redis URL but the 'redis' package is not installed "
                "(install the 'redis' extra: pip install 'anakinra-cds[redis]')"
            ) from exc
        client = redis.Redis.from_url(url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds)
        return cls(client, grace_seconds=grace_seconds, clock=clock)

    def _key(self, jti: str, iss: str) -> str:
        # Hash: bounded key length whatever the token carries.
        digest = hashlib.sha256(iss.encode("utf-8") + b"\x00" + jti.encode("utf-8")).hexdigest()
        return self.KEY_PREFIX + digest

    def seen_before(self, jti: str, iss: str, exp: int) -> bool:
        ttl = max(1, math.ceil(int(exp) + self._grace - self._clock()))
        created = self._client.set(self._key(jti, iss), b"1", nx=True, ex=ttl)
        return not created


def make_replay_cache(settings: Settings, clock: Clock = time.time) -> ReplayCache:
    """The replay cache named by settings.replay_cache_url (see the module docstring)."""
    url = (settings.replay_cache_url or "").strip()
    grace = max(0, int(settings.jwt_leeway_seconds))
    if not url:
        return SqliteReplayCache(var_path(settings, "replay.sqlite"), grace_seconds=grace, clock=clock)
    lowered = url.lower()
    if lowered.startswith(("redis://", "rediss://", "unix://")):
        return RedisReplayCache.from_url(url, grace_seconds=grace, clock=clock)
    if lowered == "memory:":
        return MemoryReplayCache(grace_seconds=grace, clock=clock)
    if lowered.startswith("sqlite:///"):
        return SqliteReplayCache(
            url[len("sqlite:///") :] or var_path(settings, "replay.sqlite"), grace_seconds=grace, clock=clock
        )
    if "://" in url:
        raise ValueError(
            f"unsupported replay cache URL scheme: {url.split('://', 1)[0]!r} "
            "(use redis://, rediss://, sqlite:///path, a file path or memory:)"
        )
    return SqliteReplayCache(url, grace_seconds=grace, clock=clock)
