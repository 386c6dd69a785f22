"""gunicorn with the project's settings file: the access log holds no query string (a token sent in the URL
must not end up in the log, from where it could be replayed) and no Referer."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import load_request
from tests.integration.e2e.test_gunicorn_audit import free_port

SECRET = "eyJhbGciOiJFUzM4NCJ9.c2VjcmV0LXRva2Vu.c2ln"


def test_access_log_has_no_query_string_and_no_referer(tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = dict(
        os.environ,
        CDS_PROFILE="production",
        CDS_AUTH="false",
        CDS_VAR_DIR=str(tmp_path / "var"),
        CDS_PATIENT_HASH_KEY="gunicorn-test-key-0123456789",
    )
    env.pop("DATABASE_URL", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [
            str(gunicorn),
            "-c",
            "python:cds_service.gunicorn_conf",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "cds_service.wsgi:app",
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline and proc.poll() is None, log.read_text()[-2000:]
                time.sleep(0.2)
        url = f"http://127.0.0.1:{port}/cds-services/anakinra-order-sign?access_token={SECRET}"
        resp = requests.post(
            url,
            json=load_request("ra-complete"),
            timeout=30,
            headers={"Referer": f"https://ehr.example/launch?token={SECRET}"},
        )
        assert resp.status_code == 200
        form = requests.get(f"http://127.0.0.1:{port}/documentation/{SECRET}", timeout=10)
        assert form.status_code in (403, 404)
    finally:
        proc.terminate()
        proc.wait(20)
    text = log.read_text()
    assert '"POST /cds-services/anakinra-order-sign HTTP/1.1" 200' in text, text[-2000:]
    assert SECRET not in text and "access_token" not in text and "ehr.example" not in text
    assert '"GET /documentation/<link> HTTP/1.1"' in text, text[-2000:]
