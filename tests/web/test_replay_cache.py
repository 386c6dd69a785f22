"""The jti replay cache: semantics of the in-process implementations (memory, SQLite) and the choice made from
settings.replay_cache_url. Redis on loopback and the multi-process race on SQLite: tests/integration/web/
test_replay_cache_processes.py."""

from __future__ import annotations

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


def _make(kind: str, tmp_path, clock: Clock):
    if kind == "memory":
        return MemoryReplayCache(grace_seconds=GRACE, clock=clock)
    assert kind == "sqlite", kind
    return SqliteReplayCache(tmp_path / "replay.sqlite", grace_seconds=GRACE, clock=clock)


def assert_first_use_is_new_then_replayed(cache) -> None:
    assert cache.seen_before("jti-1", "https://a.example", NOW + 300) is False
    assert cache.seen_before("jti-1", "https://a.example", NOW + 300) is True
    # Another issuer's identical jti is a different token.
    assert cache.seen_before("jti-1", "https://b.example", NOW + 300) is False
    assert cache.seen_before("jti-2", "https://a.example", NOW + 300) is False


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_first_use_is_new_then_replayed(kind, tmp_path):
    assert_first_use_is_new_then_replayed(_make(kind, tmp_path, Clock(NOW)))


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_kept_through_the_grace_then_forgotten(kind, tmp_path):
    clock = Clock(NOW)
    cache = _make(kind, tmp_path, clock)
    assert cache.seen_before("j", "iss", NOW + 300) is False
    clock.now = NOW + 300 + GRACE  # exp passed, but inside the verifier's leeway
    assert cache.seen_before("j", "iss", NOW + 300) is True
    clock.now = NOW + 300 + GRACE + 1  # the token can no longer be accepted: record may go
    assert cache.seen_before("j", "iss", NOW + 2000) is False
    assert cache.seen_before("j", "iss", NOW + 2000) is True  # and the new record holds


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


# -- make_replay_cache ---------------------------------------------------------------------------


def test_default_is_sqlite_in_var_dir(tmp_path):
    cache = make_replay_cache(Settings(var_dir=str(tmp_path / "var"), replay_cache_url=""))
    assert isinstance(cache, SqliteReplayCache)
    assert cache.path == str(tmp_path / "var" / "replay.sqlite")


@pytest.mark.parametrize(
    "url_template, expected",
    [
        ("memory:", MemoryReplayCache),
        ("sqlite:///{tmp}/a.sqlite", SqliteReplayCache),
        ("{tmp}/b.sqlite", SqliteReplayCache),
    ],
)
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
