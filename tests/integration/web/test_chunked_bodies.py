"""A chunked body (Transfer-Encoding: chunked, no Content-Length) over a real socket to the service on loopback:
over the size cap it is a 413 even when the cut would be valid JSON; under the cap it is read whole."""

from __future__ import annotations

import json
import socket

import pytest

from cds_service.app import create_app
from tests.conftest import load_request, pinned_clock
from tests.integration.conftest import LiveServer
from tests.web.test_request_limits import FEEDBACK, HOOK, _item


def _chunked_post(port: int, path: str, body: bytes) -> int:
    """POST with Transfer-Encoding: chunked (no Content-Length) over a raw socket; the status code."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 700]), body[i : i + 700]) for i in range(0, len(body), 700))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + chunks + b"0\r\n\r\n")
        status_line = sock.recv(200).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


@pytest.mark.parametrize("path", [FEEDBACK, HOOK])
def test_a_chunked_body_over_the_cap_is_413_even_when_the_cut_would_be_valid_json(settings, path):
    app = create_app(settings.with_overrides(max_body_bytes=3000), clock=pinned_clock)
    body = json.dumps({"feedback": [_item()]}).encode() + b" " * 6000  # the first 3000 bytes are valid JSON
    with LiveServer(app) as srv:
        assert _chunked_post(srv.port, path, body) == 413


def test_a_chunked_body_under_the_cap_is_read_whole(settings):
    app = create_app(settings, clock=pinned_clock)
    body = json.dumps({"feedback": [_item()]}).encode()
    with LiveServer(app) as srv:
        assert _chunked_post(srv.port, FEEDBACK, body) == 200
        req = json.dumps(load_request("ra-complete")).encode()  # ~60 kB, many chunks
        assert _chunked_post(srv.port, HOOK, req) == 200
