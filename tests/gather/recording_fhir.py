"""A tiny loopback FHIR server answering every search from a set of resources, recording each request."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class RecordingFhir:
    """`refused`: resource types whose reads and searches are answered 403 (an EHR that will not give them)."""

    def __init__(self, resources: list[dict], page_size: int = 50, refused: tuple[str, ...] = ()):
        self.resources = resources
        self.page_size = page_size
        self.refused = refused
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.requests.append({"path": self.path, "headers": dict(self.headers)})
                parts = urlsplit(self.path)
                segs = [s for s in parts.path.split("/") if s][1:]  # strip "fhir"
                query = parse_qs(parts.query)
                if segs and segs[0] in outer.refused:
                    return self._send(
                        403, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "forbidden"}]}
                    )
                if len(segs) == 2:
                    found = [r for r in outer.resources if r["resourceType"] == segs[0] and r.get("id") == segs[1]]
                    return self._send(
                        200 if found else 404, found[0] if found else {"resourceType": "OperationOutcome"}
                    )
                rtype = segs[0] if segs else ""
                matches = [r for r in outer.resources if r["resourceType"] == rtype]
                page = int(query.get("_page", ["1"])[0])
                chunk = matches[(page - 1) * outer.page_size : page * outer.page_size]
                bundle = {
                    "resourceType": "Bundle",
                    "type": "searchset",
                    "total": len(matches),
                    "entry": [{"resource": r} for r in chunk],
                }
                if page * outer.page_size < len(matches):
                    nxt = f"{outer.url}/{rtype}?_page={page + 1}"
                    bundle["link"] = [{"relation": "next", "url": nxt}]
                return self._send(200, bundle)

            def _send(self, status, doc):
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/fhir"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]


def chart_resources(request: dict) -> list[dict]:
    """Every resource of a hook request's prefetch (Bundles unpacked): what a FHIR server holding
    that chart would answer."""
    out = []
    for value in request["prefetch"].values():
        if not value:
            continue
        if value["resourceType"] == "Bundle":
            out.extend(e["resource"] for e in value.get("entry", []))
        else:
            out.append(value)
    return out
