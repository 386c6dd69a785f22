"""Loopback helpers shared by the SSRF, fault-injection and JWT tests."""

from __future__ import annotations

import socket

import pytest


class SilentListener:
    """A TCP listener on 127.0.0.1 that never answers; counts the connections that reached it."""

    def __init__(self, default_path: str = "/fhir") -> None:
        self.default_path = default_path
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self._count = 0

    def url(self, path: str | None = None) -> str:
        return f"http://127.0.0.1:{self.port}{self.default_path if path is None else path}"

    def connections(self) -> int:
        while True:
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return self._count
            conn.close()
            self._count += 1

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def listener():
    """A silent listener that no outbound request may reach (SSRF tests)."""
    lst = SilentListener()
    yield lst
    lst.close()


@pytest.fixture(scope="module")
def fhir(listener):
    """A misbehaving FHIR server on loopback whose redirects point at `listener`."""
    from tests.gather.misbehaving_fhir import MisbehavingFhir

    with MisbehavingFhir(slow_seconds=3.0, redirect_to=listener.url("/fhir/Patient/1")) as srv:
        yield srv
