"""The jti replay cache: semantics for every implementation, a multi-process race on SQLite, and
the choice made from settings.replay_cache_url."""

from __future__ import annotations

import multiprocessing
import shutil
import socket
import subprocess
import sys
import time
import types

import pytest

from cds_service.config import Settings
from cds_service.web.replay_cache import MemoryReplayCache, RedisReplayCache, SqliteReplayCache, make_replay_cache

NOW = 1_800_000_000
GRACE = 30


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- a real Redis on loopback, when the machine has one -------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    server = shutil.which("redis-server")
    try:
        import redis
    except ImportError:
        pytest.skip("the 'redis' package is not installed (extra 'redis')")
    if server is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([server, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    import redis
    deadline = time.monotonic() + 5
    while True:
        try:
            redis.Redis.from_url(url, socket_timeout=0.2).ping()
            break
        except redis.exceptions.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.skip("redis-server did not start")
            time.sleep(0.02)
    yield url
    proc.terminate()
    proc.wait(timeout=5)


def _make(kind: str, tmp_path, clock: Clock, request):
    if kind == "memory":
        return MemoryReplayCache(grace_seconds=GRACE, clock=clock)
    if kind == "sqlite":
        return SqliteReplayCache(tmp_path / "replay.sqlite", grace_seconds=GRACE, clock=clock)
    url = request.getfixturevalue("redis_url")
    cache = RedisReplayCache.from_url(url, grace_seconds=GRACE, clock=clock)
    cache._client.flushdb()
    return cache


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_first_use_is_new_then_replayed(kind, tmp_path, request):
    cache = _make(kind, tmp_path, Clock(NOW), request)
    assert cache.seen_before("jti-1", "https://a.example", NOW + 300) is False
    assert cache.seen_before("jti-1", "https://a.example", NOW + 300) is True
    # Another issuer's identical jti is a different token.
    assert cache.seen_before("jti-1", "https://b.example", NOW + 300) is False
    assert cache.seen_before("jti-2", "https://a.example", NOW + 300) is False


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_kept_through_the_grace_then_forgotten(kind, tmp_path, request):
    clock = Clock(NOW)
    cache = _make(kind, tmp_path, clock, request)
    assert cache.seen_before("j", "iss", NOW + 300) is False
    clock.now = NOW + 300 + GRACE          # exp passed, but inside the verifier's leeway
    assert cache.seen_before("j", "iss", NOW + 300) is True
    clock.now = NOW + 300 + GRACE + 1      # the token can no longer be accepted: record may go
    assert cache.seen_before("j", "iss", NOW + 2000) is False
    assert cache.seen_before("j", "iss", NOW + 2000) is True   # and the new record holds


def test_redis_sets_a_ttl_covering_exp_plus_grace(redis_url):
    cache = RedisReplayCache.from_url(redis_url, grace_seconds=GRACE, clock=time.time)
    cache._client.flushdb()
    exp = int(time.time()) + 120
    assert cache.seen_before("ttl-jti", "iss", exp) is False
    ttl = cache._client.ttl(cache._key("ttl-jti", "iss"))
    assert 120 + GRACE - 3 <= ttl <= 120 + GRACE + 1


def test_sqlite_purge_removes_only_expired(tmp_path):
    clock = Clock(NOW)
    cache = SqliteReplayCache(tmp_path / "r.sqlite", grace_seconds=0, clock=clock)
    cache.seen_before("old", "iss", NOW + 10)
    cache.seen_before("new", "iss", NOW + 1000)
    clock.now = NOW + 11
    assert cache.purge_expired() == 1
    assert cache.seen_before("new", "iss", NOW + 1000) is True


def test_sqlite_two_instances_share_the_file(tmp_path):
    a = SqliteReplayCache(tmp_path / "shared.sqlite", clock=Clock(NOW))
    b = SqliteReplayCache(tmp_path / "shared.sqlite", clock=Clock(NOW))
    assert a.seen_before("x", "iss", NOW + 60) is False
    assert b.seen_before("x", "iss", NOW + 60) is True


def _race_worker(path: str, jtis: list[str], barrier, results) -> None:
    cache = SqliteReplayCache(path, clock=lambda: NOW)   # each process opens (and creates) the file
    answers = []
    for jti in jtis:
        barrier.wait(timeout=20)       # all processes go for this jti at the same moment
        answers.append(cache.seen_before(jti, "https://race.example", NOW + 300))
    results.put(answers)


def test_sqlite_processes_racing_on_the_same_jti_exactly_one_wins(tmp_path):
    ctx = multiprocessing.get_context("fork")
    path = str(tmp_path / "race.sqlite")
    jtis = [f"jti-{i}" for i in range(300)]
    workers = 4
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    procs = [ctx.Process(target=_race_worker, args=(path, jtis, barrier, results)) for _ in range(workers)]
    for p in procs:
        p.start()
    answers = [results.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=10)
        assert p.exitcode == 0
    for i, jti in enumerate(jtis):
        firsts = [a[i] for a in answers].count(False)
        assert firsts == 1, f"{jti}: {firsts} processes saw it as new"


# -- make_replay_cache ---------------------------------------------------------------------------

def test_default_is_sqlite_in_var_dir(tmp_path):
    cache = make_replay_cache(Settings(var_dir=str(tmp_path / "var"), replay_cache_url=""))
    assert isinstance(cache, SqliteReplayCache)
    assert cache.path == str(tmp_path / "var" / "replay.sqlite")


@pytest.mark.parametrize("url_template, expected", [
    ("memory:", MemoryReplayCache),
    ("sqlite:///{tmp}/a.sqlite", SqliteReplayCache),
    ("{tmp}/b.sqlite", SqliteReplayCache),
])
def test_choice_from_url(tmp_path, url_template, expected):
    cache = make_replay_cache(Settings(replay_cache_url=url_template.format(tmp=tmp_path)))
    assert isinstance(cache, expected)
    assert cache.seen_before("j", "i", int(time.time()) + 60) is False
    assert cache.seen_before("j", "i", int(time.time()) + 60) is True


def test_redis_url_uses_redis_lazily(monkeypatch):
    calls = {}

    class FakeRedis:
        @classmethod
        def from_url(cls, url, **kw):
            calls["url"] = url
            return cls()

    monkeypatch.setitem(sys.modules, "redis", types.SimpleNamespace(Redis=FakeRedis))
    cache = make_replay_cache(Settings(replay_cache_url="redis://cache.internal:6379/2", jwt_leeway_seconds=7))
    assert isinstance(cache, RedisReplayCache)
    assert calls["url"] == "redis://cache.internal:6379/2"


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="unsupported"):
        make_replay_cache(Settings(replay_cache_url="memcached://x"))
