"""Shared test fixtures: a pinned clock, the app in demo and production shapes, fixture requests. The live server
and the FHIR test server are the integration tests' (tests/integration/conftest.py).

Unit tests and integration tests: everything under tests/integration/ is marked `integration` here (it starts
programs or processes, serves the app on a socket, drives a browser or needs the FHIR server); `make test-fast`
deselects it, and the markers `fhirserver`, `postgres`, `browser` (pyproject.toml). A unit test that starts a
program or forks a process fails with a pointer to tests/integration/."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cds_service.app import create_app
from cds_service.config import demo_settings

# Fixtures defined beside the tests that own them and used in other directories too: imported here, once, so that
# every test module can name them as parameters without importing them (which would shadow the import, F811).
from tests.loopback import fhir, listener  # noqa: F401  (a misbehaving FHIR server on loopback, a silent listener)
from tests.store.conftest import db_url, pg_url  # noqa: F401  (the store's database URLs: SQLite, PostgreSQL)

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = Path(__file__).resolve().parent / "integration"
FIXTURES = ROOT / "fhir_fixtures"
PINNED_NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # the fixtures' authoredOn day


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


def pytest_collection_modifyitems(config, items):
    """Every test under tests/integration/ is an integration test, whatever markers its file sets."""
    for item in items:
        if INTEGRATION in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _unit_tests_start_no_process(request, monkeypatch):
    """A unit test runs in this process: starting a program (subprocess, a console script, gunicorn) or forking a
    worker makes it an integration test, which belongs in tests/integration/."""
    if request.node.get_closest_marker("integration"):
        return

    def refuse_program(self, args, *rest, **kwargs):
        raise AssertionError(f"a unit test started a program ({args!r}): move the test to tests/integration/")

    def refuse_fork():
        raise AssertionError("a unit test forked a process: move the test to tests/integration/")

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse_program)
    monkeypatch.setattr(os, "fork", refuse_fork)
