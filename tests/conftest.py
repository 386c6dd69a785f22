"""Shared test fixtures: a pinned clock, the app in demo and production shapes, fixture requests,
and the FHIR test server started by scripts/test.sh (a missing server fails in CI, never skips)."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from cds_service.app import create_app
from cds_service.config import demo_settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fhir_fixtures"
PINNED_NOW = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)   # the fixtures' authoredOn day


def pinned_clock() -> datetime:
    return PINNED_NOW


def load_index() -> list[dict]:
    return json.loads((FIXTURES / "index.json").read_text())


def load_request(slug: str) -> dict:
    req = json.loads((FIXTURES / "requests" / f"{slug}.json").read_text())
    # TEMPORARY (issue 21): the fixture requests predate the `questionnaireResponses` prefetch key; regenerating
    # them with fhir_fixtures/build.py (which answers every data need) adds it as this empty Bundle. Remove then.
    req.setdefault("prefetch", {}).setdefault("questionnaireResponses", {
        "resourceType": "Bundle", "type": "searchset", "total": 0})
    return req


def service_for(req: dict) -> str:
    return "anakinra-order-select" if req["hook"] == "order-select" else "anakinra-order-sign"


@pytest.fixture
def settings(tmp_path):
    return demo_settings().with_overrides(var_dir=str(tmp_path / "var"), auth_enabled=False)


@pytest.fixture
def app(settings):
    return create_app(settings, clock=pinned_clock)


@pytest.fixture
def client(app):
    return app.test_client()


class LiveServer:
    def __init__(self, app):
        from werkzeug.serving import make_server
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
