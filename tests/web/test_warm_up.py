"""warm_up does at start what each worker's first call would otherwise do the first time; a start with the store
down still starts. What the first call after warm_up still does, in a fresh interpreter:
tests/integration/web/test_warm_up_fresh_interpreter.py."""

from __future__ import annotations

import logging
import sqlite3

from cds_service.app import create_app, warm_up
from cds_service.config import demo_settings


def test_warm_up_does_not_stop_the_start_when_the_store_is_down(tmp_path, caplog, monkeypatch):
    app = create_app(demo_settings().with_overrides(var_dir=str(tmp_path / "var")))
    store = app.extensions["cds"].store

    def unreachable():
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(store._fast_path, "connection", unreachable)
    caplog.set_level(logging.WARNING)
    warm_up(app)  # no exception
    assert "store warm-up skipped: OperationalError" in caplog.text
    assert store._fast_path.statements is None  # left to the first call
