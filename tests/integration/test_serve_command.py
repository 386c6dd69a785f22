"""The command-line contract: `anakinra-cds serve --host H --port P` starts the service in its demo
configuration, with the embedded FHIR server loaded with the fixture patients."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import load_request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_demo_with_embedded_fhir_server(tmp_path):
    port, fhir_port = free_port(), free_port()
    exe = Path(sys.executable).with_name("anakinra-cds")
    env = dict(os.environ, CDS_VAR_DIR=str(tmp_path / "var"))
    proc = subprocess.Popen(
        [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port), "--fhir-port", str(fhir_port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            try:
                if requests.get(base + "/cds-services", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        else:
            raise AssertionError("serve did not answer within 90 s")
        services = requests.get(base + "/cds-services", timeout=5).json()["services"]
        assert {s["id"] for s in services} == {"anakinra-order-sign", "anakinra-order-select"}
        fhir = f"http://127.0.0.1:{fhir_port}/fhir"
        patient = requests.get(f"{fhir}/Patient/ra-complete-pat", timeout=5)
        assert patient.status_code == 200 and patient.json()["id"] == "ra-complete-pat"
        # no prefetch: the service reads the embedded FHIR server (on its allow-list in the demo)
        req = load_request("ra-on-humira")
        req.pop("prefetch")
        req["fhirServer"] = fhir
        body = requests.post(base + "/cds-services/anakinra-order-sign", json=req, timeout=20).json()
        assert any(c["extension"]["anakinra-cds.finding"] == "combination" for c in body["cards"])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    # SIGTERM stopped the embedded FHIR server too
    time.sleep(0.5)
    try:
        requests.get(f"http://127.0.0.1:{fhir_port}/fhir/metadata", timeout=1)
        alive = True
    except requests.RequestException:
        alive = False
    assert not alive
