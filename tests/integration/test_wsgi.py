"""The gunicorn entry point (cds_service.wsgi): the app it builds, and the collector settings it leaves
to the workers. Run in a fresh interpreter, as gunicorn --preload imports it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import FIXTURES

_PROBE = r"""
import gc, json, sys
import cds_service.wsgi as wsgi

body = open(sys.argv[1], "rb").read()
client = wsgi.app.test_client()

def young_passes(calls):
    before = gc.get_stats()[0]["collections"]
    for _ in range(calls):
        resp = client.post("/cds-services/anakinra-order-sign", data=body,
                           headers={"Content-Type": "application/json"})
        assert resp.status_code == 200, resp.status_code
    return gc.get_stats()[0]["collections"] - before

report = {"threshold": list(gc.get_threshold()), "frozen": gc.get_freeze_count()}
report["young_passes"] = young_passes(40)
gc.set_threshold(700, *gc.get_threshold()[1:])         # Python's default, for comparison
report["young_passes_at_700"] = young_passes(40)
print(json.dumps(report))
"""


def test_workers_collect_no_young_generation_while_serving_a_chart(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_") and k != "DATABASE_URL"}
    env.update(CDS_PROFILE="demo", CDS_VAR_DIR=str(tmp_path / "var"))
    request = FIXTURES / "requests" / "ra-complete.json"
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(request)], env=env, check=False, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["threshold"][0] == 10_000
    assert report["frozen"] > 10_000  # what the start loaded is out of the collector's passes
    assert report["young_passes"] == 0  # the calls' live objects are never scanned
    assert report["young_passes_at_700"] > 0  # the default would have: the probe can see them


def test_gunicorn_entry_point_exits_with_one_clear_line_on_bad_config():
    env = dict(os.environ, CDS_MAX_BODY_BYTES="lots")
    proc = subprocess.run(
        [sys.executable, "-c", "import cds_service.wsgi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert (
        proc.stderr.strip().splitlines()[-1]
        == "anakinra-cds: configuration error: CDS_MAX_BODY_BYTES='lots' is not a valid integer"
    )
    assert "Traceback" not in proc.stderr
