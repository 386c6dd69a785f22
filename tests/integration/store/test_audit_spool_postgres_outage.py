"""Nothing lost while PostgreSQL is down: 300 hook calls with the database cut off in the middle (a TCP proxy on
loopback in front of PostgreSQL) leave 300 audit rows once it is back. The spool itself: tests/store/
test_audit_spool.py."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import make_url

from cds_service.app import create_app
from tests.conftest import load_request, pinned_clock
from tests.store.conftest import pg_url  # noqa: F401  (fixture)


class CuttableProxy:
    """A TCP proxy on loopback in front of PostgreSQL; `cut()` refuses new connections and drops open ones
    (the database 'stops'), `restore()` serves again on the same port."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


@pytest.mark.postgres
def test_300_calls_with_postgresql_stopped_in_the_middle_leave_300_audit_rows(settings, pg_url):  # noqa: F811
    url = make_url(pg_url)
    proxy = CuttableProxy((url.host or "127.0.0.1", url.port or 5432))
    try:
        app = create_app(
            settings.with_overrides(
                database_url=url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
            ),
            clock=pinned_clock,
        )
        runtime = app.extensions["cds"]
        runtime.spool.interval = 0.1
        client = app.test_client()
        req = load_request("ra-missing-preferred")
        statuses = []
        for i in range(300):
            if i == 100:
                proxy.cut()
            if i == 200:
                proxy.restore()
            resp = client.post(
                "/cds-services/anakinra-order-sign", json=dict(req, hookInstance=f"5d0c7a52-0000-4000-8000-{i:012d}")
            )
            statuses.append(resp.status_code)
        assert statuses == [200] * 300
        deadline = time.monotonic() + 20
        while runtime.spool.depth() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert runtime.spool.depth() == 0
        assert client.get("/health").get_json()["auditSpool"] == {"pending": 0}
        calls = runtime.store.list_calls(since=datetime(2000, 1, 1, tzinfo=UTC))
        assert sorted(c.hook_instance for c in calls) == sorted(f"5d0c7a52-0000-4000-8000-{i:012d}" for i in range(300))
    finally:
        proxy.cut()
