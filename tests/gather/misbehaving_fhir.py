"""A loopback FHIR server that misbehaves on request, for testing the outbound FHIR client.

`MisbehavingFhir()` binds 127.0.0.1 on a free port and serves, under /fhir:
  Patient/<id>            200 Patient (Patient/missing -> 404, Patient/gone -> 410)
  Condition?...           a 3-page searchset (page=1..3) with `next` links
  Observation?...         an endless searchset: every page links to page+1
  Loop?...                a searchset whose `next` link points to itself
  slow/...                answers after `slow_seconds` (default 3 s)
  hang/...                never answers (until the server stops)
  drip/...                sends a 200 header, then one body byte every 0.1 s
  drip-headers/...        sends its status line, then one header byte every `header_drip_seconds` (0.1 s)
  error/...               500 with an OperationOutcome
  html/...                200 text/html
  truncated/...           Content-Length 1000, 20 bytes sent, connection closed
  truncated-json/...      a complete body that is cut-off JSON
  huge/...                Content-Length 50 MB (body streamed until the client leaves)
  huge-chunked/...        chunked, no length, streams until the client leaves (bounded at 64 MB)
  gzip/...                a gzip-encoded Patient
  gzip-bomb/...           a 5 KB gzip body that inflates to 5 MB
  json-as-html/...        a valid FHIR JSON body labelled text/html
  redirect/...            302 to `redirect_to`
  offsite-next/...        a searchset whose `next` link is `redirect_to`
  flaky/<n>/...           the first <n> requests to the same path are dropped (connection closed, no
                          answer), then 200 Patient
  flaky-body/<n>/...      the first <n> requests to the same path get a 200 header and half a body, then the
                          connection is closed; then 200 Patient
Every request is recorded (method, path, headers) in `requests`.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients that give up mid-response (which is what the tests provoke) are not errors.
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class MisbehavingFhir:
    def __init__(self, slow_seconds: float = 3.0, redirect_to: str = "http://127.0.0.1:9/fhir/Patient/1") -> None:
        self.slow_seconds = slow_seconds
        self.header_drip_seconds = 0.1
        self.redirect_to = redirect_to
        self.requests: list[dict] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.bytes_sent: dict[str, int] = {}
        self.seen: dict[str, int] = {}  # requests per path (for flaky/...)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with outer._lock:
                    outer.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    outer._route(self)

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}/fhir"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    _bomb: bytes | None = None

    def _gzip_bomb(self) -> bytes:
        with self._lock:
            if self._bomb is None:
                # ~5 KB on the wire, 5 MB once inflated.
                self._bomb = gzip.compress(b'{"resourceType": "Patient", "pad": "' + b" " * 5_000_000 + b'"}', 9)
            return self._bomb

    # -- responses --

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str = "application/fhir+json",
        extra: dict | None = None,
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _json(self, h, status: int, doc: dict, extra: dict | None = None) -> None:
        self._send(h, status, json.dumps(doc).encode(), extra=extra)

    def _bundle(self, h, entries: list[dict], next_url: str | None, self_url: str) -> None:
        links = [{"relation": "self", "url": self_url}]
        if next_url:
            links.append({"relation": "next", "url": next_url})
        self._json(
            h,
            200,
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "link": links,
                "entry": [{"resource": r, "search": {"mode": "match"}} for r in entries],
            },
        )

    def _stream_until_gone(self, h, chunk: bytes, limit: int, chunked: bool, key: str) -> None:
        sent = 0
        try:
            while sent < limit and not self.stopping.is_set():
                if chunked:
                    h.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                else:
                    h.wfile.write(chunk)
                sent += len(chunk)
        finally:
            self.bytes_sent[key] = sent
            h.close_connection = True

    def _route(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path = parts.path.removeprefix("/fhir/")
        query = parse_qs(parts.query)
        page = int(query.get("page", ["1"])[0])
        head = path.split("/", 1)[0]

        if head == "Patient":
            pid = path.split("/", 1)[1] if "/" in path else ""
            if pid == "missing":
                return self._json(h, 404, {"resourceType": "OperationOutcome", "issue": []})
            if pid == "gone":
                return self._json(h, 410, {"resourceType": "OperationOutcome", "issue": []})
            return self._json(h, 200, {"resourceType": "Patient", "id": pid or "x", "gender": "female"})
        if head == "Condition":
            nxt = f"{self.base}/Condition?patient=p1&page={page + 1}" if page < 3 else None
            return self._bundle(
                h,
                [{"resourceType": "Condition", "id": f"c{page}"}],
                nxt,
                f"{self.base}/Condition?patient=p1&page={page}",
            )
        if head == "Observation":
            return self._bundle(
                h,
                [{"resourceType": "Observation", "id": f"o{page}"}],
                f"{self.base}/Observation?page={page + 1}",
                f"{self.base}/Observation?page={page}",
            )
        if head == "Loop":
            me = f"{self.base}/Loop?page=1"
            return self._bundle(h, [{"resourceType": "Observation", "id": "loop"}], me, me)
        if head == "offsite-next":
            return self._bundle(
                h, [{"resourceType": "Observation", "id": "o"}], self.redirect_to, f"{self.base}/offsite-next"
            )
        if head in ("flaky", "flaky-body"):
            with self._lock:
                count = self.seen[parts.path] = self.seen.get(parts.path, 0) + 1
            drops = int(path.split("/")[1])
            if count <= drops:
                h.close_connection = True
                if head == "flaky-body":
                    body = b'{"resourceType": "Patient", "id": "flaky", "gender": "female"}'
                    h.send_response(200)
                    h.send_header("Content-Type", "application/fhir+json")
                    h.send_header("Content-Length", str(len(body)))
                    h.end_headers()
                    h.wfile.write(body[: len(body) // 2])
                    h.wfile.flush()
                return None  # closed without (the rest of) an answer
            return self._json(h, 200, {"resourceType": "Patient", "id": "flaky", "gender": "female"})
        if head == "slow":
            self.stopping.wait(self.slow_seconds)
            return self._json(h, 200, {"resourceType": "Patient", "id": "slow"})
        if head == "hang":
            self.stopping.wait(60)
            h.close_connection = True
            return None
        if head == "drip-headers":
            h.close_connection = True
            h.wfile.write(b"HTTP/1.1 200 OK\r\n")
            h.wfile.flush()
            for byte in b"X-Slow: " + b"a" * 200:
                if self.stopping.wait(self.header_drip_seconds):
                    break
                try:
                    h.wfile.write(bytes([byte]))
                    h.wfile.flush()
                except OSError:
                    break
            return None
        if head == "drip":
            h.send_response(200)
            h.send_header("Content-Type", "application/fhir+json")
            h.send_header("Content-Length", "1000")
            h.end_headers()
            h.wfile.flush()
            for _ in range(1000):
                if self.stopping.wait(0.1):
                    break
                h.wfile.write(b" ")
                h.wfile.flush()
            h.close_connection = True
            return None
        if head == "error":
            return self._json(
                h, 500, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}
            )
        if head == "html":
            return self._send(h, 200, b"<html><body>Login required</body></html>", "text/html; charset=utf-8")
        if head == "json-as-html":
            return self._send(h, 200, b'{"resourceType": "Patient", "id": "h"}', "text/html")
        if head == "truncated":
            h.send_response(200)
            h.send_header("Content-Type", "application/fhir+json")
            h.send_header("Content-Length", "1000")
            h.end_headers()
            h.wfile.write(b'{"resourceType": "Pat')
            h.wfile.flush()
            h.close_connection = True
            return None
        if head == "truncated-json":
            return self._send(h, 200, b'{"resourceType": "Patient", "id": "a", "name": [{"fam')
        if head == "huge":
            h.send_response(200)
            h.send_header("Content-Type", "application/fhir+json")
            h.send_header("Content-Length", str(50_000_000))
            h.end_headers()
            return self._stream_until_gone(h, b" " * 65536, 50_000_000, chunked=False, key="huge")
        if head == "huge-chunked":
            h.send_response(200)
            h.send_header("Content-Type", "application/fhir+json")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            h.wfile.write(b"1\r\n{\r\n")
            return self._stream_until_gone(h, b" " * 65536, 64_000_000, chunked=True, key="huge-chunked")
        if head == "gzip":
            body = gzip.compress(json.dumps({"resourceType": "Patient", "id": "gz"}).encode())
            return self._send(h, 200, body, extra={"Content-Encoding": "gzip"})
        if head == "gzip-bomb":
            return self._send(h, 200, self._gzip_bomb(), extra={"Content-Encoding": "gzip"})
        if head == "redirect":
            return self._send(h, 302, b"", extra={"Location": self.redirect_to})
        return self._json(h, 404, {"resourceType": "OperationOutcome", "issue": []})


def wait_for(predicate, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
