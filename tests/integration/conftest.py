"""The integration tests' fixtures: the app served on a loopback socket (LiveServer), and the FHIR test server
started by scripts/test.sh (a missing server fails in CI, never skips). Every test under this directory is marked
`integration` (tests/conftest.py)."""

from __future__ import annotations

import os
import threading

import pytest
import requests
from werkzeug.serving import make_server


class LiveServer:
    """The app served on 127.0.0.1 at a free port, in a thread, for the length of a `with` block."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server(app):
    with LiveServer(app) as srv:
        yield srv


@pytest.fixture(scope="session")
def fhir_base() -> str:
    """The FHIR test server (sekmet-fhir on loopback, loaded with the fixture bundles by scripts/test.sh)."""
    base = os.environ.get("ANAKINRA_TEST_FHIR_BASE")
    if not base:
        if os.environ.get("CI"):
            pytest.fail("ANAKINRA_TEST_FHIR_BASE is not set: run the suite with `make test`")
        pytest.skip("no FHIR test server (run `make test`, which starts one)")
    try:
        ok = requests.get(base + "/metadata", timeout=5).status_code == 200
    except requests.RequestException:
        ok = False
    if not ok:
        pytest.fail(f"the FHIR test server at {base} is not answering")
    return base
