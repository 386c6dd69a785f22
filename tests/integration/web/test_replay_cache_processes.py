"""The jti replay cache across processes: a real Redis on loopback (skipped when redis-server or the `redis`
package is missing) and processes racing on one SQLite file. The in-process semantics are in
tests/web/test_replay_cache.py."""

from __future__ import annotations

import multiprocessing
import shutil
import socket
import subprocess
import time

import pytest

from cds_service.web.replay_cache import RedisReplayCache, SqliteReplayCache
from tests.web.test_replay_cache import GRACE, NOW, Clock, assert_first_use_is_new_then_replayed

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
    proc = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
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


def test_redis_first_use_is_new_then_replayed(redis_url):
    cache = RedisReplayCache.from_url(redis_url, grace_seconds=GRACE, clock=Clock(NOW))
    cache._client.flushdb()
    assert_first_use_is_new_then_replayed(cache)


def test_redis_sets_a_ttl_covering_exp_plus_grace(redis_url):
    cache = RedisReplayCache.from_url(redis_url, grace_seconds=GRACE, clock=time.time)
    cache._client.flushdb()
    exp = int(time.time()) + 120
    assert cache.seen_before("ttl-jti", "iss", exp) is False
    ttl = cache._client.ttl(cache._key("ttl-jti", "iss"))
    assert 120 + GRACE - 3 <= ttl <= 120 + GRACE + 1


def _race_worker(path: str, jtis: list[str], barrier, results) -> None:
    cache = SqliteReplayCache(path, clock=lambda: NOW)  # each process opens (and creates) the file
    answers = []
    for jti in jtis:
        barrier.wait(timeout=20)  # all processes go for this jti at the same moment
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
