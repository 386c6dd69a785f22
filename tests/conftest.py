"""Shared test fixtures: a pinned clock, the app in demo and production shapes, fixture requests,
and the FHIR test server started by scripts/test.sh (a missing server fails in CI, never skips).

Unit tests and integration tests: everything under tests/integration/ is marked `integration` here (it starts
programs or processes, serves the app on a socket, drives a browser or needs the FHIR server); `make test-fast`
deselects it, and the markers `fhirserver`, `postgres`, `browser` (pyproject.toml). A unit test that starts a
program fails with a pointer to tests/integration/."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from cds_service.app import create_app
from cds_service.config import demo_settings

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = Path(__file__).resolve().parent / "integration"
FIXTURES = ROOT / "fhir_fixtures"
PINNED_NOW = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)   # the fixtures' authoredOn day


def pinned_clock() -> datetime:
    return PINNED_NOW


def load_index() -> list[dict]:
    return json.loads((FIXTURES / "index.json").read_text())


def load_request(slug: str) -> dict:
    return json.loads((FIXTURES / "requests" / f"{slug}.json").read_text())


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


def pytest_collection_modifyitems(config, items):
    """Every test under tests/integration/ is an integration test, whatever markers its file sets."""
    for item in items:
        if INTEGRATION in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _unit_tests_start_no_program(request, monkeypatch):
    """A unit test runs in this process: starting a program (subprocess, a console script, gunicorn) makes it an
    integration test, which belongs in tests/integration/."""
    if request.node.get_closest_marker("integration"):
        return

    def refuse(self, args, *rest, **kwargs):
        raise AssertionError(f"a unit test started a program ({args!r}): move the test to tests/integration/")

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)
