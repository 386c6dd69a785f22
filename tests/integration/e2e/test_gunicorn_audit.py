"""200 concurrent hook calls across several gunicorn workers: exactly 200 audit rows, no lost write,
no "database is locked", on SQLite (WAL) and on PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from cds_service.store import Store
from tests.conftest import load_request

CALLS = 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_gunicorn(env: dict, port: int, log: Path) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "-w", "3", "--preload", "-b", f"127.0.0.1:{port}", "--timeout", "60", "cds_service.wsgi:app"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("gunicorn exited: " + log.read_text()[-2000:])
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("gunicorn did not start: " + log.read_text()[-2000:])


def hammer(port: int) -> list[int]:
    base = load_request("ra-missing-preferred")
    url = f"http://127.0.0.1:{port}/cds-services/anakinra-order-sign"

    def one(i: int) -> int:
        req = dict(base, hookInstance=f"00000000-0000-4000-8000-{i:012d}")
        return requests.post(url, json=req, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        return list(pool.map(one, range(CALLS)))


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_200_concurrent_calls_200_audit_rows(tmp_path, backend, request):
    var = tmp_path / "var"
    env = dict(
        os.environ,
        CDS_PROFILE="production",
        CDS_AUTH="false",
        CDS_VAR_DIR=str(var),
        CDS_PATIENT_HASH_KEY="gunicorn-test-key-0123456789",
    )
    if backend == "postgresql":
        env["DATABASE_URL"] = request.getfixturevalue("pg_url")
    else:
        env.pop("DATABASE_URL", None)
    port = free_port()
    log = tmp_path / "gunicorn.log"
    proc = run_gunicorn(env, port, log)
    try:
        statuses = hammer(port)
    finally:
        proc.terminate()
        proc.wait(20)
    assert statuses == [200] * CALLS
    text = log.read_text()
    assert "database is locked" not in text and "audit row not stored" not in text, text[-3000:]
    url = env.get("DATABASE_URL") or f"sqlite:///{var / 'anakinra-cds.sqlite'}"
    store = Store(url, hash_key=b"gunicorn-test-key-0123456789")
    rows = store.list_calls(since=datetime(2000, 1, 1, tzinfo=UTC))
    store.dispose()
    assert len(rows) == CALLS
    assert len({r.hook_instance for r in rows}) == CALLS
