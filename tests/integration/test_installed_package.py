"""The package as a newcomer gets it: `pip install <repo>` (no -e, no extras) into a fresh venv, then
`anakinra-cds serve` from a directory outside the repository answers discovery and decides a fixture
order that carries its full prefetch. And the wheel holds the demo charts `serve` loads.

These build and install for real (pip reaches PyPI; wheels pip has cached are reused)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests

from cds_service import demo_charts
from fhir_fixtures import load_index, load_request
from tests.e2e.helpers import coverage_infos

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
COVERED_SLUG = "ra-complete"  # index.json: order-sign, covered, full prefetch
PIP_TIMEOUT = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd: list[str], cwd: Path, timeout: float = PIP_TIMEOUT) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV")}
    done = subprocess.run(cmd, cwd=cwd, env=env, check=False, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def clean_copy_of_repo(tmp: Path) -> Path:
    """The repository as a fresh clone has it (no venv, no build output): pip builds in the source tree,
    so building from the working copy would leave build/ there, and could ship a stale file from it."""
    dest = tmp / "src"
    shutil.copytree(
        REPO,
        dest,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "var",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            ".pytest_cache",
            ".hypothesis",
            ".ruff_cache",
            ".mypy_cache",
            ".fhir-data",
        ),
    )
    return dest


def build_wheel(out: Path) -> Path:
    src = clean_copy_of_repo(out)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)], cwd=out)
    [wheel] = out.glob("anakinra_cds-*.whl")
    return wheel


def test_the_wheel_holds_the_demo_charts_and_no_test_material(tmp_path):
    names = set(zipfile.ZipFile(build_wheel(tmp_path)).namelist())
    shipped = {f"cds_service/demo_charts/bundles/{p.name}" for p in demo_charts.bundle_files()}
    assert len(shipped) == len(load_index()) + len(demo_charts.manifest()["bundles"])
    assert shipped <= names
    assert {"cds_service/demo_charts/demo.json", "cds_service/demo_charts/__init__.py"} <= names
    assert not any(n.startswith("fhir_fixtures/") or n.startswith("tests/") for n in names)


def test_pip_install_then_serve_answers_discovery_and_decides_a_fixture_order(tmp_path):
    venv = tmp_path / "v"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    run([str(venv / "bin" / "pip"), "install", "-q", str(clean_copy_of_repo(tmp_path))], cwd=tmp_path)
    # A plain install has no sekmet-fhir (the [demo] extra): serve must start all the same.
    assert not (venv / "bin" / "sekmet").exists()

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    port, fhir_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_") and k not in ("PYTHONPATH", "DATABASE_URL")}
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [
            str(venv / "bin" / "anakinra-cds"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--fhir-port",
            str(fhir_port),
        ],
        cwd=outside,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                if requests.get(base + "/cds-services", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "serve did not answer within 90 s"
            time.sleep(0.3)
        services = requests.get(base + "/cds-services", timeout=5).json()["services"]
        assert {s["id"] for s in services} == {"anakinra-order-sign", "anakinra-order-select"}

        [expected] = [e for e in load_index() if e["slug"] == COVERED_SLUG]
        assert expected["expect"]["determination"] == "covered"
        req = load_request(COVERED_SLUG)
        assert set(req["prefetch"]) and all(v is not None for v in req["prefetch"].values())
        resp = requests.post(base + "/cds-services/anakinra-order-sign", json=req, timeout=30)
        assert resp.status_code == 200
        infos = coverage_infos(resp.json())
        assert [v["covered"] for v in infos.values()] == [["covered"]]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    out = (tmp_path / "serve.log").read_text()
    # One clear line about the missing FHIR server and how to add it; the production server, not Flask's.
    [missing] = [line for line in out.splitlines() if "sekmet-fhir" in line]
    assert "not installed" in missing and "pip install 'anakinra-cds[demo]'" in missing
    assert "Starting gunicorn" in out and "development server" not in out
    assert "Traceback" not in out
    assert proc.returncode == 0
    # the var directory is where serve was started, not in the repository
    assert (outside / "var" / "anakinra-cds.sqlite").is_file()
